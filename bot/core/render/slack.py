"""Render alerts and command replies as Slack Block Kit payloads. Pure: no I/O, no clock.

Everything that reaches Slack from a feed or from a reply is untrusted plain text and goes
through `escape_slack` (or `_bold_terms`, which escapes piece by piece), so no text can produce
`<!channel>`, `<!here>`, `<!everyone>`, a user or group mention, or a link of its choosing.

Slack's limits, kept whatever the input: 40,000 characters of top-level text, 50 blocks,
3,000 characters per section text, 150 per header, 10 fields of 2,000 per section, 10 context
elements. Long text is cut at a sentence or word boundary (bot.core.render.text) before the
escaped form is measured, so an escape sequence is never split.

mrkdwn has no escape for * _ ~ and `. We replace them with look-alike characters
(∗ ˍ ∼ ˋ) rather than inserting zero-width spaces: a replaced character cannot start or end
formatting under any parsing rule, whereas whether a zero-width space breaks a marker depends
on Slack's word-boundary rules, which are undocumented. The cost: copied text carries the
look-alikes (e.g. `snake_case` copies as `snakeˍcase`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from bot.core.links import http_url_parts
from bot.core.model import Alert, Reply, ReplyEntry
from bot.core.render.copies import outlet_of, outlets_line
from bot.core.render.text import fit, highlight, terms_pattern, truncate

TEXT_LIMIT = 40_000
BLOCK_LIMIT = 50
SECTION_LIMIT = 3_000
HEADER_LIMIT = 150
FIELD_LIMIT = 2_000
FIELDS_PER_SECTION = 10
CONTEXT_LIMIT = 3_000  # per context element text

HEADLINE_LIMIT = 300  # a headline longer than this is noise, whatever Slack allows
FALLBACK_LIMIT = 1_000  # notification text: a line, not an essay
URL_LIMIT = 2_000

_MARKUP = str.maketrans({"*": "∗", "_": "ˍ", "~": "∼", "`": "ˋ"})
# Plain "@here" is not a mention in verbatim text, but a zero-width space after "@" keeps it
# inert even if a text object ever loses verbatim, or a client auto-parses.
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
# plain_text shows text literally and parses no mentions; angle brackets still become
# look-alikes there so no text that resembles Slack markup ever leaves this module.
_PLAIN_ANGLES = str.maketrans({"<": "‹", ">": "›"})

Block = dict[str, Any]


def escape_slack(text: str) -> str:
    """Make untrusted plain text safe and literal inside Slack mrkdwn.

    Escapes &, < and > (so no `<!channel>`, `<@U..>` or `<url|label>` can form), replaces the
    formatting characters * _ ~ ` with look-alikes, and breaks up @here/@channel/@everyone.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.translate(_MARKUP)
    return _BROADCAST.sub("@\u200b", text)


def safe_url(url: str | None) -> str | None:
    """Return `url` fit for the URL half of `<url|label>`, or None if it must not be linked.

    Only absolute http(s) URLs pass. `|`, `<`, `>`, quotes and whitespace are percent-encoded
    so the URL cannot end the link early or smuggle in a label; `&` is entity-escaped as Slack
    asks.
    """
    if http_url_parts(url) is None:
        return None
    assert url is not None
    url = url.strip()
    # Keep every character a URL legitimately uses, except the ones that break Slack's syntax.
    encoded = quote(url, safe="!#$%&'()*+,-./:;=?@[]~_")
    if len(encoded) > URL_LIMIT:
        return None
    return encoded.replace("&", "&amp;")


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _link(url: str | None, label: str) -> str:
    """An escaped mrkdwn link, or just the escaped label when the URL is unusable."""
    target = safe_url(url)
    return f"<{target}|{label}>" if target else label


def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    return terms_pattern(terms)


def _bold_terms(text: str, pattern: re.Pattern[str] | None) -> str:
    """Escape `text`, wrapping each word-bounded occurrence of a term in *bold*."""
    return highlight(text, pattern, escape_slack, lambda escaped: f"*{escaped}*")


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack must not auto-link names or parse mentions in text we did not write.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _format_time(when: datetime) -> str:
    """Slack's date token: shown in each reader's time zone, with a UTC fallback."""
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _source_label(alert: Alert) -> str:
    item = alert.item
    if item.source:
        return item.source
    if alert.feed_name:
        return alert.feed_name
    host = urlsplit(item.link or item.feed_url).hostname
    return host or ""


NOT_RELEVANT = "alert_not_relevant"  # action_id of the alert buttons (bot.deliver.adapters.slack_views)
MUTE_STORY = "alert_mute"


def alert_buttons(delivery_id: int) -> Block:
    """The actions block under an alert: "Not relevant" and "Mute this story", each carrying only
    the delivery id (the bot looks up the item, story, channel and rules itself)."""
    value = str(delivery_id)
    return {
        "type": "actions",
        "block_id": "alert_feedback",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Not relevant"},
                "action_id": NOT_RELEVANT,
                "value": value,
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Mute this story"},
                "action_id": MUTE_STORY,
                "value": value,
            },
        ],
    }


def render_slack_alert(alert: Alert, *, buttons: bool = False) -> dict[str, Any]:
    """Render one alert as `{"text": fallback, "blocks": [...]}` for chat.postMessage.

    Blocks: the headline linking to the story, a context line with source, time and the
    rules that fired, the summary with the matched terms in bold, and with `buttons` (where the
    app answers interactions) the "Not relevant" / "Mute this story" buttons.
    """
    item = alert.item
    title = _one_line(item.title) or "(untitled)"
    source = _one_line(_source_label(alert))

    # The link markup's length depends on the URL, so the headline gets what is left.
    link_room = len(safe_url(item.link) or "") + 8  # "*<" "|" ">*" and slack
    headline = fit(title, min(HEADLINE_LIMIT, SECTION_LIMIT - link_room), escape_slack)
    blocks: list[Block] = [_section(f"*{_link(item.link, headline)}*")]

    meta: list[str] = []
    if source:
        meta.append(fit(source, 200, escape_slack))
    if item.published is not None:
        meta.append(_format_time(item.published))
    if alert.rules:
        rules = ", ".join(alert.rules)
        meta.append("Rules: " + fit(rules, 500, escape_slack))
    if meta:
        blocks.append(_context(" · ".join(meta)))

    summary = _one_line(item.summary)
    if summary:
        pattern = _terms_pattern(alert.terms)
        blocks.append(_section(fit(summary, SECTION_LIMIT, lambda s: _bold_terms(s, pattern))))

    if buttons:
        blocks.append(alert_buttons(alert.delivery_id))
    fallback = f"{title} — {source}" if source else title
    return {"text": fit(fallback, FALLBACK_LIMIT, escape_slack), "blocks": blocks}


def _entry_text(entry: ReplyEntry) -> str:
    title = fit(_one_line(entry.title) or "(untitled)", HEADLINE_LIMIT, escape_slack)
    parts = [f"*{_link(entry.url, title)}*"]
    if entry.meta:
        parts.append(fit(_one_line(entry.meta), 300, escape_slack))
    used = sum(len(p) + 1 for p in parts)
    if entry.text:
        parts.append(fit(entry.text.strip(), SECTION_LIMIT - used, escape_slack))
    return "\n".join(parts)


def _chunks(lines: tuple[str, ...], limit: int) -> list[str]:
    """Group escaped lines into section texts of at most `limit` characters each."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        escaped = fit(line, limit, escape_slack)
        if current and len(current) + 1 + len(escaped) > limit:
            chunks.append(current)
            current = escaped
        else:
            current = f"{current}\n{escaped}" if current else escaped
    if current:
        chunks.append(current)
    return chunks


def render_slack_reply(reply: Reply) -> dict[str, Any]:
    """Render a command reply as `{"text", "blocks", "response_type"}` for respond().

    Entries beyond what 50 blocks can hold are counted in a closing "and N more" line
    rather than dropped silently.
    """
    title = _one_line(reply.title) or "Reply"
    if reply.is_error:
        title = f"⚠️ {title}"
    header = truncate(title, HEADER_LIMIT).translate(_PLAIN_ANGLES)
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": header}}]
    # Keep room for the footer and an "and N more" line.
    budget = BLOCK_LIMIT - len(blocks) - (1 if reply.footer else 0) - 1

    for chunk in _chunks(reply.lines, SECTION_LIMIT):
        if budget <= 0:
            break
        blocks.append(_section(chunk))
        budget -= 1

    fields: list[dict[str, Any]] = []
    for f in reply.fields:
        name = f"*{fit(_one_line(f.name), 200, escape_slack)}*"
        value = fit(f.value, FIELD_LIMIT - len(name) - 1, escape_slack)
        fields.append(_mrkdwn(f"{name}\n{value}"))
    for start in range(0, len(fields), FIELDS_PER_SECTION):
        if budget <= 0:
            break
        blocks.append({"type": "section", "fields": fields[start : start + FIELDS_PER_SECTION]})
        budget -= 1

    shown = 0
    for entry in reply.entries:
        if budget <= 0:
            break
        blocks.append(_section(_entry_text(entry)))
        budget -= 1
        shown += 1
    if shown < len(reply.entries):
        blocks.append(_context(f"…and {len(reply.entries) - shown} more"))

    if reply.footer:
        blocks.append(_context(fit(reply.footer, CONTEXT_LIMIT, escape_slack)))

    plain = "\n".join((title, *reply.lines))
    return {
        "text": fit(plain, FALLBACK_LIMIT, escape_slack),
        "blocks": blocks,
        "response_type": "ephemeral" if reply.ephemeral else "in_channel",
    }


NOTICE_LIMIT = 3_000


def render_slack_update(alert: Alert) -> dict[str, Any]:
    """Render "Also reported by <outlet>: <headline>" for the newest copy in `alert.also_reported`,
    as `{"text", "blocks"}` for a reply in the original alert's thread. The outlet is the copy's
    source, else its link's host."""
    copy = alert.also_reported[-1] if alert.also_reported else None
    source = outlet_of(copy) if copy else ""
    title = (_one_line(copy.title) if copy else "") or _one_line(alert.item.title) or "(untitled)"
    link = copy.link if copy else None
    who = fit(source, 200, escape_slack) if source else "another outlet"
    link_room = len(safe_url(link) or "") + 8
    headline = fit(title, min(HEADLINE_LIMIT, SECTION_LIMIT - link_room - len(who) - 40), escape_slack)
    block = _section(f"Also reported by *{who}*: {_link(link, headline)}")
    fallback = f"Also reported by {source or 'another outlet'}: {title}"
    return {"text": fit(fallback, FALLBACK_LIMIT, escape_slack), "blocks": [block]}


def render_slack_parent(alert: Alert, *, buttons: bool = False) -> dict[str, Any]:
    """The alert as first posted plus a context line naming every outlet in `alert.also_reported`
    ("Also reported by Reuters, AP and 3 more"), for chat.update of the alert message itself."""
    payload = render_slack_alert(alert)
    outlets = outlets_line(alert.also_reported)
    if outlets:
        line = fit(f"Also reported by {outlets}", CONTEXT_LIMIT, escape_slack)
        payload["blocks"].append(_context(line))
    if buttons:  # an edit replaces every block: the buttons are kept, under the outlets line
        payload["blocks"].append(alert_buttons(alert.delivery_id))
    return payload


def render_slack_notice(text: str) -> dict[str, Any]:
    """An operator notice as plain, escaped text (no mentions, no links of the text's making)."""
    body = fit(text.strip() or "(empty notice)", NOTICE_LIMIT, escape_slack)
    return {"text": body, "blocks": [_section(body)]}
