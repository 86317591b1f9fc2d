"""/news on Slack answered by the real command core (bot.commands) over a real SQLite file.

Signed HTTP requests go to the Bolt app's web app on 127.0.0.1; answers go to the fake
Slack's response_url, where they are recorded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.deliver.adapters.slack import build_slack_app, make_slack_client
from tests.commands.helpers import Harness, add_story
from tests.conftest import ConfigDir
from tests.deliver.test_slack_app import SECRET, command_body, post_signed
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI


@pytest.fixture
def harness(config_dir: ConfigDir, tmp_path: Path) -> Harness:
    config_dir.write()  # admins: slack UADMIN
    return Harness(config_dir.path, tmp_path / "bot.db")


@pytest.fixture
async def events_url(fake_slack: FakeSlackAPI, harness: Harness) -> AsyncIterator[str]:
    app = build_slack_app(
        make_slack_client(BOT_TOKEN, fake_slack.api_url),
        signing_secret=SECRET,
        handle_command=harness.core.handle,
        process_before_response=True,
    )
    runner = web.AppRunner(app.web_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    await runner.cleanup()


async def test_non_admin_is_refused_an_admin_subcommand_privately(
    fake_slack: FakeSlackAPI, harness: Harness, events_url: str
) -> None:
    status, _ = await post_signed(events_url, command_body(fake_slack, "rules", user_id="U0NOBODY"))
    assert status == 200
    [(_, answer)] = fake_slack.responses
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["text"]["text"] == "⚠️ Only admins can use rules."


async def test_admin_may_use_an_admin_subcommand(
    fake_slack: FakeSlackAPI, harness: Harness, events_url: str
) -> None:
    await post_signed(events_url, command_body(fake_slack, "rules", user_id="UADMIN"))
    [(_, answer)] = fake_slack.responses
    assert not answer["blocks"][0]["text"]["text"].startswith("⚠️")


async def test_latest_is_posted_in_channel_with_story_text_escaped(
    fake_slack: FakeSlackAPI, harness: Harness, events_url: str
) -> None:
    add_story(harness.db, "<!channel> Prometheus buys a maker", rules=("prometheus",), summary="<@U1> *wow*")
    status, _ = await post_signed(events_url, command_body(fake_slack, "latest"))
    assert status == 200
    [(_, answer)] = fake_slack.responses
    assert answer["response_type"] == "in_channel"
    shown = json.dumps(answer)
    assert "&lt;!channel&gt; Prometheus buys a maker" in shown
    assert "<!channel>" not in shown and "<@U1>" not in shown


async def test_bad_input_gets_a_private_error_reply(
    fake_slack: FakeSlackAPI, harness: Harness, events_url: str
) -> None:
    await post_signed(events_url, command_body(fake_slack, "latest 500"))
    [(_, answer)] = fake_slack.responses
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["text"]["text"].startswith("⚠️")
