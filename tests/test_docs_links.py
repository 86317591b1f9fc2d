"""The documentation holds together: every link and every reference to a page resolves.

- README.md and docs/*.md: every relative markdown link names a file in the repository, and every
  `#anchor` (on the same page or another) is the GitHub-style slug of a heading on the target page.
- Code, config, tests and benchmarks: every mention of a `docs/<page>.md` or `README.md` names a
  page that exists, and where a section is quoted after it (`docs/rules.md ("The rule language")`,
  `docs/commands.md, "How file and chat edits combine"`) that section is a heading on the page.
- README.md and docs/*.md: every path into the repository they name (`bot/poll/pipeline.py`,
  `tests/deliver/test_dispatch.py::test_x`, `tests/deliver/test_slack_*.py`) exists, so a moved
  file cannot leave a stale name behind.
- README.md links every page under docs/.
- Nothing in the repository points outside it (a sibling checkout, a home directory, a machine's
  work directory).

The checker is plain functions over text, so the self-tests at the bottom show it catching a broken
link, a broken anchor and a broken reference on pages written to a temporary directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
}
SKIP_PATHS = {ROOT / "tests" / "data", ROOT / "data"}  # labelled data sets; the bot's own database
CODE_DIRS = ("bot", "config", "bench", "tests", ".ci")
CODE_FILES = ("Makefile", "Procfile", "pyproject.toml", "slack_manifest.yaml", "requirements.txt")
# Paths that would point outside the repository, spelled in pieces so this file does not contain them.
OUTSIDE = ("../" + "shared", "/" + "work/", "/" + "home/")

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
PAGE_MENTION = re.compile(
    r"((?<![\w/.])docs/[\w./-]+?\.md|(?<![\w/.])README\.md)(?:\s*(?:,|\()\s*\"([^\"\n]+)\")?"
)


@dataclass(frozen=True)
class Problem:
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


def prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) for every line outside fenced code blocks, with code spans blanked."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lower-cased, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its label
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's slug on a page, numbered as GitHub numbers repeated headings (-1, -2, ...)."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def link_problems(page: Path, root: Path) -> list[Problem]:
    """Broken relative links and anchors on one markdown page."""
    text = page.read_text(encoding="utf-8")
    problems: list[Problem] = []
    for number, line in prose_lines(text):
        for match in LINK.finditer(line):
            target = match.group(1)
            where = f"{page.relative_to(root)}:{number}"
            if SCHEME.match(target):
                continue  # https:, mailto: ...: outside the repository, not checked here
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            if not resolved.is_relative_to(root.resolve()):
                problems.append(Problem(where, f"link {target!r} leaves the repository"))
                continue
            if not resolved.exists():
                problems.append(Problem(where, f"link {target!r}: no file {path_part!r}"))
                continue
            if (
                anchor
                and resolved.suffix == ".md"
                and anchor not in anchors(resolved.read_text(encoding="utf-8"))
            ):
                name = resolved.relative_to(root.resolve())
                problems.append(Problem(where, f"link {target!r}: no heading #{anchor} in {name}"))
    return problems


def reference_problems(path: Path, root: Path) -> list[Problem]:
    """Mentions of docs pages in a code or config file that name no page or no section of it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    problems: list[Problem] = []
    for match in PAGE_MENTION.finditer(text):
        page, section = match.group(1), match.group(2)
        where = f"{path.relative_to(root)}:{text.count(chr(10), 0, match.start()) + 1}"
        target = root / page
        if not target.is_file():
            problems.append(Problem(where, f"names {page}, which does not exist"))
        elif section and slug(section) not in anchors(target.read_text(encoding="utf-8")):
            problems.append(Problem(where, f"names section {section!r} of {page}, which has no such heading"))
    return problems


def repository_files(root: Path) -> Iterator[Path]:
    """Every file of the working tree, without version control, caches and SKIP_PATHS."""
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory)
        subdirectories[:] = sorted(
            name for name in subdirectories if name not in SKIP_DIRS and here / name not in SKIP_PATHS
        )
        yield from (here / name for name in sorted(files) if name not in SKIP_DIRS)  # a worktree's .git file


