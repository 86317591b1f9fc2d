"""Dispatch and recovery: ordering, retries, permanent failures, pacing, digests, updates, crash recovery.

The sender here is a small in-memory adapter (the platform adapters have their own tests against
fake platform servers); everything else is real: the SQLite outbox, the dispatcher, the recovery.
"""

from __future__ import annotations

import json
import time

import pytest

from bot.core.model import Alert
from bot.core.platform import delivery_key
from bot.deliver.dispatch import Dispatcher, retry_delay
from bot.errors import DeliveryError, UncheckableChannel
from bot.store import transaction
from tests.conftest import TestClock


class RecordingSender:
    platform = "slack"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []  # (kind, title or text)
        self.failures: list[DeliveryError] = []
        self.sent_at: list[float] = []

    async def send_alert(self, channel: str, alert: Alert) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(("alert", alert.item.title))
        self.sent_at.append(time.monotonic())
        return f"ts-{len(self.sent)}"

    async def send_update(self, channel: str, parent_ref: str, alert: Alert, key: str | None = None) -> str:
        self.sent.append(("update", f"{parent_ref}: {[c.source for c in alert.also_reported]}"))
        return f"reply-{len(self.sent)}"

    async def send_notice(self, channel: str, text: str) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(("notice", text))
        return f"ts-{len(self.sent)}"


class FindingSender(RecordingSender):
    def __init__(self, history: dict[str, str]) -> None:
        super().__init__()
        self.history = history  # delivery key -> message ref already in the channel

    async def find_sent(self, channel: str, key: str, since: float) -> str | None:
        return self.history.get(key)


def queue(
    db, n: int, *, created_at: float, channel: str = "C1", kind: str = "alert", parent_id=None, source="Wire"
):  # type: ignore[no-untyped-def]
    item_id = f"item{n}"
    with transaction(db):
        db.execute(
            "INSERT INTO items (id, feed_url, title, source, seen_at, last_seen_at) VALUES (?,?,?,?,?,?)",
            [item_id, "https://feed", f"Story {n}", source, created_at, created_at],
        )
        cursor = db.execute(
            "INSERT INTO deliveries (item_id, platform, channel, rules, terms, next_attempt_at, created_at, kind,"
            " parent_id) VALUES (?, 'slack', ?, ?, '[]', ?, ?, ?, ?)",
            [item_id, channel, json.dumps(["prometheus"]), created_at, created_at, kind, parent_id],
        )
    return cursor.lastrowid


def statuses(db) -> list[tuple[int, str, str | None]]:  # type: ignore[no-untyped-def]
    return db.execute("SELECT id, status, message_ref FROM deliveries ORDER BY id").fetchall()


async def test_alerts_go_out_in_order_and_are_marked_with_the_message_ref(db):
    clock = TestClock(time.time())
    for n in range(3):
        queue(db, n, created_at=clock.now - 10 + n)
    sender = RecordingSender()
    report = await Dispatcher(db, {"slack": sender}, clock=clock, pace={}).run_once()
    assert report.sent == 3
    assert [title for _, title in sender.sent] == ["Story 0", "Story 1", "Story 2"]
    assert [status for _, status, _ in statuses(db)] == ["sent"] * 3
    assert [ref for _, _, ref in statuses(db)] == ["ts-1", "ts-2", "ts-3"]
    assert (await Dispatcher(db, {"slack": sender}, clock=clock, pace={}).run_once()).sent == 0


async def test_retryable_failure_waits_for_retry_after_and_keeps_order(db):
    clock = TestClock(time.time())
    first, second = queue(db, 1, created_at=clock.now - 2), queue(db, 2, created_at=clock.now - 1)
    sender = RecordingSender()
    sender.failures.append(DeliveryError("rate limited", retryable=True, retry_after=30))
    dispatcher = Dispatcher(db, {"slack": sender}, clock=clock, pace={})
    report = await dispatcher.run_once()
    assert report.retrying == 1 and sender.sent == []  # the second waits behind the first
    row = db.execute("SELECT status, next_attempt_at FROM deliveries WHERE id = ?", [first]).fetchone()
    assert row[0] == "pending" and row[1] == pytest.approx(clock.now + 30)
    clock.advance(31)
    await dispatcher.run_once()
    assert [title for _, title in sender.sent] == ["Story 1", "Story 2"]
    assert statuses(db)[1][0] == second


