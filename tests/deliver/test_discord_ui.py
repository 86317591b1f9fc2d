"""Discord alert buttons and the rule editor, through the real discord.py code paths and the HTTP
interactions endpoint, over the real command and interactive cores on a SQLite file.

Gateway: a NewsBotClient logged in over REST against the fake Discord API (tests/fakes/discord_api.py)
is handed the INTERACTION_CREATE payloads Discord would send (`parse_interaction_create`, where
discord.py's gateway hands them over), so dispatch runs through its own dynamic items, command tree
and listeners; answers go over HTTP to the fake, which checks embeds, components and modals against
Discord's limits. HTTP: the same payloads, signed with Ed25519, posted to the public server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.commands.interactive import InteractiveCore
from bot.core.model import Alert, Item
from bot.core.routing import PlannedDelivery
from bot.deliver.adapters.discord import DiscordAlertSender, set_discord_api_url
from bot.deliver.adapters.discord_commands import NewsBotClient
from bot.deliver.adapters.discord_interactions import (
    INTERACTIONS_PATH,
    MAX_BODY,
    DiscordInteractions,
    load_public_key,
)
from bot.deliver.adapters.discord_ui import DiscordUI, RuleDraft, rule_modal
from bot.net.inbound import start_public_server
from bot.store import transaction
from bot.store.audit import recent_audit
from bot.store.outbox import enqueue
from bot.store.overrides import apply_overrides
from tests.commands.helpers import NOW, Harness, add_story
from tests.conftest import ConfigDir
from tests.deliver.test_discord_interactions import Signer
from tests.fakes.discord_api import (
    CHANNEL,
    USER,
    FakeDiscord,
    Recorded,
    component_payload,
    interaction_payload,
    modal_submit_payload,
    posted_message,
)

ADMIN = 100000000000000001  # admins.discord in the test config
OTHER_CHANNEL = 444444444444444445
# What a non-admin never gets, but may send anyway: the editor of rule prometheus, as an admin sees it.
FORGED_MODAL = rule_modal(RuleDraft(edited="prometheus", name="prometheus", query="x")).to_dict()
HOSTILE = "@everyone <@123456789012345678> **bold** [click](https://evil.example)"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord(channels={CHANNEL})
    set_discord_api_url(await server.start())
    yield server
    set_discord_api_url(None)
    await server.close()


@pytest.fixture
def harness(config_dir: ConfigDir, tmp_path: Path) -> Any:
    config_dir.write(routes=[{"platform": "discord", "channel": str(CHANNEL), "rules": ["prometheus"]}])
    h = Harness(config_dir.path, tmp_path / "bot.db")
    yield h
    h.db.conn.close()


@pytest.fixture
def ui(harness: Harness) -> DiscordUI:
    core = InteractiveCore(
        db=harness.db,
        commands=harness.core,
        config_provider=lambda: apply_overrides(harness.file_config(), harness.db),
        clock=lambda: NOW,
    )
    return DiscordUI(core)


@pytest.fixture
async def gateway(fake: FakeDiscord, harness: Harness, ui: DiscordUI) -> AsyncIterator[NewsBotClient]:
    client = NewsBotClient(harness.core.handle, guild_ids=[1], ui=ui)
    await client.login("test-bot-token")  # REST only; setup_hook syncs the commands
    yield client
    await client.close()


async def until(condition: Callable[[], Any]) -> None:
    deadline = time.monotonic() + 5.0
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def deliver(fake: FakeDiscord, client: NewsBotClient, payload: dict[str, Any]) -> int:
    """Hand `payload` to discord.py as its gateway would; return how many requests the fake had."""
    seen = len(fake.messages)
    client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    return seen


def callbacks(fake: FakeDiscord) -> list[dict[str, Any]]:
    return [m.payload for m in fake.of_kind("callback")]


def alert_row(harness: Harness, item_id: str, channel: str = str(CHANNEL)) -> int:
    with transaction(harness.db):
        enqueue(
            harness.db, item_id, [PlannedDelivery("discord", channel, ("prometheus",), ())], now=NOW - 600
        )
    return int(harness.db.execute("SELECT max(id) FROM deliveries").fetchone()[0])


async def post_alert(fake: FakeDiscord, harness: Harness, title: str) -> tuple[int, Recorded]:
    item_id = add_story(harness.db, title, rules=("prometheus",))
    delivery = alert_row(harness, item_id)
    sender = DiscordAlertSender(token="test-bot-token", buttons=True)
    await sender.start()
    try:
        item = Item(id=item_id, feed_url="https://feeds.example/a.xml", title=title)
        await sender.send_alert(
            str(CHANNEL), Alert(delivery_id=delivery, item=item, rules=("prometheus",), terms=())
        )
    finally:
        await sender.close()
    return delivery, fake.posted_to(CHANNEL)[-1]


def text_of(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


# -- alerts carry the buttons ------------------------------------------------------------------


async def test_channel_alerts_carry_the_two_buttons_and_webhook_alerts_none(
    fake: FakeDiscord, harness: Harness
) -> None:
    delivery, posted = await post_alert(fake, harness, "Prometheus 3.0 " + HOSTILE)
    [row] = posted.payload["components"]
    assert [(b["label"], b["custom_id"]) for b in row["components"]] == [
        ("Not relevant", f"nb:notrelevant:{delivery}"),
        ("Mute this story", f"nb:mute:{delivery}"),
    ]
    assert posted.payload["allowed_mentions"]["parse"] == []
    assert "@everyone" not in posted.payload["embeds"][0]["title"]  # defused: "@\u200beveryone"

    fake.webhooks[900000000000000001] = "w" * 68
    fake.webhook_channels[900000000000000001] = CHANNEL
    sender = DiscordAlertSender(token="test-bot-token", buttons=True)
    await sender.start()
    try:
        hook = f"https://discord.com/api/webhooks/900000000000000001/{'w' * 68}"
        item = Item(id="item-0", feed_url="https://feeds.example/a.xml", title="Via a webhook")
        await sender.send_alert(hook, Alert(delivery_id=delivery, item=item, rules=("prometheus",), terms=()))
    finally:
        await sender.close()
    assert "components" not in fake.of_kind("webhook")[-1].payload


# -- the gateway ---------------------------------------------------------------------------------


async def test_gateway_buttons_count_a_double_click_once_and_mute_the_story(
    fake: FakeDiscord, harness: Harness, gateway: NewsBotClient
) -> None:
    delivery, posted = await post_alert(fake, harness, "Prometheus 3.0 released")
    message = posted_message(posted)
    for clicks in (1, 2):  # a double click
        started = time.monotonic()
        deliver(fake, gateway, component_payload(fake, f"nb:notrelevant:{delivery}", message=message))
        await until(lambda n=clicks: len(callbacks(fake)) == n)
        assert time.monotonic() - started < 3
    deliver(fake, gateway, component_payload(fake, f"nb:mute:{delivery}", message=message))
    await until(lambda: len(callbacks(fake)) == 3)

    first, second, mute = callbacks(fake)
    assert all(c["type"] == 4 and c["data"]["flags"] & 64 for c in (first, second, mute))  # private
    assert first["data"]["embeds"][0]["title"].startswith("Thanks: marked not relevant")
    assert second["data"]["embeds"][0]["title"] == "You already marked this alert as not relevant."
    assert mute["data"]["embeds"][0]["title"].startswith("Muted")
    assert harness.db.execute("SELECT user_id, channel FROM feedback").fetchall() == [
        (str(USER), str(CHANNEL))
    ]
    assert harness.db.execute("SELECT channel FROM story_mutes").fetchall() == [(str(CHANNEL),)]


async def test_a_button_pressed_in_another_channel_than_its_alert_does_nothing(
    fake: FakeDiscord, harness: Harness, gateway: NewsBotClient
) -> None:
    delivery, _ = await post_alert(fake, harness, "Prometheus 3.0 released")
    deliver(fake, gateway, component_payload(fake, f"nb:mute:{delivery}", channel=OTHER_CHANNEL))
    await until(lambda: len(callbacks(fake)) == 1)
    assert callbacks(fake)[0]["data"]["embeds"][0]["title"] == "That alert is no longer known to the bot."
    assert harness.db.execute("SELECT count(*) FROM story_mutes").fetchone()[0] == 0


async def test_gateway_editor_tests_a_broken_query_then_previews_and_saves_through_the_core(
    fake: FakeDiscord, harness: Harness, gateway: NewsBotClient
) -> None:
    add_story(harness.db, "Bezos unveils the Prometheus fund " + HOSTILE, rules=("prometheus",))
    opened = interaction_payload(fake, "rules", {"action": "edit", "args": "prometheus"}, user=ADMIN)
    deliver(fake, gateway, opened)
    await until(lambda: len(callbacks(fake)) == 1)
    [modal_callback] = callbacks(fake)
    assert modal_callback["type"] == 9  # the modal is the first answer: validated by the fake
    modal = modal_callback["data"]
    assert modal["custom_id"] == "nb:rule:edit:prometheus" and modal["title"] == "Edit rule prometheus"

    deliver(fake, gateway, modal_submit_payload(fake, modal, {"query": "Bezos AND (fund"}, user=ADMIN))
    await until(lambda: len(fake.of_kind("followup")) == 1)
    assert callbacks(fake)[-1] == {"type": 5, "data": {"flags": 64}}  # deferred, privately
    broken = fake.of_kind("followup")[0].payload
    assert "Does not parse at position 15" in text_of(broken)
    assert [b["label"] for b in broken["components"][0]["components"]] == ["Edit"]  # no Save

    deliver(fake, gateway, modal_submit_payload(fake, modal, {"query": "Bezos AND fund"}, user=ADMIN))
    await until(lambda: len(fake.of_kind("followup")) == 2)
    tested = fake.of_kind("followup")[1]
    assert "Matches 1 of 1 stored items of the last 7 days" in text_of(tested.payload)
    assert "@everyone" not in text_of(tested.payload) and tested.payload["allowed_mentions"]["parse"] == []
    assert tested.payload["embeds"][-1]["footer"]["text"] == "Draft query: Bezos AND fund"
    save, edit = tested.payload["components"][0]["components"]
    assert (save["label"], save["custom_id"]) == ("Save", "nb:rule-save:edit:on:prometheus")
    assert recent_audit(harness.db, 1) == []  # a test saves nothing

    # "Edit" reopens the editor holding the draft; "Save" saves it through the command core.
    message = posted_message(tested)
    deliver(fake, gateway, component_payload(fake, edit["custom_id"], message=message, user=ADMIN))
    await until(lambda: callbacks(fake)[-1]["type"] == 9)
    reopened = callbacks(fake)[-1]["data"]["components"]
    assert reopened[0]["component"]["value"] == "Bezos AND fund"
    deliver(fake, gateway, component_payload(fake, save["custom_id"], message=message, user=ADMIN))
    await until(lambda: len(fake.of_kind("followup")) == 3)
    assert fake.of_kind("followup")[2].payload["embeds"][0]["title"] == "Saved rule prometheus"
    assert recent_audit(harness.db, 1)[0]["action"] == "rules.edit"
    rules = apply_overrides(harness.file_config(), harness.db).rules
    assert next(r for r in rules if r.name == "prometheus").query == "Bezos AND fund"


async def test_gateway_new_rule_saved_from_the_modal_disabled(
    fake: FakeDiscord, harness: Harness, gateway: NewsBotClient
) -> None:
    deliver(fake, gateway, interaction_payload(fake, "rules", {"action": "add"}, user=ADMIN))
    await until(lambda: len(callbacks(fake)) == 1)
    modal = callbacks(fake)[0]["data"]
    assert modal["title"] == "New rule" and modal["custom_id"] == "nb:rule:new:"
    values = {"name": "fund", "query": '"manufacturing fund"', "enabled": "off", "then": "save"}
    deliver(fake, gateway, modal_submit_payload(fake, modal, values, user=ADMIN))
    await until(lambda: len(fake.of_kind("followup")) == 1)
    assert fake.of_kind("followup")[0].payload["embeds"][0]["title"] == "Saved rule fund"
    assert [row["action"] for row in recent_audit(harness.db, 2)] == ["rules.disable", "rules.add"]


async def test_a_non_admin_never_gets_the_editor_and_a_forged_submission_is_refused_and_logged(
    fake: FakeDiscord, harness: Harness, gateway: NewsBotClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    deliver(fake, gateway, interaction_payload(fake, "rules", {"action": "edit", "args": "prometheus"}))
    await until(lambda: len(callbacks(fake)) == 1)
    assert callbacks(fake)[0]["type"] != 9  # the command's own refusal, not a modal
    assert "admin" in text_of(callbacks(fake)[0]).lower()

    forged = FORGED_MODAL
    deliver(fake, gateway, modal_submit_payload(fake, forged, {"query": "anything", "then": "save"}))
    await until(lambda: len(fake.of_kind("followup")) == 1)
    assert fake.of_kind("followup")[0].payload["embeds"][0]["color"] == 0xED4245  # an error
    rules = apply_overrides(harness.file_config(), harness.db).rules
    assert next(r for r in rules if r.name == "prometheus").query != "anything"
    assert recent_audit(harness.db, 1)[0]["action"] == "denied"
    assert f"refused a rule edit form from non-admin discord user {USER}" in caplog.text


# -- the HTTP interactions endpoint ---------------------------------------------------------------


class Endpoint:
    def __init__(self, url: str, endpoint: DiscordInteractions, signer: Signer) -> None:
        self.url, self.endpoint, self.signer = url, endpoint, signer

    async def post(self, payload: dict[str, Any]) -> tuple[int, Any, float]:
        body = json.dumps(payload).encode()
        started = time.monotonic()
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body, headers=self.signer.headers(body)) as response,
        ):
            return response.status, await response.json(), time.monotonic() - started

    async def settle(self) -> None:
        if self.endpoint._replies:
            await asyncio.wait(set(self.endpoint._replies), timeout=10)


@pytest.fixture
async def http(fake: FakeDiscord, harness: Harness, ui: DiscordUI) -> AsyncIterator[Endpoint]:
    signer = Signer()
    endpoint = DiscordInteractions(
        load_public_key(signer.public_hex), harness.core.handle, api_url=fake.base_url, ui=ui
    )
    runner, port = await start_public_server([endpoint.add_routes], "127.0.0.1", 0, max_body=MAX_BODY)
    try:
        yield Endpoint(f"http://127.0.0.1:{port}{INTERACTIONS_PATH}", endpoint, signer)
    finally:
        await runner.cleanup()


async def test_http_buttons_answer_at_once_privately_and_count_a_double_click_once(
    fake: FakeDiscord, harness: Harness, http: Endpoint
) -> None:
    delivery, posted = await post_alert(fake, harness, "Prometheus 3.0 released")
    answers = []
    for custom_id in (f"nb:notrelevant:{delivery}", f"nb:notrelevant:{delivery}", f"nb:mute:{delivery}"):
        payload = component_payload(fake, custom_id, message=posted_message(posted))
        status, answer, elapsed = await http.post(payload)
        assert status == 200 and elapsed < 3
        answers.append(answer)
    assert all(a["type"] == 4 and a["data"]["flags"] & 64 for a in answers)
    assert [a["data"]["embeds"][0]["title"][:8] for a in answers] == ["Thanks: ", "You alre", "Muted: n"]
    assert harness.db.execute("SELECT count(*) FROM feedback").fetchone()[0] == 1
    assert harness.db.execute("SELECT count(*) FROM story_mutes").fetchone()[0] == 1


async def test_http_editor_opens_as_a_modal_and_a_submission_is_tested_then_saved(
    fake: FakeDiscord, harness: Harness, http: Endpoint
) -> None:
    add_story(harness.db, "Bezos unveils the Prometheus fund", rules=("prometheus",))
    payload = interaction_payload(fake, "rules", {"action": "edit", "args": "prometheus"}, user=ADMIN)
    status, answer, _ = await http.post(payload)
    assert status == 200 and answer["type"] == 9
    modal = answer["data"]
    assert modal["custom_id"] == "nb:rule:edit:prometheus"

    status, answer, elapsed = await http.post(
        modal_submit_payload(fake, modal, {"query": "Bezos AND fund"}, user=ADMIN)
    )
    assert (status, answer, elapsed < 3) == (200, {"type": 5, "data": {"flags": 64}}, True)
    await http.settle()
    [tested] = fake.of_kind("original")
    assert "Matches 1 of 1 stored items" in text_of(tested.payload)
    save = tested.payload["components"][0]["components"][0]
    message = {"id": tested.message_id, "embeds": tested.payload["embeds"], "components": []}
    status, answer, _ = await http.post(
        component_payload(fake, save["custom_id"], message=message, user=ADMIN)
    )
    assert answer == {"type": 5, "data": {"flags": 64}}
    await http.settle()
    assert fake.of_kind("original")[-1].payload["embeds"][0]["title"] == "Saved rule prometheus"
    assert recent_audit(harness.db, 1)[0]["action"] == "rules.edit"


async def test_http_forged_submission_from_a_non_admin_is_refused(
    fake: FakeDiscord, harness: Harness, http: Endpoint
) -> None:
    _, answer, _ = await http.post(
        interaction_payload(fake, "rules", {"action": "edit", "args": "prometheus"})
    )
    assert answer["type"] == 5  # deferred to the core, which refuses: no modal
    await http.post(modal_submit_payload(fake, FORGED_MODAL, {"query": "anything", "then": "save"}))
    await http.settle()
    assert recent_audit(harness.db, 1)[0]["action"] == "denied"
    rules = apply_overrides(harness.file_config(), harness.db).rules
    assert next(r for r in rules if r.name == "prometheus").query != "anything"
