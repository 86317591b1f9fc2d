"""Slack "also reported by" thread replies and operator notices, through the real slack-sdk client
against the local fake Slack Web API."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.core.model import Alert, Item, ReportedCopy
from bot.core.render.slack import (
    render_slack_alert,
    render_slack_notice,
    render_slack_parent,
    render_slack_update,
)
from bot.deliver.adapters.slack import SlackAlertSender, make_slack_client
from bot.errors import DeliveryError
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

CHANNEL = "C0123456789"


def make_alert(*copies: ReportedCopy) -> Alert:
    item = Item(
        id="i1",
        feed_url="https://example.com/rss.xml",
        title="Bezos's Project Prometheus to buy aerospace parts maker",
        link="https://example.com/prometheus-parts",
        summary="The AI venture agreed to acquire Precision Aerostructures.",
        source="Bloomberg",
    )
    return Alert(delivery_id=7, item=item, rules=("prometheus",), terms=("Prometheus",), also_reported=copies)


REUTERS = ReportedCopy(
    source="Reuters",
    title="Jeff Bezos AI venture agrees deal for aircraft component supplier",
    link="https://www.reuters.com/business/bezos-deal/",
)


async def no_sleep(_: float) -> None:
    return None


def sender_for(fake_slack: FakeSlackAPI) -> SlackAlertSender:
    return SlackAlertSender(make_slack_client(BOT_TOKEN, fake_slack.api_url), sleep=no_sleep)


def _blocks(body: dict) -> list[dict]:  # type: ignore[type-arg]
    blocks = body["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else blocks  # type: ignore[no-any-return]


def _text(body: dict) -> str:  # type: ignore[type-arg]
    return " ".join(block["text"]["text"] for block in _blocks(body))


def _parent_line(body: dict) -> str:  # type: ignore[type-arg]
    """The alert's "also reported by" context line, or "" when it has none."""
    last = _blocks(body)[-1]
    text = last["elements"][0]["text"] if last["type"] == "context" else ""
    return text if text.startswith("Also reported by") else ""


async def test_update_is_a_thread_reply_to_the_alert_naming_the_new_outlet(fake_slack: FakeSlackAPI) -> None:
    sender = sender_for(fake_slack)
    alert_ts = await sender.send_alert(CHANNEL, make_alert())

    reply_ts = await sender.send_update(CHANNEL, alert_ts, make_alert(REUTERS))

    assert reply_ts != alert_ts and reply_ts in fake_slack.posted
    [reply] = fake_slack.replies(alert_ts)
    assert reply["channel"] == CHANNEL
    assert reply["reply_broadcast"] is False  # stays in the thread
    assert "Also reported by *Reuters*" in _text(reply)
    assert "<https://www.reuters.com/business/bezos-deal/|Jeff Bezos AI venture" in _text(reply)
    assert len(fake_slack.top_level()) == 1  # the channel itself still shows one alert


async def test_update_names_only_the_newest_copy_each_time(fake_slack: FakeSlackAPI) -> None:
    sender = sender_for(fake_slack)
    alert_ts = await sender.send_alert(CHANNEL, make_alert())
    ft = ReportedCopy(
        source="Financial Times", title="Bezos-backed Prometheus strikes $1.1bn deal", link=None
    )

    await sender.send_update(CHANNEL, alert_ts, make_alert(REUTERS))
    await sender.send_update(CHANNEL, alert_ts, make_alert(REUTERS, ft))

    first, second = fake_slack.replies(alert_ts)
    assert "Reuters" in _text(first) and "Financial Times" not in _text(first)
    assert "Financial Times" in _text(second) and "Reuters" not in _text(second)
    assert "<" not in _text(second).split(":", 1)[1]  # no link when the copy has none


def test_update_text_from_the_feed_cannot_mention_or_link() -> None:
    hostile = ReportedCopy(
        source="<!channel> News",
        title="@here see <https://evil.example|this> *now*",
        link="javascript:alert(1)",
    )
    payload = render_slack_update(make_alert(hostile))
    text = _text(payload) + payload["text"]
    assert "<!channel>" not in text and "<https://evil" not in text and "javascript:" not in text
    assert "@here" not in text  # broken up with a zero-width space
    assert "&lt;!channel&gt;" in text


def test_update_without_copies_still_renders() -> None:
    payload = render_slack_update(make_alert())
    assert "another outlet" in payload["text"]


async def test_notice_is_plain_escaped_text_without_mentions(fake_slack: FakeSlackAPI) -> None:
    sender = sender_for(fake_slack)
    ts = await sender.send_notice(CHANNEL, "Feed <!everyone> https://x.example is down @channel")

    assert ts in fake_slack.posted
    [body] = fake_slack.messages
    assert "thread_ts" not in body
    text = _text(body) + body["text"]
    assert "<!everyone>" not in text and "@channel" not in text
    assert "&lt;!everyone&gt;" in text


def test_notice_is_cut_to_a_short_message() -> None:
    payload = render_slack_notice("word " * 5_000)
    assert len(payload["text"]) <= 3_000


