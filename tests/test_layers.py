"""The package layout, kept honest: which of our packages each module may import, and a pure core.

Every module under bot/ is parsed (never imported) and every import in it is checked: those at the
top, inside functions and under `if TYPE_CHECKING:` alike. The rules, from the top down:

    bot/__main__.py, cli.py, runner.py, service.py   entry points: anything below
    bot/app.py                                       the one composition root: anything below
    bot/commands/                                    core, config, store, net
    bot/poll/, bot/deliver/, bot/ops/                core, config, store, net; not one another
    bot/net/                                         core, config
    bot/store/                                       core, config
    bot/config/                                      core
    bot/core/                                        nothing of ours but itself; the standard
                                                     library's pure parts; no clock reads
    bot/errors.py, bot/logs.py                       nothing of ours (everyone may import them)

Each package's `__init__.py` docstring says the same in words.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"

GROUND = {"bot.errors", "bot.logs"}  # importable from anywhere
BELOW_ENTRY = {
    "bot.core", "bot.config", "bot.store", "bot.net", "bot.poll", "bot.deliver", "bot.ops", "bot.commands",
}  # fmt: skip
MAY_IMPORT: dict[str, set[str]] = {
    "bot": set(),  # the package docstring and __version__
    "bot.errors": set(),
    "bot.logs": set(),
    "bot.core": {"bot.errors"},
    "bot.config": {"bot.core"} | GROUND,
    "bot.store": {"bot.core", "bot.config"} | GROUND,
    "bot.net": {"bot.core", "bot.config"} | GROUND,
    "bot.poll": {"bot.core", "bot.config", "bot.store", "bot.net"} | GROUND,
    "bot.deliver": {"bot.core", "bot.config", "bot.store", "bot.net"} | GROUND,
    "bot.ops": {"bot.core", "bot.config", "bot.store", "bot.net"} | GROUND,
    "bot.commands": {"bot.core", "bot.config", "bot.store", "bot.net"} | GROUND,
    "bot.app": BELOW_ENTRY | GROUND,
    "bot.service": BELOW_ENTRY | GROUND | {"bot.app"},
    "bot.runner": BELOW_ENTRY | GROUND | {"bot.app", "bot.service"},
    "bot.cli": BELOW_ENTRY | GROUND | {"bot.app", "bot.runner"},
    "bot.__main__": {"bot.cli"},
}

# The standard library's parts that wait on the world (network, disk, processes, threads, the event
# loop): the core decides, it never waits.
IMPURE_STDLIB = {
    "asyncio", "concurrent", "ftplib", "http", "io", "logging", "multiprocessing", "os", "pathlib",
    "selectors", "shutil", "signal", "smtplib", "socket", "socketserver", "sqlite3", "ssl",
    "subprocess", "tempfile", "threading", "urllib.request", "urllib.error",
}  # fmt: skip
CLOCK_READS = {
    "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns", "time.perf_counter",
    "datetime.now", "datetime.utcnow", "datetime.today", "date.today",
}  # fmt: skip


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: {self.problem}"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """The key of MAY_IMPORT a module of ours belongs to ("bot.core.rules.text" -> "bot.core")."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import anywhere in the tree."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield node.lineno, target
            if target in {"bot", *MAY_IMPORT, *BELOW_ENTRY}:  # `from bot.poll import fetch` names a module
                for alias in node.names:
                    yield node.lineno, f"{target}.{alias.name}"


def dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def clock_reads(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            name = dotted(node)
            if name and any(name == read or name.endswith(f".{read}") for read in CLOCK_READS):
                yield node.lineno, name
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            for alias in node.names:
                if f"time.{alias.name}" in CLOCK_READS:
                    yield node.lineno, f"time.{alias.name}"


def check_source(source: str, module: str, is_package: bool = False) -> list[Violation]:
    """Every broken layer rule in one module's source."""
    tree = ast.parse(source)
    layer = layer_of(module)
    allowed = MAY_IMPORT.get(layer)
    if allowed is None:
        return [Violation(module, 1, f"{layer} is in no layer of tests/test_layers.py: add it to MAY_IMPORT")]
    found: list[Violation] = []
    for line, target in imported_modules(tree, module, is_package):
        top = target.split(".")[0]
        if top == "bot":
            if target == "bot":
                continue
            target_layer = layer_of(target)
            if target_layer != layer and target_layer not in allowed:
                found.append(
                    Violation(module, line, f"imports {target}: {layer} may not import {target_layer}")
                )
        elif layer == "bot.core":
            if top not in sys.stdlib_module_names:
                found.append(
                    Violation(module, line, f"imports {target}: the core uses the standard library only")
                )
            elif any(target == bad or target.startswith(f"{bad}.") for bad in IMPURE_STDLIB):
                found.append(Violation(module, line, f"imports {target}: the core does no I/O"))
    if layer == "bot.core":
        for line, read in clock_reads(tree):
            found.append(
                Violation(module, line, f"reads the clock ({read}): the core takes `now` as an argument")
            )
    return found


def bot_modules() -> list[Path]:
    return sorted(BOT.rglob("*.py"))


def test_every_module_keeps_to_its_layer() -> None:
    violations = [
        str(violation)
        for path in bot_modules()
        for violation in check_source(
            path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
        )
    ]
    assert violations == []


def test_every_package_says_what_it_is_for_and_may_import() -> None:
    for init in sorted(BOT.glob("*/__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert docstring, f"{init.relative_to(ROOT)} has no docstring"
        assert "import" in docstring, f"{init.relative_to(ROOT)}: say what the package may import"


def test_the_core_covers_what_the_layout_promises() -> None:
    core = {module_name(path) for path in (BOT / "core").rglob("*.py")}
    assert {"bot.core.model", "bot.core.platform", "bot.core.routing", "bot.core.rules.ruleset"} <= core


# The checker itself, on snippets: each must be caught.
@pytest.mark.parametrize(
    ("module", "source", "problem"),
    [
        ("bot.core.example", "import asyncio\n", "imports asyncio: the core does no I/O"),
        ("bot.core.example", "import sqlite3\n", "imports sqlite3: the core does no I/O"),
        (
            "bot.core.example",
            "from aiohttp import web\n",
            "imports aiohttp: the core uses the standard library only",
        ),
        ("bot.core.example", "import discord\n", "imports discord: the core uses the standard library only"),
        (
            "bot.core.example",
            "def f():\n    from bot.store import transaction\n",
            "imports bot.store: bot.core may not import bot.store",
        ),
        (
            "bot.core.example",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.config import RouteConfig\n",
            "imports bot.config: bot.core may not import bot.config",
        ),
        (
            "bot.core.rules.example",
            "from ...poll import fetch\n",
            "imports bot.poll: bot.core may not import bot.poll",
        ),
        ("bot.core.example", "from bot import app\n", "imports bot.app: bot.core may not import bot.app"),
        ("bot.core.example", "import time\nstamp = time.time()\n", "reads the clock (time.time)"),
        ("bot.core.example", "from time import monotonic\n", "reads the clock (time.monotonic)"),
        (
            "bot.core.example",
            "import datetime\nnow = datetime.datetime.now(datetime.UTC)\n",
            "reads the clock (datetime.datetime.now)",
        ),
        (
            "bot.core.example",
            "from datetime import datetime\nnow = datetime.utcnow()\n",
            "reads the clock (datetime.utcnow)",
        ),
        (
            "bot.store.example",
            "from bot.poll.pipeline import Pipeline\n",
            "bot.store may not import bot.poll",
        ),
        ("bot.store.example", "from bot.deliver import dispatch\n", "bot.store may not import bot.deliver"),
        (
            "bot.poll.example",
            "from bot.deliver.dispatch import Dispatcher\n",
            "bot.poll may not import bot.deliver",
        ),
        ("bot.ops.example", "from bot.app import Bot\n", "bot.ops may not import bot.app"),
        ("bot.app", "from bot.runner import run_service\n", "bot.app may not import bot.runner"),
    ],
)
def test_the_checker_catches(module: str, source: str, problem: str) -> None:
    found = check_source(source, module)
    assert any(problem in str(violation) for violation in found), found


def test_the_checker_lets_the_allowed_through() -> None:
    source = (
        "import re\nfrom datetime import UTC, datetime\nfrom bot.core.model import Item\n"
        "from bot.errors import RuleError\n"
        "def age(item: Item, now: datetime) -> float:\n    return (now - item.published).total_seconds()\n"
    )
    assert check_source(source, "bot.core.example") == []
    assert check_source("from bot.store import transaction\nimport sqlite3\n", "bot.poll.example") == []
