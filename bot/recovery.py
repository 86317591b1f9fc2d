"""Settle deliveries that a crash or SIGKILL interrupted mid-send, without posting anything twice.

A row still 'sending' may or may not have reached the platform. For each one:
- the adapter can look for it (Slack: message metadata in channel history; Discord: the key in the
  embed footer of recent messages): found -> marked sent with that message; not found -> queued again;
- a Discord edit ("also reported by") is idempotent, and a Discord channel post carries the key as
  its nonce with enforce_nonce, so Discord itself returns the earlier message instead of posting
  again (for a few minutes after the first try) -> queued again;
- a found Slack thread reply ("also reported by") may have been cut off before its second step, the
  edit of the alert that lists every outlet: that edit is done again before the row is marked sent;
- otherwise (console, Discord webhooks, catch-up digests) there is no way to know: the row is marked
  sent as "unconfirmed", because the bot promises at most once per channel. The window this covers is
  the duration of one send.
A channel that cannot be checked right now (platform down) is left for the next dispatch round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from bot.delivery import AlertSender, delivery_key
from bot.errors import DeliveryError
from bot.store.outbox import (
    DIGEST_MARKER,
    DueDelivery,
    Parent,
    claimed_at,
    interrupted,
    mark_retry,
    mark_sent,
    parent_of,
)

log = logging.getLogger(__name__)
CLOCK_SLACK = 120.0  # look this far before the claim for the message (clock skew, slow sends)


@dataclass
class RecoveryReport:
    confirmed: int = 0
    requeued: int = 0
    unconfirmed: int = 0
    unchecked: int = 0


async def settle_interrupted(
    db: Database, senders: Mapping[str, AlertSender], *, clock: Callable[[], float]
) -> RecoveryReport:
    report = RecoveryReport()
    for row in interrupted(db):
        sender = senders.get(row.platform)
        if sender is None:
            report.unchecked += 1  # platform not connected in this run: settle it when it is
            continue
        await _settle(db, sender, row, clock, report)
    if report.confirmed or report.requeued or report.unconfirmed:
        log.warning(
            "interrupted sends settled: %d found already posted, %d queued again, %d marked unconfirmed",
            report.confirmed, report.requeued, report.unconfirmed,
        )  # fmt: skip
    return report


async def _settle(
    db: Database, sender: AlertSender, row: DueDelivery, clock: Callable[[], float], report: RecoveryReport
) -> None:
    delivery_id = row.alert.delivery_id
    if row.marker == DIGEST_MARKER:
        mark_sent(db, [delivery_id], message_ref="digest:unconfirmed", now=clock())
        report.unconfirmed += 1
        return
    if row.platform == "discord" and (row.kind == "update" or not row.channel.startswith("https://")):
        mark_retry(db, delivery_id, error="interrupted; repeated idempotently", next_attempt_at=clock())
        report.requeued += 1
        return
    finder = getattr(sender, "find_sent", None)
    if finder is None or (row.platform == "discord" and row.channel.startswith("https://")):
        mark_sent(db, [delivery_id], message_ref="unconfirmed", now=clock())
        report.unconfirmed += 1
        return
    since = (claimed_at(db, delivery_id) or clock()) - CLOCK_SLACK
    parent = parent_of(db, row) if row.kind == "update" else None
    thread = parent.message_ref if parent else None  # a thread reply: look in its alert's thread
    try:
        if thread:
            found = await finder(row.channel, delivery_key(row.alert), since, thread)
        else:
            found = await finder(row.channel, delivery_key(row.alert), since)
    except DeliveryError as error:
        log.warning("cannot check %s:%s for an interrupted send yet: %s", row.platform, row.channel, error)
        report.unchecked += 1
        return
    if found:
        if parent is not None and not await _redo_parent_edit(sender, row, parent):
            report.unchecked += 1
            return
        mark_sent(db, [delivery_id], message_ref=found, now=clock())
        report.confirmed += 1
    else:
        mark_retry(
            db, delivery_id, error="interrupted before the platform accepted it", next_attempt_at=clock()
        )
        report.requeued += 1


async def _redo_parent_edit(sender: AlertSender, row: DueDelivery, parent: Parent) -> bool:
    """Edit the alert again after its update's post was found (senders with refresh_parent: Slack).

    False when the platform cannot take the edit now: the row stays for the next round. An edit it
    refuses for good (the alert was deleted) is logged and the row settles anyway."""
    refresh = getattr(sender, "refresh_parent", None)
    if refresh is None or not parent.message_ref:
        return True
    try:
        await refresh(row.channel, parent.message_ref, parent.alert)
    except DeliveryError as error:
        if error.retryable:
            log.warning(
                "cannot edit alert %s in %s:%s yet: %s", parent.message_ref, row.platform, row.channel, error
            )
            return False
        log.warning(
            "alert %s in %s:%s cannot be edited: %s", parent.message_ref, row.platform, row.channel, error
        )
    return True
