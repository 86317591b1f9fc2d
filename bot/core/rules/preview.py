"""What a rule would do before it is saved: the parse error with its position, or the stored items
of the last days it matches and the alerts it would stop. Pure: callers pass the items and alerts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.rules.ruleset import compile_query
from bot.errors import RuleError, pointer_at

HEADLINES = 5


@dataclass(frozen=True)
class PreviewItem:
    id: str
    title: str
    summary: str = ""
    link: str | None = None


@dataclass(frozen=True)
class PreviewAlert:
    """An alert already queued or sent, with the rules that fired for it."""

    delivery_id: int
    item: PreviewItem
    rules: tuple[str, ...]
    channel: str = ""


@dataclass(frozen=True)
class RulePreview:
    query: str
    error: str | None = None  # what was expected, when the query does not parse
    position: int | None = None  # 0-based character offset of the error
    pointer: str = ""  # the query around the error, with a caret line under it
    matched: int = 0  # stored items the rule matches
    scanned: int = 0  # stored items looked at
    headlines: tuple[PreviewItem, ...] = ()  # the first few it matches, newest first
    would_stop: tuple[PreviewAlert, ...] = ()  # alerts this rule alone sent and would not send now

    @property
    def ok(self) -> bool:
        return self.error is None


def preview_rule(
    name: str,
    query: str,
    *,
    enabled: bool,
    items: Sequence[PreviewItem],
    alerts: Sequence[PreviewAlert],
    headlines: int = HEADLINES,
    lists: Mapping[str, str] | None = None,
) -> RulePreview:
    """The preview of rule `name` with `query` (`enabled` or not) over `items` (newest first).

    An alert counts as stopped when `name` fired for it, no other rule did, and the new query
    (or the rule being disabled) would not fire for its item now.
    """
    try:
        compiled = compile_query(query, lists)
    except RuleError as error:
        return RulePreview(
            query=query,
            error=error.expected,
            position=error.position,
            pointer=pointer_at(query, error.position),
        )
    hits = [item for item in items if compiled.matches(item.title, item.summary)]
    stopped = tuple(
        alert
        for alert in alerts
        if name in alert.rules
        and set(alert.rules) == {name}
        and not (enabled and compiled.matches(alert.item.title, alert.item.summary))
    )
    return RulePreview(
        query=query,
        matched=len(hits),
        scanned=len(items),
        headlines=tuple(hits[:headlines]),
        would_stop=stopped,
    )
