"""Open the database, bring its schema up to date, and run short explicit transactions.

The schema version lives in SQLite's `PRAGMA user_version`; MIGRATIONS[n] takes version n to n+1.
A database newer than this code is refused rather than guessed at.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from bot.errors import StoreError


def _v1_core_tables(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE feeds (
            url TEXT PRIMARY KEY,
            name TEXT,
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,
            last_status INTEGER,
            last_error TEXT,
            last_error_kind TEXT,
            error_count INTEGER NOT NULL DEFAULT 0,
            last_fetch_at REAL,
            last_success_at REAL,
            first_success_at REAL,
            next_fetch_at REAL,
            disabled_reason TEXT,
            items_seen INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE items (
            id TEXT PRIMARY KEY,
            feed_url TEXT NOT NULL,
            guid TEXT,
            link TEXT,
            canonical_link TEXT UNIQUE,
            story_key TEXT,
            title TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            published_at REAL,
            seen_at REAL NOT NULL,
            last_seen_at REAL NOT NULL,
            backlog INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX items_seen_at ON items (seen_at);
        CREATE INDEX items_story_key ON items (story_key, last_seen_at);
        CREATE INDEX items_feed ON items (feed_url);
        CREATE TABLE matches (
            item_id TEXT NOT NULL REFERENCES items (id),
            rule TEXT NOT NULL,
            terms TEXT NOT NULL DEFAULT '[]',
            matched_at REAL NOT NULL,
            PRIMARY KEY (item_id, rule)
        );
        CREATE INDEX matches_rule ON matches (rule, matched_at);
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            item_id TEXT NOT NULL REFERENCES items (id),
            platform TEXT NOT NULL,
            channel TEXT NOT NULL,
            rules TEXT NOT NULL DEFAULT '[]',
            terms TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            last_error TEXT,
            message_ref TEXT,
            created_at REAL NOT NULL,
            sent_at REAL,
            UNIQUE (item_id, platform, channel)
        );
        CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            platform TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            before TEXT,
            after TEXT
        );
        """
    )
    db.table("items").enable_fts(
        ["title", "summary"],
        fts_version="FTS5",
        create_triggers=True,
        tokenize="unicode61 remove_diacritics 2",
    )


def _v2_commands(db: Database) -> None:
    """Chat edits overlaid on the file config (bot.store.overrides) and indexes for slash-command reads."""
    db.executescript(
        """
        CREATE TABLE config_edits (
            kind TEXT NOT NULL,          -- feeds | rules | facts
            key TEXT NOT NULL,           -- feed url, rule name, fact id
            value TEXT,                  -- JSON entry; NULL = removed (tombstone)
            base TEXT,                   -- JSON of the file's entry when edited; NULL = not in file
            at REAL NOT NULL,
            actor TEXT NOT NULL,
            platform TEXT NOT NULL,
            PRIMARY KEY (kind, key)
        );
        CREATE INDEX items_story_at ON items (MIN(COALESCE(published_at, seen_at), seen_at));
        CREATE INDEX matches_matched_at ON matches (matched_at);
        CREATE INDEX deliveries_sent_at ON deliveries (sent_at);
        CREATE INDEX audit_at ON audit (at);
        """
    )


def _v3_stories_and_notices(db: Database) -> None:
    """One alert per story (items grouped into stories; later copies become update deliveries),
    delivery keys for crash recovery, and once-only operator notices (dead feeds, silent rules)."""
    db.executescript(
        """
        ALTER TABLE items ADD COLUMN story_id TEXT;      -- id of the first item of its story
        CREATE INDEX items_story_id ON items (story_id);
        ALTER TABLE deliveries ADD COLUMN kind TEXT NOT NULL DEFAULT 'alert';  -- alert | update | digest
        ALTER TABLE deliveries ADD COLUMN parent_id INTEGER REFERENCES deliveries (id);  -- updates: the alert
        ALTER TABLE deliveries ADD COLUMN claimed_at REAL;
        CREATE INDEX deliveries_parent ON deliveries (parent_id);
        CREATE TABLE notices (
            key TEXT PRIMARY KEY,        -- e.g. feed-down:<url>, rule-silent:<name>
            state TEXT NOT NULL,         -- 'raised' | 'cleared'
            changed_at REAL NOT NULL,
            message TEXT NOT NULL DEFAULT ''
        );
        """
    )


def _v4_story_index(db: Database) -> None:
    """Near-duplicate story index (bot.store.stories): LSH band keys per story, and each indexed item's
    features for verifying candidates. seen_at is the story's first-seen time (the 48 h window)."""
    db.executescript(
        """
        CREATE TABLE story_bands (
            band TEXT NOT NULL,
            story_id TEXT NOT NULL,
            seen_at REAL NOT NULL,
            PRIMARY KEY (band, story_id)
        ) WITHOUT ROWID;
        CREATE INDEX story_bands_seen_at ON story_bands (seen_at);
        CREATE TABLE story_members (
            item_id TEXT PRIMARY KEY REFERENCES items (id),
            story_id TEXT NOT NULL,
            seen_at REAL NOT NULL,
            features TEXT NOT NULL       -- JSON, bot.core.story.StoryFeatures
        );
        CREATE INDEX story_members_story ON story_members (story_id);
        CREATE INDEX story_members_seen_at ON story_members (seen_at);
        """
    )


