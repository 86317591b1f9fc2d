"""SlackAlertSender when Slack's answer goes wrong after it took the post, through the real
slack-sdk client against the local fake Slack: each garbled answer is retried, and the channel
history (the delivery key in message metadata) is checked first, so the alert is posted once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.model import Alert, Item, ReportedCopy
from bot.deliver.adapters.slack import SlackAlertSender, make_slack_client
from bot.errors import DeliveryError, UncheckableChannel
from tests.fakes.faults import GARBLES
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

CHANNEL = "C0ALERTS"


def make_alert(delivery_id: int = 7) -> Alert:
    item = Item(id="abcdef0123456789", feed_url="https://feed", title="Project Prometheus buys a plant")
    return Alert(delivery_id=delivery_id, item=item, rules=("prometheus",), terms=())


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackAPI]:
    server = await FakeSlackAPI(real_time_ts=True).start()
    yield server
    await server.close()


def sender_for(fake: FakeSlackAPI, sleeps: Sleeps | None = None) -> SlackAlertSender:
    return SlackAlertSender(make_slack_client(BOT_TOKEN, fake.api_url), sleep=sleeps or Sleeps())


@pytest.mark.parametrize("garble", GARBLES)
async def test_a_post_whose_answer_was_garbled_is_found_in_history_not_posted_again(
    fake: FakeSlackAPI, garble: str
) -> None:
    fake.fail_next("chat.postMessage", garble=garble, accept=True)  # Slack took it; the answer went wrong
    sleeps = Sleeps()
    ts = await sender_for(fake, sleeps).send_alert(CHANNEL, make_alert())
    assert len(fake.messages) == 1 and fake.posted[ts] is fake.messages[0]
    assert fake.calls["chat.postMessage"] == 1 and fake.calls["conversations.history"] == 1
    assert sleeps.waits == [0.5]  # retried with backoff, like a 5xx


@pytest.mark.parametrize("garble", ["html_502", "reset"])
async def test_a_post_that_did_not_land_is_posted_again_after_looking(
    fake: FakeSlackAPI, garble: str
) -> None:
    fake.fail_next("chat.postMessage", garble=garble)  # answered before Slack took it
    ts = await sender_for(fake).send_alert(CHANNEL, make_alert())
    assert len(fake.messages) == 1 and fake.posted[ts] is fake.messages[0]
    assert fake.calls["chat.postMessage"] == 2


async def test_a_thread_reply_whose_answer_was_garbled_is_found_in_the_thread(fake: FakeSlackAPI) -> None:
    sender = sender_for(fake)
    parent_ts = await sender.send_alert(CHANNEL, make_alert(1))
    fake.fail_next("chat.postMessage", garble="truncated_json", accept=True)
    copy = ReportedCopy(source="Reuters", title="Bezos venture buys parts maker", link="https://r/1")
    parent = Alert(delivery_id=1, item=make_alert(1).item, rules=(), terms=(), also_reported=(copy,))
    reply_ts = await sender.send_update(CHANNEL, parent_ts, parent, key="nb2-abcdef0123")
    assert fake.replies(parent_ts) == [fake.posted[reply_ts]]  # one reply, the one found


async def test_a_garbled_answer_every_time_goes_back_to_the_outbox_as_ambiguous(fake: FakeSlackAPI) -> None:
    fake.fail_next("conversations.history", status=503, times=5)  # and history cannot be read
    fake.fail_next("chat.postMessage", garble="empty_body", accept=True)
    with pytest.raises(DeliveryError) as raised:
        await sender_for(fake).send_alert(CHANNEL, make_alert())
    assert (raised.value.retryable, raised.value.ambiguous, raised.value.code) == (
        True,
        True,
        "unreadable_answer",
    )
    assert len(fake.messages) == 1  # not posted again blindly: the outbox settles it


async def test_history_the_bot_may_not_read_is_uncheckable(fake: FakeSlackAPI) -> None:
    fake.fail_next("conversations.history", error="missing_scope")
    with pytest.raises(UncheckableChannel):
        await sender_for(fake).find_sent(CHANNEL, "nb7-abcdef0123", 0)


@pytest.mark.parametrize("garble", ["wrong_content_type", "truncated_json", "html_502"])
async def test_a_garbled_history_answer_means_not_now(fake: FakeSlackAPI, garble: str) -> None:
    fake.fail_next("conversations.history", garble=garble, accept=True)
    with pytest.raises(DeliveryError) as raised:
        await sender_for(fake).find_sent(CHANNEL, "nb7-abcdef0123", 0)
    assert raised.value.retryable and not isinstance(raised.value, UncheckableChannel)
