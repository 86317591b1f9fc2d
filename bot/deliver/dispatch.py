"""Send queued alerts through the platform adapters and record each outcome in the outbox.

Each (platform, channel) is worked through in order by its own task, paced below the platform's
rate limit, so a slow or failing channel never holds up another. A row is claimed just before its
send and marked sent only after the platform accepted the message, with the platform's message
reference stored. A send that fails is retried later with backoff, unless the platform stated
that no retry can help (then it fails for good); one whose outcome is unknown (an answer lost or
unreadable, an adapter's unexpected exception) is settled by bot.deliver.recovery after the backoff
instead of being sent blindly again. Alerts that waited longer than `digest_after` (an outage)
are folded into one catch-up digest per channel instead of a burst. Updates ("also reported
by") wait for their alert and for the older updates of that alert.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import partial

from aiolimiter import AsyncLimiter
from sqlite_utils import Database

from bot.core.platform import AlertSender, delivery_key
from bot.core.render.digest import render_digest
from bot.deliver.recovery import settle_interrupted
from bot.errors import DeliveryError
from bot.logs import redact_tokens
from bot.store.feedback import story_muted
from bot.store.outbox import (
    DIGEST_MARKER,
    DueDelivery,
    claim,
    due_deliveries,
    earlier_update_unsettled,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_unsettled,
    parent_of,
)

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 3600.0
# Messages per period per channel, kept under each platform's limit so it never has to say 429.
# Discord webhooks are paced per webhook inside the Discord adapter.
DEFAULT_PACE: dict[str, tuple[float, float]] = {"slack": (1, 1.0), "discord": (5, 5.0)}


class SendOutcome(Enum):
    """What one outbox row's turn came to, and so whether its channel's later rows go on."""

    SENT = "sent"  # the platform accepted it
    PASSED = "passed"  # not sent this round (waits for its alert, claimed elsewhere, settled): go on
    CHANNEL_HELD = "held"  # the send failed: the channel's later rows wait, to keep their order


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    digested: int = 0
    errors: list[str] = field(default_factory=list)


def retry_delay(attempts: int, retry_after: float | None) -> float:
    """Seconds before the next try: the platform's Retry-After when it gave one, else 15 s doubling
    per attempt; capped at an hour either way."""
    if retry_after is not None:
        return float(min(max(retry_after, 0.0), MAX_RETRY_DELAY))
    return float(min(15.0 * 2.0 ** max(0, attempts - 1), MAX_RETRY_DELAY))


class Dispatcher:
    def __init__(
        self,
        db: Database,
        senders: Mapping[str, AlertSender],
        *,
        clock: Callable[[], float],
        digest_after: float = 2 * 3600,
        pace: Mapping[str, tuple[float, float]] = DEFAULT_PACE,
    ) -> None:
        self._db = db
        self._senders = senders
        self._clock = clock
        self._digest_after = digest_after
        self._pace = pace
        self._pacers: dict[tuple[str, str], AsyncLimiter] = {}

    async def run_once(self, limit: int = 200) -> DispatchReport:
        report = DispatchReport()
        await settle_interrupted(self._db, self._senders, clock=self._clock)
        due = due_deliveries(self._db, now=self._clock(), platforms=list(self._senders), limit=limit)
        by_channel: dict[tuple[str, str], list[DueDelivery]] = {}
        for delivery in due:
            by_channel.setdefault((delivery.platform, delivery.channel), []).append(delivery)
        await asyncio.gather(*(self._work_channel(key, rows, report) for key, rows in by_channel.items()))
        return report

    async def _work_channel(
        self, key: tuple[str, str], rows: list[DueDelivery], report: DispatchReport
    ) -> None:
        platform, channel = key
        sender = self._senders[platform]
        now = self._clock()
        stale = [row for row in rows if row.kind == "alert" and now - row.created_at > self._digest_after]
        if len(stale) >= 2:
            if not await self._send_digest(sender, key, stale, report):
                return
            rows = [row for row in rows if row not in stale]
        for row in rows:
            if row.kind == "update":
                outcome = await self._send_update(sender, row, report)
            else:
                outcome = await self._send(
                    row, [row.alert.delivery_id], report, partial(sender.send_alert, channel, row.alert)
                )
            if outcome is SendOutcome.CHANNEL_HELD:
                return  # keep this channel's order: later rows wait for the next round

    async def _send_update(
        self, sender: AlertSender, row: DueDelivery, report: DispatchReport
    ) -> SendOutcome:
        parent = parent_of(self._db, row)
        if parent is None or parent.status == "failed":
            mark_failed(self._db, row.alert.delivery_id, error="its story's alert was never delivered")
            return SendOutcome.PASSED
        if parent.status != "sent" or not parent.message_ref:
            return (
                SendOutcome.PASSED
            )  # the alert is not out yet: the update waits, the channel's other rows go on
        if parent.message_ref in ("unconfirmed", "digest:unconfirmed") or parent.message_ref.startswith(
            "digest:"
        ):
            mark_sent(
                self._db,
                [row.alert.delivery_id],
                message_ref="skipped: no message to update",
                now=self._clock(),
            )
            return SendOutcome.PASSED
        if story_muted(self._db, row.platform, row.channel, parent.alert.item.id):
            # a reader pressed "Mute this story" on the alert: its thread gets no more updates
            mark_sent(
                self._db, [row.alert.delivery_id], message_ref="skipped: story muted", now=self._clock()
            )
            return SendOutcome.PASSED
        if earlier_update_unsettled(self._db, row):
            # an older copy of the story goes first, so the alert's list only grows
            return SendOutcome.PASSED
        ref = parent.message_ref
        return await self._send(
            row,
            [row.alert.delivery_id],
            report,
            lambda: sender.send_update(row.channel, ref, parent.alert, key=delivery_key(row.alert)),
        )

    async def _send_digest(
        self, sender: AlertSender, key: tuple[str, str], stale: list[DueDelivery], report: DispatchReport
    ) -> bool:
        text = render_digest([row.alert for row in stale], now=datetime.fromtimestamp(self._clock(), tz=UTC))
        ids = [row.alert.delivery_id for row in stale]
        outcome = await self._send(
            stale[0], ids, report, lambda: sender.send_notice(key[1], text), marker=DIGEST_MARKER
        )
        if outcome is SendOutcome.SENT:
            report.digested += len(ids)
            log.info("%d delayed alerts for %s:%s sent as one digest", len(ids), *key)
        return outcome is SendOutcome.SENT

    async def _send(
        self,
        row: DueDelivery,
        ids: list[int],
        report: DispatchReport,
        send: Callable[[], Awaitable[str]],
        *,
        marker: str | None = None,
    ) -> SendOutcome:
        """Claim `ids`, pace, send, record what came of it."""
        where = f"{row.platform}:{row.channel}"
        await self._pacer(row.platform, row.channel).acquire()
        if not claim(self._db, ids, now=self._clock(), marker=marker):
            return SendOutcome.PASSED
        attempts = row.attempts + 1
        try:
            message_ref = await send()
        except Exception as exc:
            error = exc if isinstance(exc, DeliveryError) else _unexpected(exc, where)
            report.errors.append(f"{where}: {error}")
            self._record_failure(ids, error, attempts, where, report)
            return SendOutcome.CHANNEL_HELD
        mark_sent(self._db, ids, message_ref=message_ref, now=self._clock())
        report.sent += len(ids)
        return SendOutcome.SENT

    def _record_failure(
        self, ids: list[int], error: DeliveryError, attempts: int, where: str, report: DispatchReport
    ) -> None:
        if not error.retryable:
            for delivery_id in ids:
                mark_failed(self._db, delivery_id, error=f"{error.code or 'error'}: {error}")
            report.failed += len(ids)
            log.error("delivery to %s failed for good: %s", where, error)
            return
        later = self._clock() + retry_delay(attempts, error.retry_after)
        report.retrying += len(ids)
        if error.ambiguous:
            # The platform may have posted it: the rows stay claimed, and bot.deliver.recovery settles them
            # once `later` comes (found -> sent; not found, or no way to look -> sent again).
            mark_unsettled(self._db, ids, error=str(error), settle_at=later)
            log.warning("delivery to %s may or may not have gone through: %s", where, error)
            return
        for delivery_id in ids:
            mark_retry(self._db, delivery_id, error=str(error), next_attempt_at=later)
        log.warning("delivery to %s will be retried: %s", where, error)

    def _pacer(self, platform: str, channel: str) -> AsyncLimiter:
        pacer = self._pacers.get((platform, channel))
        if pacer is None:
            rate, period = self._pace.get(platform, (1000, 1.0))
            pacer = self._pacers[(platform, channel)] = AsyncLimiter(rate, period)
        return pacer


def _unexpected(exc: Exception, where: str) -> DeliveryError:
    """An adapter let an exception through: nobody knows whether the message was posted."""
    log.error("unexpected error sending to %s", where, exc_info=exc)
    text = redact_tokens(f"{type(exc).__name__}: {exc}")  # an exception may quote a webhook URL
    return DeliveryError(text, retryable=True, code="error", ambiguous=True)


async def dispatch_due(
    db: Database, senders: Mapping[str, AlertSender], *, clock: Callable[[], float], limit: int = 200
) -> DispatchReport:
    """One dispatch round with default settings (tests, `poll --once`)."""
    return await Dispatcher(db, senders, clock=clock).run_once(limit)
