"""Shared fixtures: a local feed server, a fake Slack API, a config directory writer, and a bot wired to
the feed server and the config."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.app import Bot, Environment, build_bot
from bot.deliver.adapters.console import ConsoleAlertSender
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlackAPI

DEFAULT_RULES = [
    {"name": "prometheus", "query": '"Project Prometheus" OR (Prometheus AND (Bezos OR Bajaj))'},
    {"name": "bajaj", "query": '"Vik Bajaj"'},
]


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    server = await FeedServer().start()
    yield server
    await server.stop()


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlackAPI]:
    """The fake Slack Web API on 127.0.0.1 that the real slack-sdk and slack-bolt clients talk to."""
    server = await FakeSlackAPI().start()
    yield server
    await server.close()


class ConfigDir:
    """Writes a config directory the way an operator would, with test-friendly defaults."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def write(
        self,
        *,
        feeds: list[dict[str, Any]] | None = None,
        rules: list[dict[str, Any]] | None = None,
        routes: list[dict[str, Any]] | None = None,
        settings: dict[str, Any] | None = None,
        facts: list[dict[str, Any]] | None = None,
        lists: dict[str, str] | None = None,
    ) -> ConfigDir:
        base_settings: dict[str, Any] = {
            "poll_interval": "5m",
            # Test feeds live on 127.0.0.1: allowed explicitly here, as an operator would.
            "fetch": {"connect_timeout": "2s", "read_timeout": "2s", "concurrency": 8, "allow_private": True},
            "admins": {"slack": ["UADMIN"], "discord": ["100000000000000001"]},
            "health": {"port": None},  # tests that want the health server start it themselves
        }
        for key, value in (settings or {}).items():  # a section given by a test is merged, not replaced
            nested = isinstance(value, dict) and isinstance(base_settings.get(key), dict)
            base_settings[key] = {**base_settings[key], **value} if nested else value
        files = {
            "feeds.yaml": {"feeds": feeds or []},
            "rules.yaml": {"rules": DEFAULT_RULES if rules is None else rules}
            | ({"lists": lists} if lists else {}),
            "routes.yaml": {
                "routes": routes or [{"platform": "console", "channel": "stdout", "rules": ["all"]}]
            },
            "settings.yaml": base_settings,
            "facts.yaml": {"facts": facts or []},
        }
        for name, content in files.items():
            (self.path / name).write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
        return self


@pytest.fixture
def config_dir(tmp_path: Path) -> ConfigDir:
    return ConfigDir(tmp_path / "config")


class TestClock:
    """A settable clock, so backoff and max-age logic can be tested without waiting."""

    __test__ = False

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def make_bot(tmp_path: Path) -> AsyncIterator[Callable[..., Bot]]:
    """Build bots over one database file; each call is like a fresh process start (a restart)."""
    built: list[Bot] = []

    def factory(config: ConfigDir, *, clock: Callable[[], float] | None = None) -> Bot:
        output = io.StringIO()
        bot = build_bot(
            Environment(config_dir=config.path, db_path=tmp_path / "bot.db"),
            console=ConsoleAlertSender(output),
        )
        bot.console_output = output  # type: ignore[attr-defined]
        if clock is not None:
            bot.clock = clock
        built.append(bot)
        return bot

    yield factory
    for bot in built:
        await bot.close()
