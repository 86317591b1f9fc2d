"""SlackAlertSender: the real slack-sdk client against the local fake Slack Web API."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from bot.app import Environment
from bot.core.model import Alert, Item
from bot.core.platform import AlertSender
from bot.deliver.adapters.slack import SlackAlertSender, make_slack_client
from bot.errors import DeliveryError
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

CHANNEL = "C0123456789"


def make_alert(title: str = "Project Prometheus raises $6.2B") -> Alert:
    item = Item(
        id="i1",
        feed_url="https://example.com/rss.xml",
        title=title,
        link="https://example.com/story",
        summary="Jeff Bezos backs Project Prometheus.",
        source="Example News",
    )
    return Alert(delivery_id=7, item=item, rules=("prometheus",), terms=("Bezos",))


class Sleeps:
    """Records requested waits instead of sleeping, so retry tests take no time."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def sender_for(fake_slack: FakeSlackAPI, sleeps: Sleeps | None = None, **kwargs: float) -> SlackAlertSender:
    client = make_slack_client(BOT_TOKEN, fake_slack.api_url)
    return SlackAlertSender(client, sleep=sleeps or Sleeps(), **kwargs)  # type: ignore[arg-type]


async def test_alert_is_posted_as_blocks_and_the_message_ts_is_returned(fake_slack: FakeSlackAPI) -> None:
    sender: AlertSender = sender_for(fake_slack)
    ts = await sender.send_alert(CHANNEL, make_alert())

    assert ts == "1700000000.000001"
    assert sender.platform == "slack"
    [message] = fake_slack.messages
    assert message["channel"] == CHANNEL
    assert message["text"] == "Project Prometheus raises $6.2B — Example News"
    assert message["blocks"][0]["text"]["text"] == (
        "*<https://example.com/story|Project Prometheus raises $6.2B>*"
    )
    assert message["unfurl_links"] is False
    assert fake_slack.auth_headers == [f"Bearer {BOT_TOKEN}"]


async def test_rate_limit_waits_the_fractional_retry_after_then_posts(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after="0.5")
    sleeps = Sleeps()
    ts = await sender_for(fake_slack, sleeps).send_alert(CHANNEL, make_alert())

    assert ts == "1700000000.000001"
    assert sleeps.waits == [0.5]
    assert fake_slack.calls["chat.postMessage"] == 2
    assert len(fake_slack.messages) == 1


async def test_rate_limit_really_waits_with_the_default_sleep(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after="0.2")
    sender = SlackAlertSender(make_slack_client(BOT_TOKEN, fake_slack.api_url))
    started = time.monotonic()
    await sender.send_alert(CHANNEL, make_alert())
    assert time.monotonic() - started >= 0.2
    assert len(fake_slack.messages) == 1


async def test_persistent_rate_limit_gives_up_after_max_attempts_as_retryable(
    fake_slack: FakeSlackAPI,
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after="1.5", times=5)
    sleeps = Sleeps()
    with pytest.raises(DeliveryError) as raised:
        await sender_for(fake_slack, sleeps).send_alert(CHANNEL, make_alert())

    assert raised.value.retryable is True
    assert raised.value.retry_after == 1.5
    assert raised.value.code == "ratelimited"
    assert fake_slack.calls["chat.postMessage"] == 3
    assert sleeps.waits == [1.5, 1.5]
    assert fake_slack.messages == []


async def test_long_retry_after_is_left_to_the_caller_instead_of_blocking(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after="120")
    sleeps = Sleeps()
    with pytest.raises(DeliveryError) as raised:
        await sender_for(fake_slack, sleeps, max_wait=30).send_alert(CHANNEL, make_alert())

    assert raised.value.retryable is True
    assert raised.value.retry_after == 120
    assert fake_slack.calls["chat.postMessage"] == 1
    assert sleeps.waits == []


async def test_unusable_retry_after_falls_back_to_one_second(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after="soon")
    sleeps = Sleeps()
    await sender_for(fake_slack, sleeps).send_alert(CHANNEL, make_alert())
    assert sleeps.waits == [1.0]


