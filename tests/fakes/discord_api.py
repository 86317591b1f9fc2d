"""A fake Discord REST API on 127.0.0.1 for tests, reached through the real discord.py client.

Serves what the bot uses: login (GET /users/@me, /oauth2/applications/@me), channel messages
(posted, and read back newest first like GET /channels/<id>/messages), message edits (PATCH of a
channel's or webhook's own message, recorded in `edits`), webhook execute and GET (which names the
webhook's channel: `webhook_channels`), interaction callbacks, followups (webhooks/<application
id>/<interaction token>), edits and deletes of an interaction's original response (the deferred
placeholder: PATCH or DELETE .../messages/@original, recorded as kind "original" and "delete") and
command sync. `interaction_payload` is the JSON Discord sends for `/news <subcommand>`, over the
gateway or to an HTTP interactions endpoint. It records every request and every message, gives
messages time-ordered snowflake ids, answers exactly `Content-Type: application/json` (discord.py
decodes nothing else), and checks embeds against Discord's limits like the real API (50035 when
exceeded). Failures are queued on demand: 429 with retry_after (with or without a `Via` header),
5xx, 403 missing access/permissions (`fail_next`); and garbled answers to posts, after taking them
or not (`garble_next`, see tests/fakes/faults.py). Reading a channel: the bot reads channels in
`channels`, except those in `unreadable` (403 50001) and `no_history` (an empty list, as Discord
answers a bot without Read Message History).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
from aiohttp import web

from tests.fakes.faults import Garble, garbled

APPLICATION_ID = 424242424242424242
BOT_USER_ID = 111111111111111111
GUILD = 333333333333333333
CHANNEL = 444444444444444444
USER = 555555555555555555
_interaction_ids = itertools.count(700000000000000001)


@dataclass
class Recorded:
    kind: str  # "channel" | "webhook" | "callback" | "followup"
    target: str  # channel id, webhook id or interaction id
    payload: dict[str, Any]
    message_id: str
    at: float
    channel_id: int = 0  # where the message shows (a webhook's messages show in its channel)


@dataclass
class Failure:
    status: int
    code: int = 0
    message: str = ""
    retry_after: float | None = None
    via: bool = True
    path_contains: str = ""
    method: str = "POST"  # PATCH for edits, GET for history reads


@dataclass
class FakeDiscord:
    tokens: set[str] = field(default_factory=lambda: {"test-bot-token"})
    channels: set[int] = field(default_factory=set)
    webhooks: dict[int, str] = field(default_factory=dict)
    webhook_channels: dict[int, int] = field(default_factory=dict)  # webhook id -> its channel id
    unreadable: set[int] = field(default_factory=set)  # the bot may post but not view: 403 50001
    no_history: set[int] = field(default_factory=set)  # no Read Message History: reads return []
    interaction_tokens: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, float]] = field(default_factory=list)  # method, path, time
    messages: list[Recorded] = field(default_factory=list)
    edits: list[Recorded] = field(default_factory=list)  # accepted PATCHes; message_id = the edited one
    synced: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # "global" or guild id
    _failures: list[Failure] = field(default_factory=list)
    _garbles: list[Garble] = field(default_factory=list)
    _last_id: int = 0
    _runner: web.AppRunner | None = None
    base_url: str = ""
    gateway_url: str = ""  # a gateway that refuses every session (close 4004), so nothing reconnects

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/api/v10/oauth2/applications/@me", self._application)
        app.router.add_post("/api/v10/channels/{channel_id}/messages", self._channel_message)
        app.router.add_get("/api/v10/channels/{channel_id}/messages", self._channel_history)
        app.router.add_post("/api/v10/webhooks/{webhook_id}/{token}", self._webhook_execute)
        app.router.add_get("/api/v10/webhooks/{webhook_id}/{token}", self._webhook_get)
        app.router.add_delete("/api/v10/webhooks/{webhook_id}/{token}/messages/@original", self._delete)
        app.router.add_patch("/api/v10/channels/{channel_id}/messages/{message_id}", self._channel_edit)
        app.router.add_patch(
            "/api/v10/webhooks/{webhook_id}/{token}/messages/{message_id}", self._webhook_edit
        )
        app.router.add_post("/api/v10/interactions/{interaction_id}/{token}/callback", self._callback)
        app.router.add_put("/api/v10/applications/{app_id}/commands", self._sync)
        app.router.add_put("/api/v10/applications/{app_id}/guilds/{guild_id}/commands", self._sync)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/api/v10"
        self.gateway_url = f"ws://127.0.0.1:{port}/gateway"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, status: int, *, times: int = 1, **kw: Any) -> None:
        """Answer the next `times` message-sending requests (optionally only paths containing
        `path_contains`; `method="GET"` for history reads) with this failure instead of success."""
        self._failures.extend(Failure(status, **kw) for _ in range(times))

    def garble_next(
        self, kind: str, *, accept: bool = True, times: int = 1, path_contains: str = "", method: str = "POST"
    ) -> None:
        """Answer the next `times` message posts (or `method` requests; optionally only paths
        containing `path_contains`) with the garbled answer `kind`; with `accept` the message is
        posted first, as if Discord took it and the answer went wrong on the way back."""
        self._garbles.extend(Garble(kind, accept, path_contains, method) for _ in range(times))

    def posted_to(self, channel_id: int) -> list[Recorded]:
        """Messages that show in `channel_id`: the bot's own posts and its webhooks' posts."""
        return [m for m in self.messages if m.channel_id == channel_id]

    def of_kind(self, kind: str) -> list[Recorded]:
        return [m for m in self.messages if m.kind == kind]

    def edits_of(self, message_id: str) -> list[Recorded]:
        return [e for e in self.edits if e.message_id == message_id]

    # --- handlers -------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        self._log(request)
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.close(code=4004, message=b"Authentication failed.")
        return socket

    async def _me(self, request: web.Request) -> web.Response:
        self._log(request)
        if not self._authorised(request):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        return _json(_user(BOT_USER_ID, "newsbot", bot=True))

    async def _application(self, request: web.Request) -> web.Response:
        self._log(request)
        if not self._authorised(request):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        return _json(
            {
                "id": str(APPLICATION_ID),
                "name": "newsbot",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": _user(222222222222222222, "owner"),
                "verify_key": "0" * 64,
                "flags": 0,
            }
        )

    def _refuse_channel(self, request: web.Request) -> web.Response | None:
        """Discord's answer for a bad token or an unknown channel, or None when the call may go on."""
        self._log(request)
        if not self._authorised(request):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        if int(request.match_info["channel_id"]) not in self.channels:
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        return None

    async def _channel_message(self, request: web.Request) -> web.Response:
        refused = self._refuse_channel(request)
        if refused is not None:
            return refused
        channel_id = int(request.match_info["channel_id"])
        return await self._post_message(request, "channel", str(channel_id), channel_id)

    async def _webhook_execute(self, request: web.Request) -> web.Response:
        self._log(request)
        hook_id, token = int(request.match_info["webhook_id"]), request.match_info["token"]
        if hook_id == APPLICATION_ID and token in self.interaction_tokens:
            return await self._post_message(request, "followup", token, 0)
        if self.webhooks.get(hook_id) != token:
            return _json({"message": "Unknown Webhook", "code": 10015}, 404)
        response = await self._post_message(
            request, "webhook", str(hook_id), self.webhook_channels.get(hook_id, 0)
        )
        if response.status == 200 and request.query.get("wait") not in ("true", "1", "True"):
            return web.Response(status=204)
        return response

    async def _webhook_get(self, request: web.Request) -> web.Response:
        self._log(request)
        hook_id, token = int(request.match_info["webhook_id"]), request.match_info["token"]
        if self.webhooks.get(hook_id) != token:
            return _json({"message": "Unknown Webhook", "code": 10015}, 404)
        return _json(_webhook(hook_id, token, self.webhook_channels.get(hook_id)))

    async def _channel_history(self, request: web.Request) -> web.Response:
        """GET /channels/<id>/messages: newest first; `after` gives the oldest `limit` after it."""
        self._log(request)
        if not self._authorised(request):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        channel_id = int(request.match_info["channel_id"])
        if channel_id not in self.channels or channel_id in self.unreadable:
            return _json({"message": "Missing Access", "code": 50001}, 403)
        if channel_id in self.no_history:
            return _json([])
        failure = self._take_failure(request)
        if failure is not None:
            return _failure_response(failure)
        garble = self._take_garble(request)
        limit = int(request.query.get("limit", 50))
        after, before = int(request.query.get("after", 0)), int(request.query.get("before", 2**64))
        found = sorted(
            (m for m in self.posted_to(channel_id) if after < int(m.message_id) < before),
            key=lambda m: int(m.message_id),
        )
        found = found[:limit] if "after" in request.query else found[-limit:]
        answer = _json([_recorded_message(m) for m in reversed(found)])
        return garbled(garble.kind, bytes(answer.body), request) if garble is not None else answer

    async def _channel_edit(self, request: web.Request) -> web.Response:
        refused = self._refuse_channel(request)
        if refused is not None:
            return refused
        channel_id = int(request.match_info["channel_id"])
        return await self._edit_message(request, "channel", str(channel_id), channel_id)

    async def _webhook_edit(self, request: web.Request) -> web.Response:
        self._log(request)
        hook_id, token = int(request.match_info["webhook_id"]), request.match_info["token"]
        if hook_id == APPLICATION_ID and request.match_info["message_id"] == "@original":
            return await self._edit_original(request, token)
        if self.webhooks.get(hook_id) != token:
            return _json({"message": "Unknown Webhook", "code": 10015}, 404)
        return await self._edit_message(request, "webhook", str(hook_id), 0)

    async def _edit_message(
        self, request: web.Request, kind: str, target: str, channel_id: int
    ) -> web.Response:
        """Like Discord: only a message this channel (or webhook) posted can be edited there."""
        failure = self._take_failure(request)
        if failure is not None:
            return _failure_response(failure)
        message_id = request.match_info["message_id"]
        if not any(
            m.kind == kind and m.target == target and m.message_id == message_id for m in self.messages
        ):
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        payload = await request.json()
        problem = _validate(payload)
        if problem:
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": problem}, 400)
        self.edits.append(Recorded(kind, target, payload, message_id, time.monotonic(), channel_id))
        message = _message(message_id, channel_id, payload)
        message["edited_timestamp"] = "2026-01-01T00:01:00.000000+00:00"
        return _json(message)

    async def _edit_original(self, request: web.Request, token: str) -> web.Response:
        """PATCH /webhooks/<application id>/<interaction token>/messages/@original: the deferred
        placeholder (or first answer) of an interaction becomes this message."""
        if token not in self.interaction_tokens:
            return _json({"message": "Unknown Webhook", "code": 10015}, 404)
        failure = self._take_failure(request)
        if failure is not None:
            return _failure_response(failure)
        payload = await request.json()
        problem = _validate(payload)
        if problem:
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": problem}, 400)
        recorded = Recorded("original", token, payload, self._next_id(), time.monotonic())
        self.messages.append(recorded)
        return _json(_recorded_message(recorded))

    async def _callback(self, request: web.Request) -> web.Response:
        self._log(request)
        if request.match_info["token"] not in self.interaction_tokens:
            return _json({"message": "Unknown interaction", "code": 10062}, 404)
        body = await request.json()
        data = body.get("data") or {}
        problem = _validate(data) if body.get("type") == 4 else None
        if body.get("type") == 9:  # a modal
            problem = _validate_modal(data)
        if problem:
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": problem}, 400)
        message_id = self._next_id()
        self.messages.append(
            Recorded("callback", request.match_info["interaction_id"], body, message_id, time.monotonic())
        )
        interaction = {
            "id": request.match_info["interaction_id"],
            "type": 2,
            "response_message_id": message_id,
            "response_message_loading": body.get("type") == 5,
            "response_message_ephemeral": bool(data.get("flags", 0) & 64),
        }
        resource: dict[str, Any] = {"type": body.get("type")}
        if body.get("type") == 4:
            resource["message"] = _message(message_id, 0, data)
        return _json({"interaction": interaction, "resource": resource})

    async def _delete(self, request: web.Request) -> web.Response:
        self._log(request)
        self.messages.append(Recorded("delete", request.match_info["token"], {}, "", time.monotonic()))
        return web.Response(status=204)

    async def _sync(self, request: web.Request) -> web.Response:
        self._log(request)
        if not self._authorised(request):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        commands = await request.json()
        self.synced[request.match_info.get("guild_id", "global")] = commands
        out = [
            {**c, "id": self._next_id(), "application_id": str(APPLICATION_ID), "version": "1"}
            for c in commands
        ]
        return _json(out)

    # --- helpers --------------------------------------------------------------------------

    async def _post_message(
        self, request: web.Request, kind: str, target: str, channel_id: int
    ) -> web.Response:
        failure = self._take_failure(request)
        if failure is not None:
            return _failure_response(failure)
        garble = self._take_garble(request)
        if garble is not None and not garble.accept:
            return garbled(garble.kind, b"", request)
        response = await self._accept_message(request, kind, target, channel_id)
        if garble is not None:
            return garbled(garble.kind, response.body if isinstance(response.body, bytes) else b"", request)
        return response

    async def _accept_message(
        self, request: web.Request, kind: str, target: str, channel_id: int
    ) -> web.Response:
        payload = await request.json()
        problem = _validate(payload)
        if problem:
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": problem}, 400)
        nonce = payload.get("nonce")
        if nonce and payload.get("enforce_nonce"):  # Discord returns the earlier message, posts nothing
            for earlier in self.messages:
                if earlier.target == target and earlier.payload.get("nonce") == nonce:
                    return _json(_recorded_message(earlier))
        recorded = Recorded(kind, target, payload, self._next_id(), time.monotonic(), channel_id)
        self.messages.append(recorded)
        return _json(_recorded_message(recorded))

    def _next_id(self) -> str:
        """A snowflake from the clock, as Discord's are (GET messages `after` compares them)."""
        self._last_id = max(self._last_id + 1, discord.utils.time_snowflake(datetime.now(UTC)))
        return str(self._last_id)

    def _take_failure(self, request: web.Request) -> Failure | None:
        for index, failure in enumerate(self._failures):
            if _applies(failure.method, failure.path_contains, request):
                return self._failures.pop(index)
        return None

    def _take_garble(self, request: web.Request) -> Garble | None:
        for index, garble in enumerate(self._garbles):
            if _applies(garble.method, garble.path_contains, request):
                return self._garbles.pop(index)
        return None

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bot ") and header[4:] in self.tokens

    def _log(self, request: web.Request) -> None:
        self.requests.append((request.method, request.path, time.monotonic()))


