"""A local feed server for tests: an aiohttp server on 127.0.0.1 with an ephemeral port.

Each path serves a FeedResponse that a test can change between fetches. The server honours
If-None-Match / If-Modified-Since like a well-behaved origin (unless told to ignore them), can
gzip, redirect, delay, drip bytes slowly, hang, or answer any status with any headers, and
records every request it got.
"""

from __future__ import annotations

import asyncio
import gzip
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FeedResponse:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    honour_conditional: bool = True
    gzip: bool = False
    delay: float = 0.0  # before answering
    drip_interval: float | None = None  # send the body a byte at a time, this far apart
    redirect_to: str | None = None  # path on this server


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self) -> None:
        self.responses: dict[str, FeedResponse] = {}
        self.requests: list[SeenRequest] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, body: bytes | str = b"", **options: Any) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.responses[path] = FeedResponse(body=data, **options)
        return self.url(path)

    def hits(self, path: str) -> list[SeenRequest]:
        return [request for request in self.requests if request.path == path]

    async def start(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(SeenRequest(request.path_qs, dict(request.headers)))
        spec = self.responses.get(request.path_qs) or self.responses.get(request.path)
        if spec is None:
            return web.Response(status=404, text="not found")
        if spec.delay:
            await asyncio.sleep(spec.delay)
        if spec.redirect_to:
            raise web.HTTPFound(spec.redirect_to)
        headers = dict(spec.headers)
        if spec.etag:
            headers["ETag"] = spec.etag
        if spec.last_modified:
            headers["Last-Modified"] = spec.last_modified
        if spec.honour_conditional and spec.status == 200 and self._not_modified(request, spec):
            return web.Response(status=304, headers=headers)
        body = spec.body
        if spec.gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        headers["Content-Type"] = spec.content_type
        if spec.drip_interval is None:
            return web.Response(status=spec.status, body=body, headers=headers)
        response = web.StreamResponse(status=spec.status, headers=headers)
        await response.prepare(request)
        for index in range(len(body)):
            await response.write(body[index : index + 1])
            await asyncio.sleep(spec.drip_interval)
        await response.write_eof()
        return response

    @staticmethod
    def _not_modified(request: web.Request, spec: FeedResponse) -> bool:
        if spec.etag and request.headers.get("If-None-Match") == spec.etag:
            return True
        return bool(spec.last_modified and request.headers.get("If-Modified-Since") == spec.last_modified)


def rss(items: list[dict[str, str]], *, title: str = "Test feed", links: dict[str, str] | None = None) -> str:
    """An RSS 2.0 document; each item dict may have title, link, guid, description, pubDate, source.
    `links` adds channel-level <atom:link rel=... href=...> elements (WebSub's hub and self)."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>{title}</title>'
    ]
    for rel, href in (links or {}).items():
        parts.append(f'<atom:link rel="{rel}" href="{href}"/>')
    for item in items:
        parts.append("<item>")
        for key in ("title", "link", "guid", "description", "pubDate"):
            if key in item:
                parts.append(f"<{key}>{item[key]}</{key}>")
        if "source" in item:
            parts.append(f'<source url="https://example.org">{item["source"]}</source>')
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts)
