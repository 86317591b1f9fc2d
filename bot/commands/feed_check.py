"""The default "is this URL a feed?" check behind `feeds add` and `feeds import`.

Fetches the URL once with the pipeline's fetcher and parses the body with the pipeline's parser;
returns None for a usable feed or a reason for the admin. Every request, redirects included, is
checked by bot.url_safety before it is sent, so a public URL cannot redirect the bot to a private
or metadata address. CommandCore takes any function of this shape, so tests can substitute one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from bot.commands.context import FeedValidator
from bot.config import BotConfig, FetchSettings
from bot.fetch import fetch_feed, make_http_client
from bot.parse import parse_feed_bytes
from bot.url_safety import check_feed_url


class _Refused(Exception):
    """A request (possibly a redirect) to a URL the bot must not fetch."""


def make_feed_validator(config_provider: Callable[[], BotConfig]) -> FeedValidator:
    """A validator that reads the fetch settings and the private-host switch at each call."""

    async def validate(url: str) -> str | None:
        settings = config_provider().settings
        return await validate_feed(url, settings.fetch, allow_private=settings.allow_private_feed_hosts)

    return validate


async def validate_feed(url: str, fetch_settings: FetchSettings, *, allow_private: bool) -> str | None:
    """None when `url` serves an RSS or Atom feed now; otherwise why not, in a sentence."""

    async def guard(request_url: str) -> None:
        problem = await check_feed_url(request_url, allow_private=allow_private)
        if problem:
            raise _Refused(f"{request_url} {problem}")

    try:
        async with make_http_client(fetch_settings) as client:
            result = await fetch_feed(
                client, url, etag=None, last_modified=None, settings=fetch_settings, request_guard=guard
            )
    except _Refused as refused:
        return f"the feed redirected to a refused address ({refused})"
    if result.error or result.body is None:
        return f"could not fetch it: {result.error or 'no content (HTTP ' + str(result.status) + ')'}"
    parsed = await asyncio.to_thread(
        parse_feed_bytes, result.body, url=url, content_type=result.content_type, now=datetime.now(UTC)
    )
    if not parsed.ok:
        return parsed.error or "it is not an RSS or Atom feed"
    return None