def _applies(method: str, path_contains: str, request: web.Request) -> bool:
    edit = method == "POST" and request.method == "PATCH"  # edits fail like posts unless told apart
    return (method == request.method or edit) and path_contains in request.path


def _failure_response(failure: Failure) -> web.Response:
    if failure.status == 429:
        retry_after = failure.retry_after if failure.retry_after is not None else 0.05
        headers = {
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Scope": "user",
        }
        if failure.via:
            headers["Via"] = "1.1 google"
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
        return _json(body, 429, headers)
    body = {"message": failure.message or "error", "code": failure.code}
    return _json(body, failure.status)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py decodes JSON only for that header value.
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def _user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
    }


def _webhook(hook_id: int, token: str, channel_id: int | None) -> dict[str, Any]:
    return {
        "id": str(hook_id),
        "type": 1,
        "token": token,
        "channel_id": str(channel_id) if channel_id else None,
        "guild_id": str(GUILD),
        "name": "News alerts",
        "avatar": None,
        "application_id": None,
    }


def _recorded_message(recorded: Recorded) -> dict[str, Any]:
    message = _message(recorded.message_id, recorded.channel_id, recorded.payload)
    if recorded.kind == "webhook":  # Discord shows webhook posts as written by the webhook
        message["webhook_id"] = recorded.target
        message["author"] = _user(int(recorded.target), "News alerts", bot=True)
    return message


