"""Send queued alerts through the platform adapters and record each outcome in the outbox.

Channels are independent: each (platform, channel) is worked through in order by its own task,
so a slow or failing channel never holds up another. A row is marked sent only after the platform
accepted the message, with the platform's message reference stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlite_utils import Database

from bot.delivery import AlertSender
from bot.errors import DeliveryError
from bot.store.outbox import DueDelivery, claim, due_deliveries, mark_failed, mark_retry, mark_sent

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 3600.0


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def retry_delay(attempts: int, retry_after: float | None) -> float:
    """Seconds before the next try: the platform's Retry-After, else 15 s doubling, capped at an hour."""
    backoff = min(15.0 * 2 ** max(0, attempts - 1), MAX_RETRY_DELAY)
    return min(max(backoff, retry_after), MAX_RETRY_DELAY) if retry_after else float(backoff)


async def dispatch_due(
    db: Database, senders: Mapping[str, AlertSender], *, clock: Callable[[], float], limit: int = 200
) -> DispatchReport:
    report = DispatchReport()
    due = due_deliveries(db, now=clock(), platforms=list(senders), limit=limit)
    by_channel: dict[tuple[str, str], list[DueDelivery]] = {}
    for delivery in due:
        by_channel.setdefault((delivery.platform, delivery.channel), []).append(delivery)
    await asyncio.gather(
        *(
            _send_channel(db, senders[platform], rows, clock, report)
            for (platform, _), rows in by_channel.items()
        )
    )
    return report


async def _send_channel(
    db: Database,
    sender: AlertSender,
    rows: list[DueDelivery],
    clock: Callable[[], float],
    report: DispatchReport,
) -> None:
    for row in rows:
        if not claim(db, row.alert.delivery_id, now=clock()):
            continue
        attempts = row.attempts + 1
        try:
            message_ref = await sender.send_alert(row.channel, row.alert)
        except DeliveryError as error:
            where = f"{row.platform}:{row.channel}"
            report.errors.append(f"{where}: {error}")
            if error.retryable:
                report.retrying += 1
                mark_retry(
                    db,
                    row.alert.delivery_id,
                    error=str(error),
                    next_attempt_at=clock() + retry_delay(attempts, error.retry_after),
                )
                log.warning("delivery to %s will be retried: %s", where, error)
            else:
                report.failed += 1
                mark_failed(db, row.alert.delivery_id, error=f"{error.code or 'error'}: {error}")
                log.error("delivery to %s failed for good: %s", where, error)
            return  # keep this channel's order: later rows wait for the next round
        except Exception as error:  # an adapter bug must not lose the alert: retry later
            report.retrying += 1
            mark_retry(
                db,
                row.alert.delivery_id,
                error=f"{type(error).__name__}: {error}",
                next_attempt_at=clock() + retry_delay(attempts, None),
            )
            log.exception("unexpected error sending to %s:%s", row.platform, row.channel)
            return
        mark_sent(db, row.alert.delivery_id, message_ref=message_ref, now=clock())
        report.sent += 1
