"""The Bolt app: signed slash commands over HTTP mode, Socket Mode, and answers via response_url.

Slack is played by tests/fakes/slack_api.py (Web API, response_url, Socket Mode WebSocket);
commands arrive as real signed HTTP requests to the HTTP-mode web app (bot.deliver.adapters.slack.slack_web_app,
what the public server serves) on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.core.model import CommandRequest, Reply, ReplyEntry
from bot.core.platform import CommandHandler
from bot.deliver.adapters.slack import (
    MAX_BODY,
    build_slack_app,
    make_slack_client,
    run_slack_socket_mode,
    slack_routes,
    slack_web_app,
)
from bot.errors import CommandError
from bot.net.inbound import run_public_server
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlackAPI

SECRET = "test-signing-secret"
ADMINS = {"UADMIN"}


class SmallCore:
    """A stand-in command core: records requests, refuses admin subcommands to non-admins."""

    def __init__(self) -> None:
        self.requests: list[CommandRequest] = []
        self.release: asyncio.Event | None = None  # when set, replies wait for it

    async def __call__(self, request: CommandRequest) -> Reply:
        self.requests.append(request)
        if self.release is not None:
            await self.release.wait()
        sub, _, rest = request.text.partition(" ")
        if sub == "rules" and request.user_id not in ADMINS:
            return Reply(title="Not allowed", lines=("Only admins can change rules.",), is_error=True)
        if sub == "latest":
            return Reply(
                title="Latest stories",
                entries=(ReplyEntry(title="Prometheus raises $6.2B", url="https://example.com/a"),),
                ephemeral=False,
            )
        if sub == "boom":
            raise RuntimeError("database password is hunter2")
        if sub == "refuse":
            raise CommandError("latest takes a number from 1 to 20")
        return Reply(title="Help", lines=(f"Unknown: {rest}",))


@pytest.fixture
def core() -> SmallCore:
    return SmallCore()


Serve = Callable[..., Awaitable[str]]


@contextlib.asynccontextmanager
async def serve_app(fake_slack: FakeSlackAPI, handler: CommandHandler, **options: Any) -> AsyncIterator[str]:
    """The app's HTTP-mode web app on 127.0.0.1 while in the block; yields its /slack/events URL."""
    options.setdefault("process_before_response", True)
    app = build_slack_app(
        make_slack_client(BOT_TOKEN, fake_slack.api_url),
        signing_secret=SECRET,
        handle_command=handler,
        **options,
    )
    runner = web.AppRunner(slack_web_app(app, SECRET))
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    finally:
        await runner.cleanup()


