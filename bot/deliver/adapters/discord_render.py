"""Render alerts and command replies as Discord embeds. Pure: no I/O, no clock, no client.

Returns `discord.Embed` objects (not dict payloads); the adapter sends them as they are.
Feed text is untrusted: every piece of it goes through `escape_discord`, so it can neither
ping anyone nor change the formatting, and every part is cut to Discord's limits here (via
bot.core.render.text), so a send never fails validation however long the feed's text is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from urllib.parse import quote

import discord

from bot.core.links import http_url_parts
from bot.core.model import Alert, Reply, ReplyEntry, ReportedCopy
from bot.core.render.copies import outlet_of
from bot.core.render.text import fit, highlight, terms_pattern, truncate

# Discord's limits on messages and embeds: docs/discord.md ("Discord's limits").
CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
FIELDS_MAX = 25
EMBED_TOTAL_MAX = 6000  # summed over every embed of one message
EMBEDS_MAX = 10
URL_MAX = 2048

DEFAULT_COLOR = 0x5865F2  # Discord blurple
ERROR_COLOR = 0xED4245

# "@everyone", "@here", "<@123>", "<@!123>", "<@&456>": a zero-width space after "@" defuses each.
_MENTION = re.compile(r"@(?=everyone|here|[!&]?\d)")
# A "[" or "]" preceded by an even number of backslashes (escape_markdown doubles existing ones)
# is still live markdown; escaping every bracket means no masked link `[label](url)` can form.
_LIVE_BRACKET = re.compile(r"(?<!\\)((?:\\\\)*)([\[\]])")
_ENTRY_TEXT_MAX = 300


def escape_discord(text: str) -> str:
    """Escape untrusted text for Discord: markdown, mentions and masked links all become literal."""
    escaped = discord.utils.escape_markdown(text)
    escaped = _LIVE_BRACKET.sub(r"\1\\\2", escaped)
    return _MENTION.sub("@\u200b", escaped)


def safe_url(url: str | None) -> str | None:
    """Return `url` if it is an absolute http(s) URL Discord will accept, else None."""
    if not url or len(url) > URL_MAX or any(c.isspace() for c in url) or http_url_parts(url) is None:
        return None
    return url


def highlight_terms(text: str, terms: Iterable[str]) -> str:
    """Escape `text` and put each word-bounded occurrence of any term (case-insensitive) in bold."""
    return highlight(text, terms_pattern(terms), escape_discord, lambda escaped: f"**{escaped}**")


def render_discord_alert(
    alert: Alert, rule_colors: Mapping[str, int] | None = None, key: str | None = None
) -> discord.Embed:
    """One embed per alert: linked title, source, published time, summary with terms in bold, and
    the matched rules in the footer, followed by the delivery `key` when given."""
    item = alert.item
    colors = rule_colors or {}
    color = next((colors[r] for r in alert.rules if r in colors), DEFAULT_COLOR)
    embed = discord.Embed(
        title=fit(item.title or "(untitled)", TITLE_MAX, escape_discord),
        url=safe_url(item.link),  # canonical_link is a dedup key, not an address to show
        color=color,
        timestamp=item.published,
    )
    source = item.source or alert.feed_name
    if source:
        embed.set_author(name=fit(source, AUTHOR_MAX, escape_discord))
    if item.summary:
        embed.description = fit(item.summary, DESCRIPTION_MAX, lambda s: highlight_terms(s, alert.terms))
    footer = _footer(alert, key, min(FOOTER_MAX, EMBED_TOTAL_MAX - len(embed)))  # 6,000 binds first
    if footer:
        embed.set_footer(text=footer)
    return embed


KEY_SEPARATOR = " · "


def _footer(alert: Alert, key: str | None, room: int) -> str:
    """ "Matched: <rules> · <key>". The key is how the bot recognises its own post when it must look
    for one whose answer was lost (a webhook message has no nonce): last, in small grey text."""
    tail = KEY_SEPARATOR + key if key else ""
    rules = "Matched: " + ", ".join(alert.rules) if alert.rules else ""
    matched = fit(rules, max(0, room - len(tail)), escape_discord) if rules else ""
    return (matched + tail).removeprefix(KEY_SEPARATOR)


def carries_delivery_key(texts: Iterable[str | None], key: str) -> bool:
    """Whether one of a message's texts (its content, its embeds' footers) ends with the delivery
    `key`, where render_discord_alert and render_discord_plain_alert put it."""
    return any(text.split()[-1:] == [key] for text in texts if text)


PLAIN_FOOTER_MAX = 300


def render_discord_plain_alert(alert: Alert, key: str) -> str:
    """The alert as plain message content, for when Discord refuses its embed: the headline in bold,
    the link (in <>, so no preview card), and the footer as subtext, delivery key last."""
    lines = [f"**{fit(alert.item.title or '(untitled)', TITLE_MAX, escape_discord)}**"]
    url = safe_url(alert.item.link)
    if url and len(url) <= CONTENT_MAX - TITLE_MAX * 2 - PLAIN_FOOTER_MAX - 20:
        lines.append(f"<{url}>")
    lines.append("-# " + _footer(alert, key, PLAIN_FOOTER_MAX))
    return "\n".join(lines)


ALSO_REPORTED = "Also reported by"


def render_discord_update(
    alert: Alert, rule_colors: Mapping[str, int] | None = None, key: str | None = None
) -> discord.Embed:
    """The original alert's embed plus an "Also reported by" field listing every later copy.

    The list is cut to the field's 1,024 characters; copies that do not fit are counted in a
    closing "… and N more" line. When the alert already fills most of the embed's 6,000
    characters, its summary is shortened to make room for the list.
    """
    embed = render_discord_alert(alert, rule_colors, key)
    if not alert.also_reported:
        return embed
    value = _copies_list(alert.also_reported, FIELD_VALUE_MAX)
    summary = alert.item.summary
    while summary and len(embed) + len(ALSO_REPORTED) + len(value) > EMBED_TOTAL_MAX:
        overflow = len(embed) + len(ALSO_REPORTED) + len(value) - EMBED_TOTAL_MAX
        summary = truncate(summary, max(0, len(summary) - overflow - 20))
        shorter = replace(alert, item=replace(alert.item, summary=summary))
        embed = render_discord_alert(shorter, rule_colors, key)
    embed.add_field(name=ALSO_REPORTED, value=value, inline=False)
    return embed


def _copies_list(copies: tuple[ReportedCopy, ...], room: int) -> str:
    lines: list[str] = []
    used = 0
    for index, copy in enumerate(copies):
        line = _copy_line(copy)
        after = len(copies) - index - 1
        reserve = len(f"… and {after} more") + 1 if after else 0
        if used + len(line) + 1 + reserve > room:
            lines.append(f"… and {after + 1} more")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def _copy_line(copy: ReportedCopy) -> str:
    """ "Reuters: [headline](link)", each part escaped and cut so one copy never fills the field.
    The outlet is the copy's source, else its link's host, as on Slack."""
    source = fit(outlet_of(copy) or "another outlet", 80, escape_discord)
    title = fit(copy.title or "(untitled)", 200, escape_discord)
    url = safe_url(copy.link)
    return f"{source}: [{title}]({_link_target(url)})" if url else f"{source}: {title}"


def render_discord_notice(text: str) -> str:
    """An operator notice as message content: escaped plain text, so it cannot ping anyone."""
    return fit(text.strip() or "(empty notice)", CONTENT_MAX, escape_discord)


def render_discord_reply(reply: Reply) -> list[discord.Embed]:
    """A command reply as embeds: title, lines and entries in the description, fields, footer.

    Usually one embed; more only when there are over 25 fields. Everything stays within the
    per-part limits, 10 embeds and 6,000 characters in all; what does not fit is counted in
    an "… and N more" line rather than silently dropped.
    """
    color = ERROR_COLOR if reply.is_error else DEFAULT_COLOR
    first = discord.Embed(title=fit(reply.title or "News", TITLE_MAX, escape_discord), color=color)
    footer = fit(reply.footer, FOOTER_MAX // 4, escape_discord) if reply.footer else ""
    budget = EMBED_TOTAL_MAX - len(first.title or "") - len(footer)
    # Fields get a share only when there are fields, so descriptions use the whole room otherwise.
    field_reserve = min(len(reply.fields), FIELDS_MAX * 2) * 60
    description = _description(reply, min(DESCRIPTION_MAX, max(0, budget - field_reserve)))
    if description:
        first.description = description
    budget -= len(description)

    embeds = [first]
    current = first
    skipped = 0
    for field in reply.fields:
        if len(current.fields) == FIELDS_MAX:
            if len(embeds) == EMBEDS_MAX:
                skipped += 1
                continue
            current = discord.Embed(color=color)
            embeds.append(current)
        room = min(FIELD_VALUE_MAX, budget - 40 - min(len(field.name), FIELD_NAME_MAX))  # 40: the note
        if room < 20:  # nothing useful fits any more; skip without the cost of cutting
            skipped += 1
            continue
        name = fit(field.name or "-", FIELD_NAME_MAX, escape_discord) or "-"
        value = fit(field.value or "-", min(room, FIELD_VALUE_MAX), escape_discord) or "-"
        if len(name) + len(value) > budget - 40:  # escaping lengthened the name
            skipped += 1
            continue
        current.add_field(name=name, value=value, inline=len(value) <= 40)
        budget -= len(name) + len(value)
    if skipped:
        note = f" · {skipped} more not shown"
        footer = footer + note if footer else note.lstrip(" ·")
    if footer:
        embeds[-1].set_footer(text=footer)
    return embeds


def _description(reply: Reply, room: int) -> str:
    """Lines then entries, cut to `room` characters; entries that do not fit are counted."""
    parts: list[str] = []
    used = 0
    for line in reply.lines:
        piece = escape_discord(line)
        if used + len(piece) + 1 > room:
            parts.append(fit(line, max(0, room - used - 1), escape_discord))
            return "\n".join(p for p in parts if p)
        parts.append(piece)
        used += len(piece) + 1
    for index, entry in enumerate(reply.entries):
        piece = _entry(entry)
        after = len(reply.entries) - index - 1
        # Keep room for the "and N more" note whenever entries would remain after this one.
        reserve = len(f"… and {after} more") + 1 if after else 0
        if used + len(piece) + 1 + reserve > room:
            more = f"… and {after + 1} more"
            if used + len(more) + 1 <= room:
                parts.append(more)
            break
        parts.append(piece)
        used += len(piece) + 1
    return "\n".join(parts)


def _entry(entry: ReplyEntry) -> str:
    """One entry: bold title (a link when the URL is http/https), then meta and text."""
    title = fit(entry.title or "(untitled)", TITLE_MAX, escape_discord)
    url = safe_url(entry.url)
    head = f"**[{title}]({_link_target(url)})**" if url else f"**{title}**"
    tail = " — ".join(p for p in (entry.meta, truncate(entry.text, _ENTRY_TEXT_MAX)) if p)
    return f"{head}\n{escape_discord(tail)}" if tail else head


def _link_target(url: str) -> str:
    """Percent-encode the characters that would end a markdown link target early."""
    return quote(url, safe=":/?#@!$&'*+,;=%-._~[]")
