"""SQLite persistence (sqlite-utils): feeds' health, items, matches, the delivery outbox, the audit log.

Only this package writes SQL. One connection, used from the event loop's thread only; every
write is a short transaction that never spans an `await`: a rollback on a shared connection
would undo another task's writes too.

May import bot.core, bot.config, bot.errors and bot.logs; never the poll cycle, delivery,
operations, commands or the network.
"""

from sqlite_utils import Database

from bot.store.db import open_database, transaction

__all__ = ["Database", "open_database", "transaction"]
