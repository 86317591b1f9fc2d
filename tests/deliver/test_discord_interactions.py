"""/news at the Discord HTTP interactions endpoint (bot.deliver.adapters.discord_interactions).

The endpoint runs on the bot's real public server (bot.net.inbound.start_public_server) on a free
port of 127.0.0.1; requests are signed here the way Discord signs them (Ed25519 over the timestamp
and the raw body, with a key pair made for the test) and posted over a real socket; replies go
through the interaction webhook to the fake Discord API (tests/fakes/discord_api.py), where they
are recorded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.core.model import CommandRequest, Reply, ReplyEntry
from bot.deliver.adapters.discord import build_command_tree, set_discord_api_url
from bot.deliver.adapters.discord_commands import sync_discord_commands
from bot.deliver.adapters.discord_interactions import (
    INTERACTIONS_PATH,
    MAX_BODY,
    DiscordInteractions,
    load_public_key,
)
from bot.deliver.adapters.discord_slash import SPEC
from bot.net.inbound import start_public_server
from bot.store.audit import recent_audit
from tests.commands.helpers import Harness, add_story
from tests.conftest import ConfigDir
from tests.deliver.test_discord_commands import ADMIN_ROLE, MANAGE_GUILD, RecordingHandler
from tests.fakes.discord_api import APPLICATION_ID, CHANNEL, GUILD, USER, FakeDiscord, interaction_payload

ADMINISTRATOR = 1 << 3
Poster = Callable[..., Awaitable[tuple[int, Any]]]


class Signer:
    """Signs like Discord: Ed25519 over X-Signature-Timestamp followed by the raw body."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.public_hex = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def headers(self, body: bytes, *, at: float | None = None) -> dict[str, str]:
        stamp = str(int(time.time() if at is None else at))
        signature = self.key.sign(stamp.encode() + body).hex()
        return {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp}


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord(channels={CHANNEL})
    set_discord_api_url(await server.start())
    yield server
    set_discord_api_url(None)
    await server.close()


@pytest.fixture
def signer() -> Signer:
    return Signer()


class Endpoint:
    """A running endpoint over `handler`, and a way to post to it."""

    def __init__(self, url: str, endpoint: DiscordInteractions, runner: web.AppRunner) -> None:
        self.url, self.endpoint, self.runner = url, endpoint, runner

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body, headers=headers or {}) as response,
        ):
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text

    async def settle(self) -> None:
        """Wait for replies under way to reach the fake Discord."""
        if self.endpoint._replies:
            await asyncio.wait(set(self.endpoint._replies), timeout=10)


@pytest.fixture
async def serve(fake: FakeDiscord, signer: Signer) -> AsyncIterator[Callable[..., Awaitable[Endpoint]]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Any, **options: Any) -> Endpoint:
        endpoint = DiscordInteractions(
            load_public_key(signer.public_hex), handler, api_url=fake.base_url, **options
        )
        runner, port = await start_public_server([endpoint.add_routes], "127.0.0.1", 0, max_body=MAX_BODY)
        runners.append(runner)
        return Endpoint(f"http://127.0.0.1:{port}{INTERACTIONS_PATH}", endpoint, runner)

    yield start
    for runner in runners:
        await runner.cleanup()


async def send(server: Endpoint, signer: Signer, fake: FakeDiscord, *args: Any, **kw: Any) -> tuple[int, Any]:
    """Post the signed interaction for `/news <args>`, then wait for its reply to land."""
    body = json.dumps(interaction_payload(fake, *args, **kw)).encode()
    answer = await server.post(body, signer.headers(body))
    await server.settle()
    return answer


def only(fake: FakeDiscord, kind: str) -> dict[str, Any]:
    [message] = fake.of_kind(kind)
    return message.payload


# --- what Discord sends, answered ------------------------------------------------------------


async def test_ping_is_answered_with_pong(serve: Any, signer: Signer, fake: FakeDiscord) -> None:
    handler = RecordingHandler()
    server = await serve(handler)
    body = json.dumps({"id": "1", "application_id": str(APPLICATION_ID), "type": 1, "version": 1}).encode()

    assert await server.post(body, signer.headers(body)) == (200, {"type": 1})
    assert handler.requests == [] and fake.messages == []


