"""A fake Slack for tests: Web API, response_url endpoint and a Socket Mode WebSocket.

An aiohttp server on 127.0.0.1 with an ephemeral port, reached by the real slack-sdk and
slack-bolt clients (point them at `api_url`). It answers auth.test, records chat.postMessage
calls (thread replies too: `replies(ts)` lists those with that thread_ts), chat.update edits
(`updates`; the edited message in `posted` shows the new text and blocks) and views.publish /
views.open / views.update (`views`, with their Block Kit JSON), counts every call per
method, and fails calls on demand (`fail_next`): a 429 with a Retry-After, a Slack error code, a
5xx, a dropped connection, or a garbled answer (tests/fakes/faults.py) given after the call was
carried out (`accept=True`: the message is posted) or instead of it. `response_url(name)` gives a
URL shaped like Slack's (/commands/<team>/<id>/<name>: the name stands where Slack's secret is)
whose POSTs are recorded in `responses`, for slash-command `respond()`.

Socket Mode: apps.connections.open hands out `ws://127.0.0.1:<port>/socket`; `send_envelope`
pushes an envelope to the connected client and returns its ack.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.faults import GARBLES, garbled

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"


@dataclass
class Failure:
    status: int = 200
    error: str | None = None  # Slack's "error" code in an ok=false body
    retry_after: str | None = None  # Retry-After header, verbatim (may be "0.5")
    disconnect: bool = False  # close the connection without answering
    garble: str | None = None  # answer like this (tests/fakes/faults.py) ...
    accept: bool = False  # ... after carrying out the call (the message is posted), or instead of it


class FakeSlackAPI:
    def __init__(
        self, *, bot_token: str = BOT_TOKEN, app_token: str = APP_TOKEN, real_time_ts: bool = False
    ) -> None:
        self.real_time_ts = real_time_ts  # message ts from the clock (history's `oldest` filter needs it)
        self.bot_token = bot_token
        self.app_token = app_token
        self.calls: Counter[str] = Counter()
        self.messages: list[dict[str, Any]] = []  # accepted chat.postMessage bodies
        self.posted: dict[str, dict[str, Any]] = {}  # ts -> accepted body, to follow threads
        self.updates: list[dict[str, Any]] = []  # accepted chat.update bodies, oldest first
        self.views: list[tuple[str, dict[str, Any]]] = []  # (views.publish|open|update, body), oldest first
        self._view_ids = itertools.count(1)
        self.responses: list[tuple[str, dict[str, Any]]] = []  # (response_url name, body)
        self.auth_headers: list[str] = []
        self._failures: dict[str, deque[Failure]] = {}
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._responded = asyncio.Condition()
        self._socket: web.WebSocketResponse | None = None
        self._socket_ready = asyncio.Event()
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> FakeSlackAPI:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # conversations.history is a GET
        app.router.add_post("/commands/{team}/{hook}/{name}", self._response)
        app.router.add_get("/socket", self._socket_handler)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.base}/commands/T0FAKE/1000000001/{name}"

    # -- scripting -------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: str | None = None,
        disconnect: bool = False,
        garble: str | None = None,
        accept: bool = False,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls to `method` fail this way (then answer normally)."""
        if garble is not None and garble not in GARBLES:
            raise ValueError(f"unknown garble {garble!r}")
        queue = self._failures.setdefault(method, deque())
        for _ in range(times):
            queue.append(Failure(status, error, retry_after, disconnect, garble, accept))

    def replies(self, thread_ts: str) -> list[dict[str, Any]]:
        """Accepted messages posted in the thread of message `thread_ts`, oldest first."""
        return [body for body in self.messages if body.get("thread_ts") == thread_ts]

    def top_level(self) -> list[dict[str, Any]]:
        """Accepted messages posted to a channel rather than into a thread."""
        return [body for body in self.messages if not body.get("thread_ts")]

    async def wait_for_responses(self, count: int, seconds: float = 5.0) -> None:
        async with self._responded:
            await asyncio.wait_for(self._responded.wait_for(lambda: len(self.responses) >= count), seconds)

    # -- Web API ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        self.calls[method] += 1
        auth = request.headers.get("Authorization", "")
        self.auth_headers.append(auth)
        body = (
            {**request.query, **await _read_body(request)}
            if request.method == "GET"
            else await _read_body(request)
        )

        queue = self._failures.get(method)
        failure = queue.popleft() if queue else None
        if failure is not None and failure.garble is not None:
            if not failure.accept:
                return garbled(failure.garble, b"", request)
            answer = self._answer(method, auth, body)
            return garbled(failure.garble, answer.body if isinstance(answer.body, bytes) else b"", request)
        if failure is not None:
            if failure.disconnect:
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)  # never reaches the client
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            if failure.status == 429:
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
            if failure.status >= 500:
                return web.Response(status=failure.status, text="upstream trouble", headers=headers)
            return web.json_response({"ok": False, "error": failure.error or "fatal_error"}, headers=headers)
        return self._answer(method, auth, body)

    def _answer(self, method: str, auth: str, body: dict[str, Any]) -> web.Response:
        """The real answer to a Web API call, carrying it out (posting a message, reading history)."""
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if auth != f"Bearer {expected}":
            return web.json_response({"ok": False, "error": "invalid_auth"})

        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://fake.slack.test/",
                    "team": "Fake Team",
                    "user": "newsbot",
                    "team_id": "T0FAKE",
                    "user_id": "U0BOT",
                    "bot_id": "B0BOT",
                    "is_enterprise_install": False,
                }
            )
        if method == "chat.postMessage":
            n = next(self._ts)
            ts = f"{time.time():.6f}" if self.real_time_ts else f"1700000000.{n:06d}"
            while ts in self.posted:
                ts = f"{float(ts) + 0.000001:.6f}"
            self.messages.append(body)
            self.posted[ts] = body
            return web.json_response({"ok": True, "channel": body.get("channel"), "ts": ts})
        if method == "chat.update":
            edited = self.posted.get(str(body.get("ts")))
            if edited is None or edited.get("channel") != body.get("channel"):
                return web.json_response({"ok": False, "error": "message_not_found"})
            self.updates.append(body)
            edited.update({key: body[key] for key in ("text", "blocks", "metadata") if key in body})
            return web.json_response({"ok": True, "channel": body.get("channel"), "ts": body.get("ts")})
        if method == "conversations.replies":
            oldest = float(body.get("oldest") or 0)
            found = [
                {"type": "message", "ts": ts, "thread_ts": body.get("ts"), "metadata": posted.get("metadata")}
                for ts, posted in self.posted.items()
                if posted.get("channel") == body.get("channel")
                and (posted.get("thread_ts") == body.get("ts") or ts == body.get("ts"))
                and float(ts) > oldest
            ]
            found.sort(key=lambda message: float(message["ts"]))
            return web.json_response({"ok": True, "messages": found[: int(body.get("limit") or 100)]})
        if method == "conversations.history":
            oldest = float(body.get("oldest") or 0)
            found = [
                {
                    "type": "message",
                    "ts": ts,
                    "text": posted.get("text", ""),
                    "metadata": posted.get("metadata"),
                }
                for ts, posted in self.posted.items()
                if posted.get("channel") == body.get("channel") and float(ts) > oldest
            ]
            found.sort(key=lambda message: float(message["ts"]), reverse=True)
            return web.json_response({"ok": True, "messages": found[: int(body.get("limit") or 100)]})
        if method in ("views.publish", "views.open", "views.update"):
            view = body.get("view")
            if isinstance(view, str):  # form-encoded calls carry the view as JSON text
                view = json.loads(view)
            if not isinstance(view, dict) or (method == "views.open" and not body.get("trigger_id")):
                return web.json_response({"ok": False, "error": "invalid_arguments"})
            self.views.append((method, {**body, "view": view}))
            view_id = body.get("view_id") or f"V{next(self._view_ids):08d}"
            return web.json_response(
                {"ok": True, "view": {**view, "id": view_id, "hash": f"h{len(self.views)}"}}
            )
        if method == "apps.connections.open":
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self._port}/socket"})
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def _response(self, request: web.Request) -> web.Response:
        if request.match_info["name"] == "expired":  # Slack's answer to a used-up response_url
            return web.Response(status=404, text="expired_url")
        body = await request.json()
        async with self._responded:
            self.responses.append((request.match_info["name"], body))
            self._responded.notify_all()
        return web.Response(text="ok")

    # -- Socket Mode -----------------------------------------------------------------------

    async def _socket_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._socket = ws
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0FAKE"}})
        self._socket_ready.set()
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            ack = json.loads(msg.data)
            future = self._acks.pop(ack.get("envelope_id", ""), None)
            if future is not None and not future.done():
                future.set_result(ack)
        return ws

    async def send_envelope(self, envelope: dict[str, Any], seconds: float = 5.0) -> dict[str, Any]:
        """Push a Socket Mode envelope to the connected app and return the app's ack."""
        await asyncio.wait_for(self._socket_ready.wait(), seconds)
        assert self._socket is not None
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope["envelope_id"]] = future
        await self._socket.send_json(envelope)
        return await asyncio.wait_for(future, seconds)


async def _read_body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        data = await request.json()
        return data if isinstance(data, dict) else {}
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}