def _message(message_id: str, channel_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": message_id,
        "channel_id": str(channel_id or 1),
        "type": 0,
        "content": payload.get("content") or "",
        "author": _user(BOT_USER_ID, "newsbot", bot=True),
        "embeds": payload.get("embeds") or [],
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "timestamp": "2026-01-01T00:00:00.000000+00:00",
        "edited_timestamp": None,
        "flags": payload.get("flags", 0),
        "components": payload.get("components") or [],
    }


_EMBED_LIMITS = {"title": 256, "description": 4096}


def _validate(payload: dict[str, Any]) -> dict[str, str] | None:
    """The subset of Discord's message validation the bot can trip: lengths and counts."""
    problems: dict[str, str] = {}
    if len(payload.get("content") or "") > 2000:
        problems["content"] = "Must be 2000 or fewer in length."
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        problems["embeds"] = "Must be 10 or fewer in length."
    total = 0
    for i, embed in enumerate(embeds):
        for key, limit in _EMBED_LIMITS.items():
            size = len(embed.get(key) or "")
            total += size
            if size > limit:
                problems[f"embeds.{i}.{key}"] = f"Must be {limit} or fewer in length."
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems[f"embeds.{i}.fields"] = "Must be 25 or fewer in length."
        for j, f in enumerate(fields):
            total += len(f.get("name", "")) + len(f.get("value", ""))
            if not f.get("name") or len(f["name"]) > 256 or not f.get("value") or len(f["value"]) > 1024:
                problems[f"embeds.{i}.fields.{j}"] = "Field name 1-256, value 1-1024."
        footer = (embed.get("footer") or {}).get("text", "")
        author = (embed.get("author") or {}).get("name", "")
        total += len(footer) + len(author)
        if len(footer) > 2048 or len(author) > 256:
            problems[f"embeds.{i}.footer"] = "Footer 2048, author 256."
    if total > 6000:
        problems["embeds"] = "Embed size exceeds maximum size of 6000"
    problems.update(_validate_components(payload.get("components") or []))
    return problems or None


