"""slack_manifest.yaml and docs/slack.md agree with the code."""

from __future__ import annotations

import inspect

import yaml

from bot.deliver.adapters.slack import EVENTS_PATH, build_slack_app
from tests.paths import ROOT


def load_manifest() -> dict:  # type: ignore[type-arg]
    data = yaml.safe_load((ROOT / "slack_manifest.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_manifest_declares_the_default_slash_command() -> None:
    default = inspect.signature(build_slack_app).parameters["command_name"].default
    commands = [c["command"] for c in load_manifest()["features"]["slash_commands"]]
    assert commands == [default]


def test_manifest_requests_the_scopes_the_adapter_uses() -> None:
    scopes = set(load_manifest()["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "channels:history"} <= scopes


def test_manifest_enables_socket_mode_by_default() -> None:
    assert load_manifest()["settings"]["socket_mode_enabled"] is True


def test_the_slack_page_documents_every_slack_environment_variable_and_the_events_path() -> None:
    readme = (ROOT / "docs" / "slack.md").read_text(encoding="utf-8")
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "PORT"):
        assert name in readme
    assert EVENTS_PATH in readme


def test_manifest_turns_on_what_the_interactive_views_need() -> None:
    from bot.deliver.adapters import slack_views

    manifest = load_manifest()
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    # the listener the events subscription feeds
    assert '@app.event("app_home_opened")' in inspect.getsource(slack_views)
