"""Discord slash commands at the HTTP interactions endpoint: no gateway connection.

With an Interactions Endpoint URL set in the Developer Portal, Discord POSTs every interaction to
it (and no longer sends any over the gateway), so whichever instance behind a load balancer gets
the request answers it. `DiscordInteractions.add_routes` mounts POST /discord/interactions on the
bot's one public web server ($PORT, bot.net.inbound.run_public_server), beside Slack's HTTP mode
and the WebSub callback.

Every request must carry Discord's Ed25519 signature (X-Signature-Ed25519, over
X-Signature-Timestamp followed by the raw body) under the application's public key, with a
timestamp within 5 minutes; otherwise it is answered 401 before its body is parsed, and nothing
else happens (refusals are logged on one line, at most once a minute, never with the body). Then:

- PING (type 1): PONG ({"type": 1}); Discord sends one when the URL is saved;
- APPLICATION_COMMAND (type 2): answered at once with a deferred response (type 5, "thinking…",
  private where the answer will be: help, admin work), so Discord's 3-second window is never at
  the mercy of the core; the core then runs in the background and its reply replaces the
  placeholder (PATCH /webhooks/<application id>/<token>/messages/@original), or, when a public
  placeholder gets a private answer, the placeholder is deleted and a private follow-up sent;
- APPLICATION_COMMAND_AUTOCOMPLETE (type 4): the choices, at once (type 8);
- MESSAGE_COMPONENT (type 3) and MODAL_SUBMIT (type 5), with a `DiscordUI`: alert buttons are
  answered at once, privately; the rule editor opens as a MODAL response (type 9, also for
  `/news rules add|edit <name>` from an admin); a rule's test or save is deferred (type 5) and
  its answer replaces the placeholder, like a command's (bot.deliver.adapters.discord_ui decides);
- anything else, or a signed body that is not an interaction: 400.

The translation is the gateway path's own (bot.deliver.adapters.discord_slash: the core's text
line, the admin hint from member.permissions and member.roles, the error replies), rendered by
discord_render with no allowed mentions. Interaction tokens are never logged (they are
credentials for 15 minutes), and bot.logs masks them wherever a library prints one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from multidict import CIMultiDictProxy

from bot.core.model import CommandRequest, Reply
from bot.core.platform import CommandHandler
from bot.deliver.adapters.discord_render import render_discord_reply
from bot.deliver.adapters.discord_slash import (
    EPHEMERAL,
    AdminHint,
    NameLookup,
    reply_for,
    request_line,
    suggestions,
)
from bot.deliver.adapters.discord_ui import DiscordUI, UIMessage, UIModal, draft_footer, submitted_values

log = logging.getLogger(__name__)

INTERACTIONS_PATH = "/discord/interactions"
DEFAULT_API_URL = "https://discord.com/api/v10"
MAX_BODY = 256 * 1024  # an interaction, resolved users and channels included, stays far below
MAX_SKEW = 300.0  # seconds between the signature's timestamp and now: older is a replay
REFUSAL_LOG_EVERY = 60.0  # seconds: refused requests are logged at most this often
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # epoch seconds, as Discord sends them
_SIGNATURE = re.compile(r"[0-9a-fA-F]{128}")  # 64 bytes, hex
_PUBLIC_KEY = re.compile(r"[0-9a-fA-F]{64}")  # 32 bytes, hex, as the Developer Portal shows it
_SNOWFLAKE = re.compile(r"[0-9]{1,20}")
_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,1000}")  # it goes into a URL path: nothing else gets there

# Discord's interaction and interaction-response types
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
PONG, DEFERRED_CHANNEL_MESSAGE, CHANNEL_MESSAGE, AUTOCOMPLETE_RESULT, MODAL = 1, 5, 4, 8, 9
CHAT_INPUT, SUB_COMMAND = 1, 1  # a slash command; an option that is a subcommand
REPLY_ATTEMPTS = 3
MAX_RETRY_WAIT = 5.0
STOP_GRACE = 5.0  # seconds a stopping server gives replies under way to reach Discord


class _BadInteraction(ValueError):
    """A signed body that is not an interaction this endpoint can read (answered 400)."""


def load_public_key(hex_key: str) -> Ed25519PublicKey:
    """The application's public key from its hex form (General Information → Public Key)."""
    key = hex_key.strip()
    if not _PUBLIC_KEY.fullmatch(key):
        raise ValueError("DISCORD_PUBLIC_KEY must be the application's public key: 64 hex characters")
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(key))