async def test_a_command_is_deferred_then_its_reply_replaces_the_placeholder(
    serve: Any, signer: Signer, fake: FakeDiscord
) -> None:
    handler = RecordingHandler()
    server = await serve(handler)

    status, answer = await send(server, signer, fake, "latest", {"n": 5, "rule": "prometheus", "page": 2})

    assert (status, answer) == (200, {"type": 5})  # deferred, public: `latest` answers in the channel
    [request] = handler.requests
    assert request == CommandRequest(
        platform="discord",
        user_id=str(USER),
        text="latest 5 prometheus page 2",
        channel_id=str(CHANNEL),
        user_name="reader",
        is_admin_hint=False,
    )
    reply = only(fake, "original")  # PATCH /webhooks/<application id>/<token>/messages/@original
    assert reply["embeds"][0]["title"] == "You asked: latest 5 prometheus page 2"
    assert reply["allowed_mentions"] == {"parse": []}
    method, path, _ = fake.requests[-1]
    assert method == "PATCH" and path.startswith(f"/api/v10/webhooks/{APPLICATION_ID}/interaction-token-")
    assert path.endswith("/messages/@original")


async def test_private_subcommands_are_deferred_privately(
    serve: Any, signer: Signer, fake: FakeDiscord
) -> None:
    handler = RecordingHandler()
    server = await serve(handler)

    assert await send(server, signer, fake, "help", {"topic": "rules"}) == (
        200,
        {"type": 5, "data": {"flags": 64}},
    )
    assert handler.requests[0].text == "help rules"
    assert only(fake, "original")["embeds"][0]["title"] == "You asked: help rules"


async def test_a_private_answer_to_a_public_placeholder_replaces_it_privately(
    serve: Any, signer: Signer, fake: FakeDiscord
) -> None:
    handler = RecordingHandler(reply=Reply(title="Nothing matched", ephemeral=True))
    server = await serve(handler)

    assert await send(server, signer, fake, "latest", {"rule": "nothing"}) == (200, {"type": 5})

    assert [m.kind for m in fake.messages] == ["delete", "followup"]
    followup = only(fake, "followup")
    assert followup["flags"] & 64 and followup["embeds"][0]["title"] == "Nothing matched"
    assert followup["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize(
    ("permissions", "roles", "expected"),
    [
        (MANAGE_GUILD, (), True),
        (ADMINISTRATOR, (), True),
        (0, (ADMIN_ROLE,), True),
        (0, (123,), False),
        (1 << 11, (), False),
    ],
)
async def test_manage_server_or_admin_role_is_passed_as_admin_hint(
    serve: Any, signer: Signer, fake: FakeDiscord, permissions: int, roles: tuple[int, ...], expected: bool
) -> None:
    handler = RecordingHandler()
    server = await serve(handler, admin_role_ids={ADMIN_ROLE})

    await send(server, signer, fake, "feeds", {"action": "list"}, permissions=permissions, roles=roles)

    assert handler.requests[0].is_admin_hint is expected
    assert ("admins only" in str(only(fake, "original")["embeds"])) is not expected


async def test_manage_server_is_no_hint_when_the_config_turns_it_off(
    serve: Any, signer: Signer, fake: FakeDiscord
) -> None:
    handler = RecordingHandler()
    server = await serve(handler, admin_role_ids=[ADMIN_ROLE], manage_server_is_admin=False)

    await send(server, signer, fake, "routes", {}, permissions=MANAGE_GUILD)
    await send(server, signer, fake, "routes", {}, roles=(ADMIN_ROLE,))

    assert [r.is_admin_hint for r in handler.requests] == [False, True]


async def test_feed_text_in_a_reply_cannot_mention_anyone(
    serve: Any, signer: Signer, fake: FakeDiscord
) -> None:
    entry = ReplyEntry(
        title="@everyone Bezos <@&456> buys",
        url="https://news.example/a",
        text="@here <@123> [free money](https://evil.example)",
    )
    server = await serve(RecordingHandler(reply=Reply(title="Latest", entries=(entry,), ephemeral=False)))

    await send(server, signer, fake, "latest", {})

    reply = only(fake, "original")
    assert reply["allowed_mentions"] == {"parse": []}
    text = str(reply["embeds"])
    for raw in ("@everyone", "@here", "<@123>", "<@&456>", "[free money](https"):
        assert raw not in text