async def test_permanent_failure_is_recorded_without_a_retry_storm(db):
    clock = TestClock(time.time())
    queue(db, 1, created_at=clock.now)
    sender = RecordingSender()
    sender.failures.append(DeliveryError("channel_not_found", retryable=False, code="channel_not_found"))
    dispatcher = Dispatcher(db, {"slack": sender}, clock=clock, pace={})
    await dispatcher.run_once()
    clock.advance(3600)
    await dispatcher.run_once()
    (status, error) = db.execute("SELECT status, last_error FROM deliveries").fetchone()
    assert status == "failed" and "channel_not_found" in error
    assert sender.failures == [] and sender.sent == []


def test_retry_delay_doubles_and_is_capped():
    assert [retry_delay(n, None) for n in (1, 2, 3)] == [15, 30, 60]
    assert retry_delay(20, None) == 3600
    assert retry_delay(1, 120) == 120


async def test_pacing_spaces_messages_to_one_channel(db):
    clock = TestClock(time.time())
    for n in range(3):
        queue(db, n, created_at=clock.now)
    sender = RecordingSender()
    await Dispatcher(db, {"slack": sender}, clock=clock, pace={"slack": (1, 0.2)}).run_once()
    gaps = [b - a for a, b in zip(sender.sent_at, sender.sent_at[1:], strict=False)]
    assert len(gaps) == 2 and all(gap >= 0.15 for gap in gaps)


async def test_alerts_delayed_by_an_outage_are_folded_into_one_digest(db):
    clock = TestClock(time.time())
    for n in range(5):
        queue(db, n, created_at=clock.now - 5 * 3600 + n)
    queue(db, 9, created_at=clock.now - 60)  # recent: a normal alert
    sender = RecordingSender()
    report = await Dispatcher(db, {"slack": sender}, clock=clock, pace={}, digest_after=2 * 3600).run_once()
    kinds = [kind for kind, _ in sender.sent]
    assert kinds == ["notice", "alert"]
    assert "Catch-up: 5 stories" in sender.sent[0][1] and "Story 4" in sender.sent[0][1]
    assert report.digested == 5
    assert {ref for _, status, ref in statuses(db)[:5]} == {"ts-1"}


async def test_update_waits_for_its_alert_then_carries_every_copy(db):
    clock = TestClock(time.time())
    sender = RecordingSender()
    sender.failures.append(DeliveryError("down", retryable=True, retry_after=10))
    parent = queue(db, 1, created_at=clock.now - 3)
    queue(db, 2, created_at=clock.now - 2, kind="update", parent_id=parent, source="Reuters")
    queue(db, 3, created_at=clock.now - 1, kind="update", parent_id=parent, source="Bloomberg")
    dispatcher = Dispatcher(db, {"slack": sender}, clock=clock, pace={})
    await dispatcher.run_once()
    assert sender.sent == []
    clock.advance(11)
    await dispatcher.run_once()
    assert sender.sent == [
        ("alert", "Story 1"),
        ("update", "ts-1: ['Reuters']"),
        ("update", "ts-1: ['Reuters', 'Bloomberg']"),
    ]


async def test_interrupted_send_found_in_channel_history_is_not_posted_again(db):
    clock = TestClock(time.time())
    posted, lost = queue(db, 1, created_at=clock.now), queue(db, 2, created_at=clock.now)
    with transaction(db):
        db.execute("UPDATE deliveries SET status = 'sending', claimed_at = ?", [clock.now])
    keys = {
        delivery_id: f"nb{delivery_id}-{item}"[:25]
        for delivery_id, item in ((posted, "item1"), (lost, "item2"))
    }
    sender = FindingSender({keys[posted]: "ts-from-history"})
    await Dispatcher(db, {"slack": sender}, clock=clock, pace={}).run_once()
    assert sender.sent == [("alert", "Story 2")]  # only the one that never reached the channel
    assert statuses(db) == [(posted, "sent", "ts-from-history"), (lost, "sent", "ts-1")]


async def test_interrupted_send_that_cannot_be_checked_is_sent_again(db):
    clock = TestClock(time.time())
    queue(db, 1, created_at=clock.now)
    with transaction(db):
        db.execute("UPDATE deliveries SET status = 'sending', claimed_at = ?", [clock.now])
    sender = RecordingSender()  # no find_sent: nothing to check against
    await Dispatcher(db, {"slack": sender}, clock=clock, pace={}).run_once()
    assert sender.sent == [("alert", "Story 1")]  # at least once: a duplicate beats a lost alert
    assert statuses(db)[0][1:] == ("sent", "ts-1")