def _validate_components(rows: list[dict[str, Any]]) -> dict[str, str]:
    """A message's components: at most 5 action rows of at most 5 buttons, each button with a
    label of 1-80 characters and a custom_id of 1-100, custom_ids unique in the message."""
    problems: dict[str, str] = {}
    if len(rows) > 5:
        problems["components"] = "Must be 5 or fewer in length."
    seen: set[str] = set()
    for i, row in enumerate(rows):
        buttons = row.get("components") or []
        if row.get("type") != 1 or not 1 <= len(buttons) <= 5:
            problems[f"components.{i}"] = "An action row holds 1-5 components."
        for j, button in enumerate(buttons):
            custom_id, label = button.get("custom_id") or "", button.get("label") or ""
            if button.get("type") != 2 or not 1 <= len(custom_id) <= 100 or not 1 <= len(label) <= 80:
                problems[f"components.{i}.components.{j}"] = "Button: custom_id 1-100, label 1-80."
            if custom_id in seen:
                problems[f"components.{i}.components.{j}.custom_id"] = "Duplicate custom_id."
            seen.add(custom_id)
    return problems


def _validate_modal(modal: dict[str, Any]) -> dict[str, str] | None:
    """A modal: title 1-45, custom_id 1-100, 1-5 labelled components; text inputs with a value of
    at most 4,000 and max_length 1-4,000; selects with 1-25 options of labels up to 100."""
    problems: dict[str, str] = {}
    if not 1 <= len(modal.get("title") or "") <= 45:
        problems["title"] = "Must be between 1 and 45 in length."
    if not 1 <= len(modal.get("custom_id") or "") <= 100:
        problems["custom_id"] = "Must be between 1 and 100 in length."
    labels = modal.get("components") or []
    if not 1 <= len(labels) <= 5:
        problems["components"] = "Must be between 1 and 5 in length."
    for i, label in enumerate(labels):
        inner = label.get("component") or {}
        if label.get("type") != 18 or not 1 <= len(label.get("label") or "") <= 45:
            problems[f"components.{i}"] = "A label of 1-45 characters around one component."
        if len(label.get("description") or "") > 100:
            problems[f"components.{i}.description"] = "Must be 100 or fewer in length."
        if inner.get("type") == 4:
            if len(inner.get("value") or "") > 4000 or not 1 <= inner.get("max_length", 4000) <= 4000:
                problems[f"components.{i}.component"] = "Text input: value and max_length up to 4000."
        elif inner.get("type") == 3:
            options = inner.get("options") or []
            if not 1 <= len(options) <= 25 or any(len(o.get("label") or "") > 100 for o in options):
                problems[f"components.{i}.component"] = "Select: 1-25 options, labels up to 100."
        else:
            problems[f"components.{i}.component"] = "Only text inputs and selects here."
    return problems or None