@pytest.fixture
async def serve(fake_slack: FakeSlackAPI) -> AsyncIterator[Serve]:
    """Start the app's HTTP-mode web app on 127.0.0.1 and return its /slack/events URL."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(handler: CommandHandler, **options: Any) -> str:
            return await stack.enter_async_context(serve_app(fake_slack, handler, **options))

        yield start


def command_body(
    fake_slack: FakeSlackAPI, text: str, *, user_id: str = "U0USER", command: str = "/news"
) -> dict[str, str]:
    return {
        "token": "legacy-verification-token",
        "team_id": "T0FAKE",
        "team_domain": "fake",
        "channel_id": "C0123456789",
        "channel_name": "news",
        "user_id": user_id,
        "user_name": "alice",
        "command": command,
        "text": text,
        "api_app_id": "A0FAKE",
        "response_url": fake_slack.response_url("r1"),
        "trigger_id": "1.2.3",
    }


async def post_signed(
    url: str, form: dict[str, str], *, secret: str = SECRET, timestamp: int | None = None
) -> tuple[int, str]:
    body = urlencode(form)
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.text()


async def test_slash_command_reaches_the_core_and_is_answered_in_channel(
    fake_slack: FakeSlackAPI, core: SmallCore, serve: Serve
) -> None:
    url = await serve(core)
    status, body = await post_signed(url, command_body(fake_slack, "latest  "))

    assert (status, body) == (200, "")  # a bare ack; the answer goes to response_url
    assert core.requests == [
        CommandRequest(
            platform="slack", user_id="U0USER", text="latest", channel_id="C0123456789", user_name="alice"
        )
    ]
    [(name, answer)] = fake_slack.responses
    assert name == "r1"
    assert answer["response_type"] == "in_channel"
    assert answer["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Latest stories"}}
    assert answer["blocks"][1]["text"]["text"] == "*<https://example.com/a|Prometheus raises $6.2B>*"
    assert answer["text"] == "Latest stories"


async def test_bad_signature_is_refused(fake_slack: FakeSlackAPI, core: SmallCore, serve: Serve) -> None:
    url = await serve(core)
    status, _ = await post_signed(url, command_body(fake_slack, "latest"), secret="not-the-secret")
    assert status == 401
    assert core.requests == []
    assert fake_slack.responses == []


async def test_stale_timestamp_is_refused_even_when_correctly_signed(
    fake_slack: FakeSlackAPI, core: SmallCore, serve: Serve
) -> None:
    url = await serve(core)
    status, _ = await post_signed(url, command_body(fake_slack, "latest"), timestamp=int(time.time()) - 600)
    assert status == 401
    assert core.requests == []


async def test_bolts_own_signature_check_still_refuses_a_forged_request(
    fake_slack: FakeSlackAPI, core: SmallCore
) -> None:
    # The web app checks the signature before Bolt sees a request; Bolt's own check stays on behind it.
    app = make_app(fake_slack, core, process_before_response=True)
    body = urlencode(command_body(fake_slack, "latest"))
    stamp = str(int(time.time()))
    forged = SignatureVerifier("not-the-secret").generate_signature(timestamp=stamp, body=body)
    headers = {"x-slack-request-timestamp": stamp, "x-slack-signature": forged or ""}
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 401
    assert core.requests == []


async def test_unsigned_request_is_refused(fake_slack: FakeSlackAPI, core: SmallCore, serve: Serve) -> None:
    url = await serve(core)
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=command_body(fake_slack, "latest")) as resp,
    ):
        assert resp.status == 401
    assert core.requests == []


async def test_non_admin_asking_for_an_admin_subcommand_gets_a_private_refusal(
    fake_slack: FakeSlackAPI, core: SmallCore, serve: Serve
) -> None:
    url = await serve(core)
    status, _ = await post_signed(url, command_body(fake_slack, "rules add x", user_id="U0USER"))

    assert status == 200
    [(_, answer)] = fake_slack.responses
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["text"]["text"] == "⚠️ Not allowed"
    assert "Only admins" in answer["blocks"][1]["text"]["text"]


async def test_failing_core_answers_a_private_error_without_details(
    fake_slack: FakeSlackAPI, core: SmallCore, serve: Serve
) -> None:
    url = await serve(core)
    status, body = await post_signed(url, command_body(fake_slack, "boom"))

    assert status == 200
    [(_, answer)] = fake_slack.responses
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["text"]["text"] == "⚠️ Something went wrong"
    shown = json.dumps(answer) + body
    assert "hunter2" not in shown and "Traceback" not in shown and "RuntimeError" not in shown


async def test_command_error_is_shown_to_the_user_privately(
    fake_slack: FakeSlackAPI, core: SmallCore, serve: Serve
) -> None:
    url = await serve(core)
    await post_signed(url, command_body(fake_slack, "refuse"))
    [(_, answer)] = fake_slack.responses
    assert answer["response_type"] == "ephemeral"
    assert "latest takes a number from 1 to 20" in json.dumps(answer)


async def test_expired_response_url_is_logged_not_raised(
    fake_slack: FakeSlackAPI, core: SmallCore, serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    url = await serve(core)
    form = command_body(fake_slack, "latest") | {"response_url": fake_slack.response_url("expired")}
    status, _ = await post_signed(url, form)
    assert status == 200
    assert core.requests[0].text == "latest"
    assert "response_url answered HTTP 404" in caplog.text


async def test_command_name_is_configurable(fake_slack: FakeSlackAPI, core: SmallCore, serve: Serve) -> None:
    url = await serve(core, command_name="/prometheus")
    status, _ = await post_signed(url, command_body(fake_slack, "latest", command="/news"))
    assert status == 404  # bolt: no listener for this command
    status, _ = await post_signed(url, command_body(fake_slack, "latest", command="/prometheus"))
    assert status == 200
    assert [r.text for r in core.requests] == ["latest"]


async def test_ack_is_sent_before_the_core_answers(
    fake_slack: FakeSlackAPI, core: SmallCore, serve: Serve
) -> None:
    # Production setting: bolt answers the HTTP request at ack(), the core's answer follows.
    core.release = asyncio.Event()
    url = await serve(core, process_before_response=False)
    started = time.monotonic()
    status, body = await asyncio.wait_for(post_signed(url, command_body(fake_slack, "latest")), 3)
    assert (status, body) == (200, "")
    assert time.monotonic() - started < 3
    assert fake_slack.responses == []  # the core is still working

    core.release.set()
    await fake_slack.wait_for_responses(1)
    assert fake_slack.responses[0][1]["response_type"] == "in_channel"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def running(coro: Awaitable[None]) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.ensure_future(coro)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def make_app(fake_slack: FakeSlackAPI, core: SmallCore, **options: Any) -> AsyncApp:
    return build_slack_app(
        make_slack_client(BOT_TOKEN, fake_slack.api_url),
        signing_secret=SECRET,
        handle_command=core,
        **options,
    )


async def test_http_mode_serves_signed_commands_on_the_port_until_cancelled(
    fake_slack: FakeSlackAPI, core: SmallCore
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(fake_slack, core, process_before_response=True)
    async with (
        running(run_public_server([slack_routes(app, SECRET)], "127.0.0.1", port, max_body=MAX_BODY)),
        aiohttp.ClientSession() as session,
    ):
        for _ in range(100):  # wait for the listener, at most ~5 s
            try:
                async with session.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        status, _ = await post_signed(f"{base}/slack/events", command_body(fake_slack, "latest"))
        assert status == 200
        assert fake_slack.responses[0][1]["response_type"] == "in_channel"

    with pytest.raises(aiohttp.ClientConnectionError):  # cancelled: the port is closed
        async with aiohttp.ClientSession() as session, session.get(f"{base}/healthz"):
            pass


async def test_socket_mode_acks_the_envelope_and_answers_via_response_url(
    fake_slack: FakeSlackAPI, core: SmallCore
) -> None:
    app = build_slack_app(
        make_slack_client(BOT_TOKEN, fake_slack.api_url), signing_secret=None, handle_command=core
    )
    async with running(run_slack_socket_mode(app, APP_TOKEN)):
        ack = await fake_slack.send_envelope(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": command_body(fake_slack, "rules add x", user_id="UADMIN"),
            }
        )
        assert ack["envelope_id"] == "env-1"
        await fake_slack.wait_for_responses(1)

    assert fake_slack.calls["apps.connections.open"] == 1
    assert core.requests[0].user_id == "UADMIN"
    [(_, answer)] = fake_slack.responses
    assert answer["blocks"][0]["text"]["text"] == "Help"  # an admin is not refused
