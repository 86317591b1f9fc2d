"""Fixtures shared by the delivery tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.store import open_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """An empty database with the full schema (the outbox and everything it refers to)."""
    database = open_database(tmp_path / "outbox.db")
    yield database
    database.conn.close()
