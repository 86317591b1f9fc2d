"""Slack adapter: send alerts over the Web API and answer the slash command, in either mode.

This module only translates: alerts are rendered by bot.core.render.slack, commands are answered by
the platform-neutral CommandHandler. What lives here is Slack I/O: the Web API client, retry
and error classification for chat.postMessage, the Bolt app, Socket Mode and HTTP mode.

Tokens are passed to the slack-sdk client and never logged (slack-sdk itself redacts the
Authorization header in its debug log).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDictProxy
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.model import Alert, CommandRequest, Reply
from bot.core.platform import CommandHandler, Interactions, delivery_key
from bot.core.render.slack import (
    render_slack_alert,
    render_slack_notice,
    render_slack_parent,
    render_slack_reply,
    render_slack_update,
)
from bot.errors import CommandError, DeliveryError, UncheckableChannel
from bot.net.inbound import MALFORMED_INPUT, Mount, describe, public_app

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
EVENTS_PATH = "/slack/events"
MAX_BODY = 256 * 1024  # Slack's payloads, a modal's whole state included, stay far below this
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # epoch seconds, as Slack sends them
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")

# Errors no retry can fix: say what to do instead of retrying into a storm.
FATAL_ERRORS = {
    "invalid_auth": "the bot token is invalid; check SLACK_BOT_TOKEN",
    "not_authed": "no bot token was sent; check SLACK_BOT_TOKEN",
    "account_inactive": "the bot's Slack account or workspace is deactivated",
    "token_revoked": "the bot token was revoked; reinstall the app and update SLACK_BOT_TOKEN",
    "token_expired": "the bot token expired; reinstall the app and update SLACK_BOT_TOKEN",
    "channel_not_found": "channel not found; check the channel id in config/routes.yaml",
    "not_in_channel": "the bot is not in this channel; invite it with /invite @<bot name>",
    "is_archived": "the channel is archived; unarchive it or remove its route",
    "missing_scope": "the app lacks an OAuth scope (chat:write); reinstall it from slack_manifest.yaml",
    "restricted_action": "the workspace does not let the bot post in this channel",
}
# Slack-side trouble worth another try (answered with HTTP 200 and ok=false).
TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
# ...of which Slack documents that "some aspect of the operation" may have succeeded.
MAYBE_DONE_ERRORS = {"internal_error", "fatal_error"}

METADATA_EVENT = "news_alert"  # message metadata event type carrying the delivery key
BACKOFF_BASE = 0.5  # seconds: 0.5, 1, 2 ... between attempts after a 5xx or network error
DEFAULT_RETRY_AFTER = 1.0  # a 429 without a usable Retry-After


def make_slack_client(token: str, api_url: str | None = None) -> AsyncWebClient:
    """An async Web API client for `api_url` (the Environment's SLACK_API_URL), else Slack's own.

    slack-sdk's own retry handlers are switched off: SlackAlertSender decides about retries,
    and the SDK's 429 handler crashes on a fractional Retry-After.
    """
    base_url = api_url or DEFAULT_API_URL
    if not base_url.endswith("/"):
        base_url += "/"
    return AsyncWebClient(token=token, base_url=base_url, timeout=15, retry_handlers=[])


def _retry_after(headers: Any) -> float:
    """Seconds from a Retry-After header, accepting fractions ("0.5"); a default if unusable."""
    raw = headers.get("Retry-After") if headers is not None else None
    try:
        value = float(str(raw))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    if not math.isfinite(value) or value < 0:
        return DEFAULT_RETRY_AFTER
    return value


def _classify(exc: SlackApiError, attempt: int) -> tuple[DeliveryError, float]:
    """Turn a refused call into (the error to raise, seconds to wait before retrying).

    Only what Slack states is final (an error code it sends back) is `retryable=False`; a 5xx or an
    answer without a Slack error code (an empty or cut-short body, an HTML page) may hide a posted
    message, so it is retryable and ambiguous.
    """
    response = exc.response
    # A SlackApiError carries a SlackResponse, or aiohttp's response when the body was not JSON.
    status = int(getattr(response, "status_code", None) or getattr(response, "status", None) or 0)
    headers = getattr(response, "headers", None)
    data = getattr(response, "data", None)
    code = data.get("error", "") if isinstance(data, dict) else ""
    backoff = BACKOFF_BASE * 2 ** (attempt - 1)

    if status == 429 or code == "ratelimited":
        wait = _retry_after(headers)
        return DeliveryError(
            f"Slack rate limit; retry after {wait:g}s", retryable=True, retry_after=wait, code="ratelimited"
        ), wait
    if code in FATAL_ERRORS:
        return DeliveryError(f"Slack refused: {code}: {FATAL_ERRORS[code]}", retryable=False, code=code), 0.0
    if code in TRANSIENT_ERRORS:
        return DeliveryError(
            f"Slack failed: {code}",
            retryable=True,
            retry_after=backoff,
            code=code,
            ambiguous=code in MAYBE_DONE_ERRORS,
        ), backoff
    if code and status < 500:
        # Anything else (invalid_blocks, msg_too_long, ...) is about this message: retrying won't help.
        return DeliveryError(f"Slack refused the message: {code}", retryable=False, code=code), 0.0
    if status != 200:  # a 5xx, or a status Slack does not use for its errors (a proxy's page)
        return _unreadable(f"Slack answered HTTP {status}", backoff, f"http_{status}"), backoff
    return _unreadable("Slack's answer was unreadable", backoff), backoff


def _unreadable(message: str, wait: float, code: str = "unreadable_answer") -> DeliveryError:
    """An answer that does not say what happened: the message may have been posted."""
    return DeliveryError(message, retryable=True, retry_after=wait, code=code, ambiguous=True)


class SlackAlertSender:
    """Posts alerts, thread-reply updates and notices with chat.postMessage (and edits an alert to
    list who else reported it with chat.update); implements bot.core.platform.AlertSender.

    A 429 waits Retry-After and tries again; 5xx and network errors back off briefly; both at
    most `max_attempts` tries in all, and a wait longer than `max_wait` is left to the
    caller's schedule (raised as retryable with `retry_after`). Errors that no retry can fix
    raise at once with `retryable=False` and Slack's code.
    """

    platform = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        max_attempts: int = 3,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        max_wait: float = 30.0,
        buttons: bool = False,
    ) -> None:
        """`buttons`: put "Not relevant" / "Mute this story" under alerts; only where this process
        (or another on the same app) answers Slack's interactions."""
        self._buttons = buttons
        self._client = client
        self._max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._max_wait = max_wait

    async def send_alert(self, channel: str, alert: Alert) -> str:
        return await self._post(
            channel,
            render_slack_alert(alert, buttons=self._buttons),
            f"alert {alert.delivery_id}",
            key=delivery_key(alert),
        )

    async def find_sent(
        self, channel: str, key: str, since: float, thread_ts: str | None = None
    ) -> str | None:
        """The ts of a message this bot posted to `channel` (or in the thread `thread_ts`) after `since`
        carrying delivery `key` in its metadata (conversations.history / .replies; needs the
        channels:history scope: a refusal raises UncheckableChannel)."""
        oldest = f"{max(since, 0):.6f}"
        try:
            if thread_ts:
                response = await self._client.conversations_replies(
                    channel=channel, ts=thread_ts, oldest=oldest, limit=200, include_all_metadata=True
                )
            else:
                response = await self._client.conversations_history(
                    channel=channel, oldest=oldest, limit=200, include_all_metadata=True
                )
        except SlackApiError as exc:
            error, _ = _classify(exc, 1)
            if error.retryable:
                raise error from None
            raise UncheckableChannel(f"Slack refuses to show this channel's history: {error}") from None
        except Exception as exc:  # network trouble, or an answer slack-sdk could not read
            raise DeliveryError(
                f"could not read Slack history: {type(exc).__name__}", retryable=True, code="network"
            ) from None
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT
                and (metadata.get("event_payload") or {}).get("delivery_key") == key
            ):
                return str(message.get("ts"))
        return None

    async def send_update(self, channel: str, parent_ref: str, alert: Alert, key: str | None = None) -> str:
        """Reply in the alert's thread (not broadcast to the channel) about the newest copy, then edit
        the alert itself to name every outlet in `alert.also_reported`.

        The edit is idempotent and recomputed from the whole list on every update. If it fails after
        the reply went out, the error is raised as ambiguous: the row stays claimed, and recovery
        finds the reply by its key and redoes the edit (`refresh_parent`), never the reply."""
        reply_ts = await self._post(
            channel,
            render_slack_update(alert),
            f"update of alert {alert.delivery_id}",
            key=key,
            thread_ts=parent_ref,
            reply_broadcast=False,
        )
        try:
            await self.refresh_parent(channel, parent_ref, alert)
        except DeliveryError as error:
            if not error.retryable:  # e.g. the alert was deleted: the reply stands on its own
                log.warning(
                    "slack: thread reply posted, but alert %s cannot be edited: %s", parent_ref, error
                )
                return reply_ts
            raise DeliveryError(
                f"thread reply posted, the alert's edit failed: {error}",
                retryable=True,
                retry_after=error.retry_after,
                code=error.code,
                ambiguous=True,
            ) from None
        return reply_ts

    async def refresh_parent(self, channel: str, parent_ref: str, alert: Alert) -> str:
        """chat.update the alert message `parent_ref`: its content as first posted (delivery key kept)
        plus a line naming the outlets in `alert.also_reported`. Safe to repeat."""
        payload = render_slack_parent(alert, buttons=self._buttons)
        return await self._with_retries(
            lambda: self._client.chat_update(
                channel=channel,
                ts=parent_ref,
                text=payload["text"],
                blocks=payload["blocks"],
                metadata=_metadata(delivery_key(alert)),
            ),
            f"edit of alert {alert.delivery_id}",
            channel,
        )

    async def send_notice(self, channel: str, text: str) -> str:
        return await self._post(channel, render_slack_notice(text), "notice")

    async def _post(
        self, channel: str, payload: dict[str, Any], what: str, *, key: str | None = None, **extra: Any
    ) -> str:
        """chat.postMessage with this class's retry policy; returns the message ts.

        With a delivery `key` the message carries it in its metadata, and after an ambiguous failure
        (the connection dropped, Slack answered 5xx or something unreadable: the message may have
        been posted) the channel history is checked for it before trying again, so a lost answer
        never becomes a second post. A message Slack refuses as such (invalid_blocks, ...) is sent
        once more as its plain text, without blocks; refused again, that is final.
        """
        if key is not None:
            extra["metadata"] = _metadata(key)
        try:
            return await self._post_with_retries(channel, payload, what, key, extra)
        except DeliveryError as error:
            if error.retryable or error.code in FATAL_ERRORS or not payload.get("blocks"):
                raise
            log.warning("slack: %s to %s refused (%s); sending it as plain text", what, channel, error.code)
        return await self._post_with_retries(channel, {"text": payload["text"]}, what, key, extra)

    async def _post_with_retries(
        self, channel: str, payload: dict[str, Any], what: str, key: str | None, extra: dict[str, Any]
    ) -> str:
        started = time.time()

        async def look_in_history(error: DeliveryError) -> str | None:
            assert key is not None
            return await self._already_posted(channel, key, started, error, extra.get("thread_ts"))

        return await self._with_retries(
            lambda: self._client.chat_postMessage(
                channel=channel,
                text=payload["text"],
                blocks=payload.get("blocks"),
                unfurl_links=False,  # the alert already shows the story; no preview card
                unfurl_media=False,
                **extra,
            ),
            what,
            channel,
            look_in_history if key is not None else None,
        )

    async def _with_retries(
        self,
        call: Callable[[], Awaitable[Any]],
        what: str,
        channel: str,
        check_first: Callable[[DeliveryError], Awaitable[str | None]] | None = None,
    ) -> str:
        """Run one Web API call with this class's retry policy; returns the message ts it answers.

        Only an error code Slack states ends the retries (see `_classify`); anything else, an answer
        slack-sdk could not read included, is retried. `check_first`, after an ambiguous failure,
        looks for the message the failed try may have posted; when it finds one, its ts is returned
        instead of trying again."""
        attempt = 0
        error: DeliveryError | None = None
        while True:
            attempt += 1
            if error is not None and check_first is not None and error.ambiguous:
                found = await check_first(error)
                if found:
                    return found
            wait = BACKOFF_BASE * 2 ** (attempt - 1)
            try:
                response = await call()
                ts = response.get("ts")
            except SlackApiError as exc:
                error, wait = _classify(exc, attempt)
            except aiohttp.ClientConnectorError as exc:  # no connection: nothing was posted
                error = DeliveryError(
                    f"network error talking to Slack: {type(exc).__name__}",
                    retryable=True,
                    retry_after=wait,
                    code="network",
                )
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:  # lost mid-request: may be posted
                error = _unreadable(f"network error talking to Slack: {type(exc).__name__}", wait, "network")
            except Exception as exc:  # an answer slack-sdk could not read (wrong content type, ...)
                error = _unreadable(f"Slack's answer was unreadable: {type(exc).__name__}", wait)
            else:
                if isinstance(ts, str) and ts:
                    return ts
                error = _unreadable("Slack answered ok without a message ts", wait)

            if not error.retryable or attempt >= self._max_attempts or wait > self._max_wait:
                log.warning("slack: %s to %s failed: %s", what, channel, error)
                raise error
            log.info(
                "slack: %s to %s: %s; retrying in %.2fs (attempt %d/%d)",
                what,
                channel,
                error.code,
                wait,
                attempt,
                self._max_attempts,
            )
            await self._sleep(wait)

    async def _already_posted(
        self, channel: str, key: str, started: float, error: DeliveryError, thread_ts: str | None
    ) -> str | None:
        """After an ambiguous failure: the earlier post's ts if it landed; raises (still ambiguous)
        when the history cannot be read, so the outbox settles the row later instead of reposting."""
        try:
            return await self.find_sent(channel, key, started - 60, thread_ts)
        except DeliveryError:
            raise error from None