def doc_pages(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def code_files(root: Path) -> Iterator[Path]:
    for path in repository_files(root):
        relative = path.relative_to(root)
        if relative.parts[0] in CODE_DIRS or str(relative) in CODE_FILES:
            yield path


REPO_PATH = re.compile(r"(?<![\w/.])((?:bot|tests|bench|config|docs)/[\w/.*-]*\.(?:py|yaml|jsonl|md))")


def path_problems(page: Path, root: Path) -> list[Problem]:
    """Paths into the repository named on `page` (code spans and code blocks too) that match no file."""
    problems = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        for match in REPO_PATH.finditer(line):
            if not list(root.glob(match.group(1))):
                problems.append(Problem(f"{page.relative_to(root)}:{number}", f"no file {match.group(1)!r}"))
    return problems


# --- the repository ------------------------------------------------------------------------------


def test_every_repository_path_the_docs_name_exists() -> None:
    problems = [p for page in doc_pages(ROOT) for p in path_problems(page, ROOT)]
    assert [str(p) for p in problems] == []


def test_the_checker_catches_a_moved_file(site: Path) -> None:
    (site / "tests" / "core").mkdir(parents=True)
    (site / "tests" / "core" / "test_rules.py").write_text("", encoding="utf-8")
    (site / "docs" / "rules.md").write_text(
        "See `tests/core/test_rules.py::test_a`, `tests/core/test_*.py` and `tests/test_rules.py`.\n",
        encoding="utf-8",
    )
    problems = [str(p) for p in path_problems(site / "docs" / "rules.md", site)]
    assert problems == ["docs/rules.md:1: no file 'tests/test_rules.py'"]


def test_every_link_in_the_docs_resolves_to_a_file_and_a_heading() -> None:
    problems = [p for page in doc_pages(ROOT) for p in link_problems(page, ROOT)]
    assert [str(p) for p in problems] == []


def test_every_docs_reference_in_code_and_config_names_an_existing_page_and_section() -> None:
    problems = [p for path in code_files(ROOT) for p in reference_problems(path, ROOT)]
    assert [str(p) for p in problems] == []


def test_the_readme_links_every_docs_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {m.group(1).partition("#")[0] for _, line in prose_lines(readme) for m in LINK.finditer(line)}
    missing = [
        f"docs/{page.name}"
        for page in sorted((ROOT / "docs").glob("*.md"))
        if f"docs/{page.name}" not in linked
    ]
    assert missing == []


def test_nothing_in_the_repository_points_outside_it() -> None:
    found = []
    for path in repository_files(ROOT):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            found += [f"{path.relative_to(ROOT)}:{number}: {bad}" for bad in OUTSIDE if bad in line]
    assert found == []


# --- the checker itself --------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        "# Project\n\n## Read more\n\nSee [rules](docs/rules.md#the-rule-language) and [above](#read-more).\n",
        encoding="utf-8",
    )
    (tmp_path / "docs" / "rules.md").write_text(
        "# Keyword rules\n\n## The rule language\n\n```\n# not a heading\n```\n\n"
        "Back to the [README](../README.md), the [web](https://example.com/x.md).\n",
        encoding="utf-8",
    )
    return tmp_path


def test_slugs_follow_github() -> None:
    assert slug('How "same event" is decided') == "how-same-event-is-decided"
    assert slug("Settings (config/settings.yaml)") == "settings-configsettingsyaml"
    assert slug("Discord's limits") == "discords-limits"
    assert slug("`GET /healthz`") == "get-healthz"
    assert anchors("# A\n## A\n```\n# B\n```\n") == {"a", "a-1"}


def test_the_checker_passes_good_links(site: Path) -> None:
    assert [p for page in doc_pages(site) for p in link_problems(page, site)] == []


def test_the_checker_catches_a_broken_link(site: Path) -> None:
    (site / "docs" / "rules.md").write_text("# Rules\n\nSee [grouping](grouping.md).\n", encoding="utf-8")
    problems = [str(p) for p in link_problems(site / "docs" / "rules.md", site)]
    assert problems == ["docs/rules.md:3: link 'grouping.md': no file 'grouping.md'"]


def test_the_checker_catches_a_broken_anchor_on_another_page_and_on_the_same_page(site: Path) -> None:
    (site / "README.md").write_text(
        "# Project\n\n[a](docs/rules.md#the-rules-language) [b](#nowhere) `[c](#in-code)`\n", encoding="utf-8"
    )
    problems = [str(p) for p in link_problems(site / "README.md", site)]
    assert problems == [
        "README.md:3: link 'docs/rules.md#the-rules-language': no heading #the-rules-language in docs/rules.md",
        "README.md:3: link '#nowhere': no heading #nowhere in README.md",
    ]


def test_the_checker_catches_a_link_that_leaves_the_repository(site: Path) -> None:
    (site / "docs" / "rules.md").write_text("# Rules\n\n[x](../../elsewhere.md)\n", encoding="utf-8")
    assert [p.problem for p in link_problems(site / "docs" / "rules.md", site)] == [
        "link '../../elsewhere.md' leaves the repository"
    ]


def test_the_checker_catches_a_reference_to_a_missing_page_or_section(site: Path) -> None:
    code = site / "module.py"
    good = 'docs/rules.md ("The rule language"), README.md, "Read more", docs/rules.md'
    code.write_text(f'"""{good}"""\n', encoding="utf-8")
    assert reference_problems(code, site) == []
    missing_page = "doc" + "s/grouping.md"
    wrong_section = "doc" + 's/rules.md ("The rules language")'
    code.write_text(f'"""{missing_page}; {wrong_section}"""\n', encoding="utf-8")
    assert [p.problem for p in reference_problems(code, site)] == [
        f"names {missing_page}, which does not exist",
        "names section 'The rules language' of docs/rules.md, which has no such heading",
    ]
