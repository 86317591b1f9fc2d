"""Who else reported a story: the outlet names every "also reported by" shows (pure, plain text).

Shared by Slack, Discord and the console so the three name a copy the same way; each renderer
escapes the result for its platform.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.links import http_url_parts
from bot.core.model import ReportedCopy

SHOWN_OUTLETS = 5  # outlets named in a one-line list; the rest are counted ("and 3 more")


def outlet_of(copy: ReportedCopy) -> str:
    """The copy's source, else its link's host ("reuters.com"), else "" when neither is known."""
    source = " ".join(copy.source.split())
    if source:
        return source
    parts = http_url_parts(copy.link)
    host = parts.hostname if parts else None
    return host.removeprefix("www.") if host else ""


def outlet_names(copies: Iterable[ReportedCopy]) -> list[str]:
    """Each known outlet once (case-insensitively), in the order the copies arrived."""
    names: dict[str, str] = {}
    for copy in copies:
        name = outlet_of(copy)
        if name:
            names.setdefault(name.casefold(), name)
    return list(names.values())


def outlets_line(copies: Iterable[ReportedCopy], shown: int = SHOWN_OUTLETS) -> str:
    """ "Reuters, Financial Times and 3 more": the first `shown` outlets, the rest counted; "" if none."""
    names = outlet_names(copies)
    if len(names) > shown:
        return f"{', '.join(names[:shown])} and {len(names) - shown} more"
    if len(names) > 1:
        return f"{', '.join(names[:-1])} and {names[-1]}"
    return "".join(names)
