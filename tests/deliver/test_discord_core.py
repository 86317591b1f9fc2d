"""/news on Discord answered by the real command core (bot.commands) over a real SQLite file.

The interaction is a real discord.Interaction; the reply goes through discord.py's HTTP client
to the fake Discord, where the embeds are recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.deliver.adapters.discord import build_command_tree, set_discord_api_url
from tests.commands.helpers import Harness, add_story
from tests.conftest import ConfigDir
from tests.fakes.discord_api import USER, FakeDiscord, make_interaction

MANAGE_GUILD = 1 << 5


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    set_discord_api_url(await server.start())
    yield server
    set_discord_api_url(None)
    await server.close()


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    c = discord.Client(intents=discord.Intents(guilds=True), allowed_mentions=discord.AllowedMentions.none())
    await c.login("test-bot-token")
    yield c
    await c.close()


@pytest.fixture
def harness(config_dir: ConfigDir, tmp_path: Path) -> Harness:
    admins = {"slack": [], "discord": [], "discord_manage_server": True}
    config_dir.write(settings={"admins": admins})
    return Harness(config_dir.path, tmp_path / "bot.db")


async def run(
    fake: FakeDiscord, client: discord.Client, harness: Harness, *args: Any, **kw: Any
) -> dict[str, Any]:
    tree = build_command_tree(client, harness.core.handle, name_lookup=harness.core.names)
    await tree._call(make_interaction(fake, client, *args, **kw))
    data: dict[str, Any] = fake.of_kind("callback")[-1].payload["data"]
    return data


async def test_non_admin_cannot_remove_a_rule_and_is_told_privately(
    fake: FakeDiscord, client: discord.Client, harness: Harness
) -> None:
    data = await run(fake, client, harness, "rules", {"action": "remove", "args": "prometheus"})

    assert data["flags"] & 64
    assert data["embeds"][0]["title"] == "Only admins can use rules remove."
    assert "prometheus" in harness.core.names("rules")  # nothing changed
    audit = harness.db.execute("SELECT action, actor FROM audit").fetchall()
    assert audit == [("denied", f"reader ({USER})")]


async def test_manage_server_member_can_list_rules(
    fake: FakeDiscord, client: discord.Client, harness: Harness
) -> None:
    data = await run(fake, client, harness, "rules", {"action": "list"}, permissions=MANAGE_GUILD)

    assert "Only admins" not in str(data)
    assert "prometheus" in str(data["embeds"])


async def test_latest_story_with_mentions_in_its_title_is_shown_harmlessly(
    fake: FakeDiscord, client: discord.Client, harness: Harness
) -> None:
    add_story(
        harness.db,
        "@everyone Project Prometheus buys <@&456> robot maker",
        summary="Vik Bajaj <@123> confirms [details](https://evil.example)",
        rules=("prometheus",),
    )

    data = await run(fake, client, harness, "latest", {"n": 3})

    assert data["allowed_mentions"] == {"parse": []}
    text = str(data["embeds"])
    assert "Project Prometheus buys" in text
    for raw in ("@everyone", "<@&456>", "<@123>", "[details](https"):
        assert raw not in text


async def test_rule_autocomplete_offers_the_cores_rule_names(
    fake: FakeDiscord, client: discord.Client, harness: Harness
) -> None:
    tree = build_command_tree(client, harness.core.handle, name_lookup=harness.core.names)
    await tree._call(make_interaction(fake, client, "latest", {"rule": "baj"}, kind=4, focused="rule"))

    choices = fake.of_kind("callback")[-1].payload["data"]["choices"]
    assert [c["value"] for c in choices] == ["bajaj"]