def interaction_payload(
    fake: FakeDiscord,
    subcommand: str,
    options: dict[str, Any] | None = None,
    *,
    kind: int = 2,
    focused: str | None = None,
    permissions: int = 0,
    roles: tuple[int, ...] = (),
    user: int = USER,
    group: str = "news",
    channel: int = CHANNEL,
) -> dict[str, Any]:
    """The interaction Discord sends for `/<group> <subcommand>`, its token known to `fake`."""
    token = f"interaction-token-{next(_interaction_ids)}"
    fake.interaction_tokens.add(token)
    types = {str: 3, int: 4}
    sub_options = [
        {"name": k, "type": types[type(v)], "value": v, **({"focused": True} if k == focused else {})}
        for k, v in (options or {}).items()
    ]
    return {
        "id": str(next(_interaction_ids)),
        "application_id": str(APPLICATION_ID),
        "type": kind,
        "token": token,
        "version": 1,
        "guild_id": str(GUILD),
        "channel_id": str(channel),
        "channel": {"id": str(channel), "type": 0, "guild_id": str(GUILD), "name": "news", "position": 0},
        "member": {
            "user": {"id": str(user), "username": "reader", "discriminator": "0", "avatar": None},
            "roles": [str(r) for r in roles],
            "permissions": str(permissions),
            "joined_at": "2025-11-20T00:00:00+00:00",
            "flags": 0,
        },
        "data": {
            "id": "1",
            "name": group,
            "type": 1,
            "options": [{"name": subcommand, "type": 1, "options": sub_options}],
        },
        "attachment_size_limit": 8 * 1024 * 1024,
        "app_permissions": "0",
        "locale": "en-US",
        "entitlements": [],
    }


