"""Send alerts to Discord over REST (bot token or webhook URL). Translates only; decides nothing.

"Also reported by" updates edit the alert message in place (PATCH the channel message, or the
webhook's message), and operator notices are plain content; both share the alerts' error handling.

Alerts never touch the gateway: `start()` does a static login (one GET /users/@me) and each
alert is one POST through discord.py's HTTP client, or one webhook execute. Failures become
bot.errors.DeliveryError; only what Discord itself states is hopeless (a 4xx with a Discord
error code, 401) is `retryable=False`, and everything else (5xx, network, an answer discord.py
could not read) is retryable and, where the post may have landed, `ambiguous`.

Posting twice is avoided three ways: a channel post carries the delivery key as its nonce
(enforce_nonce: Discord returns the earlier message instead of posting again); every alert ends
its embed footer with the key, so `find_sent` can recognise it in the channel's recent messages
(a webhook's channel too, read with the bot token); and after an ambiguous failure a webhook
alert is looked for before it is posted again, since a webhook message takes no nonce.

What discord.py already retries, and what this module adds:
- 429 with a `Via` header (real Discord sends one): discord.py waits `retry_after` itself, up
  to `max_ratelimit_timeout`; a longer wait raises RateLimited, which we turn into a retryable
  error carrying retry_after. A 429 without `Via` is raised at once: we wait and retry here.
- 500/502/504/524 on bot routes: discord.py retries 5 times (1, 3, 5, 7 s apart) before raising
  (harmless: the nonce), so we do not retry those again. discord.py would also repeat a webhook
  execute after any 5xx; our session's middleware stops that (`_refuse_blind_webhook_repeats`).
  Other 5xx, network errors and unreadable answers are retried here, `max_attempts` in all.
Tokens never reach our log lines or error messages, and `redact_discord_logs` strips webhook
and interaction tokens from discord.py's own DEBUG lines (they print request URLs).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
import discord
import yarl
from aiohttp.client_middlewares import ClientHandlerType
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.core.model import Alert
from bot.core.platform import delivery_key
from bot.deliver.adapters.discord_commands import build_command_tree, run_discord_gateway
from bot.deliver.adapters.discord_render import (
    carries_delivery_key,
    render_discord_alert,
    render_discord_notice,
    render_discord_plain_alert,
    render_discord_update,
)
from bot.deliver.adapters.discord_ui import alert_view
from bot.errors import DeliveryError, UncheckableChannel
from bot.logs import RedactSecrets

__all__ = [
    "DiscordAlertSender",
    "build_command_tree",
    "parse_webhook_url",
    "run_discord_gateway",
    "set_discord_api_url",
    "set_discord_gateway_url",
]
log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
_WEBHOOK_URL = re.compile(
    r"^https://(?:[a-z]+\.)?discord(?:app)?\.com/api(?:/v\d+)?/webhooks/(\d{15,21})/([\w-]{20,})/?$"
)
_WEBHOOK_EXECUTE = re.compile(r"/webhooks/\d+/[^/]+/?$")
_INTERNALLY_RETRIED = {500, 502, 504, 524}  # discord.py's HTTPClient already retried these 5 times
_REFUSALS = {  # what the commonest Discord error codes mean for the operator
    10003: "unknown channel",
    10008: "unknown message",
    10015: "unknown webhook",
    50001: "missing access (the bot cannot see this channel)",
    50013: "missing permissions (the bot needs View Channel, Send Messages, Embed Links)",
    50035: "invalid form body (message rejected by validation)",
}
INVALID_FORM_BODY = "50035"
HISTORY_LIMIT = 100  # messages read after the send's start when looking for one (one request)


def set_discord_api_url(url: str | None) -> None:
    """Point every discord.py REST call (bot routes, webhooks, interaction replies) at `url`.

    Process-wide: discord.py keeps the base URL in the class attribute `discord.http.Route.BASE`,
    so this affects every client in the process. None or "" restores https://discord.com/api/v10.
    """
    Route.BASE = (url or DEFAULT_API_URL).rstrip("/")


def set_discord_gateway_url(url: str | None) -> None:
    """Point discord.py's gateway (slash commands) at `url`; None restores Discord's own.

    discord.py connects to a fixed gateway address that DISCORD_API_URL does not move, so tests
    and proxies set DISCORD_GATEWAY_URL as well. Process-wide, like `set_discord_api_url`.
    """
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url or DEFAULT_GATEWAY_URL)


def parse_webhook_url(url: str) -> tuple[int, str] | None:
    """Return (webhook id, token) for a Discord webhook URL, or None if `url` is not one."""
    m = _WEBHOOK_URL.match(url.strip())
    return (int(m.group(1)), m.group(2)) if m else None


def redact_discord_logs() -> None:
    """Install (once) a filter removing webhook/interaction tokens from discord.py's log lines."""
    for name in ("discord.http", "discord.webhook.async_", "discord.gateway"):  # gateway: interaction tokens
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())  # on the logger too: it holds even without setup_logging


