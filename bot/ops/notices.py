"""The scheduled notice check: read feed and rule health and channels' refusals, decide
(bot.core.notices), post to the admin channel, and record each state change only once its message was
accepted.

A failed send records nothing, so the same notice is tried again on the next run; a sent one is
recorded at once, so it is never sent twice (short of a crash between the send and the record).
Several notices due at the same run share a message, so a bad hour cannot flood the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from sqlite_utils import Database

from bot.config import BotConfig
from bot.core.notices import FeedHealth, NoticeChange, NoticePolicy, RuleActivity, decide_notices
from bot.core.platform import AlertSender
from bot.store.notices import (
    channel_refusals,
    feed_health_rows,
    notice_states,
    polling_since,
    rule_edit_times,
    rule_last_matches,
    set_notice,
)

log = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 1800  # under Discord's 2,000 and well under Slack's limits
REFUSALS_LOOKBACK = 7 * 86400.0  # as long as `status` counts a channel's failed alerts


async def check_notices(
    db: Database, config: BotConfig, senders: Mapping[str, AlertSender], clock: Callable[[], float]
) -> int:
    """Post the notices due now to `settings.admin_channel`; returns how many notices were posted.

    Does nothing without an admin channel, or while that channel's platform is not connected
    (the notices wait in the data, not in memory, and go out once it is).
    """
    admin = config.settings.admin_channel
    if admin is None:
        return 0
    sender = senders.get(admin.platform)
    if sender is None:
        log.warning("notices: admin channel platform %r is not connected; notices wait", admin.platform)
        return 0
    now = clock()
    changes = decide_notices(
        feeds=_feeds(db, config),
        rules=_rules(db, config),
        polling_since=polling_since(db),
        states=notice_states(db),
        now=now,
        policy=NoticePolicy(
            feed_down_after=config.settings.notices.feed_down_after,
            rule_silent_after=config.settings.notices.rule_silent_after,
        ),
        channels=channel_refusals(db, since=now - REFUSALS_LOOKBACK),
    )
    for change in changes:
        if change.text is None:
            set_notice(db, change.key, state=change.state, at=change.at)
    posted = 0
    for batch in pack_messages([change for change in changes if change.text is not None]):
        try:
            await sender.send_notice(admin.channel, "\n".join(change.text or "" for change in batch))
        except Exception as error:  # DeliveryError, or an adapter bug: record nothing, retry next run
            log.warning("notices: could not post to %s:%s: %s", admin.platform, admin.channel, error)
            break
        for change in batch:
            set_notice(db, change.key, state=change.state, at=change.at, message=change.text or "")
        posted += len(batch)
    if posted:
        log.info("notices: posted %d to %s:%s", posted, admin.platform, admin.channel)
    return posted


def pack_messages(changes: list[NoticeChange], limit: int = MAX_MESSAGE_CHARS) -> list[list[NoticeChange]]:
    """Group notices, in order, into messages of at most `limit` characters (one line each)."""
    batches: list[list[NoticeChange]] = []
    size = 0
    for change in changes:
        length = len(change.text or "") + 1
        if batches and size + length <= limit:
            batches[-1].append(change)
            size += length
        else:
            batches.append([change])
            size = length
    return batches


def _feeds(db: Database, config: BotConfig) -> list[FeedHealth]:
    feeds = [feed for feed in config.feeds if feed.enabled]
    rows = feed_health_rows(db, [feed.url for feed in feeds])
    health = []
    for feed in feeds:
        error_count, last_success_at, last_status, last_error, disabled_reason = rows.get(
            feed.url, (0, None, None, None, None)
        )
        health.append(
            FeedHealth(
                url=feed.url,
                name=feed.name or feed.url,
                error_count=error_count,
                last_success_at=last_success_at,
                last_status=last_status,
                last_error=last_error,
                disabled_reason=disabled_reason,
            )
        )
    return health


def _rules(db: Database, config: BotConfig) -> list[RuleActivity]:
    last = rule_last_matches(db)
    edited = rule_edit_times(db)
    return [
        RuleActivity(name=rule.name, last_match_at=last.get(rule.name), since=edited.get(rule.name))
        for rule in config.rules
        if rule.enabled
    ]
