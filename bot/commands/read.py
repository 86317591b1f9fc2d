"""The subcommands everyone may run: latest, search, facts, status.

Each takes a Context and the parsed command and returns a Reply; bad input raises CommandError.
Queries live in bot.store.lookups; figure extraction in bot.commands.figures; this module only
checks arguments and shapes the answer.
"""

from __future__ import annotations

from bot.commands.arguments import ParsedCommand, fts_query
from bot.commands.context import Context, usage_error
from bot.commands.figures import KeyFigure, extract_key_figures
from bot.commands.format import feed_health, feed_warning, format_age, format_time, one_line, story_entry
from bot.commands.help import usage_of
from bot.core.model import Reply, ReplyEntry, ReplyField
from bot.errors import CommandError
from bot.store.cycles import last_cycle
from bot.store.lookups import StoryRow, feed_rows, latest_matched, recent_items, search_items, status_counts
from bot.store.outbox import channel_problems

DEFAULT_COUNT, MAX_COUNT = 5, 10
MAX_PAGE = 100
SEARCH_PAGE_SIZE = 5
FIGURE_STORIES = 300  # key figures come from this many newest matched stories
FIGURES_PER_KIND = 4


def latest(ctx: Context, cmd: ParsedCommand) -> Reply:
    usage = usage_of("latest", ctx.command)
    args = list(cmd.args)
    page = _page(cmd, args, usage)
    count, rule = DEFAULT_COUNT, None
    numbers = [a for a in args if a.isdigit()]
    words = [a for a in args if not a.isdigit()]
    if len(numbers) > 1 or len(words) > 1:
        raise usage_error("Too many arguments for latest.", usage)
    if numbers:
        count = int(numbers[0])
        if not 1 <= count <= MAX_COUNT:
            raise usage_error(f"n must be between 1 and {MAX_COUNT}.", usage)
    if words:
        rule = words[0].lower()
        known = sorted(r.name for r in ctx.config.rules)
        if rule not in known:
            raise CommandError(
                f"There is no rule named {words[0]!r}. Rules: {', '.join(known) or 'none yet'}."
            )
    stories = latest_matched(ctx.db, limit=count + 1, offset=(page - 1) * count, rule=rule)
    what = f"matching {rule}" if rule else "matched"
    if not stories:
        return Reply(
            title=f"No {what} stories" + (f" on page {page}" if page > 1 else " yet"), ephemeral=True
        )
    more = len(stories) > count
    next_hint = f"/{ctx.command} latest {count}{' ' + rule if rule else ''} page {page + 1}"
    return Reply(
        title=f"Latest {what} stories" + (f" (page {page})" if page > 1 else ""),
        entries=_entries(ctx, stories[:count]),
        footer=f"More: {next_hint}" if more else "",
        ephemeral=False,
    )


def search(ctx: Context, cmd: ParsedCommand) -> Reply:
    usage = usage_of("search", ctx.command)
    args = list(cmd.args)
    page = _page(cmd, args, usage)
    query = fts_query(args)
    if query is None:
        raise usage_error("Give at least one word to search for.", usage)
    offset = (page - 1) * SEARCH_PAGE_SIZE
    stories = search_items(ctx.db, query, limit=SEARCH_PAGE_SIZE + 1, offset=offset)
    shown = " ".join(args)
    if not stories:
        return Reply(title=f"Nothing found for {one_line(shown, 100)}", ephemeral=True)
    more = len(stories) > SEARCH_PAGE_SIZE
    return Reply(
        title=f"Search: {one_line(shown, 100)}" + (f" (page {page})" if page > 1 else ""),
        entries=_entries(ctx, stories[:SEARCH_PAGE_SIZE]),
        footer=f"More: add --page {page + 1}" if more else "",
        ephemeral=False,
    )


def facts(ctx: Context, cmd: ParsedCommand) -> Reply:
    if cmd.action not in ("", "list") or cmd.args or cmd.options:
        raise usage_error("facts takes no arguments.", usage_of("facts", ctx.command))
    zone = ctx.config.settings.timezone
    entries = [
        ReplyEntry(
            title=fact.text,
            meta=" · ".join(
                p for p in (f"Fact {n}", f"source: {fact.source}" if fact.source else "", fact.added) if p
            ),
        )
        for n, fact in enumerate(ctx.config.facts, start=1)
    ]
    stories = recent_items(ctx.db, limit=FIGURE_STORIES, matched_only=True)
    for figure, story, mentions in key_figures(stories):
        seen = f"{mentions} stories" if mentions > 1 else "1 story"
        entries.append(
            ReplyEntry(
                title=f"{figure.kind.capitalize()}: {figure.text}",
                url=story.link,
                meta=f"first in: {one_line(story.title, 120)} · {story.source or 'unknown source'} · "
                f"{format_time(story.story_at, zone)} · seen in {seen}",
            )
        )
    lines = (
        f"{len(ctx.config.facts)} curated facts, key figures from {len(stories)} recent matched stories.",
    )
    return Reply(title="What we know", lines=lines, entries=tuple(entries), ephemeral=False)


