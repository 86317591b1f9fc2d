"""Read one config file into plain Python data, refusing what is too big, ambiguous or hostile.

Every refusal is a ConfigError naming the file and, for YAML problems, the line and column; nothing
else is raised, whatever the bytes. Limits, checked before the cost they prevent:

- MAX_FILE_BYTES: a bigger file is refused before it is read (a 52 MB feeds.yaml once took 92 s
  and 1.6 GB to parse and validate).
- MAX_NODES and MAX_DEPTH: YAML values in one file, and how deeply they nest. Each value costs
  parsing and validation time; each level of nesting a level of recursion.
- aliases (`*name`) are refused: a few lines of anchors and aliases expand to billions of values
  once the data is walked (the "billion laughs"), and no config here needs them.
- duplicate mapping keys are refused (PyYAML silently keeps the last one, hiding a typo).
- a scalar PyYAML cannot convert (`2025-13-45`, `!!int x`, `!!timestamp x`) is a YAML error at
  its position, not a ValueError, TypeError, KeyError or AttributeError from inside PyYAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node
from yaml.resolver import Resolver

from bot.errors import ConfigError

MAX_FILE_BYTES = 1024 * 1024  # 1 MiB
MAX_NODES = 100_000  # enough for 5,000 feeds with every key set
MAX_DEPTH = 32  # the deepest valid value (a rule name in a route) is at level 5
_MERGE_TAG = "tag:yaml.org,2002:merge"


def read_config_file(path: Path) -> Any:
    """The YAML data in `path`; None for a missing or empty file. Raises ConfigError."""
    text = _read_text(path)
    if text is None:
        return None
    try:
        loader = _ConfigLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise ConfigError([(path.name, _where(error), f"not valid YAML: {_problem(error)}")]) from None


def _read_text(path: Path) -> str | None:
    """The file's text; None if there is no such file."""
    try:
        if not path.exists():
            return None
        if not path.is_file():
            raise ConfigError([(path.name, "", "not a regular file")])
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # a file growing after a size check is still capped
    except OSError as error:
        raise ConfigError([(path.name, "", f"cannot read: {error.strerror or error}")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError([(path.name, "", f"larger than {MAX_FILE_BYTES:,} bytes; refused unread")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            [(path.name, f"byte {error.start}", f"not UTF-8 text (byte 0x{data[error.start]:02x})")]
        ) from None


def _where(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}"
    position = getattr(error, "position", None)  # ReaderError: a character YAML does not allow
    return f"character {position + 1}" if isinstance(position, int) else ""


def _problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.reader.ReaderError):
        code = error.character
        shown = f"U+{code:04X}" if isinstance(code, int) else repr(code)
        return f"character {shown} is not allowed (YAML refuses control characters)"
    problem = str(getattr(error, "problem", None) or error.__class__.__name__)
    context = getattr(error, "context", None)  # e.g. "while parsing a flow sequence"
    return f"{context}, {problem}" if context else problem


def _parsing_base() -> type:
    """PyYAML's safe loading, with libyaml's parser when PyYAML has it (about four times faster)
    under PyYAML's own composer: the composer is where the checks below run, node by node, so a
    hostile file is stopped early instead of after libyaml has composed all of it."""
    if not getattr(yaml, "__with_libyaml__", False):
        return yaml.SafeLoader
    from yaml._yaml import CParser

    class _LibyamlSafeLoader(Composer, CParser, SafeConstructor, Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    return _LibyamlSafeLoader


class _ConfigLoader(_parsing_base()):  # type: ignore[misc]
    """A safe loader with the refusals listed in the module docstring."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event: Any = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _refusal("aliases (*name) are not allowed in config files", event)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _refusal(f"more than {MAX_NODES:,} values in one file", event)
        if self._depth >= MAX_DEPTH:
            raise _refusal(f"nested more than {MAX_DEPTH} levels deep", event)
        self._depth += 1
        try:
            node: Node | None = super().compose_node(parent, index)
            return node
        finally:
            self._depth -= 1

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as error:  # PyYAML's converters raise built-in errors on hostile scalars
            raise ConstructorError(None, None, f"cannot read this value ({error})", node.start_mark) from None

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        self._refuse_duplicate_keys(node)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep)
        return mapping

    def _refuse_duplicate_keys(self, node: MappingNode) -> None:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<:` merges; keys written after it override on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            if not _hashable(key):  # SafeConstructor reports unhashable keys itself
                continue
            if key in first_line:
                raise ConstructorError(
                    None,
                    None,
                    f"duplicate key {_shown(key)} (first given on line {first_line[key]})",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1


def _refusal(problem: str, event: Any) -> ComposerError:
    return ComposerError(None, None, problem, event.start_mark)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _shown(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 60 else text[:60] + "…"
