"""Discord "also reported by" edits and operator notices, through the real discord.py client against
the local fake Discord (channel messages with a bot token, and webhook messages)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.core.model import Alert, Item, ReportedCopy
from bot.deliver.adapters.discord import DiscordAlertSender, set_discord_api_url
from bot.deliver.adapters.discord_render import (
    EMBED_TOTAL_MAX,
    FIELD_VALUE_MAX,
    render_discord_alert,
    render_discord_notice,
    render_discord_update,
)
from bot.errors import DeliveryError
from tests.fakes.discord_api import FakeDiscord

CHANNEL = 123456789012345678
HOOK_ID = 987654321098765432
HOOK_TOKEN = "hook-secret-token-abcdefghijklmnop"
HOOK_URL = f"https://discord.com/api/webhooks/{HOOK_ID}/{HOOK_TOKEN}"

REUTERS = ReportedCopy(
    source="Reuters",
    title="Jeff Bezos AI venture agrees deal for aircraft component supplier",
    link="https://www.reuters.com/business/bezos-deal/",
)
FT = ReportedCopy(source="Financial Times", title="Bezos-backed Prometheus strikes $1.1bn deal", link=None)


def make_alert(
    *copies: ReportedCopy, summary: str = "The AI venture agreed to buy Precision Aerostructures."
) -> Alert:
    item = Item(
        id="i1",
        feed_url="https://feeds.example/rss",
        title="Bezos's Project Prometheus to buy aerospace parts maker",
        link="https://news.example/prometheus-parts",
        summary=summary,
        published=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        source="Bloomberg",
    )
    return Alert(delivery_id=1, item=item, rules=("prometheus",), terms=("Prometheus",), also_reported=copies)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord(channels={CHANNEL}, webhooks={HOOK_ID: HOOK_TOKEN})
    set_discord_api_url(await server.start())
    yield server
    set_discord_api_url(None)
    await server.close()


@pytest.fixture
async def sender(fake: FakeDiscord) -> AsyncIterator[DiscordAlertSender]:
    s = DiscordAlertSender(token="test-bot-token", retry_delay=0.01)
    await s.start()
    yield s
    await s.close()


def also_field(payload: dict) -> dict:  # type: ignore[type-arg]
    [embed] = payload["embeds"]
    [field] = [f for f in embed.get("fields", []) if f["name"] == "Also reported by"]
    return field  # type: ignore[no-any-return]


async def test_update_edits_the_channel_alert_to_list_every_copy(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    message_id = await sender.send_alert(str(CHANNEL), make_alert())

    ref = await sender.send_update(str(CHANNEL), message_id, make_alert(REUTERS, FT))

    assert ref == message_id
    assert len(fake.of_kind("channel")) == 1  # edited in place, nothing new posted
    [edit] = fake.edits_of(message_id)
    assert edit.kind == "channel" and edit.target == str(CHANNEL)
    embed = edit.payload["embeds"][0]
    original = fake.of_kind("channel")[0].payload["embeds"][0]
    assert embed["title"] == original["title"] and embed["description"] == original["description"]
    value = also_field(edit.payload)["value"]
    assert "Reuters: [Jeff Bezos AI venture agrees deal" in value
    assert "(https://www.reuters.com/business/bezos-deal/)" in value
    assert "Financial Times: Bezos-backed Prometheus strikes $1.1bn deal" in value  # no link: plain
    assert edit.payload["allowed_mentions"] == {"parse": []}


async def test_update_edits_a_webhook_message(fake: FakeDiscord, sender: DiscordAlertSender) -> None:
    message_id = await sender.send_alert(HOOK_URL, make_alert())

    await sender.send_update(HOOK_URL, message_id, make_alert(REUTERS))

    [edit] = fake.edits_of(message_id)
    assert edit.kind == "webhook" and edit.target == str(HOOK_ID)
    assert "Reuters" in also_field(edit.payload)["value"]
    assert any(
        method == "PATCH" and path.endswith(f"/messages/{message_id}") for method, path, _ in fake.requests
    )


async def test_editing_a_message_that_does_not_exist_is_a_permanent_error(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    with pytest.raises(DeliveryError) as error:
        await sender.send_update(str(CHANNEL), "900000000000000999", make_alert(REUTERS))
    assert error.value.retryable is False and error.value.code == "10008"


async def test_a_non_discord_message_ref_is_refused_without_a_request(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    before = len(fake.requests)
    with pytest.raises(DeliveryError) as error:
        await sender.send_update(str(CHANNEL), "unconfirmed", make_alert(REUTERS))
    assert error.value.retryable is False
    assert len(fake.requests) == before


async def test_update_errors_are_classified_like_alerts(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    message_id = await sender.send_alert(str(CHANNEL), make_alert())
    fake.fail_next(403, code=50013, message="Missing Permissions", path_contains="/messages/")
    with pytest.raises(DeliveryError) as refused:
        await sender.send_update(str(CHANNEL), message_id, make_alert(REUTERS))
    assert refused.value.retryable is False and refused.value.code == "50013"

    fake.fail_next(503, path_contains="/messages/")
    assert await sender.send_update(str(CHANNEL), message_id, make_alert(REUTERS)) == message_id
    assert len(fake.edits_of(message_id)) == 1


async def test_notice_is_plain_content_that_cannot_ping(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    await sender.send_notice(str(CHANNEL), "Feed down: @everyone <@&123> [click](https://evil.example)")
    await sender.send_notice(HOOK_URL, "Rule silent for 7 days: @here")

    channel_msg, hook_msg = fake.of_kind("channel")[0], fake.of_kind("webhook")[0]
    for recorded in (channel_msg, hook_msg):
        assert not recorded.payload.get("embeds")
        assert recorded.payload["allowed_mentions"] == {"parse": []}
    assert "@\u200beveryone" in channel_msg.payload["content"]
    assert "@everyone" not in channel_msg.payload["content"]
    assert "[click](https" not in channel_msg.payload["content"]
    assert "@\u200bhere" in hook_msg.payload["content"]


def test_notice_is_cut_to_discord_content_limit() -> None:
    assert len(render_discord_notice("x " * 5_000)) <= 2000


def test_many_copies_fit_the_field_with_a_count_of_the_rest() -> None:
    copies = tuple(
        ReportedCopy(
            source=f"Outlet {n}",
            title=f"Prometheus story copy number {n} " * 3,
            link=f"https://o{n}.example/a",
        )
        for n in range(60)
    )
    embed = render_discord_update(make_alert(*copies))
    [field] = embed.fields
    assert field.value is not None and len(field.value) <= FIELD_VALUE_MAX
    shown = field.value.count("\n")  # lines before the closing count
    assert field.value.endswith(f"… and {60 - shown} more")
    assert len(embed) <= EMBED_TOTAL_MAX


def test_a_full_alert_gives_up_summary_room_for_the_list() -> None:
    long_summary = "Prometheus detail sentence here. " * 400  # the description alone hits 4,096
    copies = tuple(ReportedCopy(source=f"Outlet {n}", title="x" * 150, link=None) for n in range(10))
    embed = render_discord_update(make_alert(*copies, summary=long_summary))
    assert len(embed) <= EMBED_TOTAL_MAX
    assert embed.fields and "Outlet 0" in (embed.fields[0].value or "")


def test_update_without_copies_is_the_alert_itself() -> None:
    assert render_discord_update(make_alert()).to_dict() == render_discord_alert(make_alert()).to_dict()


def test_copy_text_is_escaped_and_cannot_mention() -> None:
    hostile = ReportedCopy(
        source="@everyone", title="[free](https://evil.example) **now** <@123>", link="javascript:x"
    )
    value = render_discord_update(make_alert(hostile)).fields[0].value or ""
    assert "@everyone" not in value and "<@123>" not in value
    assert "](https://evil" not in value.replace("\\]", "")  # brackets escaped: no masked link
    assert "javascript" not in value


def test_a_copy_without_a_source_is_named_by_its_link_host_like_on_slack() -> None:
    anonymous = ReportedCopy(
        source="", title="Prometheus buys parts maker", link="https://www.apnews.com/a/1"
    )
    value = render_discord_update(make_alert(anonymous, FT)).fields[0].value or ""
    assert value.splitlines() == [
        "apnews.com: [Prometheus buys parts maker](https://www.apnews.com/a/1)",
        "Financial Times: Bezos-backed Prometheus strikes $1.1bn deal",
    ]
