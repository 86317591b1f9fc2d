"""The audit log: who changed (or tried to change) what, when, with the before and after.

Writes one row per admin edit or refused attempt; reads the newest rows for `/news audit`.
It never decides anything; callers pass the values to record, inside their own transaction.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record_audit(
    db: Database,
    *,
    platform: str,
    actor: str,
    action: str,
    target: str,
    before: Any,
    after: Any,
    at: float,
) -> None:
    """Append one audit row. `before`/`after` may be None, text, or JSON-serialisable values."""
    db.execute(
        "INSERT INTO audit (at, platform, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [at, platform, actor, action, target, _as_text(before), _as_text(after)],
    )


def recent_audit(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    """The newest `limit` audit rows, newest first, as dicts with the table's columns."""
    cursor = db.execute(
        "SELECT id, at, platform, actor, action, target, before, after FROM audit "
        "ORDER BY at DESC, id DESC LIMIT ?",
        [limit],
    )
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