async def test_a_crashing_core_gets_a_private_error_reply_without_details(
    serve: Any, signer: Signer, fake: FakeDiscord
) -> None:
    async def broken(request: CommandRequest) -> Reply:
        raise RuntimeError("database is locked")

    server = await serve(broken)
    assert await send(server, signer, fake, "status", {}) == (200, {"type": 5})

    followup = only(fake, "followup")
    assert followup["flags"] & 64
    assert "database is locked" not in str(fake.messages)


async def test_rule_names_are_autocompleted(serve: Any, signer: Signer, fake: FakeDiscord) -> None:
    names = {"rules": ["prometheus", "bajaj", "project-prometheus-funding"], "feeds": []}
    handler = RecordingHandler()
    server = await serve(handler, name_lookup=lambda kind: names[kind])

    status, answer = await send(server, signer, fake, "latest", {"rule": "prom"}, kind=4, focused="rule")
    assert status == 200 and answer["type"] == 8
    assert [c["value"] for c in answer["data"]["choices"]] == ["prometheus", "project-prometheus-funding"]
    status, answer = await send(server, signer, fake, "rules", {"action": "di"}, kind=4, focused="action")
    assert [c["value"] for c in answer["data"]["choices"]] == ["disable", "edit"]
    assert handler.requests == [] and fake.messages == []


async def test_another_command_of_the_application_gets_a_private_notice(
    serve: Any, signer: Signer, fake: FakeDiscord
) -> None:
    handler = RecordingHandler()
    server = await serve(handler, group_name="prom")

    status, answer = await send(server, signer, fake, "latest", {})  # /news, but this bot is /prom

    assert status == 200 and answer["type"] == 4 and answer["data"]["flags"] & 64
    assert handler.requests == []


# --- the real command core ---------------------------------------------------------------------


@pytest.fixture
def harness(config_dir: ConfigDir, tmp_path: Path) -> Harness:
    admins = {"slack": [], "discord": [], "discord_manage_server": True}
    config_dir.write(settings={"admins": admins})
    return Harness(config_dir.path, tmp_path / "bot.db")


async def test_an_admin_command_runs_in_the_core_and_its_reply_arrives(
    serve: Any, signer: Signer, fake: FakeDiscord, harness: Harness
) -> None:
    server = await serve(harness.core.handle, name_lookup=harness.core.names)

    status, answer = await send(
        server, signer, fake, "rules", {"action": "disable", "args": "bajaj"}, permissions=MANAGE_GUILD
    )

    assert (status, answer) == (200, {"type": 5, "data": {"flags": 64}})
    reply = only(fake, "original")
    assert "Only admins" not in str(reply) and "bajaj" in str(reply["embeds"])
    row = recent_audit(harness.db, 1)[0]
    assert (row["action"], row["target"], row["platform"], row["actor"]) == (
        "rules.disable",
        "bajaj",
        "discord",
        f"reader ({USER})",
    )


async def test_a_non_admin_is_refused_privately_and_audited(
    serve: Any, signer: Signer, fake: FakeDiscord, harness: Harness
) -> None:
    server = await serve(harness.core.handle)

    await send(server, signer, fake, "rules", {"action": "remove", "args": "prometheus"})

    reply = only(fake, "original")  # the placeholder was private already
    assert reply["embeds"][0]["title"] == "Only admins can use rules remove."
    assert "prometheus" in harness.core.names("rules")  # nothing changed
    audit = harness.db.execute("SELECT action, actor FROM audit").fetchall()
    assert audit == [("denied", f"reader ({USER})")]


async def test_latest_story_with_mentions_in_its_title_is_shown_harmlessly(
    serve: Any, signer: Signer, fake: FakeDiscord, harness: Harness
) -> None:
    add_story(harness.db, "@everyone Project Prometheus buys <@&456> robot maker", rules=("prometheus",))
    server = await serve(harness.core.handle)

    await send(server, signer, fake, "latest", {"n": 3})

    reply = only(fake, "original")
    assert reply["allowed_mentions"] == {"parse": []}
    assert "Project Prometheus buys" in str(reply["embeds"]) and "@everyone" not in str(reply["embeds"])


