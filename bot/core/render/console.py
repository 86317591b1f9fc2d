"""Plain-text rendering for the console adapter and the CLI (pure).

Terminal output is untrusted text too: control characters (ANSI escapes that could rewrite the
operator's screen) are removed.
"""

from __future__ import annotations

import re

from bot.core.model import Alert, Reply
from bot.core.render.copies import outlets_line
from bot.core.render.text import truncate

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    return _CONTROL.sub("", text)


def render_console_alert(alert: Alert) -> str:
    item = alert.item
    when = item.published.strftime("%Y-%m-%d %H:%M UTC") if item.published else "undated"
    source = item.source or alert.feed_name or item.feed_url
    lines = [
        f"[{', '.join(alert.rules)}] {clean(item.title)}",
        f"  {clean(source)} · {when}",
    ]
    if item.summary:
        lines.append(f"  {clean(truncate(item.summary, 300))}")
    if item.link:
        lines.append(f"  {clean(item.link)}")
    if alert.terms:
        lines.append(f"  matched: {', '.join(clean(t) for t in alert.terms)}")
    return "\n".join(lines)


def render_console_update(alert: Alert) -> str:
    """An "also reported by" line for a story already alerted on."""
    newest = alert.also_reported[-1] if alert.also_reported else None
    outlets = clean(outlets_line(alert.also_reported))
    lines = [f"[also reported] {clean(alert.item.title)}", f"  now also by: {outlets or 'another outlet'}"]
    if newest and newest.link:
        lines.append(f"  {clean(newest.link)}")
    return "\n".join(lines)


def render_console_reply(reply: Reply) -> str:
    lines = [("ERROR: " if reply.is_error else "") + clean(reply.title)]
    lines += [clean(line) for line in reply.lines]
    for entry in reply.entries:
        lines.append(f"- {clean(entry.title)}")
        if entry.meta:
            lines.append(f"  {clean(entry.meta)}")
        if entry.text:
            lines.append(f"  {clean(entry.text)}")
        if entry.url:
            lines.append(f"  {clean(entry.url)}")
    lines += [f"{clean(f.name)}: {clean(f.value)}" for f in reply.fields]
    if reply.footer:
        lines.append(clean(reply.footer))
    return "\n".join(lines)
