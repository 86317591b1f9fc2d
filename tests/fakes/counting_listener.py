"""A loopback TCP listener that counts the connections it accepts and answers each with one HTTP response.

The address-guard tests point feeds at it and assert it counted zero: a refusal must come before
any connection, not after a request was sent. By default it serves a small RSS feed; `redirect_to`
makes it answer 302 instead.
"""

from __future__ import annotations

import asyncio

from tests.fakes.feed_server import rss

FEED = rss([{"title": "Listener feed item", "link": "https://news.example/listener", "guid": "listener-1"}])


class CountingListener:
    def __init__(self, host: str = "127.0.0.1", *, redirect_to: str | None = None) -> None:
        self.host = host
        self.redirect_to = redirect_to
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    def url(self, path: str = "/feed.xml") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    async def start(self) -> CountingListener:
        self._server = await asyncio.start_server(self._answer, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(self._response())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _response(self) -> bytes:
        if self.redirect_to is not None:
            head = f"HTTP/1.1 302 Found\r\nLocation: {self.redirect_to}\r\nContent-Length: 0\r\n"
            return (head + "Connection: close\r\n\r\n").encode()
        body = FEED.encode()
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode() + body