class _WebhookPacer:
    """At most `limit` requests per `period` seconds per webhook (Discord allows about 5 per 2 s)."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit, self.period = limit, period
        self._sent: dict[int, deque[float]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def wait_turn(self, webhook_id: int) -> None:
        async with self._locks.setdefault(webhook_id, asyncio.Lock()):
            sent = self._sent.setdefault(webhook_id, deque())
            while True:
                now = time.monotonic()
                while sent and now - sent[0] >= self.period:
                    sent.popleft()
                if len(sent) < self.limit:
                    sent.append(now)
                    return
                await asyncio.sleep(self.period - (now - sent[0]))


class _WebhookServerError(Exception):
    """A 5xx answer to a webhook execute, raised where discord.py would have posted again."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(f"HTTP {status}")


async def _refuse_blind_webhook_repeats(
    request: aiohttp.ClientRequest, handler: ClientHandlerType
) -> aiohttp.ClientResponse:
    """Session middleware: discord.py repeats a webhook execute after any 5xx answer, but a webhook
    message takes no nonce, so if Discord had posted it the repeat would show it twice. Raise
    instead (discord.py lets non-OSError exceptions through) and let the adapter look first."""
    response = await handler(request)
    if response.status >= 500 and request.method == "POST" and _WEBHOOK_EXECUTE.search(request.url.path):
        response.release()
        raise _WebhookServerError(response.status)
    return response


def delivery_error(exc: BaseException, where: str) -> DeliveryError:
    """Translate a discord.py / aiohttp failure into a DeliveryError. `where` must hold no token.

    Only a refusal Discord states (401, or a 4xx carrying a Discord error code) is permanent;
    whatever else went wrong may have posted the message (ambiguous) and is worth another try.
    """
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, discord.RateLimited):
        return DeliveryError(
            f"Discord rate limit on {where}: retry in {exc.retry_after:.1f}s",
            retryable=True,
            retry_after=exc.retry_after,
            code="429",
        )
    if isinstance(exc, discord.HTTPException):
        return _http_error(exc, where)
    if isinstance(exc, _WebhookServerError):
        return _server_error(exc.status, where)
    if isinstance(exc, aiohttp.ClientConnectorError):  # no connection: nothing was sent
        return DeliveryError(
            f"network error on {where}: {type(exc).__name__}", retryable=True, code="network"
        )
    if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
        # The exception text may contain the URL (and a webhook token): only its type is kept.
        return DeliveryError(
            f"network error on {where}: {type(exc).__name__}", retryable=True, code="network", ambiguous=True
        )
    # An answer discord.py could not read: the wrong content type (a TypeError when it builds the
    # message from text), an empty or cut-short JSON body (ValueError), ... The post may be there.
    return DeliveryError(
        f"unreadable answer from Discord on {where}: {type(exc).__name__}",
        retryable=True,
        code="unreadable_answer",
        ambiguous=True,
    )


