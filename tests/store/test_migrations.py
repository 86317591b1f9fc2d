"""Schema migrations keep existing rows: an old database file opens with the new code."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database

from bot.store import open_database
from bot.store.db import MIGRATIONS, migrate


def test_migration_v6_keeps_every_row_and_lets_an_item_hold_an_alert_and_an_update(tmp_path):  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(tmp_path / "v4.db", isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    old = Database(conn)
    for step in MIGRATIONS[:4]:
        step(old)
    conn.execute("PRAGMA user_version = 4")
    for item in ("a", "b"):
        conn.execute(
            "INSERT INTO items (id, feed_url, title, seen_at, last_seen_at) VALUES (?, 'f', 't', 1, 1)",
            [item],
        )
    conn.execute(
        "INSERT INTO deliveries (id, item_id, platform, channel, next_attempt_at, created_at, status, message_ref)"
        " VALUES (7, 'a', 'slack', 'C1', 1, 1, 'sent', '1.1')"
    )
    conn.execute(
        "INSERT INTO deliveries (id, item_id, platform, channel, next_attempt_at, created_at, kind, parent_id)"
        " VALUES (9, 'b', 'slack', 'C1', 2, 2, 'update', 7)"
    )
    migrate(old)
    conn.close()

    db = open_database(tmp_path / "v4.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute(
        "SELECT id, item_id, kind, parent_id, status, message_ref FROM deliveries"
    ).fetchall() == [
        (7, "a", "alert", None, "sent", "1.1"),
        (9, "b", "update", 7, "pending", None),
    ]
    db.execute(
        "INSERT INTO deliveries (item_id, platform, channel, next_attempt_at, created_at) VALUES ('b', 'slack', 'C1', 3, 3)"
    )
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO deliveries (item_id, platform, channel, next_attempt_at, created_at)"
            " VALUES ('b', 'slack', 'C1', 4, 4)"
        )
    with pytest.raises(sqlite3.IntegrityError):  # the parent reference still points at this table
        db.execute(
            "INSERT INTO deliveries (item_id, platform, channel, next_attempt_at, created_at, kind, parent_id)"
            " VALUES ('a', 'slack', 'C2', 5, 5, 'update', 999)"
        )
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'deliveries'")} >= {
        "deliveries_due",
        "deliveries_sent_at",
        "deliveries_parent",
    }
    db.conn.close()


def test_the_search_index_is_rewritten_for_new_text_only(tmp_path):  # type: ignore[no-untyped-def]
    db = open_database(tmp_path / "bot.db")
    db.execute(
        "INSERT INTO items (id, feed_url, title, summary, seen_at, last_seen_at) VALUES"
        " ('a', 'f', 'Prometheus fund', 'Bezos talks', 1, 1)"
    )
    writes = db.execute("SELECT total_changes()").fetchone()[0]
    db.execute("UPDATE items SET last_seen_at = 2, story_id = 's' WHERE id = 'a'")
    assert db.execute("SELECT total_changes()").fetchone()[0] - writes == 1  # the row, not its index entry
    db.execute("UPDATE items SET title = 'Bajaj hires' WHERE id = 'a'")
    db.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
    assert [row[0] for row in db.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH 'Bajaj'")] == [1]
    assert db.execute("SELECT count(*) FROM items_fts WHERE items_fts MATCH 'Prometheus'").fetchone()[0] == 0