def signature_problem(
    key: Ed25519PublicKey, body: bytes, headers: Mapping[str, str] | CIMultiDictProxy[str], now: float
) -> str | None:
    """Why this request is not Discord's (None: it is). Total: missing or malformed headers, a
    timestamp over 5 minutes away and a signature that does not verify are each a reason, never
    an exception."""
    stamp = headers.get("X-Signature-Timestamp", "")
    signature = headers.get("X-Signature-Ed25519", "")
    if not stamp or not signature:
        return "no signature"
    if not _TIMESTAMP.fullmatch(stamp) or not _SIGNATURE.fullmatch(signature):
        return "malformed signature headers"
    if abs(now - int(stamp)) > MAX_SKEW:
        return "stale timestamp"
    try:
        key.verify(bytes.fromhex(signature), stamp.encode("ascii") + body)
    except InvalidSignature:
        return "bad signature"
    return None


@dataclass(frozen=True)
class _Command:
    """What a signed APPLICATION_COMMAND asks, read and checked."""

    application_id: str
    token: str
    request: CommandRequest
    private: bool
    subcommand: str = ""
    values: Mapping[str, str | int | None] | None = None


class _RefusalLog:
    """One line per `every` seconds for refused requests, with how many there were: Discord itself
    sends bad signatures when the URL is saved, and anyone may knock."""

    def __init__(self, clock: Callable[[], float], every: float = REFUSAL_LOG_EVERY) -> None:
        self.clock, self.every = clock, every
        self._last: float | None = None
        self._count = 0

    def note(self, reason: str) -> None:
        self._count += 1
        now = self.clock()
        if self._last is not None and now - self._last < self.every:
            return
        log.warning(
            "discord: refused %d interaction request(s) not signed by Discord (latest: %s); "
            "check DISCORD_PUBLIC_KEY if Discord's own are refused",
            self._count,
            reason,
        )
        self._last, self._count = now, 0