# --- requests that are not Discord's, or not interactions ---------------------------------------


async def test_a_bad_signature_is_401_and_the_core_is_not_called(
    serve: Any, signer: Signer, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    handler = RecordingHandler()
    server = await serve(handler)
    body = json.dumps(
        interaction_payload(fake, "rules", {"action": "list"}, permissions=MANAGE_GUILD)
    ).encode()
    other = Signer()
    tampered = body.replace(b'"rules"', b'"feeds"')

    with caplog.at_level(logging.INFO):
        assert (await server.post(body, other.headers(body)))[0] == 401  # another key
        assert (await server.post(tampered, signer.headers(body)))[0] == 401  # another body
        headers = signer.headers(body)
        headers["X-Signature-Timestamp"] = str(int(headers["X-Signature-Timestamp"]) - 1)
        assert (await server.post(body, headers))[0] == 401  # another timestamp
        await server.settle()

    assert handler.requests == [] and fake.messages == []
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.WARNING  # once a minute, not per request
    assert "rules" not in caplog.text and "interaction-token" not in caplog.text  # never the body


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Signature-Timestamp": "1700000000"},
        {"X-Signature-Ed25519": "00" * 64},
        {"X-Signature-Ed25519": "zz" * 64, "X-Signature-Timestamp": "1700000000"},
        {"X-Signature-Ed25519": "00" * 63, "X-Signature-Timestamp": "1700000000"},
        {"X-Signature-Ed25519": "00" * 64, "X-Signature-Timestamp": "-1"},
        {"X-Signature-Ed25519": "00" * 64, "X-Signature-Timestamp": "9" * 40},
    ],
)
async def test_missing_or_malformed_signature_headers_are_401(
    serve: Any, fake: FakeDiscord, headers: dict[str, str]
) -> None:
    handler = RecordingHandler()
    server = await serve(handler)
    body = json.dumps(interaction_payload(fake, "status", {})).encode()

    assert (await server.post(body, headers))[0] == 401
    assert handler.requests == []


@pytest.mark.parametrize("skew", [-301, 301, -86400])
async def test_a_stale_or_future_timestamp_is_401_even_when_correctly_signed(
    serve: Any, signer: Signer, fake: FakeDiscord, skew: int
) -> None:
    handler = RecordingHandler()
    server = await serve(handler)
    body = json.dumps(interaction_payload(fake, "status", {})).encode()

    assert (await server.post(body, signer.headers(body, at=time.time() + skew)))[0] == 401
    assert (await server.post(body, signer.headers(body, at=time.time() - 200)))[0] == 200  # within 5 min
    await server.settle()
    assert len(handler.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"text"',
        b'{"type": 2}',  # no application id, token or data
        b'{"type": 2, "application_id": "424242424242424242", "token": "t", "data": {"name": "news"}}',
        b'{"type": 2, "application_id": "424242424242424242", "token": "../../x", "data": {}}',
        b'{"type": 4, "data": {"name": "news", "options": "x"}}',
        b"[" * 100_000,  # deeper than json.loads can go
    ],
)
async def test_a_signed_body_that_is_no_interaction_is_400_not_500(
    serve: Any, signer: Signer, fake: FakeDiscord, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    handler = RecordingHandler()
    server = await serve(handler)

    with caplog.at_level(logging.INFO):
        assert (await server.post(body, signer.headers(body)))[0] == 400
    assert handler.requests == [] and fake.messages == []
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("kind", [3, 5, 99, None, "2"])
async def test_an_interaction_type_it_does_not_handle_is_400(
    serve: Any, signer: Signer, fake: FakeDiscord, kind: object
) -> None:
    handler = RecordingHandler()
    server = await serve(handler)
    payload = interaction_payload(fake, "status", {})
    payload["type"] = kind
    body = json.dumps(payload).encode()

    assert (await server.post(body, signer.headers(body)))[0] == 400
    assert handler.requests == [] and fake.messages == []


async def test_a_body_over_the_cap_is_413_and_other_methods_and_paths_are_refused(
    serve: Any, signer: Signer, fake: FakeDiscord
) -> None:
    handler = RecordingHandler()
    server = await serve(handler)
    body = b'{"type": 1, "pad": "' + b"x" * MAX_BODY + b'"}'

    assert (await server.post(body, signer.headers(body)))[0] == 413
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url) as response:
            assert response.status == 405
        async with session.post(server.url + "/x", data=b"{}") as response:
            assert response.status == 404
        async with session.get(server.url.replace(INTERACTIONS_PATH, "/healthz")) as response:
            assert response.status == 200
    assert handler.requests == []