def _http_error(exc: discord.HTTPException, where: str) -> DeliveryError:
    status, code = exc.status, exc.code
    if status == 429:
        return DeliveryError(
            f"Discord rate limit on {where}", retryable=True, retry_after=_retry_after(exc), code="429"
        )
    if status >= 500:
        return _server_error(status, where)
    if status == 401:
        return DeliveryError(
            f"Discord rejected the bot token (401) on {where}", retryable=False, code="invalid_token"
        )
    if not code:  # no Discord error code: a proxy's page, a wrong URL... Discord stated nothing
        return DeliveryError(
            f"unexpected answer {status} on {where}", retryable=True, code=f"http_{status}", ambiguous=True
        )
    detail = _REFUSALS.get(code) or (exc.text or "")[:200]
    return DeliveryError(
        f"Discord refused {where}: {status} {detail}".rstrip(), retryable=False, code=str(code)
    )


def _server_error(status: int, where: str) -> DeliveryError:
    return DeliveryError(
        f"Discord server error {status} on {where}", retryable=True, code=f"http_{status}", ambiguous=True
    )


def _retry_after(exc: discord.HTTPException) -> float | None:
    """The wait a 429 asks for. discord.py keeps only the body's message and code, so read the
    headers: X-RateLimit-Reset-After (float seconds), else Retry-After (whole seconds)."""
    headers = exc.response.headers if exc.response is not None else {}
    for name in ("X-RateLimit-Reset-After", "Retry-After"):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return None


