"""Send alerts to Discord over REST (bot token or webhook URL). Translates only; decides nothing.

"Also reported by" updates edit the alert message in place (PATCH the channel message, or the
webhook's message), and operator notices are plain content; both share the alerts' error handling.

Alerts never touch the gateway: `start()` does a static login (one GET /users/@me) and each
alert is one POST through discord.py's HTTP client, or one webhook execute. Failures become
bot.errors.DeliveryError with `retryable` set truthfully; the outbox decides what happens next.

What discord.py already retries, and what this module adds (see /work/shared/PITFALLS.md):
- 429 with a `Via` header (real Discord sends one): discord.py waits `retry_after` itself, up
  to `max_ratelimit_timeout`; a longer wait raises RateLimited, which we turn into a retryable
  error carrying retry_after. A 429 without `Via` is raised at once: we wait and retry here.
- 500/502/504/524 on bot routes and any 5xx on webhooks: discord.py retries 5 times (1, 3, 5,
  7 s apart) before raising, so we do not retry those again. Other 5xx and network errors are
  retried here, `max_attempts` in all.
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
from typing import Any, TypeVar

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.discord_commands import build_command_tree, run_discord_gateway
from bot.delivery import delivery_key
from bot.errors import DeliveryError
from bot.logs import RedactSecrets
from bot.model import Alert
from bot.render.discord import render_discord_alert, render_discord_notice, render_discord_update

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
_INTERNALLY_RETRIED = {500, 502, 504, 524}  # discord.py's HTTPClient already retried these 5 times
_NO_RETRY_CODES = {  # Discord JSON error codes that no retry will fix
    10003: "unknown channel",
    10015: "unknown webhook",
    50001: "missing access (the bot cannot see this channel)",
    50013: "missing permissions (the bot needs View Channel, Send Messages, Embed Links)",
    50035: "invalid form body (message rejected by validation)",
}
T = TypeVar("T")


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
    for name in ("discord.http", "discord.webhook.async_"):
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


def delivery_error(exc: BaseException, where: str) -> DeliveryError:
    """Translate a discord.py / aiohttp failure into a DeliveryError. `where` must hold no token."""
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
        status, code = exc.status, exc.code
        detail = _NO_RETRY_CODES.get(code) or (exc.text or "")[:200]
        label = str(code) if code else f"http_{status}"
        if status == 429:
            return DeliveryError(
                f"Discord rate limit on {where}", retryable=True, retry_after=_retry_after(exc), code="429"
            )
        if status >= 500:
            return DeliveryError(
                f"Discord server error {status} on {where}", retryable=True, code=label, ambiguous=True
            )
        if status == 401:
            return DeliveryError(
                f"Discord rejected the bot token (401) on {where}", retryable=False, code="invalid_token"
            )
        return DeliveryError(
            f"Discord refused {where}: {status} {detail}".rstrip(), retryable=False, code=label
        )
    if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
        # The exception text may contain the URL (and a webhook token): only its type is kept.
        return DeliveryError(
            f"network error on {where}: {type(exc).__name__}",
            retryable=True,
            code="network",
            ambiguous=not isinstance(exc, aiohttp.ClientConnectorError),
        )
    return DeliveryError(f"unexpected error on {where}: {type(exc).__name__}", retryable=False, code="error")


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
    """bot.delivery.AlertSender for Discord. `channel` is a channel id or a webhook URL."""

    platform = "discord"

    def __init__(
        self,
        *,
        token: str | None,
        session: aiohttp.ClientSession | None = None,
        rule_colors: Mapping[str, int] | None = None,
        max_attempts: int = 3,
        retry_delay: float = 0.5,
        max_retry_wait: float = 10.0,
        webhook_rate: tuple[int, float] = (5, 2.0),
    ) -> None:
        self._token = token
        self._session = session
        self._own_session = session is None
        self._rule_colors = dict(rule_colors or {})
        self._max_attempts = max(1, max_attempts)
        self._retry_delay = retry_delay
        self._max_retry_wait = max_retry_wait  # a longer wait is the outbox's job, not a blocked task's
        self._pacer = _WebhookPacer(*webhook_rate)
        self._client: discord.Client | None = None
        redact_discord_logs()

    async def start(self) -> None:
        """Open the HTTP session and, with a token, log in over REST (no gateway connection)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
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
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None if self._own_session else self._session

    async def send_alert(self, channel: str, alert: Alert) -> str:
        embed = render_discord_alert(alert, self._rule_colors)
        # The delivery key as nonce: discord.py sends it with enforce_nonce, so a repeated post of the
        # same alert (a retry after a lost answer, or after a crash) returns the first message.
        return await self._deliver(channel, {"embed": embed}, nonce=delivery_key(alert))

    async def send_update(self, channel: str, parent_ref: str, alert: Alert, key: str | None = None) -> str:
        """Edit the alert message `parent_ref` to show every copy in an "Also reported by" field."""
        if not parent_ref.strip().isdigit():
            raise DeliveryError(
                "cannot edit the alert: its message reference is not a Discord message id",
                retryable=False,
                code="bad_message_ref",
            )
        embed = render_discord_update(alert, self._rule_colors)
        return await self._deliver(channel, {"embed": embed}, edit=int(parent_ref))

    async def send_notice(self, channel: str, text: str) -> str:
        return await self._deliver(channel, {"content": render_discord_notice(text)})

    async def _deliver(
        self, channel: str, fields: dict[str, Any], edit: int | None = None, nonce: str | None = None
    ) -> str:
        """Post `fields` (embed or content) to a channel id or webhook URL, or edit message `edit`."""
        webhook = parse_webhook_url(channel)
        if webhook is not None:
            return await self._send_webhook(*webhook, fields, edit)
        if channel.strip().isdigit():
            return await self._send_channel(int(channel), fields, edit, nonce)
        raise DeliveryError(
            "Discord channel must be a channel id or a https://discord.com/api/webhooks/<id>/<token> URL",
            retryable=False,
            code="bad_channel",
        )

    async def _send_channel(
        self, channel_id: int, fields: dict[str, Any], edit: int | None, nonce: str | None = None
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
            extra: dict[str, Any] = {"nonce": nonce} if nonce is not None else {}
            message = await target.send(**fields, allowed_mentions=none, **extra)
            return str(message.id)

        return await self._with_retries(send, f"channel {channel_id}", internal_5xx=_INTERNALLY_RETRIED)

    async def _send_webhook(
        self, webhook_id: int, token: str, fields: dict[str, Any], edit: int | None
    ) -> str:
        if self._session is None:
            await self.start()
        assert self._session is not None
        # Webhook.partial (not from_url) so the request follows Route.BASE / DISCORD_API_URL.
        hook = discord.Webhook.partial(webhook_id, token, session=self._session)
        none = discord.AllowedMentions.none()

        async def send() -> str:
            await self._pacer.wait_turn(webhook_id)
            if edit is not None:
                edited = await hook.edit_message(edit, **fields, allowed_mentions=none)
                return str(edited.id)
            message = await hook.send(**fields, allowed_mentions=none, wait=True)
            return str(message.id)

        return await self._with_retries(send, f"webhook {webhook_id}", internal_5xx=None)

    async def _with_retries(
        self, op: Callable[[], Awaitable[T]], where: str, *, internal_5xx: set[int] | None
    ) -> T:
        """Run `op`, retrying what discord.py did not already retry; raise DeliveryError at the end.

        `internal_5xx` lists the statuses discord.py retried itself (None: every 5xx).
        """
        for attempt in range(1, self._max_attempts + 1):
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