async def test_update_errors_are_classified_like_alerts(fake_slack: FakeSlackAPI) -> None:
    sender = sender_for(fake_slack)
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(DeliveryError) as refused:
        await sender.send_update(CHANNEL, "1700000000.000001", make_alert(REUTERS))
    assert refused.value.retryable is False and refused.value.code == "channel_not_found"

    fake_slack.fail_next("chat.postMessage", status=429, retry_after="0.5")
    ts = await sender.send_update(CHANNEL, "1700000000.000001", make_alert(REUTERS))
    assert fake_slack.replies("1700000000.000001")[-1] is fake_slack.posted[ts]


async def test_notice_network_trouble_is_retryable(fake_slack: FakeSlackAPI) -> None:
    sender = SlackAlertSender(
        make_slack_client(BOT_TOKEN, fake_slack.api_url), sleep=no_sleep, max_attempts=2
    )
    fake_slack.fail_next("chat.postMessage", status=503, times=2)
    with pytest.raises(DeliveryError) as error:
        await sender.send_notice(CHANNEL, "feed down")
    assert error.value.retryable is True
    assert fake_slack.calls["chat.postMessage"] == 2


def test_alert_rendering_is_unchanged_by_copies() -> None:
    # The alert itself never lists copies on Slack: the thread does.
    assert render_slack_alert(make_alert()) == render_slack_alert(
        replace(make_alert(), also_reported=(REUTERS,))
    )


def test_thread_reply_names_the_link_host_when_the_copy_has_no_source() -> None:
    anonymous = ReportedCopy(
        source="", title="Prometheus buys parts maker", link="https://www.apnews.com/a/1"
    )
    payload = render_slack_update(make_alert(anonymous))
    assert "Also reported by *apnews.com*: <https://www.apnews.com/a/1|Prometheus buys parts maker>" in _text(
        payload
    )
    assert payload["text"] == "Also reported by apnews.com: Prometheus buys parts maker"


async def test_each_update_edits_the_alert_to_list_every_outlet_so_far(fake_slack: FakeSlackAPI) -> None:
    sender = sender_for(fake_slack)
    alert_ts = await sender.send_alert(CHANNEL, make_alert())
    first_post = json.loads(json.dumps(fake_slack.posted[alert_ts]))  # as posted, before any edit
    ft = ReportedCopy(source="Financial Times", title="Bezos-backed Prometheus strikes $1.1bn deal")

    await sender.send_update(CHANNEL, alert_ts, make_alert(REUTERS), key="nb8-i1")
    await sender.send_update(CHANNEL, alert_ts, make_alert(REUTERS, ft), key="nb9-i1")

    first, second = fake_slack.updates
    assert (first["channel"], first["ts"]) == (CHANNEL, alert_ts)
    assert _parent_line(first) == "Also reported by Reuters"
    assert _parent_line(second) == "Also reported by Reuters and Financial Times"
    edited = fake_slack.posted[alert_ts]
    assert _blocks(edited)[:-1] == _blocks(first_post)  # the alert's own content is kept
    assert edited["metadata"] == first_post["metadata"]  # still findable by its delivery key
    assert len(fake_slack.replies(alert_ts)) == 2 and len(fake_slack.top_level()) == 1


def test_parent_line_names_each_outlet_once_and_counts_the_rest() -> None:
    copies = [ReportedCopy(source=f"Outlet {n}", title="t") for n in range(8)]
    copies += [ReportedCopy(source="outlet 1", title="again"), ReportedCopy(source="", title="t", link=None)]
    line = _parent_line(render_slack_parent(make_alert(*copies)))
    assert line == "Also reported by Outlet 0, Outlet 1, Outlet 2, Outlet 3, Outlet 4 and 3 more"


def test_parent_line_text_from_the_feed_cannot_mention() -> None:
    hostile = ReportedCopy(source="<!channel> *News*", title="t")
    line = _parent_line(render_slack_parent(make_alert(hostile)))
    assert "<!channel>" not in line and "*News*" not in line and "&lt;!channel&gt;" in line


async def test_an_edit_that_fails_after_the_reply_is_reported_ambiguous_not_as_a_new_send(
    fake_slack: FakeSlackAPI,
) -> None:
    sender = sender_for(fake_slack)
    alert_ts = await sender.send_alert(CHANNEL, make_alert())
    fake_slack.fail_next("chat.update", status=503, times=3)

    with pytest.raises(DeliveryError) as failed:
        await sender.send_update(CHANNEL, alert_ts, make_alert(REUTERS), key="nb8-i1")

    # ambiguous: the outbox leaves the row claimed for recovery, which redoes only the edit
    assert failed.value.retryable and failed.value.ambiguous
    assert len(fake_slack.replies(alert_ts)) == 1 and fake_slack.updates == []


async def test_an_alert_that_cannot_be_edited_leaves_the_reply_standing(fake_slack: FakeSlackAPI) -> None:
    sender = sender_for(fake_slack)
    alert_ts = await sender.send_alert(CHANNEL, make_alert())
    fake_slack.fail_next("chat.update", error="cant_update_message")

    reply_ts = await sender.send_update(CHANNEL, alert_ts, make_alert(REUTERS), key="nb8-i1")

    assert fake_slack.replies(alert_ts) == [fake_slack.posted[reply_ts]]