def _metadata(key: str) -> dict[str, Any]:
    """Message metadata carrying a delivery key, so the message can be found again by it."""
    return {"event_type": METADATA_EVENT, "event_payload": {"delivery_key": key}}


def _command_request(command: dict[str, Any]) -> CommandRequest:
    return CommandRequest(
        platform="slack",
        user_id=str(command.get("user_id", "")),
        text=str(command.get("text", "")).strip(),
        channel_id=str(command.get("channel_id", "")),
        user_name=str(command.get("user_name", "")),
    )


async def _answer(handle_command: CommandHandler, request: CommandRequest) -> Reply:
    """The handler's reply, or an ephemeral error reply: never an exception, never a trace."""
    try:
        return await handle_command(request)
    except CommandError as exc:
        return Reply(title="Cannot do that", lines=(str(exc),), ephemeral=True, is_error=True)
    except Exception:
        log.exception("slack: command %r from %s failed", request.text, request.user_id)
        return Reply(
            title="Something went wrong",
            lines=("The command failed on our side and the error was logged. Please try again later.",),
            ephemeral=True,
            is_error=True,
        )


def build_slack_app(
    client: AsyncWebClient,
    *,
    signing_secret: str | None,
    handle_command: CommandHandler,
    command_name: str = "/news",
    process_before_response: bool = False,
    interactions: Interactions | None = None,
) -> AsyncApp:
    """The Bolt app answering `command_name`, for Socket Mode or HTTP mode, and with
    `interactions` the App Home, modals and alert buttons (bot.deliver.adapters.slack_views).

    `signing_secret` is needed for HTTP mode; without one every HTTP request is refused
    (Socket Mode requests are not signed and Bolt does not check them).
    """
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        process_before_response=process_before_response,
    )

    @app.command(command_name)
    async def on_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        # Acknowledge first: Slack allows 3 seconds; the answer follows via response_url.
        await ack()
        reply = await _answer(handle_command, _command_request(command))
        try:
            result = await respond(**render_slack_reply(reply))
        except Exception as exc:  # network trouble, or a payload without response_url
            log.warning("slack: could not answer %s via response_url: %s", command_name, type(exc).__name__)
            return
        if result.status_code != 200:
            log.warning("slack: response_url answered HTTP %s: %s", result.status_code, result.body[:200])

    if interactions is not None:
        from bot.deliver.adapters.slack_views import add_slack_interactions

        add_slack_interactions(app, interactions)

    @app.error
    async def on_error(error: Exception) -> BoltResponse | None:
        # Bolt answers 500 with a traceback for anything raised while it reads a request; a signed
        # request Bolt cannot make sense of (a JSON list, a field of the wrong type) is a 400.
        if not isinstance(error, MALFORMED_INPUT):
            log.error("slack: request failed: %s", describe(error), exc_info=error)
            return None
        log.warning("slack: request refused as malformed: %s", describe(error))
        return BoltResponse(status=400, body={"error": "malformed request"})

    return app