def key_figures(stories: list[StoryRow]) -> list[tuple[KeyFigure, StoryRow, int]]:
    """Figures across `stories` (newest first), each with the earliest story naming it and a count.

    Pure. The most-mentioned figures come first, at most FIGURES_PER_KIND of each kind.
    """
    found: dict[str, tuple[KeyFigure, StoryRow, int]] = {}
    for story in stories:  # newest first: the last story seen for a key is the earliest
        for figure in extract_key_figures(f"{story.title}\n{story.summary}"):
            count = found[figure.key][2] + 1 if figure.key in found else 1
            found[figure.key] = (figure, story, count)
    ranked = sorted(found.values(), key=lambda f: (-f[2], -f[1].story_at))
    result: list[tuple[KeyFigure, StoryRow, int]] = []
    for kind in ("amount", "person", "date"):
        result += [f for f in ranked if f[0].kind == kind][:FIGURES_PER_KIND]
    return result


def status(ctx: Context, cmd: ParsedCommand) -> Reply:
    if cmd.args or cmd.options:
        raise usage_error("status takes no arguments.", usage_of("status", ctx.command))
    counts = status_counts(ctx.db, now=ctx.now)
    feeds = ctx.config.feeds
    rows = feed_rows(ctx.db, [f.url for f in feeds])
    states: dict[str, list[tuple[str, str]]] = {}
    warned: list[str] = []
    for feed in feeds:
        state, detail = feed_health(feed.enabled, rows.get(feed.url), ctx.now)
        states.setdefault(state, []).append((feed.name or feed.url, detail))
        warning = feed_warning(rows.get(feed.url)) if state == "healthy" else None
        if warning:
            warned.append(f"{feed.name or feed.url}: warning: {warning}")
    last = counts.last_poll_at
    zone = ctx.config.settings.timezone
    last_poll = "never" if last is None else f"{format_time(last, zone)} ({format_age(ctx.now - last)})"
    summary = ", ".join(
        f"{len(states[s])} {s}" for s in ("healthy", "failing", "paused", "not polled yet") if s in states
    )
    cycle = last_cycle(ctx.db)
    fields = (
        ReplyField("Last poll", last_poll),
        *((ReplyField("Last cycle", cycle.summary()),) if cycle else ()),
        ReplyField("Feeds", summary or "none configured"),
        ReplyField("Items (24h)", f"{counts.items_24h} new · {counts.items_total} stored"),
        ReplyField("Matched stories (24h)", str(counts.matched_24h)),
        ReplyField("Alerts sent (24h)", str(counts.alerts_sent_24h)),
        ReplyField("Queue", f"{counts.queue_depth} alerts waiting"),
    )
    failing = [f"{name}: {detail}" for name, detail in states.get("failing", [])]
    lines = tuple(failing[:10]) + (
        (f"... and {len(failing) - 10} more failing",) if len(failing) > 10 else ()
    )
    lines += tuple(warned[:10]) + (
        (f"... and {len(warned) - 10} more with warnings",) if len(warned) > 10 else ()
    )
    lines += tuple(
        f"{p.platform} {p.channel}: {p.failed} failed, {p.retrying} retrying: {p.last_error}"
        for p in channel_problems(ctx.db, now=ctx.now)[:10]
    )
    return Reply(title="Status", lines=lines, fields=fields, ephemeral=False)


def _page(cmd: ParsedCommand, args: list[str], usage: str) -> int:
    """The page number from `--page N` or trailing `page N` (removed from `args`); 1 by default."""
    value = cmd.options.get("page")
    unknown = sorted(set(cmd.options) - {"page"})
    if unknown:
        raise usage_error(f"Unknown option --{unknown[0]}.", usage)
    if value is None and len(args) >= 2 and args[-2].lower() == "page":
        value = args[-1]
        del args[-2:]
    if value is None:
        return 1
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise usage_error(f"The page must be a number from 1 to {MAX_PAGE}.", usage)
    return int(value)


def _entries(ctx: Context, stories: list[StoryRow]) -> tuple[ReplyEntry, ...]:
    return tuple(story_entry(s, ctx.config.settings.timezone) for s in stories)
