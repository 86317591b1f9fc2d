"""Chat edits as an overlay on the file config: stored in `config_edits`, applied at every load.

How file and chat edits combine (see docs/commands.md, "How file and chat edits combine"):
- The YAML files are the base. A chat edit stores the whole new entry (or a tombstone for a
  removal) keyed by feed URL, rule name or fact id, plus the file's entry as it was at that moment.
- `apply_overrides` lays the newest chat edit for each key over the file entries on every poll
  cycle and every command, so edits take effect without a restart and survive one (they live in
  the database), and a later change to the files never erases them.
- If the file's entry changed after a chat edit (its current entry differs from the stored one),
  the chat edit still wins, but the entry is reported as a conflict (`rules list` / `feeds list`
  say so, a warning is logged once) and `rules reset` / `feeds reset` drops the chat edit to take
  the file's version. Nothing is silently lost either way.
Routes and settings are file-only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlite_utils import Database

from bot.config import BotConfig, FactConfig, FeedConfig, RuleConfig, rule_context

log = logging.getLogger(__name__)

Kind = Literal["feeds", "rules", "facts"]
MODELS: dict[str, type[BaseModel]] = {"feeds": FeedConfig, "rules": RuleConfig, "facts": FactConfig}
_warned: set[tuple[str, str, float]] = set()  # conflicts already logged by this process
_warned_invalid: set[tuple[str, str, float]] = set()  # edits that no longer validate, logged once


@dataclass(frozen=True)
class Edit:
    kind: str
    key: str
    value: dict[str, Any] | None  # None: the entry was removed in chat
    base: dict[str, Any] | None  # the file's entry when the edit was made; None: not in the file
    at: float
    actor: str
    platform: str


@dataclass(frozen=True)
class Origin:
    """Where an effective (or removed) entry comes from, for `rules list` / `feeds list`."""

    source: Literal["file", "chat"]
    edit: Edit | None = None
    conflict: bool = False  # the file's entry changed after the chat edit

    def describe(self) -> str:
        if self.edit is None:
            return "file"
        label = "chat" if self.edit.base is None and not self.conflict else "chat over file"
        if self.conflict:
            label += " (file changed since; chat version kept, `reset` takes the file's)"
        return label


def fact_key(text: str) -> str:
    """A fact's stable id: a short hash of its whitespace- and case-normalised text."""
    normal = " ".join(text.split()).casefold()
    return hashlib.sha256(normal.encode()).hexdigest()[:10]


def entry_key(kind: str, entry: BaseModel) -> str:
    if isinstance(entry, FeedConfig):
        return entry.url
    if isinstance(entry, RuleConfig):
        return entry.name
    if isinstance(entry, FactConfig):
        return fact_key(entry.text)
    raise ValueError(f"no key for {kind}")


def entry_dict(entry: BaseModel | None) -> dict[str, Any] | None:
    return None if entry is None else entry.model_dump(mode="json")


def load_edits(db: Database) -> list[Edit]:
    """Every stored chat edit, oldest first. A row whose JSON does not decode is skipped (logged once)."""
    rows = db.execute(
        "SELECT kind, key, value, base, at, actor, platform FROM config_edits ORDER BY at, rowid"
    ).fetchall()
    edits = []
    for kind, key, value, base, at, actor, platform in rows:
        try:
            edits.append(Edit(kind, key, _decode(value), _decode(base), at, actor, platform))
        except ValueError as error:
            _warn_invalid(kind, key, at, f"is not readable JSON ({error})")
    return edits


def _decode(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None


def chat_added_feeds(db: Database) -> set[str]:
    """URLs of feeds that exist only because an admin added them from chat (not in the files)."""
    return {
        edit.key
        for edit in load_edits(db)
        if edit.kind == "feeds" and edit.value is not None and edit.base is None
    }


def save_edit(
    db: Database,
    *,
    kind: Kind,
    key: str,
    value: BaseModel | None,
    file_entry: BaseModel | None,
    at: float,
    actor: str,
    platform: str,
) -> None:
    """Store (replacing any earlier one) the chat edit for one entry. Call inside a transaction."""
    db.execute(
        "INSERT INTO config_edits (kind, key, value, base, at, actor, platform) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, base = excluded.base, "
        "at = excluded.at, actor = excluded.actor, platform = excluded.platform",
        [kind, key, _json(entry_dict(value)), _json(entry_dict(file_entry)), at, actor, platform],
    )


def drop_edit(db: Database, kind: Kind, key: str) -> bool:
    """Forget the chat edit for one entry (the file's version applies again). True if there was one."""
    cursor = db.execute("DELETE FROM config_edits WHERE kind = ? AND key = ?", [kind, key])
    return bool(cursor.rowcount)


def apply_overrides(config: BotConfig, db: Database) -> BotConfig:
    """The effective config: `config` (from the files) with every chat edit laid over it."""
    edits = load_edits(db)
    merged = {kind: _apply_kind(kind, getattr(config, kind), edits, config.rule_lists) for kind in MODELS}
    return dataclasses.replace(config, feeds=merged["feeds"], rules=merged["rules"], facts=merged["facts"])


def origins(config: BotConfig, db: Database, kind: Kind) -> dict[str, Origin]:
    """For each key of `kind` in the file or the overlay: where its effective state comes from."""
    file_entries = {entry_key(kind, e): e for e in getattr(config, kind)}
    result: dict[str, Origin] = {key: Origin("file") for key in file_entries}
    for edit in load_edits(db):
        if edit.kind == kind:
            current = entry_dict(file_entries.get(edit.key))
            result[edit.key] = Origin("chat", edit, conflict=current != edit.base)
    return result


def _apply_kind(
    kind: str, entries: tuple[Any, ...], edits: list[Edit], rule_lists: Mapping[str, str]
) -> tuple[Any, ...]:
    model = MODELS[kind]
    context = rule_context(rule_lists) if kind == "rules" else None  # a chat rule may use @lists
    by_key: dict[str, Any] = {entry_key(kind, e): e for e in entries}
    for edit in edits:
        if edit.kind != kind:
            continue
        current = entry_dict(by_key.get(edit.key))
        if current != edit.base:
            _warn_conflict(edit)
        if edit.value is None:
            by_key.pop(edit.key, None)
            continue
        try:
            by_key[edit.key] = model.model_validate(edit.value, context=context)
        except ValidationError as error:  # stored by an older version with other rules: keep the file's
            reasons = "; ".join(_reason(detail) for detail in error.errors(include_input=False)[:5])
            _warn_invalid(kind, edit.key, edit.at, f"no longer validates, ignored: {reasons}")
    return tuple(by_key.values())


def _reason(detail: Any) -> str:
    where = ".".join(str(part) for part in detail["loc"])
    return f"{where}: {detail['msg']}" if where else str(detail["msg"])


def _warn_invalid(kind: str, key: str, at: float, problem: str) -> None:
    """Edits are applied on every cycle and command: say what is wrong with one only once."""
    marker = (kind, key, at)
    if marker not in _warned_invalid:
        _warned_invalid.add(marker)
        log.warning("chat edit %s %r %s", kind, key[:200], problem[:500])


def _warn_conflict(edit: Edit) -> None:
    marker = (edit.kind, edit.key, edit.at)
    if marker not in _warned:
        _warned.add(marker)
        log.warning(
            "%s %r was changed in the config file after a chat edit by %s; the chat edit stays in effect",
            edit.kind,
            edit.key,
            edit.actor,
        )


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
