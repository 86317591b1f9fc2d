"""WebSub push (W3C WebSub): subscribe to the hub a feed names, answer the hub's verification of
intent, take signed pushes into the poll pipeline, renew leases, retry failed subscriptions.

On only when `websub.public_url` is set. The hub reaches the bot at `<public_url>/websub/<token>`,
one unguessable token per subscription, served on $PORT (bot.app mounts the routes on the bot's one
public web server, bot.net.inbound.public_app; tests and the bench serve them alone on it too).
Everything a hub or a feed says is untrusted:

- the hub URL comes from feed text, so a subscribe request goes through the feed HTTP client and its
  address guard (private addresses only where the feed may reach them, metadata never), follows no
  redirect, and must be https (hub.secret travels in it), except where the feed may reach private
  addresses (a local test hub);
- a verification GET is answered with its challenge only when its mode and topic match a request
  this subscription is waiting on; anything else is 404, so nobody can make the bot confirm a
  subscription it did not ask for;
- a push's body is read up to `fetch.max_bytes` and used only when its X-Hub-Signature is the HMAC
  of the raw body under the subscription's secret; otherwise it is dropped with a 2xx (so the hub
  does not retry it forever), counted, and logged once per subscription;
- a valid push goes through `Pipeline.process_pushed`: the same parse, dedup, match, store and queue
  steps as a fetched body.

Secrets and callback tokens are never logged (bot.logs also masks /websub/<token> and hub.secret).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from sqlite_utils import Database

from bot.config import BotConfig, FeedConfig
from bot.core.websub import granted_lease, renew_at, retry_after_failures, signature_valid
from bot.errors import AddressRefused
from bot.net.url_safety import may_reach_private, url_problem
from bot.poll.fetch import FeedHttpClient
from bot.poll.pipeline import Pipeline
from bot.store.websub import (
    Subscription,
    all_subscriptions,
    by_token,
    delete,
    expire_leases,
    mark_denied,
    mark_failed,
    mark_requested,
    mark_verified,
    note_bad_signature,
    note_push,
    retire_feeds_not_in,
)

log = logging.getLogger(__name__)

CALLBACK_PATH = "/websub/{token}"
VERIFY_WITHIN = 600.0  # a request whose verification has not come within this has failed
GIVE_UP_UNSUBSCRIBING = 5  # failed unsubscribe requests before the row is forgotten (the lease ends anyway)
CHUNK = 64 * 1024
MAX_CHALLENGE = 1000


@dataclass
class WebSubscriber:
    db: Database
    http: FeedHttpClient  # subscribe requests go through its address guard, like every fetch
    pipeline: Pipeline
    load_config: Callable[[], BotConfig]
    clock: Callable[[], float]
    public_url: str  # read at start: the callback base the hubs are given
    _warned: set[int] = field(default_factory=set)  # subscriptions whose bad pushes were logged

    def callback_url(self, subscription: Subscription) -> str:
        return f"{self.public_url}/websub/{subscription.token}"

    # -- the periodic job: subscribe, renew, retry, unsubscribe ---------------------------------

    async def run_due(self) -> int:
        """Send every request that is due now; returns how many were sent. Run by the service every
        minute: new subscriptions, leases at 80%, failed ones after their backoff, retired ones."""
        now = self.clock()
        config = self.load_config()
        feeds = {feed.url: feed for feed in config.feeds if feed.enabled}
        retire_feeds_not_in(self.db, feeds, now)
        for subscription in expire_leases(self.db, now):
            log.warning(
                "websub: the lease for %s ran out unrenewed: subscribing again", subscription.feed_url
            )
        sent = 0
        for subscription in all_subscriptions(self.db):
            mode = self._due(subscription, now)
            if mode is not None:
                await self._request(config, feeds.get(subscription.feed_url), subscription, mode)
                sent += 1
        return sent

    def _due(self, subscription: Subscription, now: float) -> str | None:
        """Which request `subscription` needs now ("subscribe", "unsubscribe"), if any."""
        if subscription.pending is not None:
            waited = now - (subscription.requested_at or now)
            if waited >= VERIFY_WITHIN:
                error = f"the hub did not verify within {VERIFY_WITHIN:.0f} s"
                retry = now + retry_after_failures(subscription.failures + 1)
                mark_failed(self.db, subscription.id, error, retry)
                log.warning("websub: %s: %s", subscription.feed_url, error)
            return None
        backed_off = subscription.next_attempt_at is not None and subscription.next_attempt_at > now
        if backed_off:
            return None
        if subscription.state == "unsubscribing":
            return "unsubscribe"
        if subscription.state in ("verified", "stale") and subscription.verified_at is not None:
            lease = subscription.lease_seconds or 0
            renewal_due = now >= renew_at(subscription.verified_at, lease)
            # a stale one is asked once more (the hub may have lost us); verification makes it live
            return "subscribe" if renewal_due or subscription.state == "stale" else None
        return "subscribe"  # new, failed or expired

    async def _request(
        self, config: BotConfig, feed: FeedConfig | None, subscription: Subscription, mode: str
    ) -> None:
        now = self.clock()
        allow_private = may_reach_private(config.settings, feed)
        problem = hub_problem(subscription.hub, allow_private=allow_private)
        if problem is None:
            # Marked first: some hubs verify before they answer the request itself.
            mark_requested(self.db, subscription.id, mode, now)
            problem = await self._post(config, subscription, mode, allow_private)
        if problem is None:
            log.info("websub: %s request sent to %s for %s", mode, subscription.hub, subscription.feed_url)
            return
        failures = subscription.failures + 1
        if mode == "unsubscribe" and failures >= GIVE_UP_UNSUBSCRIBING:
            delete(self.db, subscription.id)
        else:
            mark_failed(self.db, subscription.id, problem, now + retry_after_failures(failures))
        log.warning(
            "websub: %s to %s for %s failed: %s", mode, subscription.hub, subscription.feed_url, problem
        )

    async def _post(
        self, config: BotConfig, subscription: Subscription, mode: str, allow_private: bool
    ) -> str | None:
        """POST the request to the hub through the guarded client; None when the hub accepted it."""
        form = {
            "hub.mode": mode,
            "hub.topic": subscription.topic,
            "hub.callback": self.callback_url(subscription),
        }
        if mode == "subscribe":
            form["hub.lease_seconds"] = str(int(config.settings.websub.lease))
            form["hub.secret"] = subscription.secret
        session = self.http.session(allow_private=allow_private)
        try:
            async with asyncio.timeout(config.settings.fetch.total_timeout):
                async with session.post(subscription.hub, data=form, allow_redirects=False) as response:
                    if 200 <= response.status < 300:
                        return None
                    said = (await response.content.read(200)).decode("utf-8", "replace")
                    # the hub's words are untrusted: one line, cut short, and never our secret echoed back
                    said = " ".join(said.split()).replace(subscription.secret, "[redacted]")
                    return f"HTTP {response.status}" + (f": {said}" if said else "")
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, AddressRefused):
                return f"refused: {error.os_error}"
            return f"{type(error).__name__}: {error}"
        except TimeoutError:
            return "the hub did not answer in time"
        except (aiohttp.ClientError, OSError, ValueError) as error:
            return f"{type(error).__name__}: {error}".rstrip(": ")

    # -- the callback: verification of intent and content distribution -------------------------

    async def verify(self, request: web.Request) -> web.Response:
        """GET: the hub checks that we asked. Answer the challenge only for a request we are waiting on."""
        subscription = by_token(self.db, request.match_info["token"])
        query = request.query
        mode, topic = query.get("hub.mode", ""), query.get("hub.topic", "")
        if subscription is None or topic != subscription.topic:
            return web.Response(status=404, text="not found")
        now = self.clock()
        if mode == "denied" and subscription.state != "unsubscribing":
            reason = " ".join(query.get("hub.reason", "").split())[:200]
            mark_denied(
                self.db, subscription.id, reason, now + retry_after_failures(subscription.failures + 1)
            )
            log.warning("websub: the hub denied the subscription for %s: %s", subscription.feed_url, reason)
            return web.Response(text="ok", content_type="text/plain")
        challenge = query.get("hub.challenge", "")
        if mode not in ("subscribe", "unsubscribe") or subscription.pending != mode:
            return web.Response(status=404, text="not found")
        if not challenge or len(challenge) > MAX_CHALLENGE:
            return web.Response(status=400, text="bad challenge")
        if mode == "subscribe":
            asked = int(self.load_config().settings.websub.lease)
            lease = granted_lease(query.get("hub.lease_seconds"), asked)
            mark_verified(self.db, subscription.id, lease, now)
            self._warned.discard(subscription.id)
            log.info(
                "websub: subscription for %s verified by %s, lease %d s",
                subscription.feed_url,
                subscription.hub,
                lease,
            )
        else:
            delete(self.db, subscription.id)
            log.info("websub: unsubscribed %s from %s", subscription.feed_url, subscription.hub)
        return web.Response(text=challenge, content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        """POST: new content. Used only when signed with the subscription's secret; 2xx either way."""
        subscription = by_token(self.db, request.match_info["token"])
        if subscription is None or subscription.state == "unsubscribing":
            return web.Response(status=410, text="gone")  # the spec's word for "stop sending"
        max_bytes = self.load_config().settings.fetch.max_bytes
        body = await read_capped(request, max_bytes)
        if body is None:
            return web.Response(status=413, text=f"larger than {max_bytes} bytes")
        if not signature_valid(subscription.secret, body, request.headers.get("X-Hub-Signature")):
            count = note_bad_signature(self.db, subscription.id)
            level = logging.DEBUG if subscription.id in self._warned else logging.WARNING
            self._warned.add(subscription.id)
            log.log(
                level, "websub: ignored a push for %s without a valid signature (%d so far; later ones at DEBUG)",
                subscription.feed_url, count,
            )  # fmt: skip
            return web.Response(status=202, text="accepted")
        note_push(self.db, subscription.id, self.clock())
        await self.pipeline.process_pushed(subscription.feed_url, body, request.headers.get("Content-Type"))
        return web.Response(status=202, text="accepted")

    def add_routes(self, app: web.Application) -> None:
        """Mount the callback on the public app (bot.net.inbound.public_app)."""
        app.router.add_get(CALLBACK_PATH, self.verify)
        app.router.add_post(CALLBACK_PATH, self.receive)


def hub_problem(hub: str, *, allow_private: bool) -> str | None:
    """Why the bot will not send a subscribe request to `hub`, before any connection (None: it may;
    the address guard still checks every address it connects to)."""
    problem = url_problem(hub)
    if problem:
        return f"refused: {problem}"
    if not hub.lower().startswith("https://") and not allow_private:
        return "refused: the hub is not https (hub.secret would travel in clear)"
    return None


async def read_capped(request: web.Request, max_bytes: int) -> bytes | None:
    """The request body, or None when it is over `max_bytes` (read as a stream, so the app's own
    small cap does not apply and the push's cap is the same as a fetched feed's)."""
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