def _v5_event_index(db: Database) -> None:
    """Stories grouped by event (bot.core.story v2): story_bands now holds event tokens rather than MinHash
    bands, and story_terms counts in how many indexed items each event token appears (words frequent
    across the stored items are no evidence of one event). The old index is dropped: its features
    lack the event parts, so at worst a story of the last 48 h takes a second alert."""
    db.executescript(
        """
        DELETE FROM story_bands;
        DELETE FROM story_members;
        CREATE TABLE story_terms (
            token TEXT PRIMARY KEY,      -- '' holds the number of indexed items
            items INTEGER NOT NULL
        ) WITHOUT ROWID;
        """
    )


def _v6_split_stories(db: Database) -> None:
    """An item split out of its story by an admin (`story split`) is alerted on its own in channels
    where it already had an 'update' row, so an outbox row is unique per (item, platform, channel,
    kind): still one alert per item and channel, ever. SQLite cannot change a table's constraint in
    place: the table is rebuilt, ids kept. Renaming the old table first also renames its
    self-reference (parent_id), so dropping it leaves the new table's references alone."""
    db.executescript(
        """
        ALTER TABLE deliveries RENAME TO deliveries_before_v6;
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            item_id TEXT NOT NULL REFERENCES items (id),
            platform TEXT NOT NULL,
            channel TEXT NOT NULL,
            rules TEXT NOT NULL DEFAULT '[]',
            terms TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            last_error TEXT,
            message_ref TEXT,
            created_at REAL NOT NULL,
            sent_at REAL,
            kind TEXT NOT NULL DEFAULT 'alert',    -- alert | update
            parent_id INTEGER REFERENCES deliveries (id),
            claimed_at REAL,
            UNIQUE (item_id, platform, channel, kind)
        );
        INSERT INTO deliveries SELECT id, item_id, platform, channel, rules, terms, status, attempts,
            next_attempt_at, last_error, message_ref, created_at, sent_at, kind, parent_id, claimed_at
            FROM deliveries_before_v6;
        DROP TABLE deliveries_before_v6;
        CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
        CREATE INDEX deliveries_sent_at ON deliveries (sent_at);
        CREATE INDEX deliveries_parent ON deliveries (parent_id);
        """
    )


def _v7_poll_cycles(db: Database) -> None:
    """The last poll cycles' reports (bot.core.model.CycleReport as JSON), for `status` and /metrics."""
    db.executescript(
        """
        CREATE TABLE poll_cycles (
            id INTEGER PRIMARY KEY,
            finished_at REAL NOT NULL,
            report TEXT NOT NULL
        );
        """
    )


def _v8_story_postings(db: Database) -> None:
    """Each event token's stories by recency, so a lookup reads only a token's newest stories."""
    db.execute("CREATE INDEX story_bands_band_seen_at ON story_bands (band, seen_at)")


def _v9_search_index_follows_text_only(db: Database) -> None:
    """The full-text index is rewritten only when an item's title or summary changes. Its update
    trigger fired on every update, so marking 50 seen items as seen again (last_seen_at) or filing an
    item under a story (story_id) re-indexed their text: most of a poll cycle's storing time."""
    db.executescript(
        """
        DROP TRIGGER items_au;
        CREATE TRIGGER items_au AFTER UPDATE OF title, summary ON items BEGIN
          INSERT INTO items_fts (items_fts, rowid, title, summary) VALUES('delete', old.rowid, old.title, old.summary);
          INSERT INTO items_fts (rowid, title, summary) VALUES (new.rowid, new.title, new.summary);
        END;
        """
    )


def _v10_reserved(db: Database) -> None:
    """Nothing: version 10 was taken by an experiment that was reverted, so a database it created may
    already claim v10 with a schema of its own. Skipping the number keeps the next step (v11) from
    being mistaken as done on such a database."""


def _v11_websub(db: Database) -> None:
    """WebSub subscriptions (bot.store.websub): one current row per feed, plus rows being
    unsubscribed. A table of this name from before v11 is not ours (the reverted v10 experiment):
    it is dropped, and subscriptions are made again from the feeds' hub links at the next poll."""
    db.executescript(
        """
        DROP TABLE IF EXISTS websub_subscriptions;
        CREATE TABLE websub_subscriptions (
            id INTEGER PRIMARY KEY,
            feed_url TEXT NOT NULL,
            hub TEXT NOT NULL,
            topic TEXT NOT NULL,
            token TEXT NOT NULL UNIQUE,  -- the callback's path: unguessable, one per subscription
            secret TEXT NOT NULL,        -- hub.secret: HMAC key of every push
            state TEXT NOT NULL,         -- new | requested | verified | stale | expired | failed | unsubscribing
            pending TEXT,                -- subscribe | unsubscribe: sent, its verification awaited
            requested_at REAL,
            verified_at REAL,
            lease_seconds INTEGER,
            lease_expires_at REAL,
            last_push_at REAL,
            pushes INTEGER NOT NULL DEFAULT 0,
            bad_signatures INTEGER NOT NULL DEFAULT 0,
            failures INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL,
            last_error TEXT
        );
        CREATE UNIQUE INDEX websub_current ON websub_subscriptions (feed_url) WHERE state != 'unsubscribing';
        """
    )


