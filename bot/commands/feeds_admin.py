"""Admin subcommands for feeds: list, add, remove, pause, resume, reset, export and import (OPML).

A URL from chat is checked in two steps before anything is stored: bot.net.url_safety (scheme,
credentials, every resolved address) and the injected feed validator (fetched once, must parse as
a feed). Both happen before the write transaction, never inside it (no `await` in a transaction).
"""

from __future__ import annotations

import asyncio

from pydantic import ValidationError

from bot.commands.arguments import ParsedCommand
from bot.commands.context import Context, commit_edit, usage_error
from bot.commands.format import feed_health
from bot.commands.help import usage_of
from bot.commands.opml import feeds_to_opml, opml_to_feeds
from bot.config import FeedConfig
from bot.core.model import Reply, ReplyEntry
from bot.errors import CommandError, FeedError, OpmlError
from bot.net.url_safety import check_feed_url, may_reach_private
from bot.store.feeds import resume_feed
from bot.store.lookups import feed_rows
from bot.store.overrides import apply_overrides, origins

PAGE_SIZE = 20
IMPORT_CONCURRENCY = 4


async def feeds(ctx: Context, cmd: ParsedCommand) -> Reply:
    action = cmd.action or "list"
    if action == "list":
        return _list(ctx, cmd)
    if action == "add":
        return await _add(ctx, cmd)
    if action in ("remove", "pause", "resume"):
        return _change(ctx, cmd, action)
    if action == "reset":
        return _reset(ctx, cmd)
    if action == "export":
        if cmd.args or cmd.options:
            raise usage_error("feeds export takes no arguments.", usage_of("feeds export", ctx.command))
        opml = feeds_to_opml(ctx.config.feeds)
        return Reply(title=f"Feeds as OPML ({len(ctx.config.feeds)})", lines=tuple(opml.splitlines()))
    if action == "import":
        return await _import(ctx, cmd)
    raise usage_error(f"Unknown action {cmd.action!r} for feeds.", usage_of("feeds", ctx.command))


