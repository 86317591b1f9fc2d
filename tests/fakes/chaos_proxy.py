"""A fault-injecting HTTP proxy for tests: put it between a real client and a fake platform API.

For a set share of requests to matching paths it answers 429 (with Retry-After), answers 5xx, drops
the connection before forwarding (the platform never saw the request), or forwards and then drops
the connection (the platform accepted it, the client never hears so): the case that turns naive
retries into duplicate posts. Everything else is forwarded unchanged. Seeded, so a failing run can
be replayed.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

FAULTS = ("429", "500", "drop_before", "drop_after")


@dataclass
class ChaosProxy:
    upstream: str  # e.g. http://127.0.0.1:1234
    rate: float = 0.1
    seed: int = 0
    paths: tuple[str, ...] = ("chat.postMessage", "/messages", "/webhooks/")
    faults: tuple[str, ...] = FAULTS
    budget: int | None = None  # stop injecting after this many faults
    injected: Counter[str] = field(default_factory=Counter)
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> ChaosProxy:
        self._random = random.Random(self.seed)
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        fault = None
        spent = sum(self.injected.values())
        if (
            any(part in request.path for part in self.paths)
            and (self.budget is None or spent < self.budget)
            and self._random.random() < self.rate
        ):
            fault = self._random.choice(self.faults)
            self.injected[fault] += 1
        if fault == "429":
            wait = self._random.choice(("0.2", "0.5", "1"))
            return web.json_response(
                {"ok": False, "error": "ratelimited", "message": "You are being rate limited.",
                 "retry_after": float(wait), "global": False},
                status=429, headers={"Retry-After": wait, "Via": "1.1 chaos"},
            )  # fmt: skip
        if fault == "500":
            return web.Response(status=500, text="chaos")
        if fault == "drop_before":
            return self._drop(request)
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as upstream:
            payload = await upstream.read()
            if fault == "drop_after":
                return self._drop(request)
            response_headers = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding")
            }
            return web.Response(status=upstream.status, body=payload, headers=response_headers)

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=500)  # never reaches the client