class DiscordAlertSender:
    """bot.core.platform.AlertSender (and SentMessageFinder) for Discord. `channel` is a channel id or a
    webhook URL."""

    platform = "discord"

    def __init__(
        self,
        *,
        token: str | None,
        rule_colors: Mapping[str, int] | None = None,
        max_attempts: int = 3,
        retry_delay: float = 0.5,
        max_retry_wait: float = 10.0,
        webhook_rate: tuple[int, float] = (5, 2.0),
        buttons: bool = False,
    ) -> None:
        """`buttons`: put "Not relevant" / "Mute this story" under alerts posted with the bot token
        (bot.deliver.adapters.discord_ui); a webhook's posts never carry them (a webhook the
        application does not own cannot send interactive components)."""
        self._buttons = buttons
        self._token = token
        self._session: aiohttp.ClientSession | None = None  # webhooks'; discord.Client has its own
        self._rule_colors = dict(rule_colors or {})
        self._max_attempts = max(1, max_attempts)
        self._retry_delay = retry_delay
        self._max_retry_wait = max_retry_wait  # a longer wait is the outbox's job, not a blocked task's
        self._pacer = _WebhookPacer(*webhook_rate)
        self._client: discord.Client | None = None
        self._webhook_channels: dict[int, int] = {}  # webhook id -> the channel it posts to
        redact_discord_logs()

    async def start(self) -> None:
        """Open the HTTP session and, with a token, log in over REST (no gateway connection)."""
        self._http()
        if self._token and self._client is None:
            client = discord.Client(
                intents=discord.Intents(guilds=True),  # REST only; guilds quiets a state warning
                allowed_mentions=discord.AllowedMentions.none(),
                max_ratelimit_timeout=max(self._max_retry_wait, 1.0),
            )
            try:
                await client.http.static_login(self._token)
            except discord.LoginFailure:
                await client.close()
                raise DeliveryError(
                    "Discord rejected DISCORD_BOT_TOKEN (401)", retryable=False, code="invalid_token"
                ) from None
            except Exception as exc:
                await client.close()
                raise delivery_error(exc, "login") from None
            self._client = client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._session is not None:
            await self._session.close()
        self._session = None

    async def send_alert(self, channel: str, alert: Alert) -> str:
        key = delivery_key(alert)
        embed = render_discord_alert(alert, self._rule_colors, key)
        # The key as nonce too: discord.py sends it with enforce_nonce, so a repeated post of the same
        # alert (a retry after a lost answer, or after a crash) returns the first message.
        buttons: dict[str, Any] = {}
        if self._buttons and channel.strip().isdigit():
            buttons["view"] = alert_view(alert.delivery_id)
        try:
            return await self._deliver(channel, {"embed": embed, **buttons}, key=key)
        except DeliveryError as error:
            if error.code != INVALID_FORM_BODY:
                raise
            log.warning("Discord refused the alert's embed (%s); sending it as plain text", error)
        plain = {"content": render_discord_plain_alert(alert, key), **buttons}
        return await self._deliver(channel, plain, key=key)

    async def send_update(self, channel: str, parent_ref: str, alert: Alert, key: str | None = None) -> str:
        """Edit the alert message `parent_ref` to show every copy in an "Also reported by" field."""
        if not parent_ref.strip().isdigit():
            raise DeliveryError(
                "cannot edit the alert: its message reference is not a Discord message id",
                retryable=False,
                code="bad_message_ref",
            )
        embed = render_discord_update(alert, self._rule_colors, delivery_key(alert))  # the alert's own key
        return await self._deliver(channel, {"embed": embed}, edit=int(parent_ref))

    async def send_notice(self, channel: str, text: str) -> str:
        return await self._deliver(channel, {"content": render_discord_notice(text)})

    async def find_sent(
        self, channel: str, key: str, since: float, thread_ts: str | None = None
    ) -> str | None:
        """The id of the message ending its footer (or content) with delivery `key`, posted after
        `since` to `channel`: a channel id, or the channel a webhook posts to (from GET webhook).

        Reads the channel with the bot token, which needs View Channel and Read Message History
        there. Without the latter Discord lists no messages, which reads as "not found": the alert
        is sent again, as it would be were the channel unreadable. Raises UncheckableChannel when
        the bot cannot read the channel at all (no token, no access), DeliveryError when not now.
        """
        channel_id = await self._readable_channel(channel)
        for message in await self._messages_since(channel_id, since):
            texts = [message.content, *(embed.footer.text for embed in message.embeds)]
            if carries_delivery_key(texts, key):
                return str(message.id)
        return None

    async def _readable_channel(self, channel: str) -> int:
        if self._client is None:
            raise UncheckableChannel("no DISCORD_BOT_TOKEN: the bot cannot read Discord channels")
        if channel.strip().isdigit():
            return int(channel)
        webhook = parse_webhook_url(channel)
        if webhook is None:
            raise UncheckableChannel("not a Discord channel id or webhook URL")
        return await self._webhook_channel(*webhook)

    async def _webhook_channel(self, webhook_id: int, token: str) -> int:
        """The channel a webhook posts to (GET webhook with its own token; kept for the process)."""
        if webhook_id not in self._webhook_channels:
            where = f"webhook {webhook_id}"
            try:
                hook = await discord.Webhook.partial(webhook_id, token, session=self._http()).fetch(
                    prefer_auth=False
                )
            except Exception as exc:
                raise _read_error(exc, where) from None
            if hook.channel_id is None:
                raise UncheckableChannel(f"Discord did not say which channel {where} posts to")
            self._webhook_channels[webhook_id] = hook.channel_id
        return self._webhook_channels[webhook_id]

    async def _messages_since(self, channel_id: int, since: float) -> list[discord.Message]:
        assert self._client is not None
        moment = datetime.fromtimestamp(max(since, discord.utils.DISCORD_EPOCH / 1000), tz=UTC)
        after = discord.Object(id=discord.utils.time_snowflake(moment))
        channel = self._client.get_partial_messageable(channel_id)
        try:
            return [message async for message in channel.history(limit=HISTORY_LIMIT, after=after)]
        except Exception as exc:
            raise _read_error(exc, f"reading channel {channel_id}") from None

    async def _deliver(
        self, channel: str, fields: dict[str, Any], edit: int | None = None, key: str | None = None
    ) -> str:
        """Post `fields` (embed or content) to a channel id or webhook URL, or edit message `edit`.
        `key`, an alert's delivery key, is a channel post's nonce and what a webhook post is
        looked for by."""
        webhook = parse_webhook_url(channel)
        if webhook is not None:
            return await self._send_webhook(channel, *webhook, fields, edit, key)
        if channel.strip().isdigit():
            return await self._send_channel(int(channel), fields, edit, key)
        raise DeliveryError(
            "Discord channel must be a channel id or a https://discord.com/api/webhooks/<id>/<token> URL",
            retryable=False,
            code="bad_channel",
        )

    async def _send_channel(
        self, channel_id: int, fields: dict[str, Any], edit: int | None, key: str | None = None
    ) -> str:
        client = self._client
        if client is None:
            raise DeliveryError(
                f"cannot post to channel {channel_id}: no DISCORD_BOT_TOKEN (or start() not called)",
                retryable=False,
                code="no_token",
            )
        target = client.get_partial_messageable(channel_id)
        none = discord.AllowedMentions.none()

        async def send() -> str:
            if edit is not None:
                edited = await target.get_partial_message(edit).edit(**fields, allowed_mentions=none)
                return str(edited.id)
            extra: dict[str, Any] = {"nonce": key} if key is not None else {}
            message = await target.send(**fields, allowed_mentions=none, **extra)
            return str(message.id)

        # Repeating is safe: a post carries its nonce, an edit is the same edit again.
        return await self._with_retries(send, f"channel {channel_id}", internal_5xx=_INTERNALLY_RETRIED)

    async def _send_webhook(
        self, url: str, webhook_id: int, token: str, fields: dict[str, Any], edit: int | None, key: str | None
    ) -> str:
        # Webhook.partial (not from_url) so the request follows Route.BASE / DISCORD_API_URL.
        hook = discord.Webhook.partial(webhook_id, token, session=self._http())
        none = discord.AllowedMentions.none()
        started = time.time()

        async def send() -> str:
            await self._pacer.wait_turn(webhook_id)
            if edit is not None:
                edited = await hook.edit_message(edit, **fields, allowed_mentions=none)
                return str(edited.id)
            message = await hook.send(**fields, allowed_mentions=none, wait=True)
            return str(message.id)

        async def look_first(error: DeliveryError) -> str | None:
            """Before posting an alert again: the earlier post's id if it landed. Raises `error` when
            the channel cannot be read, so the outbox settles it (looks later, or sends again)."""
            assert key is not None
            try:
                return await self.find_sent(url, key, started - 60)
            except DeliveryError:
                raise error from None

        where = f"webhook {webhook_id}"
        # A webhook post takes no nonce: after an ambiguous failure an alert is looked for before it
        # is posted again. Edits repeat harmlessly; notices carry no key (at least once).
        before_repeat = look_first if key is not None and edit is None else None
        return await self._with_retries(send, where, internal_5xx=None, before_repeat=before_repeat)

    def _http(self) -> aiohttp.ClientSession:
        """The webhooks' session (opened on first use: webhooks need no login)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(middlewares=(_refuse_blind_webhook_repeats,))
        return self._session

    async def _with_retries(
        self,
        op: Callable[[], Awaitable[str]],
        where: str,
        *,
        internal_5xx: set[int] | None,
        before_repeat: Callable[[DeliveryError], Awaitable[str | None]] | None = None,
    ) -> str:
        """Run `op`, retrying what discord.py did not already retry; raise DeliveryError at the end.

        `internal_5xx` lists the statuses discord.py retried itself (None: every 5xx). After an
        ambiguous failure `before_repeat`, when given, may return the message that did land.
        """
        error: DeliveryError | None = None
        for attempt in range(1, self._max_attempts + 1):
            if error is not None and error.ambiguous and before_repeat is not None:
                found = await before_repeat(error)
                if found is not None:
                    log.info("Discord send to %s had gone through; not posting again", where)
                    return found
            try:
                return await op()
            except Exception as exc:
                error = delivery_error(exc, where)
                status = exc.status if isinstance(exc, discord.HTTPException) else 0
                already_retried = status >= 500 and (internal_5xx is None or status in internal_5xx)
                if not error.retryable or already_retried or attempt == self._max_attempts:
                    log.warning("Discord send to %s failed: %s (code %s)", where, error, error.code)
                    raise error from None
                wait = (
                    error.retry_after
                    if error.retry_after is not None
                    else self._retry_delay * 2 ** (attempt - 1)
                )
                if wait > self._max_retry_wait:
                    raise error from None
                log.info(
                    "Discord send to %s failed (%s); retry %d in %.2fs", where, error.code, attempt, wait
                )
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")


def _read_error(exc: BaseException, where: str) -> DeliveryError:
    """A failure to read a channel or webhook: permanent refusals mean the bot cannot check there."""
    error = delivery_error(exc, where)
    if error.retryable:
        return error
    return UncheckableChannel(f"the bot cannot read {where}: {error}")