async def test_server_errors_back_off_and_then_succeed(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", status=503, times=2)
    sleeps = Sleeps()
    ts = await sender_for(fake_slack, sleeps).send_alert(CHANNEL, make_alert())

    assert ts == "1700000000.000001"
    assert sleeps.waits == [0.5, 1.0]
    assert fake_slack.calls["chat.postMessage"] == 3


async def test_outage_raises_retryable_after_bounded_attempts(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", status=500, times=10)
    sleeps = Sleeps()
    with pytest.raises(DeliveryError) as raised:
        await sender_for(fake_slack, sleeps).send_alert(CHANNEL, make_alert())

    assert raised.value.retryable is True
    assert raised.value.code == "http_500"
    assert raised.value.retry_after is not None
    assert fake_slack.calls["chat.postMessage"] == 3
    assert fake_slack.messages == []


async def test_slack_side_internal_error_is_retried(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", error="internal_error")
    sleeps = Sleeps()
    await sender_for(fake_slack, sleeps).send_alert(CHANNEL, make_alert())
    assert sleeps.waits == [0.5]
    assert len(fake_slack.messages) == 1


async def test_dropped_connection_is_retried(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", disconnect=True)
    sleeps = Sleeps()
    ts = await sender_for(fake_slack, sleeps).send_alert(CHANNEL, make_alert())
    assert ts
    assert sleeps.waits == [0.5]
    assert fake_slack.calls["chat.postMessage"] == 2


async def test_unreachable_slack_raises_retryable_network_error() -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_slack_client(BOT_TOKEN, f"http://127.0.0.1:{port}/api/")
    sleeps = Sleeps()
    with pytest.raises(DeliveryError) as raised:
        await SlackAlertSender(client, sleep=sleeps).send_alert(CHANNEL, make_alert())
    assert raised.value.retryable is True
    assert raised.value.code == "network"
    assert sleeps.waits == [0.5, 1.0]


@pytest.mark.parametrize(
    "code",
    [
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "missing_scope",
    ],
)
async def test_permanent_errors_raise_at_once_without_retrying(fake_slack: FakeSlackAPI, code: str) -> None:
    fake_slack.fail_next("chat.postMessage", error=code, times=5)
    sleeps = Sleeps()
    with pytest.raises(DeliveryError) as raised:
        await sender_for(fake_slack, sleeps).send_alert(CHANNEL, make_alert())

    assert raised.value.retryable is False
    assert raised.value.code == code
    assert code in str(raised.value)
    assert fake_slack.calls["chat.postMessage"] == 1
    assert sleeps.waits == []


async def test_not_in_channel_says_how_to_fix_it(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")
    with pytest.raises(DeliveryError, match="invite"):
        await sender_for(fake_slack).send_alert(CHANNEL, make_alert())


async def test_wrong_token_is_refused_by_slack_and_not_retried(fake_slack: FakeSlackAPI) -> None:
    client = make_slack_client("xoxb-wrong", fake_slack.api_url)
    with pytest.raises(DeliveryError) as raised:
        await SlackAlertSender(client, sleep=Sleeps()).send_alert(CHANNEL, make_alert())
    assert (raised.value.retryable, raised.value.code) == (False, "invalid_auth")
    assert fake_slack.calls["chat.postMessage"] == 1


async def test_message_refused_as_blocks_is_sent_as_plain_text(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", error="invalid_blocks")
    await sender_for(fake_slack).send_alert(CHANNEL, make_alert())
    [message] = fake_slack.messages
    assert "blocks" not in message and message["text"] == "Project Prometheus raises $6.2B — Example News"
    assert message["metadata"]["event_payload"]["delivery_key"] == "nb7-i1"


async def test_message_refused_again_as_plain_text_is_not_retried(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("chat.postMessage", error="invalid_blocks", times=2)
    with pytest.raises(DeliveryError) as raised:
        await sender_for(fake_slack).send_alert(CHANNEL, make_alert())
    assert (raised.value.retryable, raised.value.code) == (False, "invalid_blocks")
    assert fake_slack.calls["chat.postMessage"] == 2 and fake_slack.messages == []


async def test_token_never_reaches_the_logs(
    fake_slack: FakeSlackAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after="0")
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")
    with pytest.raises(DeliveryError):
        await sender_for(fake_slack).send_alert(CHANNEL, make_alert())
    await sender_for(fake_slack).send_alert(CHANNEL, make_alert())
    assert "slack: alert 7" in caplog.text  # the failure was logged...
    assert BOT_TOKEN not in caplog.text  # ...without the token
    assert BOT_TOKEN.split("-", 1)[1] not in caplog.text


async def test_slack_api_url_from_the_environment_redirects_the_client(fake_slack: FakeSlackAPI) -> None:
    env = Environment.from_env(
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake_slack.api_url.rstrip("/")}
    )
    client = make_slack_client(BOT_TOKEN, env.slack_api_url)
    assert client.base_url == fake_slack.api_url
    await SlackAlertSender(client).send_alert(CHANNEL, make_alert())
    assert len(fake_slack.messages) == 1


def test_default_api_url_is_slacks() -> None:
    env = Environment.from_env({"SLACK_BOT_TOKEN": BOT_TOKEN})
    assert make_slack_client(BOT_TOKEN, env.slack_api_url).base_url == "https://slack.com/api/"
