"""Settle deliveries whose send may or may not have reached the platform: never lost, and never
posted twice where the platform lets the bot look.

Such a row is left 'sending' by a crash or SIGKILL mid-send (settled at the next dispatch round),
or by a send whose outcome is unknown: the answer lost, cut short or unreadable (settled after a
backoff, see bot.deliver.dispatch). For each one:
- where the adapter can look (`find_sent`: Slack channel or thread history, by the delivery key in
  message metadata; a Discord channel's, or a Discord webhook's channel's, recent messages, by the
  key at the end of the embed footer): found -> marked sent with that message; not found -> queued
  again (a Discord channel post also carries the key as its nonce);
- a Discord edit ("also reported by") is the same edit again -> queued again;
- a found Slack thread reply ("also reported by") may have been cut off before its second step, the
  edit of the alert that lists every outlet: that edit is done again before the row is marked sent;
- where nobody can tell (the console; a Discord webhook without a bot token that can read its
  channel; a catch-up digest, which carries no key) -> queued again: at least once, because one
  duplicate costs the team less than a missing alert.
A channel that cannot be checked right now (platform down) is left for a later round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from bot.core.platform import AlertSender, delivery_key
from bot.errors import DeliveryError, UncheckableChannel
from bot.store.outbox import (
    DIGEST_MARKER,
    DueDelivery,
    Parent,
    claimed_at,
    mark_retry,
    mark_sent,
    parent_of,
    unsettled,
)

log = logging.getLogger(__name__)
CLOCK_SLACK = 120.0  # look this far before the claim for the message (clock skew, slow sends)


@dataclass
class RecoveryReport:
    confirmed: int = 0  # found already posted: marked sent
    requeued: int = 0  # looked and not found (or an edit): sent again
    unverified: int = 0  # nobody can look: sent again, at least once
    unchecked: int = 0  # cannot look right now, or platform not connected: left for later


async def settle_interrupted(
    db: Database, senders: Mapping[str, AlertSender], *, clock: Callable[[], float]
) -> RecoveryReport:
    report = RecoveryReport()
    for row in unsettled(db, now=clock()):
        sender = senders.get(row.platform)
        if sender is None:
            report.unchecked += 1  # platform not connected in this run: settle it when it is
            continue
        await _settle(db, sender, row, clock, report)
    if report.confirmed or report.requeued or report.unverified:
        log.warning(
            "sends of unknown outcome settled: %d found already posted, %d not found and queued again,"
            " %d queued again unchecked (the channel cannot be looked at)",
            report.confirmed, report.requeued, report.unverified,
        )  # fmt: skip
    return report


async def _settle(
    db: Database, sender: AlertSender, row: DueDelivery, clock: Callable[[], float], report: RecoveryReport
) -> None:
    delivery_id = row.alert.delivery_id
    try:
        found = await _find_posted(db, sender, row)
    except UncheckableChannel as error:
        mark_retry(db, delivery_id, error=f"outcome unknown and {error}: sent again", next_attempt_at=clock())
        report.unverified += 1
        return
    except DeliveryError as error:
        log.warning(
            "cannot check %s:%s for a send of unknown outcome yet: %s", row.platform, row.channel, error
        )
        report.unchecked += 1
        return
    if found:
        parent = parent_of(db, row) if row.kind == "update" else None
        if parent is not None and not await _redo_parent_edit(sender, row, parent):
            report.unchecked += 1
            return
        mark_sent(db, [delivery_id], message_ref=found, now=clock())
        report.confirmed += 1
    else:
        mark_retry(
            db, delivery_id, error="the platform had not taken it: sent again", next_attempt_at=clock()
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


async def _find_posted(db: Database, sender: AlertSender, row: DueDelivery) -> str | None:
    """The message the unsettled send posted, or None when it posted none (or repeating it is
    harmless). Raises UncheckableChannel when there is no way to tell, DeliveryError when not now."""
    if row.marker == DIGEST_MARKER:
        raise UncheckableChannel("a catch-up digest carries no delivery key")
    if row.platform == "discord" and row.kind == "update":
        return None  # an edit: making it again changes nothing
    finder = getattr(sender, "find_sent", None)
    if finder is None:
        raise UncheckableChannel(f"{row.platform} messages cannot be looked up")
    since = (claimed_at(db, row.alert.delivery_id) or 0.0) - CLOCK_SLACK
    key = delivery_key(row.alert)
    if row.kind == "update":  # a Slack thread reply: look in its alert's thread
        parent = parent_of(db, row)
        if parent is not None and parent.message_ref:
            found: str | None = await finder(row.channel, key, since, parent.message_ref)
            return found
    found = await finder(row.channel, key, since)
    return found
