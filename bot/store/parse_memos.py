"""Each feed's parse memo: what its last parse left for the next one (bot.poll.parse_memo).

Opaque bytes here. Losing one costs one full parse, never a result: the memo is a cache.
"""

from __future__ import annotations

from sqlite_utils import Database


def load_parse_memo(db: Database, feed_url: str) -> bytes | None:
    row = db.execute("SELECT memo FROM parse_memos WHERE feed_url = ?", [feed_url]).fetchone()
    return bytes(row[0]) if row else None


def save_parse_memo(db: Database, feed_url: str, memo: bytes | None) -> None:
    """Keep `memo` for the feed's next parse (None: forget the old one). Call inside a transaction."""
    if memo is None:
        db.execute("DELETE FROM parse_memos WHERE feed_url = ?", [feed_url])
    else:
        db.execute(
            "INSERT INTO parse_memos (feed_url, memo) VALUES (?, ?)"
            " ON CONFLICT (feed_url) DO UPDATE SET memo = excluded.memo",
            [feed_url, memo],
        )
