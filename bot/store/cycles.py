"""The poll cycles' reports: the last few kept, the newest read by `status` and /metrics."""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database

from bot.core.model import CycleReport
from bot.store.db import transaction

KEEP_CYCLES = 100  # enough to look back over the last hour or two of ticks


def record_cycle(db: Database, report: CycleReport) -> None:
    with transaction(db):
        db.execute(
            "INSERT INTO poll_cycles (finished_at, report) VALUES (?, ?)",
            [report.finished_at or report.started_at, report.to_json()],
        )
        db.execute("DELETE FROM poll_cycles WHERE id <= (SELECT max(id) FROM poll_cycles) - ?", [KEEP_CYCLES])


def last_cycle(db: Database | sqlite3.Connection) -> CycleReport | None:
    """The newest stored report (also read through /metrics' own read-only connection)."""
    row = db.execute("SELECT report FROM poll_cycles ORDER BY id DESC LIMIT 1").fetchone()
    return CycleReport.from_json(row[0]) if row else None
