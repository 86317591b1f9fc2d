"""The /news command tree driven by real discord.Interaction objects; replies go over HTTP
through discord.py to the fake Discord, where they are recorded. No gateway connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from bot.core.model import CommandRequest, Reply, ReplyEntry
from bot.deliver.adapters.discord import build_command_tree, set_discord_api_url
from bot.deliver.adapters.discord_commands import NewsBotClient, command_line
from bot.errors import CommandError
from tests.fakes.discord_api import CHANNEL, GUILD, USER, FakeDiscord, make_interaction

ADMIN_ROLE = 666666666666666666
MANAGE_GUILD = 1 << 5
SUBCOMMANDS = ("latest", "search", "facts", "status", "story", "help", "rules", "feeds", "routes", "audit")
ADMIN_SUBCOMMANDS = {"rules", "feeds", "routes", "audit"}


class RecordingHandler:
    """Stands in for the command core: records requests, refuses admin work to non-admins."""

    def __init__(self, delay: float = 0.0, reply: Reply | None = None) -> None:
        self.requests: list[CommandRequest] = []
        self.delay, self.reply = delay, reply

    async def __call__(self, request: CommandRequest) -> Reply:
        self.requests.append(request)
        await asyncio.sleep(self.delay)
        word = request.text.split(" ", 1)[0]
        if (word in ADMIN_SUBCOMMANDS or request.text.startswith("facts add")) and not request.is_admin_hint:
            raise CommandError(f"/news {word} is for admins only.")
        if self.reply is not None:
            return self.reply
        return Reply(title=f"You asked: {request.text}", lines=("ok",), ephemeral=word == "help")


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord(channels={CHANNEL})
    set_discord_api_url(await server.start())
    yield server
    set_discord_api_url(None)
    await server.close()


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    c = discord.Client(intents=discord.Intents(guilds=True), allowed_mentions=discord.AllowedMentions.none())
    await c.login("test-bot-token")  # REST only: /users/@me and /oauth2/applications/@me
    yield c
    await c.close()


async def run(
    fake: FakeDiscord,
    client: discord.Client,
    tree: discord.app_commands.CommandTree[Any],
    *args: Any,
    **kw: Any,
) -> None:
    await tree._call(make_interaction(fake, client, *args, **kw))


async def test_latest_sends_the_core_text_line_and_the_reply_goes_over_http(
    fake: FakeDiscord, client: discord.Client
) -> None:
    handler = RecordingHandler()
    tree = build_command_tree(client, handler)

    await run(fake, client, tree, "latest", {"n": 5, "rule": "prometheus"})

    [request] = handler.requests
    assert request == CommandRequest(
        platform="discord",
        user_id=str(USER),
        text="latest 5 prometheus",
        channel_id=str(CHANNEL),
        user_name="reader",
        is_admin_hint=False,
    )
    [callback] = fake.of_kind("callback")
    assert callback.payload["type"] == 4  # answered at once, no defer
    data = callback.payload["data"]
    assert data["embeds"][0]["title"] == "You asked: latest 5 prometheus"
    assert not data.get("flags", 0) & 64  # public
    assert data["allowed_mentions"] == {"parse": []}


async def test_non_admin_is_refused_an_admin_subcommand_privately(
    fake: FakeDiscord, client: discord.Client
) -> None:
    handler = RecordingHandler()
    tree = build_command_tree(client, handler)

    await run(fake, client, tree, "rules", {"action": "remove", "args": "prometheus"})

    assert handler.requests[0].text == "rules remove prometheus"
    assert handler.requests[0].is_admin_hint is False
    data = fake.of_kind("callback")[0].payload["data"]
    assert data["flags"] & 64  # ephemeral
    assert "for admins only" in data["embeds"][0]["description"]
    assert data["embeds"][0]["color"] == 0xED4245


@pytest.mark.parametrize(
    ("permissions", "roles", "expected"),
    [(MANAGE_GUILD, (), True), (0, (ADMIN_ROLE,), True), (0, (123,), False), (1 << 11, (), False)],
)
async def test_manage_server_or_admin_role_is_passed_as_admin_hint(
    fake: FakeDiscord, client: discord.Client, permissions: int, roles: tuple[int, ...], expected: bool
) -> None:
    handler = RecordingHandler()
    tree = build_command_tree(client, handler, admin_role_ids={ADMIN_ROLE})

    await run(fake, client, tree, "feeds", {"action": "list"}, permissions=permissions, roles=roles)

    assert handler.requests[0].is_admin_hint is expected
    data = fake.of_kind("callback")[0].payload["data"]
    assert ("admins only" in str(data["embeds"])) is not expected


async def test_slow_answer_is_deferred_then_sent_as_followup(
    fake: FakeDiscord, client: discord.Client
) -> None:
    handler = RecordingHandler(delay=0.2)
    tree = build_command_tree(client, handler, defer_after=0.02)

    await run(fake, client, tree, "search", {"words": "Vik  Bajaj"})

    assert handler.requests[0].text == "search Vik Bajaj"
    [callback] = fake.of_kind("callback")
    assert callback.payload["type"] == 5  # deferred "thinking"
    [followup] = fake.of_kind("followup")
    assert followup.payload["embeds"][0]["title"] == "You asked: search Vik Bajaj"
    assert followup.payload["allowed_mentions"] == {"parse": []}


async def test_slow_private_reply_after_public_defer_replaces_the_placeholder(
    fake: FakeDiscord, client: discord.Client
) -> None:
    error = Reply(title="Unknown rule", lines=("No rule named nope.",), ephemeral=True, is_error=True)
    tree = build_command_tree(client, RecordingHandler(delay=0.2, reply=error), defer_after=0.02)

    await run(fake, client, tree, "latest", {"rule": "nope"})

    assert [m.kind for m in fake.messages] == ["callback", "delete", "followup"]
    assert not fake.messages[0].payload.get("data", {}).get("flags", 0) & 64
    assert fake.messages[2].payload["flags"] & 64


async def test_help_and_admin_subcommands_defer_privately(fake: FakeDiscord, client: discord.Client) -> None:
    handler = RecordingHandler(delay=0.1)
    tree = build_command_tree(client, handler, defer_after=0.02)

    await run(fake, client, tree, "help", {}, permissions=MANAGE_GUILD)
    await run(fake, client, tree, "audit", {"n": 5}, permissions=MANAGE_GUILD)

    assert [r.text for r in handler.requests] == ["help", "audit 5"]
    callbacks = fake.of_kind("callback")
    assert [c.payload["type"] for c in callbacks] == [5, 5]
    assert all(c.payload["data"]["flags"] & 64 for c in callbacks)
    assert len(fake.of_kind("followup")) == 2


async def test_feed_text_in_a_reply_cannot_mention_anyone(fake: FakeDiscord, client: discord.Client) -> None:
    story = ReplyEntry(
        title="@everyone Prometheus <@123>",
        url="https://news.example/a",
        meta="Wire <@&456>",
        text="@here [free money](https://evil.example)",
    )
    reply = Reply(title="Latest", entries=(story,), ephemeral=False)
    tree = build_command_tree(client, RecordingHandler(reply=reply))

    await run(fake, client, tree, "latest", {})

    data = fake.of_kind("callback")[0].payload["data"]
    assert data["allowed_mentions"] == {"parse": []}
    text = str(data["embeds"])
    for raw in ("@everyone", "@here", "<@123>", "<@&456>", "[free money](https"):
        assert raw not in text
    assert "(https://news.example/a)" in text  # our own link to the story survives


async def test_a_crashing_handler_gets_a_private_error_reply(
    fake: FakeDiscord, client: discord.Client
) -> None:
    async def broken(request: CommandRequest) -> Reply:
        raise RuntimeError("database is locked")

    tree = build_command_tree(client, broken)
    await run(fake, client, tree, "status", {})

    data = fake.of_kind("callback")[0].payload["data"]
    assert data["flags"] & 64
    assert "database is locked" not in str(data)


async def test_rule_names_are_autocompleted(fake: FakeDiscord, client: discord.Client) -> None:
    names = {
        "rules": ["prometheus", "bajaj", "project-prometheus-funding"],
        "feeds": ["https://x.example/rss"],
    }
    tree = build_command_tree(client, RecordingHandler(), name_lookup=lambda kind: names[kind])

    await run(fake, client, tree, "latest", {"rule": "prom"}, kind=4, focused="rule")

    [callback] = fake.of_kind("callback")
    assert callback.payload["type"] == 8
    values = [c["value"] for c in callback.payload["data"]["choices"]]
    assert values == ["prometheus", "project-prometheus-funding"]


async def test_commands_are_synced_to_each_configured_guild_only(fake: FakeDiscord) -> None:
    client = NewsBotClient(RecordingHandler(), guild_ids=[GUILD, GUILD + 1], group_name="prom")
    try:
        await client.login("test-bot-token")  # setup_hook syncs before any gateway connection
    finally:
        await client.close()

    assert set(fake.synced) == {str(GUILD), str(GUILD + 1)}
    [group] = fake.synced[str(GUILD)]
    assert group["name"] == "prom"
    subcommands = {o["name"]: o for o in group["options"]}
    assert set(subcommands) == {
        "latest",
        "search",
        "facts",
        "status",
        "story",
        "help",
        "rules",
        "feeds",
        "routes",
        "audit",
    }
    for sub in subcommands.values():
        assert sub["description"]
        assert all(option["description"] for option in sub["options"])


async def test_without_guilds_commands_are_synced_globally(fake: FakeDiscord) -> None:
    client = NewsBotClient(RecordingHandler())
    try:
        await client.login("test-bot-token")
    finally:
        await client.close()
    assert set(fake.synced) == {"global"}


async def test_manage_server_is_no_hint_when_the_config_turns_it_off(
    fake: FakeDiscord, client: discord.Client
) -> None:
    handler = RecordingHandler()
    tree = build_command_tree(client, handler, admin_role_ids=[ADMIN_ROLE], manage_server_is_admin=False)

    await run(fake, client, tree, "routes", {}, permissions=MANAGE_GUILD)
    await run(fake, client, tree, "routes", {}, roles=(ADMIN_ROLE,))

    assert [r.is_admin_hint for r in handler.requests] == [False, True]


async def test_paging_options_become_the_core_words(fake: FakeDiscord, client: discord.Client) -> None:
    handler = RecordingHandler()
    tree = build_command_tree(client, handler)

    await run(fake, client, tree, "latest", {"rule": "bajaj", "page": 2})
    await run(fake, client, tree, "search", {"words": '"Vik Bajaj" fund', "page": 3})
    await run(fake, client, tree, "facts", {"action": "add", "text": "Prometheus hired 100 people"})

    assert [r.text for r in handler.requests] == [
        "latest bajaj page 2",
        'search "Vik Bajaj" fund --page 3',
        "facts add Prometheus hired 100 people",
    ]


def test_command_line_drops_empty_options_and_collapses_spaces() -> None:
    assert command_line("latest", None, "prometheus") == "latest prometheus"
    assert command_line("search", "  Project \n Prometheus ") == "search Project Prometheus"
    assert command_line("latest", 5, None) == "latest 5"


async def test_story_passes_its_action_and_report_to_the_core(
    fake: FakeDiscord, client: discord.Client
) -> None:
    handler = RecordingHandler()
    tree = build_command_tree(client, handler)

    await run(fake, client, tree, "story", {"action": "split", "report": "3f2a9c0b1d4e"})

    assert handler.requests[0].text == "story split 3f2a9c0b1d4e"
