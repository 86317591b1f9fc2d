"""App Home, the rule and feed modals, and the alert buttons through the real slack-bolt code path.

Signed event and interactive payloads (app_home_opened, block_actions, view_submission) are posted
to the HTTP-mode web app on 127.0.0.1; the real slack-sdk client answers them against the fake
Slack API (tests/fakes/slack_api.py), which records views.publish / views.open / views.update and
the alerts; every view and message is checked against Slack's limits (tests/block_kit.py). Behind
the app: the real command core and interactive core over a SQLite file and a YAML config.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.commands.interactive import InteractiveCore
from bot.core.model import Alert, Item
from bot.core.render.slack_views import ADD_FEED, ADD_RULE, EDIT_RULE, TEST_RULE
from bot.core.routing import PlannedDelivery
from bot.deliver.adapters.slack import SlackAlertSender, build_slack_app, make_slack_client, slack_web_app
from bot.store import transaction
from bot.store.audit import recent_audit
from bot.store.outbox import enqueue
from bot.store.overrides import apply_overrides
from tests.block_kit import validate_blocks, validate_view
from tests.commands.helpers import NOW, Harness, add_story
from tests.conftest import ConfigDir
from tests.fakes.feed_server import FeedServer, rss
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

SECRET = "test-signing-secret"
CHANNEL = "C0123456789"
HOSTILE = "<!channel> @here <@U0BOSS> *bold* `code` & <https://evil.example|click>"


class Served:
    def __init__(self, url: str, harness: Harness, fake: FakeSlackAPI) -> None:
        self.url = url
        self.harness = harness
        self.fake = fake

    async def post(self, body: str, content_type: str) -> tuple[int, str, float]:
        stamp = str(int(time.time()))
        signature = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or "",
        }
        started = time.monotonic()
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body, headers=headers) as resp,
        ):
            return resp.status, await resp.text(), time.monotonic() - started

    async def event(self, event: dict[str, Any]) -> tuple[int, str, float]:
        envelope = {"token": "x", "team_id": "T0FAKE", "api_app_id": "A0FAKE", "type": "event_callback",
                    "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()), "event": event}  # fmt: skip
        return await self.post(json.dumps(envelope), "application/json")

    async def interact(self, payload: dict[str, Any]) -> tuple[int, str, float]:
        payload = {
            "token": "x",
            "api_app_id": "A0FAKE",
            "team": {"id": "T0FAKE", "domain": "fake"},
            **payload,
        }
        return await self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    def views(self, method: str) -> list[dict[str, Any]]:
        return [body["view"] for name, body in self.fake.views if name == method]


@pytest.fixture
async def served(fake_slack: FakeSlackAPI, config_dir: ConfigDir, tmp_path: Path) -> AsyncIterator[Served]:
    config_dir.write(
        feeds=[{"url": "https://feeds.example/a.xml", "name": "Wire A"}],
        routes=[{"platform": "slack", "channel": CHANNEL, "rules": ["prometheus"]}],
    )
    harness = Harness(config_dir.path, tmp_path / "bot.db")
    interactive = InteractiveCore(
        db=harness.db,
        commands=harness.core,
        config_provider=lambda: apply_overrides(harness.file_config(), harness.db),
        clock=lambda: NOW,
    )
    app = build_slack_app(
        make_slack_client(BOT_TOKEN, fake_slack.api_url),
        signing_secret=SECRET,
        handle_command=harness.core.handle,
        process_before_response=True,  # the listener finishes before the answer: assertions see its effects
        interactions=interactive,
    )
    runner = web.AppRunner(slack_web_app(app, SECRET))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield Served(f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events", harness, fake_slack)
    finally:
        await runner.cleanup()
        harness.db.conn.close()


def user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": "alice" if user_id == "UADMIN" else "rita", "team_id": "T0FAKE"}


def click(user_id: str, action_id: str, value: str = "", **extra: Any) -> dict[str, Any]:
    action = {"action_id": action_id, "block_id": "b", "type": "button", "action_ts": "1.2", "value": value}
    return {"type": "block_actions", "user": user(user_id), "trigger_id": "13345224609.738474920.8088930838d88f008e0", "actions": [action], **extra}  # fmt: skip


def submission(user_id: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    state = {"values": values}
    return {"type": "view_submission", "user": user(user_id), "trigger_id": "1.2.3",
            "view": {**view, "id": "V0MODAL", "hash": "h1", "state": state}}  # fmt: skip


def rule_values(query: str, *, name: str | None = None, enabled: bool = True) -> dict[str, Any]:
    values: dict[str, Any] = {
        "query": {"value": {"type": "plain_text_input", "value": query}},
        "enabled": {
            "value": {"type": "checkboxes", "selected_options": [{"value": "on"}] if enabled else []}
        },
    }
    if name is not None:
        values["name"] = {"value": {"type": "plain_text_input", "value": name}}
    return values


def action_ids(view: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for block in view["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if "action_id" in element:
                found.add(element["action_id"])
    return found


def all_text(view: dict[str, Any]) -> str:
    return json.dumps(view, ensure_ascii=False)


def alert_row(harness: Harness, item_id: str) -> int:
    with transaction(harness.db):
        enqueue(harness.db, item_id, [PlannedDelivery("slack", CHANNEL, ("prometheus",), ())], now=NOW - 600)
    return int(harness.db.execute("SELECT max(id) FROM deliveries").fetchone()[0])


async def test_home_shows_stories_feeds_and_rules_and_edit_controls_only_to_admins(served: Served) -> None:
    add_story(
        served.harness.db,
        "Project Prometheus buys a supplier " + HOSTILE,
        rules=("prometheus",),
        source=HOSTILE,
    )
    status, _, _ = await served.event(
        {"type": "app_home_opened", "user": "UADMIN", "channel": "D0", "tab": "home"}
    )
    assert status == 200
    status, _, _ = await served.event(
        {"type": "app_home_opened", "user": "U0READER", "channel": "D0", "tab": "home"}
    )
    assert status == 200
    admin_home, reader_home = served.views("views.publish")
    for view in (admin_home, reader_home):
        assert validate_view(view) == []  # limits, and no mention from the hostile headline and source
        assert "Project Prometheus buys a supplier" in all_text(view)
        assert "Wire A" in all_text(view) and "prometheus" in all_text(view)
        assert "&lt;!channel&gt;" in all_text(view)
    assert [body["user_id"] for _, body in served.fake.views] == ["UADMIN", "U0READER"]
    assert {ADD_RULE, ADD_FEED, EDIT_RULE} <= action_ids(admin_home)
    assert action_ids(reader_home) == set()
    assert "Not relevant this week" in all_text(admin_home)
    assert "Not relevant this week" not in all_text(reader_home)


async def test_edit_opens_a_modal_and_test_shows_the_parse_error_then_the_preview(served: Served) -> None:
    add_story(served.harness.db, "Bezos unveils the Prometheus fund", rules=("prometheus",))
    await served.interact(click("UADMIN", EDIT_RULE, "prometheus", view={"id": "VHOME", "type": "home"}))
    [modal] = served.views("views.open")
    assert validate_view(modal) == []
    assert modal["callback_id"] == "rule_edit" and json.loads(modal["private_metadata"]) == {
        "rule": "prometheus"
    }
    assert modal["title"]["text"] == "Edit rule"

    opened = {**modal, "id": "V0MODAL", "hash": "h1"}
    status, _, elapsed = await served.interact(
        click("UADMIN", TEST_RULE, view={**opened, "state": {"values": rule_values("Bezos AND (fund")}})
    )
    assert status == 200 and elapsed < 3
    [(_, update)] = [(m, b) for m, b in served.fake.views if m == "views.update"]
    assert (update["view_id"], update["hash"]) == ("V0MODAL", "h1")
    assert validate_view(update["view"]) == []
    assert "Does not parse at position 15" in all_text(update["view"])

    await served.interact(
        click("UADMIN", TEST_RULE, view={**opened, "state": {"values": rule_values("Bezos AND fund")}})
    )
    preview = served.views("views.update")[-1]
    assert validate_view(preview) == []
    assert "Matches 1 of 1 stored items of the last 7 days" in all_text(preview)
    assert "Bezos unveils the Prometheus fund" in all_text(preview)


async def test_a_saved_modal_changes_the_rule_through_the_command_core_and_refreshes_home(
    served: Served,
) -> None:
    await served.interact(click("UADMIN", ADD_RULE, view={"id": "VHOME", "type": "home"}))
    [modal] = served.views("views.open")
    assert modal["title"]["text"] == "New rule" and validate_view(modal) == []
    status, body, _ = await served.interact(
        submission("UADMIN", modal, rule_values('"manufacturing fund"', name="fund", enabled=False))
    )
    assert (status, body) == (200, "")  # closes the modal
    assert served.harness.core.names("rules") == ["prometheus", "bajaj", "fund"]
    assert [row["action"] for row in recent_audit(served.harness.db, 2)] == ["rules.disable", "rules.add"]
    [home] = served.views("views.publish")
    assert "Saved rule fund" in all_text(home) and validate_view(home) == []


async def test_a_broken_query_keeps_the_modal_open_with_the_error_on_the_field(served: Served) -> None:
    await served.interact(click("UADMIN", EDIT_RULE, "prometheus"))
    [modal] = served.views("views.open")
    status, body, _ = await served.interact(submission("UADMIN", modal, rule_values("Bezos AND (")))
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert "position 11" in answer["errors"]["query"] and len(answer["errors"]["query"]) <= 150
    assert recent_audit(served.harness.db, 1) == []


async def test_a_forged_submission_from_a_non_admin_is_refused_and_logged(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    # A reader never gets the editor...
    await served.interact(click("U0READER", EDIT_RULE, "prometheus"))
    await served.interact(click("U0READER", ADD_FEED))
    assert served.views("views.open") == []
    # ...so a submission from one is forged: refused, audited as denied, logged.
    modal = {
        "type": "modal",
        "callback_id": "rule_edit",
        "private_metadata": json.dumps({"rule": "prometheus"}),
    }
    status, body, _ = await served.interact(submission("U0READER", modal, rule_values("anything")))
    assert status == 200 and json.loads(body)["response_action"] == "errors"
    rule = next(
        r
        for r in apply_overrides(served.harness.file_config(), served.harness.db).rules
        if r.name == "prometheus"
    )
    assert rule.query != "anything"
    row = recent_audit(served.harness.db, 1)[0]
    assert (row["action"], row["actor"]) == ("denied", "rita (U0READER)")
    assert "non-admin slack user U0READER" in caplog.text


async def test_alert_buttons_count_a_double_click_once_and_answer_within_three_seconds(
    served: Served,
) -> None:
    fake = served.fake
    item_id = add_story(served.harness.db, "Prometheus 3.0 released", rules=("prometheus",))
    delivery = alert_row(served.harness, item_id)
    sender = SlackAlertSender(make_slack_client(BOT_TOKEN, fake.api_url), buttons=True)
    item = Item(id=item_id, feed_url="https://feeds.example/a.xml", title="Prometheus 3.0 " + HOSTILE)
    await sender.send_alert(CHANNEL, Alert(delivery_id=delivery, item=item, rules=("prometheus",), terms=()))
    [message] = fake.messages
    blocks = message["blocks"]
    assert validate_blocks(blocks) == []  # and no mention from the hostile headline
    buttons = blocks[-1]["elements"]
    assert [(b["text"]["text"], b["value"]) for b in buttons] == [
        ("Not relevant", str(delivery)),
        ("Mute this story", str(delivery)),
    ]

    where = {
        "channel": {"id": CHANNEL, "name": "news"},
        "container": {"type": "message", "channel_id": CHANNEL},
    }
    for name in ("b1", "b2"):  # a double click
        status, _, elapsed = await served.interact(
            click(
                "U0READER", "alert_not_relevant", str(delivery), response_url=fake.response_url(name), **where
            )
        )
        assert status == 200 and elapsed < 3
    await served.interact(
        click("U0READER", "alert_mute", str(delivery), response_url=fake.response_url("b3"), **where)
    )
    await fake.wait_for_responses(3)
    assert served.harness.db.execute("SELECT item_id, user_id, rules FROM feedback").fetchall() == [
        (item_id, "U0READER", '["prometheus"]')
    ]
    assert served.harness.db.execute("SELECT channel, user_id FROM story_mutes").fetchall() == [
        (CHANNEL, "U0READER")
    ]
    answers = {name: body for name, body in fake.responses}
    assert answers["b1"]["text"].startswith("Thanks: marked not relevant")
    assert answers["b2"]["text"] == "You already marked this alert as not relevant."
    assert answers["b3"]["text"].startswith("Muted")
    assert all(
        body["response_type"] == "ephemeral" and body["replace_original"] is False
        for body in answers.values()
    )


async def test_the_feed_modal_adds_a_feed_after_the_ack_and_reports_on_home(
    served: Served, feed_server: FeedServer
) -> None:
    url = feed_server.serve(
        "/new.xml", rss([{"title": "Hello", "guid": "g1", "link": "https://example.com/1"}])
    )
    await served.interact(click("UADMIN", ADD_FEED))
    [modal] = served.views("views.open")
    assert validate_view(modal) == [] and modal["callback_id"] == "feed_add"
    values = {"url": {"value": {"type": "plain_text_input", "value": url}},
              "feed_name": {"value": {"type": "plain_text_input", "value": "New wire"}}}  # fmt: skip
    status, body, _ = await served.interact(submission("UADMIN", modal, values))
    assert (status, body) == (200, "")
    assert url in served.harness.core.names("feeds")
    [home] = served.views("views.publish")
    assert "Added feed New wire" in all_text(home)
    assert recent_audit(served.harness.db, 1)[0]["action"] == "feeds.add"