def _list(ctx: Context, cmd: ParsedCommand) -> Reply:
    page_text = cmd.options.get("page", "1")
    if cmd.args or set(cmd.options) - {"page"} or not page_text.isdigit() or int(page_text) < 1:
        raise usage_error("feeds list takes only --page N.", usage_of("feeds list", ctx.command))
    page = int(page_text)
    all_feeds = ctx.config.feeds
    shown = all_feeds[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    rows = feed_rows(ctx.db, [f.url for f in shown])
    where = origins(ctx.file_config, ctx.db, "feeds")
    entries = []
    for number, feed in enumerate(shown, start=(page - 1) * PAGE_SIZE + 1):
        state, detail = feed_health(feed.enabled, rows.get(feed.url), ctx.now)
        origin = where[feed.url]
        source = "from file" if origin.edit is None else f"{origin.describe()} · {origin.edit.actor}"
        entries.append(
            ReplyEntry(
                title=f"{number}. {feed.name or feed.url}",
                url=feed.url,
                meta=f"{state} · {source}",
                text=detail,
            )
        )
    pages = max(1, -(-len(all_feeds) // PAGE_SIZE))
    footer = f"Page {page} of {pages}: --page {page + 1} for more" if page < pages else ""
    return Reply(title=f"Feeds ({len(all_feeds)})", entries=tuple(entries), footer=footer)


async def _add(ctx: Context, cmd: ParsedCommand) -> Reply:
    usage = usage_of("feeds add", ctx.command)
    if cmd.quote_error:
        raise usage_error(cmd.quote_error.capitalize() + ".", usage)
    if not cmd.args:
        raise usage_error("Give the feed's URL.", usage)
    if set(cmd.options) - {"name", "interval"}:
        raise usage_error(f"Unknown option --{sorted(set(cmd.options) - {'name', 'interval'})[0]}.", usage)
    url, *name_words = cmd.args
    name = cmd.options.get("name") or " ".join(name_words) or None
    feed = _valid_feed(url, name, cmd.options.get("interval"))
    if _find(ctx, feed.url) is not None:
        raise CommandError(f"{feed.url} is already watched.")
    problem = await _check(ctx, feed.url)
    if problem:
        raise CommandError(f"Not added: {problem}")
    if _find(ctx, feed.url, reload=True) is not None:  # added by someone else while we fetched
        raise CommandError(f"{feed.url} is already watched.")
    commit_edit(ctx, kind="feeds", key=feed.url, action="feeds.add", before=None, after=feed)
    return Reply(
        title=f"Added feed {feed.name or feed.url}",
        lines=("It is polled from the next cycle; the stories it carries now are not posted as alerts.",),
    )


def _change(ctx: Context, cmd: ParsedCommand, action: str) -> Reply:
    feed = _target(ctx, cmd, f"feeds {action}")
    label = feed.name or feed.url
    if action == "remove":
        commit_edit(ctx, kind="feeds", key=feed.url, action="feeds.remove", before=feed, after=None)
        return Reply(title=f"Removed feed {label}")
    enabled = action == "resume"
    stopped = feed_rows(ctx.db, [feed.url]).get(feed.url, {}).get("disabled_reason")
    if feed.enabled == enabled and not (enabled and stopped):
        return Reply(title=f"Feed {label} is already {'active' if enabled else 'paused'}")
    if feed.enabled != enabled:
        after = feed.model_copy(update={"enabled": enabled})
        commit_edit(ctx, kind="feeds", key=feed.url, action=f"feeds.{action}", before=feed, after=after)
    if enabled and stopped:
        resume_feed(ctx.db, feed.url, ctx.now)  # clear the pipeline's back-off so it is polled now
    return Reply(title=f"Feed {label} {'resumed' if enabled else 'paused'}", lines=("From the next poll.",))


def _reset(ctx: Context, cmd: ParsedCommand) -> Reply:
    usage = usage_of("feeds reset", ctx.command)
    if len(cmd.args) != 1 or cmd.options:
        raise usage_error("Give one feed URL.", usage)
    url = cmd.args[0]
    origin = origins(ctx.file_config, ctx.db, "feeds").get(url)
    if origin is None or origin.edit is None:
        raise CommandError(f"{url} has no chat edit to drop.")
    after = next((f for f in ctx.file_config.feeds if f.url == url), None)
    commit_edit(
        ctx, kind="feeds", key=url, action="feeds.reset", before=_find(ctx, url), after=after, drop=True
    )
    return Reply(
        title=f"Dropped the chat edit of {url}", lines=("The file's version applies." if after else "",)
    )


async def _import(ctx: Context, cmd: ParsedCommand) -> Reply:
    usage = usage_of("feeds import", ctx.command)
    if not cmd.raw:
        raise usage_error("Paste the OPML after feeds import.", usage)
    try:
        listed = opml_to_feeds(cmd.raw)
    except OpmlError as error:
        raise CommandError(f"Not imported: {error}") from None
    known = {f.url for f in ctx.config.feeds}
    candidates: list[FeedConfig] = []
    refused: list[tuple[str, str]] = []
    for entry in listed:
        if entry.url in known:
            continue
        try:
            candidates.append(_valid_feed(entry.url, entry.name, None))
        except CommandError as error:
            refused.append((entry.url, str(error)))
    limit = asyncio.Semaphore(IMPORT_CONCURRENCY)

    async def check(feed: FeedConfig) -> str | None:
        async with limit:
            return await _check(ctx, feed.url)

    problems = await asyncio.gather(*(check(f) for f in candidates))
    added = [f for f, p in zip(candidates, problems, strict=True) if p is None]
    refused += [(f.url, p) for f, p in zip(candidates, problems, strict=True) if p is not None]
    for feed in added:
        if _find(ctx, feed.url, reload=True) is None:
            commit_edit(ctx, kind="feeds", key=feed.url, action="feeds.import", before=None, after=feed)
    entries = tuple(ReplyEntry(title=f.name or f.url, url=f.url, meta="added") for f in added) + tuple(
        ReplyEntry(title=url, meta="refused", text=reason) for url, reason in refused
    )
    already = sum(1 for e in listed if e.url in known)
    return Reply(
        title=f"Imported {len(added)} of {len(listed)} feeds",
        lines=(f"{already} already watched, {len(refused)} refused.",),
        entries=entries,
        is_error=not added and bool(refused),
    )


async def _check(ctx: Context, url: str) -> str | None:
    """Why `url` may not be added (unsafe address, not reachable, not a feed), or None."""
    problem = await check_feed_url(url, allow_private=may_reach_private(ctx.config.settings))
    if problem:
        return problem
    try:
        return await ctx.validate_feed(url)
    except FeedError as error:
        return str(error)


def _valid_feed(url: str, name: str | None, interval: str | None) -> FeedConfig:
    data: dict[str, object] = {"url": url, "name": name}
    if interval is not None:
        data["interval"] = interval
    try:
        return FeedConfig.model_validate(data)
    except ValidationError as error:
        detail = error.errors()[0]
        field = ".".join(str(p) for p in detail["loc"])
        raise CommandError(
            f"Not a valid feed {field}: {str(detail['msg']).removeprefix('Value error, ')}."
        ) from None


def _find(ctx: Context, url: str, *, reload: bool = False) -> FeedConfig | None:
    if reload:
        return next((f for f in apply_overrides(ctx.file_config, ctx.db).feeds if f.url == url), None)
    return next((f for f in ctx.config.feeds if f.url == url), None)


def _target(ctx: Context, cmd: ParsedCommand, name: str) -> FeedConfig:
    """The feed named by URL, list number or exact name."""
    usage = usage_of(name, ctx.command)
    if not cmd.args or cmd.options:
        raise usage_error("Give one feed: its URL, its name or its number in feeds list.", usage)
    wanted = " ".join(cmd.args)
    feeds_now = ctx.config.feeds
    if wanted.isdigit() and 1 <= int(wanted) <= len(feeds_now):
        return feeds_now[int(wanted) - 1]
    for feed in feeds_now:
        if wanted in (feed.url, feed.name):
            return feed
    raise CommandError(f"No watched feed matches {wanted!r}. See feeds list.")