def _v12_leases(db: Database) -> None:
    """Leases (bot.store.leases): which of several processes sharing this database runs the periodic
    jobs, until when."""
    db.executescript(
        """
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            renewed_at REAL NOT NULL,
            expires_at REAL NOT NULL
        );
        """
    )


def _v13_reserved(db: Database) -> None:
    """Nothing here: version 13 belongs to a change developed alongside this one (the two are
    merged with that change's own step in this place)."""


def _v14_feedback_and_mutes(db: Database) -> None:
    """Reader feedback on alerts (bot.store.feedback) and stories muted per channel.

    One "not relevant" per item and user, whatever the clicks; one mute per story and channel.
    Plain SQL, no SQLite-only functions: the store also runs on PostgreSQL."""
    db.executescript(
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            item_id TEXT NOT NULL,
            delivery_id INTEGER,
            rules TEXT NOT NULL DEFAULT '[]',   -- JSON list: the rules that fired for that alert
            platform TEXT NOT NULL,
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'not_relevant',
            at REAL NOT NULL,
            UNIQUE (item_id, platform, user_id, kind)
        );
        CREATE INDEX feedback_at ON feedback (at);
        CREATE TABLE story_mutes (
            platform TEXT NOT NULL,
            channel TEXT NOT NULL,
            story_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY (platform, channel, story_id)
        );
        """
    )


MIGRATIONS: list[Callable[[Database], None]] = [
    _v1_core_tables,
    _v2_commands,
    _v3_stories_and_notices,
    _v4_story_index,
    _v5_event_index,
    _v6_split_stories,
    _v7_poll_cycles,
    _v8_story_postings,
    _v9_search_index_follows_text_only,
    _v10_reserved,
    _v11_websub,
    _v12_leases,
    _v13_reserved,
    _v14_feedback_and_mutes,
]
SCHEMA_VERSION = len(MIGRATIONS)


def open_database(path: str | Path) -> Database:
    """Open (creating if needed) the database at `path`, in WAL mode, migrated to SCHEMA_VERSION."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None)  # explicit transactions only
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA foreign_keys=ON")
    except (OSError, sqlite3.Error) as error:
        raise StoreError(f"cannot open database {path}: {error}") from error
    db = Database(conn)
    migrate(db)
    return db


def database_problem(db: Database) -> str | None:
    """Why the database cannot be read now (None: it can): for a load balancer's health check."""
    try:
        db.execute("SELECT count(*) FROM feeds").fetchone()
    except sqlite3.Error as error:
        return f"database unreachable: {error}"
    return None


def migrate(db: Database) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"database schema version {version} is newer than this bot understands ({SCHEMA_VERSION}); "
            "upgrade the bot or use another BOT_DB"
        )
    for target in range(version, SCHEMA_VERSION):
        with transaction(db):
            MIGRATIONS[target](db)
            db.execute(f"PRAGMA user_version = {target + 1}")


def checkpoint_off_loop(db: Database) -> None:
    """Stop this connection from checkpointing the WAL itself (a checkpoint copies pages and syncs
    the disk: hundreds of milliseconds on the event loop); `checkpoint` then runs it in a thread."""
    db.execute("PRAGMA wal_autocheckpoint = 0")


async def checkpoint(path: str | Path) -> None:
    """Fold the WAL into the database from a worker thread with its own connection (PASSIVE: never
    blocks the writer on the event loop's thread)."""

    def run() -> None:
        conn = sqlite3.connect(str(path), timeout=5)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    await asyncio.to_thread(run)


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error. Never `await` inside one."""
    conn = db.conn
    if conn.in_transaction:  # nested use joins the outer transaction
        yield db
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        raise StoreError(f"database is not writable: {error}") from error
    try:
        yield db
    except sqlite3.Error as error:  # disk full, read-only, corrupt: one error type for callers
        conn.execute("ROLLBACK")
        raise StoreError(f"database write failed: {error}") from error
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.OperationalError as error:
        conn.execute("ROLLBACK")
        raise StoreError(f"could not commit: {error}") from error


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of the database at `source` (SQLite's online backup: safe while the bot writes)."""
    with (
        contextlib.closing(sqlite3.connect(str(source))) as src,
        contextlib.closing(sqlite3.connect(str(target))) as dst,
    ):
        src.backup(dst)
