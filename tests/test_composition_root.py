"""One composition root: bot.app builds every long-lived object, and nothing else reads the process
environment or constructs clients, databases, adapters, the command core or the scheduler."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.app import Connect, Environment, open_bot
from tests.conftest import ConfigDir

BOT = Path(__file__).resolve().parents[1] / "bot"
ROOT = BOT / "app.py"
BUILT_ONLY_BY_THE_ROOT = {
    "FeedHttpClient", "ParsePool", "open_database", "AsyncIOScheduler", "CommandCore", "SlackAlertSender",
    "DiscordAlertSender", "DiscordInteractions", "make_slack_client", "make_feed_validator", "ConfigSource",
}  # fmt: skip


def offences(source: str) -> list[str]:
    """Reads of the process environment and constructions of root-built objects in `source`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            found.append((node.lineno, f"os.{node.attr}"))
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name in BUILT_ONLY_BY_THE_ROOT:
                found.append((node.lineno, f"{name}(...)"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def test_the_checker_catches_an_environment_read_and_a_client_built_elsewhere() -> None:
    source = "import os\nlevel = os.environ.get('X')\nhttp = FeedHttpClient(settings)\nok = len([])\n"
    assert offences(source) == ["line 2: os.environ", "line 3: FeedHttpClient(...)"]


def test_only_the_composition_root_reads_the_environment_or_builds_long_lived_objects() -> None:
    found = {
        str(path.relative_to(BOT.parent)): problems
        for path in sorted(BOT.rglob("*.py"))
        if path != ROOT and (problems := offences(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_environment_carries_the_log_level_and_every_secret() -> None:
    env = Environment.from_env(
        {
            "LOG_LEVEL": "DEBUG",
            "SLACK_BOT_TOKEN": "xoxb-1",
            "DISCORD_BOT_TOKEN": "d-2",
            "SLACK_API_URL": "http://x/",
        }
    )
    assert env.log_level == "DEBUG" and env.secrets() == ("xoxb-1", "d-2")
    assert Environment.from_env({}).log_level is None and Environment.from_env({}).secrets() == ()


async def test_open_bot_builds_each_object_once_and_what_each_use_needs(
    config_dir: ConfigDir, tmp_path: Path
) -> None:
    config_dir.write(
        routes=[
            {
                "platform": "discord",
                "channel": "https://discord.com/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyz0123456789",
                "rules": ["prometheus"],
            }
        ]
    )
    env = Environment(config_dir=config_dir.path, db_path=tmp_path / "bot.db")
    service = await open_bot(env, Connect.SERVICE)
    try:
        assert service.pipeline is service.pipeline and service.scheduler is not None
        assert set(service.senders) == {"console", "discord"}  # the webhook route needs no token
        assert service.commands._reachable == service.can_deliver  # only channels a connected adapter reaches
    finally:
        await service.close()
    operator = await open_bot(env, Connect.NOTHING)
    try:
        assert set(operator.senders) == {"console"} and operator.scheduler is None and not operator.listeners
        assert operator.commands._reachable == env.can_reach  # the running service sends what it queues
    finally:
        await operator.close()