class DiscordInteractions:
    """The HTTP interactions endpoint: verify, answer within Discord's window, reply through the
    interaction webhook. `api_url` is Discord's REST base (DISCORD_API_URL)."""

    def __init__(
        self,
        public_key: Ed25519PublicKey,
        handle_command: CommandHandler,
        *,
        group_name: str = "news",
        admin_role_ids: Collection[int] = (),
        manage_server_is_admin: bool = True,
        name_lookup: NameLookup | None = None,
        api_url: str | None = None,
        clock: Callable[[], float] = time.time,
        ui: DiscordUI | None = None,
    ) -> None:
        """With `ui`, alert buttons and the rule editor are answered here too."""
        self.ui = ui
        self.public_key = public_key
        self.handle = handle_command
        self.group_name = group_name
        self.admin_hint = AdminHint(admin_role_ids, manage_server_is_admin)
        self.name_lookup = name_lookup
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self.clock = clock
        self._refusals = _RefusalLog(clock)
        self._session: aiohttp.ClientSession | None = None
        self._replies: set[asyncio.Task[None]] = set()

    def add_routes(self, app: web.Application) -> None:
        """Mount POST /discord/interactions on an inbound app (the public server on $PORT)."""
        app.router.add_post(INTERACTIONS_PATH, self.receive)
        app.on_cleanup.append(self._on_cleanup)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()  # over the app's cap: 413
        problem = signature_problem(self.public_key, body, request.headers, self.clock())
        if problem is not None:
            self._refusals.note(problem)
            return web.json_response({"error": "invalid request signature"}, status=401)
        try:
            return self._answer(_json_object(body))
        except _BadInteraction as error:
            log.warning("discord: signed interaction refused as malformed: %s", error)
            return web.json_response({"error": "malformed interaction"}, status=400)

    def _answer(self, payload: dict[str, Any]) -> web.Response:
        kind = payload.get("type")
        if kind == PING:
            return web.json_response({"type": PONG})
        if kind == AUTOCOMPLETE:
            return web.json_response(
                {"type": AUTOCOMPLETE_RESULT, "data": {"choices": self._choices(payload)}}
            )
        if kind in (MESSAGE_COMPONENT, MODAL_SUBMIT) and self.ui is not None:
            return self._component(payload, self.ui)
        if kind != APPLICATION_COMMAND:
            log.info("discord: interaction of type %r not handled here", kind)
            return web.json_response({"error": "unsupported interaction type"}, status=400)
        command = self._command(payload)
        if command is None:  # another application command than ours (or a context-menu command)
            reply = Reply(title="Unknown command", lines=("This bot answers /" + self.group_name,))
            message = {**reply_message(reply), "flags": EPHEMERAL}
            return web.json_response({"type": CHANNEL_MESSAGE, "data": message})
        if self.ui is not None and command.subcommand == "rules" and command.values is not None:
            values = command.values
            editor = self.ui.slash_editor(command.request, values.get("action"), values.get("args"))
            if editor is not None:  # a modal must be the first answer: no defer
                return web.json_response({"type": MODAL, "data": editor.modal.to_dict()})
        self._later(self._reply_later(command))
        deferred: dict[str, Any] = {"type": DEFERRED_CHANNEL_MESSAGE}
        if command.private:
            deferred["data"] = {"flags": EPHEMERAL}
        return web.json_response(deferred)

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` (a reply through the interaction webhook) after the answer; `close` waits for it."""
        task = asyncio.ensure_future(work)
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    def _component(self, payload: dict[str, Any], ui: DiscordUI) -> web.Response:
        """A button click (type 3) or a modal submission (type 5): alert buttons are answered at
        once (a local write), a draft's Edit with the editor; a rule's test or save is deferred."""
        application_id = _text(payload, "application_id", _SNOWFLAKE)
        token = _text(payload, "token", _TOKEN)
        data = _object(payload, "data")
        custom_id = data.get("custom_id")
        if not isinstance(custom_id, str) or len(custom_id) > 100:
            raise _BadInteraction("custom_id is missing or of the wrong shape")
        request = self._requester(payload, "")
        hook = f"{self.api_url}/webhooks/{application_id}/{token}"
        if payload.get("type") == MODAL_SUBMIT and ui.is_editor(custom_id):
            work = ui.submit(request, custom_id, submitted_values(data.get("components")))
            self._later(self._patch_later(hook, work))
            return web.json_response({"type": DEFERRED_CHANNEL_MESSAGE, "data": {"flags": EPHEMERAL}})
        answer = ui.alert_click(request, custom_id)
        if answer is not None:
            return _ui_response(answer)
        message = payload.get("message")
        footer = draft_footer(message.get("embeds") if isinstance(message, dict) else None)
        edit = ui.draft_edit(request, custom_id, footer)  # the editor again: must be the first answer
        if edit is not None:
            return _ui_response(edit)
        save = ui.draft_save(request, custom_id, footer)
        if save is not None:
            self._later(self._patch_later(hook, save))
            return web.json_response({"type": DEFERRED_CHANNEL_MESSAGE, "data": {"flags": EPHEMERAL}})
        log.info("discord: a component this bot does not know was used")
        gone = {**reply_message(Reply(title="This button no longer does anything.")), "flags": EPHEMERAL}
        return web.json_response({"type": CHANNEL_MESSAGE, "data": gone})

    async def _patch_later(self, hook: str, work: Awaitable[UIMessage | None]) -> None:
        answer = await work
        if isinstance(answer, UIMessage):
            await self._send("PATCH", f"{hook}/messages/@original", answer.to_dict())

    def _requester(self, payload: dict[str, Any], text: str) -> CommandRequest:
        """Who is asking (user, channel, admin hint) from a signed interaction."""
        member = payload.get("member")
        if member is not None and not isinstance(member, dict):
            raise _BadInteraction("member is not an object")
        user = _object(member, "user") if member else _object(payload, "user")
        permissions = str((member or {}).get("permissions") or "0")
        roles = (member or {}).get("roles") or []
        if not _SNOWFLAKE.fullmatch(permissions) or not isinstance(roles, list):
            raise _BadInteraction("member permissions or roles of the wrong shape")
        role_ids = [int(r) for r in roles if isinstance(r, str) and _SNOWFLAKE.fullmatch(r)]
        channel = payload.get("channel")
        channel_id = payload.get("channel_id") or (channel.get("id") if isinstance(channel, dict) else "")
        return CommandRequest(
            platform="discord",
            user_id=_text(user, "id", _SNOWFLAKE),
            text=text,
            channel_id=str(channel_id) if _SNOWFLAKE.fullmatch(str(channel_id)) else "",
            user_name=str(user.get("username") or "")[:100],
            is_admin_hint=self.admin_hint(int(permissions), role_ids),
        )

    def _command(self, payload: dict[str, Any]) -> _Command | None:
        application_id = _text(payload, "application_id", _SNOWFLAKE)
        token = _text(payload, "token", _TOKEN)
        data = _object(payload, "data")
        if data.get("name") != self.group_name or data.get("type", CHAT_INPUT) != CHAT_INPUT:
            return None
        subcommand, values, _ = _subcommand(data)
        text, private = request_line(subcommand, values)
        return _Command(application_id, token, self._requester(payload, text), private, subcommand, values)

    def _choices(self, payload: dict[str, Any]) -> list[dict[str, str]]:
        data = _object(payload, "data")
        if data.get("name") != self.group_name:
            return []
        subcommand, values, focused = _subcommand(data)
        if focused is None:
            return []
        current = values.get(focused)
        names = suggestions(subcommand, focused, str(current or ""), self.name_lookup)
        return [{"name": n, "value": n} for n in names]

    async def _reply_later(self, command: _Command) -> None:
        """Run the core, then put its reply where the deferred placeholder is."""
        reply = await reply_for(self.handle, command.request)
        message = reply_message(reply)
        hook = f"{self.api_url}/webhooks/{command.application_id}/{command.token}"
        if reply.ephemeral and not command.private:
            # A public "thinking…" placeholder cannot become private: remove it, answer privately.
            # Only once it is gone: a follow-up to a placeholder still there would show in public.
            if await self._send("DELETE", f"{hook}/messages/@original"):
                await self._send("POST", hook, {**message, "flags": EPHEMERAL})
        else:
            await self._send("PATCH", f"{hook}/messages/@original", message)

    async def _send(self, method: str, url: str, body: dict[str, Any] | None = None) -> bool:
        """One call to the interaction webhook, retried on 429 and, where repeating is harmless
        (not a follow-up POST), on 5xx and network errors. Logs failures without the URL (the token
        is in it). True when Discord took it."""
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            wait = 0.5 * attempt
            try:
                async with self._http().request(method, url, json=body) as response:
                    if response.status < 300:
                        return True
                    answer = await _error_body(response)
                    status = response.status
                    if status == 429:
                        wait = float(answer.get("retry_after") or wait)
                    elif status < 500 or method == "POST":
                        log.warning(
                            "discord: interaction reply refused: HTTP %s %s", status, answer.get("code")
                        )
                        return False
                    problem = f"HTTP {status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                if method == "POST" and not isinstance(exc, aiohttp.ClientConnectorError):
                    log.warning("discord: interaction follow-up failed: %s", type(exc).__name__)
                    return False  # it may have been posted: do not post it twice
                problem = type(exc).__name__
            if attempt == REPLY_ATTEMPTS or wait > MAX_RETRY_WAIT:
                log.warning("discord: interaction reply failed after %d attempts: %s", attempt, problem)
                return False
            await asyncio.sleep(wait)
        return False

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=15),
                headers={"User-Agent": f"DiscordBot (prometheus-newsbot, 1.0) aiohttp/{aiohttp.__version__}"},
            )
        return self._session

    async def close(self) -> None:
        """Let replies under way reach Discord (for a few seconds), then stop them and the session."""
        if self._replies:
            await asyncio.wait(set(self._replies), timeout=STOP_GRACE)
        for task in set(self._replies):
            task.cancel()
        await asyncio.gather(*self._replies, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _on_cleanup(self, _: web.Application) -> None:
        await self.close()


def _ui_response(answer: UIMessage | UIModal) -> web.Response:
    if isinstance(answer, UIModal):
        return web.json_response({"type": MODAL, "data": answer.modal.to_dict()})
    return web.json_response({"type": CHANNEL_MESSAGE, "data": {**answer.to_dict(), "flags": EPHEMERAL}})


def reply_message(reply: Reply) -> dict[str, Any]:
    """A reply as an interaction webhook message: embeds, never a mention."""
    return {
        "embeds": [embed.to_dict() for embed in render_discord_reply(reply)],
        "allowed_mentions": {"parse": []},
    }


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested deeper than Python goes
        raise _BadInteraction("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise _BadInteraction("the body is not a JSON object")
    return payload


def _object(container: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = container.get(key)
    if not isinstance(value, dict):
        raise _BadInteraction(f"{key} is missing or not an object")
    return value


def _text(container: Mapping[str, Any], key: str, shape: re.Pattern[str]) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not shape.fullmatch(value):
        raise _BadInteraction(f"{key} is missing or of the wrong shape")
    return value


def _subcommand(data: Mapping[str, Any]) -> tuple[str, dict[str, str | int | None], str | None]:
    """The subcommand's name, its option values (strings and integers, as registered) and, in an
    autocomplete, the name of the option being typed."""
    options = data.get("options")
    subs = [o for o in options if isinstance(o, dict)] if isinstance(options, list) else []
    if len(subs) != 1 or subs[0].get("type") != SUB_COMMAND or not isinstance(subs[0].get("name"), str):
        raise _BadInteraction("no subcommand")
    given = subs[0].get("options") or []
    if not isinstance(given, list):
        raise _BadInteraction("options of the wrong shape")
    values: dict[str, str | int | None] = {}
    focused = None
    for option in given:
        if not isinstance(option, dict) or not isinstance(option.get("name"), str):
            raise _BadInteraction("an option of the wrong shape")
        value = option.get("value")
        if isinstance(value, str | int) and not isinstance(value, bool):
            values[option["name"]] = value
        if option.get("focused") is True:
            focused = option["name"]
    return subs[0]["name"], values, focused


async def _error_body(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return {}
    return body if isinstance(body, dict) else {}