def test_the_public_key_must_be_64_hex_characters() -> None:
    for bad in ("", "abc", "g" * 64, "00" * 33):
        with pytest.raises(ValueError, match="64 hex characters"):
            load_public_key(bad)
    assert load_public_key(Signer().public_hex.upper())


# --- the same command as the gateway registers -------------------------------------------------


async def test_the_shared_table_names_every_option_the_registered_command_has(fake: FakeDiscord) -> None:
    import discord

    client = discord.Client(intents=discord.Intents(guilds=True))
    tree = build_command_tree(client, RecordingHandler())
    [group] = tree.get_commands()
    assert isinstance(group, discord.app_commands.Group)
    registered = {
        c.name: {p.name for p in c.parameters}
        for c in group.commands
        if isinstance(c, discord.app_commands.Command)
    }
    expected = {
        name: set(spec.options) | ({"page"} if spec.page_word else set()) for name, spec in SPEC.items()
    }
    assert registered == expected


async def test_commands_are_registered_over_rest_without_a_gateway(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await sync_discord_commands(
            "test-bot-token", RecordingHandler(), guild_ids=[GUILD], group_name="prom"
        )
        await sync_discord_commands("wrong-token", RecordingHandler())  # logged, not raised

    [group] = fake.synced[str(GUILD)]
    assert group["name"] == "prom" and {o["name"] for o in group["options"]} == set(SPEC)
    assert not any(path == "/gateway" for _, path, _ in fake.requests)
    assert "Discord rejected DISCORD_BOT_TOKEN" in caplog.text and "wrong-token" not in caplog.text


async def test_a_service_with_a_malformed_public_key_does_not_start(
    config_dir: ConfigDir, tmp_path: Path
) -> None:
    from bot.app import Connect, Environment, open_bot
    from bot.errors import ConfigError

    config_dir.write()
    env = Environment(config_dir=config_dir.path, db_path=tmp_path / "bot.db", discord_public_key="not-a-key")
    with pytest.raises(ConfigError, match="DISCORD_PUBLIC_KEY"):
        await open_bot(env, Connect.SERVICE)
    assert Environment.from_env({"DISCORD_PUBLIC_KEY": "ab" * 32}).discord_public_key == "ab" * 32


@pytest.fixture
def started() -> dict[str, Endpoint]:
    return {}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
FIELDS = ("type", "application_id", "token", "data", "member", "user", "channel_id", "channel")


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_fuzzed_signed_interactions_never_get_a_5xx_or_a_traceback(
    serve: Any,
    signer: Signer,
    fake: FakeDiscord,
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
    started: dict[str, Endpoint],
) -> None:
    """Signed, so past the door: whatever an interaction holds, the answer is 2xx or 400."""
    caplog.set_level(logging.DEBUG)
    if "server" not in started:  # one server for every example (the fixtures are shared)
        started["server"] = await serve(RecordingHandler())
    server = started["server"]
    payload: Any = interaction_payload(fake, "latest", {"n": 3}, kind=data.draw(st.sampled_from([1, 2, 4])))
    how = data.draw(st.sampled_from(["fields", "options", "anything"]), label="how")
    if how == "fields":
        for name in data.draw(st.lists(st.sampled_from(FIELDS), max_size=3), label="fields"):
            payload[name] = data.draw(JSON, label=name)
    elif how == "options":
        payload["data"]["options"][0]["options"] = data.draw(JSON, label="options")
    else:
        payload = data.draw(JSON, label="payload")
    body = json.dumps(payload).encode()

    status, _ = await server.post(body, signer.headers(body))
    await server.settle()

    event(f"HTTP {status}")  # --hypothesis-show-statistics: how many got past the checks
    assert status in (200, 400)
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    caplog.clear()