def component_payload(
    fake: FakeDiscord,
    custom_id: str,
    *,
    message: dict[str, Any] | None = None,
    channel: int = CHANNEL,
    **kw: Any,
) -> dict[str, Any]:
    """The interaction Discord sends when a button with `custom_id` is pressed on `message` (by
    default a message holding only that button: discord.py finds the button in it)."""
    payload = interaction_payload(fake, "-", channel=channel, **kw)
    payload["type"] = 3
    payload["data"] = {"custom_id": custom_id, "component_type": 2}
    button = {"type": 2, "style": 2, "label": "Button", "custom_id": custom_id}
    payload["message"] = message or _message(
        "1", channel, {"components": [{"type": 1, "components": [button]}]}
    )
    return payload


def modal_submit_payload(
    fake: FakeDiscord, modal: dict[str, Any], values: dict[str, str], **kw: Any
) -> dict[str, Any]:
    """The interaction Discord sends when `modal` (as the bot sent it) is submitted with `values`
    (by custom_id): text inputs carry `value`, selects `values`, each inside its label."""
    labels = []
    for label in modal["components"]:
        inner = label["component"]
        field: dict[str, Any] = {"type": inner["type"], "custom_id": inner["custom_id"]}
        value = values.get(inner["custom_id"])
        if inner["type"] == 4:
            field["value"] = value if value is not None else (inner.get("value") or "")
        else:
            defaults = [o["value"] for o in inner["options"] if o.get("default")]
            field["values"] = [value] if value is not None else defaults
        labels.append({"type": 18, "id": len(labels) + 1, "component": field})
    payload = interaction_payload(fake, "-", **kw)
    payload["type"] = 5
    payload["data"] = {"custom_id": modal["custom_id"], "components": labels}
    return payload


def posted_message(recorded: Recorded) -> dict[str, Any]:
    """A recorded post as Discord would show it in an interaction's `message`."""
    return _recorded_message(recorded)


def make_interaction(
    fake: FakeDiscord,
    client: discord.Client,
    subcommand: str,
    options: dict[str, Any] | None = None,
    **kw: Any,
) -> discord.Interaction:
    """A real Interaction built from the payload Discord would send for `/news <subcommand>`."""
    payload = interaction_payload(fake, subcommand, options, **kw)
    return discord.Interaction(data=payload, state=client._connection)  # type: ignore[arg-type]
