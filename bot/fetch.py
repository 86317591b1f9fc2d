"""Fetch one feed over HTTP, politely (I/O only; deciding what to do with the result is elsewhere).

Conditional GET (ETag, Last-Modified), connect and read timeouts plus an overall deadline (a server
that drips one byte at a time cannot hold a slot forever), a size cap enforced while streaming,
gzip, bounded redirects and a clear User-Agent. Every outcome, failures included, is returned as a
FetchResult value; nothing here raises for a bad feed.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime

import httpx

from bot.config import FetchSettings

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int | None = None  # None when no HTTP response arrived
    body: bytes | None = None  # None for 304 and failures
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    final_url: str | None = None
    retry_after: float | None = None  # seconds the server asked us to wait
    max_age: float | None = None  # Cache-Control max-age, seconds
    error_kind: str | None = None  # network | timeout | http | too_large | redirects
    error: str | None = None
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def unreachable(self) -> bool:
        """No HTTP answer at all (DNS, refused, reset, timeout): may be our own network."""
        return self.error_kind in ("network", "timeout")


def make_http_client(settings: FetchSettings) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        connect=settings.connect_timeout, read=settings.read_timeout, write=10.0, pool=None
    )
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        headers={"User-Agent": settings.user_agent, "Accept": ACCEPT},
        limits=httpx.Limits(
            max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
        ),
        trust_env=False,
    )


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    settings: FetchSettings,
) -> FetchResult:
    """GET `url` conditionally; return the body only when it changed (200)."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = time.monotonic()
    deadline = settings.connect_timeout + settings.read_timeout * 2
    try:
        async with asyncio.timeout(deadline):
            return await _get(client, url, headers, settings.max_bytes, started)
    except TimeoutError:
        return _failure(url, "timeout", f"no complete answer within {deadline:g}s", started)
    except httpx.TooManyRedirects:
        return _failure(url, "redirects", f"more than {settings.max_redirects} redirects", started)
    except httpx.TimeoutException as error:
        return _failure(url, "timeout", f"timed out ({type(error).__name__})", started)
    except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol, OSError) as error:
        return _failure(url, "network", f"{type(error).__name__}: {error}".rstrip(": "), started)
    except httpx.DecodingError as error:
        return _failure(url, "http", f"cannot decode the response: {error}", started)


async def _get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], max_bytes: int, started: float
) -> FetchResult:
    async with client.stream("GET", url, headers=headers) as response:
        answer = FetchResult(
            url=url,
            status=response.status_code,
            final_url=str(response.url),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            content_type=response.headers.get("content-type"),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            max_age=parse_max_age(response.headers.get("cache-control")),
        )
        if response.status_code == 304:
            return replace(answer, elapsed=time.monotonic() - started)
        if response.status_code != 200:
            error = f"HTTP {response.status_code} {response.reason_phrase}".strip()
            return replace(answer, error_kind="http", error=error, elapsed=time.monotonic() - started)
        too_large = replace(answer, error_kind="too_large", error=f"response larger than {max_bytes:,} bytes")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            return replace(too_large, elapsed=time.monotonic() - started)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():  # decoded (gzip) bytes: the cap bounds memory
            size += len(chunk)
            if size > max_bytes:
                return replace(too_large, elapsed=time.monotonic() - started)
            chunks.append(chunk)
        return replace(answer, body=b"".join(chunks), elapsed=time.monotonic() - started)


def _failure(url: str, kind: str, message: str, started: float) -> FetchResult:
    return FetchResult(url=url, error_kind=kind, error=message, elapsed=time.monotonic() - started)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def parse_max_age(value: str | None) -> float | None:
    if not value:
        return None
    found = re.search(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", value, re.IGNORECASE)
    return float(found.group(1)) if found else None
