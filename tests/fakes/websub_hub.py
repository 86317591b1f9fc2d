"""A fake WebSub hub for tests: an aiohttp server on 127.0.0.1 with an ephemeral port.

It takes subscribe and unsubscribe requests at /hub (recording each form), answers 202 (or
`answer_status`), then verifies the intent against the subscriber's callback as a real hub does
(GET with hub.mode, hub.topic, hub.challenge and, for subscriptions, hub.lease_seconds) and keeps
the subscription only when the callback echoed the challenge. `publish` pushes content to every
verified callback of a topic, signed with that subscription's secret (X-Hub-Signature), or with any
signature a test gives.
"""

from __future__ import annotations

import asyncio
import io
import secrets
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bot.core.websub import sign


@dataclass
class HubSubscription:
    callback: str
    topic: str
    secret: str
    lease_seconds: int


@dataclass
class Verification:
    mode: str
    callback: str
    status: int
    echoed: bool


@dataclass
class FakeHub:
    answer_status: int = 202
    grant_lease: int | None = None  # None: grant what was asked
    requests: list[dict[str, str]] = field(default_factory=list)  # every form POSTed to /hub
    verifications: list[Verification] = field(default_factory=list)
    subscriptions: dict[tuple[str, str], HubSubscription] = field(default_factory=dict)  # (callback, topic)
    port: int = 0

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._verified = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hub"

    async def start(self) -> FakeHub:
        app = web.Application()
        app.router.add_post("/hub", self._hub)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._client = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _hub(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append(form)
        if not 200 <= self.answer_status < 300:
            return web.Response(status=self.answer_status, text="hub says no")
        task = asyncio.ensure_future(self._verify(form))  # verification comes after the 202, as usual
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=self.answer_status)

    async def _verify(self, form: dict[str, str]) -> None:
        mode, topic, callback = form["hub.mode"], form["hub.topic"], form["hub.callback"]
        lease = self.grant_lease or int(form.get("hub.lease_seconds") or 864000)
        challenge = secrets.token_urlsafe(16)
        params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
        if mode == "subscribe":
            params["hub.lease_seconds"] = str(lease)
        status, text = await self.get(callback, params)
        echoed = status == 200 and text == challenge
        if echoed and mode == "subscribe":
            self.subscriptions[(callback, topic)] = HubSubscription(
                callback, topic, form["hub.secret"], lease
            )
        elif echoed:
            self.subscriptions.pop((callback, topic), None)
        async with self._verified:
            self.verifications.append(Verification(mode, callback, status, echoed))
            self._verified.notify_all()

    async def wait_verifications(self, count: int) -> list[Verification]:
        """Wait (at most 10 s) until `count` verifications were made in all; returns them."""
        async with asyncio.timeout(10), self._verified:
            await self._verified.wait_for(lambda: len(self.verifications) >= count)
        return self.verifications

    async def get(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """A GET to a callback, as the hub's verification makes it (tests also forge their own)."""
        assert self._client is not None
        async with self._client.get(url, params=params) as response:
            return response.status, await response.text()

    async def publish(
        self,
        topic: str,
        body: bytes | str,
        *,
        content_type: str = "application/rss+xml",
        signature: str | None = None,
        algorithm: str = "sha256",
        unsigned: bool = False,
    ) -> list[int]:
        """Push `body` to every verified subscriber of `topic`; returns their HTTP statuses."""
        assert self._client is not None
        data = body.encode("utf-8") if isinstance(body, str) else body
        statuses = []
        for subscription in [s for s in self.subscriptions.values() if s.topic == topic]:
            headers = {"Content-Type": content_type}
            if not unsigned:
                headers["X-Hub-Signature"] = signature or sign(subscription.secret, data, algorithm)
            payload = io.BytesIO(data)  # aiohttp warns about sending large raw bytes
            async with self._client.post(subscription.callback, data=payload, headers=headers) as response:
                statuses.append(response.status)
        return statuses
