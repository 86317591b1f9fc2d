"""What every subcommand handler receives, and the one way admin edits are written.

`Context` carries the request, the file and effective configs, the database and the time; handlers
return a Reply or raise CommandError (answered as an error reply by CommandCore). `commit_edit`
stores a chat edit and its audit row in one transaction, so an edit is never saved unaudited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlite_utils import Database

from bot.config import BotConfig
from bot.core.model import CommandRequest
from bot.core.routing import Reachable
from bot.errors import CommandError
from bot.store import transaction
from bot.store.audit import record_audit
from bot.store.overrides import Kind, drop_edit, entry_dict, entry_key, save_edit

FeedValidator = Callable[[str], Awaitable[str | None]]


@dataclass(frozen=True)
class Context:
    db: Database
    request: CommandRequest
    file_config: BotConfig  # as the YAML files say
    config: BotConfig  # effective: files plus chat edits
    now: float
    validate_feed: FeedValidator
    is_admin: bool
    reachable: Reachable  # which routed channels a command may queue alerts for

    @property
    def command(self) -> str:
        return self.config.settings.command_name

    @property
    def actor(self) -> str:
        name = self.request.user_name.strip()
        return f"{name} ({self.request.user_id})" if name else self.request.user_id


def usage_error(message: str, usage: str) -> CommandError:
    return CommandError(f"{message}\nUsage: {usage}")


def file_entry(ctx: Context, kind: Kind, key: str) -> BaseModel | None:
    """The file config's entry of `kind` with `key`, if the files have one."""
    for entry in getattr(ctx.file_config, kind):
        if entry_key(kind, entry) == key:
            return entry  # type: ignore[no-any-return]
    return None


def commit_edit(
    ctx: Context,
    *,
    kind: Kind,
    key: str,
    action: str,
    before: BaseModel | None,
    after: BaseModel | None,
    drop: bool = False,
) -> None:
    """Store one chat edit (or drop one when `drop`) together with its audit row.

    A removal of an entry the files do not have deletes the overlay row instead of leaving a
    tombstone: nothing is left to hide.
    """
    base = file_entry(ctx, kind, key)
    with transaction(ctx.db):
        if drop or (after is None and base is None):
            drop_edit(ctx.db, kind, key)
        else:
            save_edit(
                ctx.db,
                kind=kind,
                key=key,
                value=after,
                file_entry=base,
                at=ctx.now,
                actor=ctx.actor,
                platform=ctx.request.platform,
            )
        record_audit(
            ctx.db,
            platform=ctx.request.platform,
            actor=ctx.actor,
            action=action,
            target=key,
            before=_dump(before),
            after=_dump(after),
            at=ctx.now,
        )


def _dump(entry: BaseModel | None) -> Any:
    return entry_dict(entry)
