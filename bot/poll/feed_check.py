"""The default "is this URL a feed?" check behind `feeds add` and `feeds import`.

Fetches the URL once with the pipeline's fetcher and parses the body with the pipeline's parser;
returns None for a usable feed or a reason for the admin. The fetch goes through the feed HTTP
client, whose address guard checks every connection, redirects included, so a public URL cannot
lead the bot to a private or metadata address. CommandCore takes any function of this shape (commands.context.FeedValidator) (the
composition root builds this one over the bot's client), so tests can substitute one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.config import BotConfig, FetchSettings
from bot.net.url_safety import may_reach_private
from bot.poll.feed_parse import parse_feed_bytes
from bot.poll.fetch import FeedHttpClient, fetch_feed


def make_feed_validator(
    config_provider: Callable[[], BotConfig], http: FeedHttpClient
) -> Callable[[str], Awaitable[str | None]]:
    """A validator over the bot's feed client that reads the fetch settings and the operator's
    allowance at each call."""

    async def validate(url: str) -> str | None:
        settings = config_provider().settings
        allow_private = may_reach_private(settings)  # a URL from chat has no per-feed allowance
        return await validate_feed(url, http, settings.fetch, allow_private=allow_private)

    return validate


async def validate_feed(
    url: str, http: FeedHttpClient, fetch_settings: FetchSettings, *, allow_private: bool
) -> str | None:
    """None when `url` serves an RSS or Atom feed now; otherwise why not, in a sentence."""
    result = await fetch_feed(
        http, url, allow_private=allow_private, etag=None, last_modified=None, settings=fetch_settings
    )
    if result.error or result.body is None:
        return f"could not fetch it: {result.error or 'no content (HTTP ' + str(result.status) + ')'}"
    parsed = await asyncio.to_thread(
        parse_feed_bytes, result.body, url=url, content_type=result.content_type, now=datetime.now(UTC)
    )
    if not parsed.ok:
        return parsed.error or "it is not an RSS or Atom feed"
    return None