async def run_slack_socket_mode(app: AsyncApp, app_token: str) -> None:
    """Serve `app` over Socket Mode until cancelled.

    Not `start_async()`: it never returns, even after close; connect, then wait to be cancelled
    and close the connection on the way out. The SDK reconnects dropped sessions itself.
    """
    handler = AsyncSocketModeHandler(app, app_token)
    try:
        await handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("slack: connected in Socket Mode")
        await asyncio.Event().wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


def signed_by_slack(verifier: SignatureVerifier, body: bytes, headers: CIMultiDictProxy[str]) -> bool:
    """Slack's v0 signature check over the raw body, made total: a missing, non-numeric, huge or
    negative timestamp, a malformed signature or a body that is not UTF-8 is a bad signature (False),
    never an exception; a timestamp over 5 minutes away is refused as a replay."""
    stamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not _TIMESTAMP.fullmatch(stamp) or not _SIGNATURE.fullmatch(signature):
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return verifier.is_valid(text, stamp, signature)


def slack_routes(app: AsyncApp, signing_secret: str | None) -> Mount:
    """Mount POST /slack/events for `app` on an inbound app (the public server on $PORT).

    The signature is checked here first, over the raw bytes, so an unsigned body is never parsed nor
    logged by Bolt; Bolt checks it again. Without a signing secret every request is refused.
    """
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    async def events(request: web.Request) -> web.Response:
        body = await request.read()  # over MAX_BODY: 413
        if verifier is None or not signed_by_slack(verifier, body, request.headers):
            return web.json_response({"error": "invalid request"}, status=401)
        bolt_request = AsyncBoltRequest(
            body=body.decode("utf-8"),
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    def mount(web_app: web.Application) -> None:
        web_app.router.add_post(EVENTS_PATH, events)

    return mount


def slack_web_app(
    app: AsyncApp, signing_secret: str | None, *, add_routes: Callable[[web.Application], None] | None = None
) -> web.Application:
    """The HTTP-mode web app: POST /slack/events for `app` (`slack_routes`), GET /healthz for platform
    checks, and whatever `add_routes` adds, on bot.net.inbound's public app (body cap, 4xx for
    malformed input). The service itself serves `slack_routes` on the one public server (bot.app)."""
    return public_app(
        [slack_routes(app, signing_secret), *([add_routes] if add_routes else [])], max_body=MAX_BODY
    )