async def test_a_channel_that_cannot_be_looked_at_gets_the_send_again(db):
    clock = TestClock(time.time())
    queue(db, 1, created_at=clock.now)
    with transaction(db):
        db.execute("UPDATE deliveries SET status = 'sending', claimed_at = ?", [clock.now])

    class NoAccess(FindingSender):
        async def find_sent(self, channel: str, key: str, since: float) -> str | None:
            raise UncheckableChannel("no bot token")

    sender = NoAccess({})
    await Dispatcher(db, {"slack": sender}, clock=clock, pace={}).run_once()
    assert sender.sent == [("alert", "Story 1")]


async def test_a_channel_that_cannot_be_looked_at_right_now_waits(db):
    clock = TestClock(time.time())
    queue(db, 1, created_at=clock.now)
    with transaction(db):
        db.execute("UPDATE deliveries SET status = 'sending', claimed_at = ?", [clock.now])

    class Down(FindingSender):
        async def find_sent(self, channel: str, key: str, since: float) -> str | None:
            raise DeliveryError("HTTP 503", retryable=True)

    sender = Down({})
    await Dispatcher(db, {"slack": sender}, clock=clock, pace={}).run_once()
    assert sender.sent == [] and statuses(db)[0][1] == "sending"


def test_delivery_key_fits_discord_nonce_limit():
    from bot.core.model import Item

    alert = Alert(delivery_id=123456789, item=Item(id="f" * 32, feed_url="u", title="t"), rules=(), terms=())
    assert len(delivery_key(alert)) <= 25 and delivery_key(alert).startswith("nb123456789-")


async def test_an_ambiguous_failure_is_checked_before_anything_is_sent_again(db):
    clock = TestClock(time.time())
    delivery = queue(db, 1, created_at=clock.now)

    class LostAnswer(FindingSender):
        async def send_alert(self, channel: str, alert: Alert) -> str:
            self.history[delivery_key(alert)] = "ts-accepted"  # the platform posted it...
            raise DeliveryError("connection reset", retryable=True, ambiguous=True)  # ...but we never heard

    sender = LostAnswer({})
    dispatcher = Dispatcher(db, {"slack": sender}, clock=clock, pace={})
    await dispatcher.run_once()
    assert statuses(db) == [(delivery, "sending", None)]
    await dispatcher.run_once()
    assert statuses(db) == [(delivery, "sending", None)]  # settled after a backoff, like a retry
    clock.advance(retry_delay(1, None))
    await dispatcher.run_once()
    assert statuses(db) == [(delivery, "sent", "ts-accepted")]


async def test_an_unexpected_exception_from_an_adapter_is_settled_after_a_backoff_not_lost(db):
    clock = TestClock(time.time())
    delivery = queue(db, 1, created_at=clock.now)

    class Buggy(FindingSender):
        async def send_alert(self, channel: str, alert: Alert) -> str:
            if not self.sent:
                self.sent.append(("crashed", alert.item.title))
                raise TypeError("string indices must be integers")  # e.g. an unreadable answer
            return await super().send_alert(channel, alert)

    sender = Buggy({})
    dispatcher = Dispatcher(db, {"slack": sender}, clock=clock, pace={})
    report = await dispatcher.run_once()
    assert (report.retrying, report.failed) == (1, 0)
    (status, error) = db.execute("SELECT status, last_error FROM deliveries").fetchone()
    assert status == "sending" and error == "TypeError: string indices must be integers"
    clock.advance(retry_delay(1, None))
    await dispatcher.run_once()
    assert statuses(db) == [(delivery, "sent", "ts-2")]  # looked for, not found, sent again


async def test_channel_problems_name_the_channel_and_the_reason(db):
    from bot.store.outbox import channel_problems

    clock = TestClock(time.time())
    queue(db, 1, created_at=clock.now, channel="C_GONE")
    queue(db, 2, created_at=clock.now, channel="C_OK")
    sender = RecordingSender()
    sender.failures.append(
        DeliveryError("channel_not_found: check routes.yaml", retryable=False, code="channel_not_found")
    )
    await Dispatcher(db, {"slack": sender}, clock=clock, pace={}).run_once()
    [problem] = channel_problems(db, now=clock.now)
    assert (problem.platform, problem.channel, problem.failed) == ("slack", "C_GONE", 1)
    assert "channel_not_found" in problem.last_error
