"""Which channels an item goes to (pure): routes name rules; an item goes wherever a rule it matched goes.

A route is anything shaped like `Route`; bot.config's RouteConfig is one, so the core need not
import the YAML loader."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.model import RuleMatch


class Route(Protocol):
    """One route: the rules whose matches go to one platform's channel ("all" for every rule)."""

    @property
    def platform(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def rules(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class PlannedDelivery:
    platform: str
    channel: str
    rules: tuple[str, ...]
    terms: tuple[str, ...]


Reachable = Callable[[str, str], bool]  # (platform, channel) -> can an adapter deliver there now?


def plan_deliveries(
    matches: Sequence[RuleMatch], routes: Sequence[Route], reachable: Reachable
) -> list[PlannedDelivery]:
    """One delivery per (platform, channel) whose route takes any matched rule; none if no match.

    Routes that no connected adapter can reach (no token for that platform) are skipped: queueing
    for them would only build a backlog that floods the channel once a token is set.
    """
    if not matches:
        return []
    planned: dict[tuple[str, str], PlannedDelivery] = {}
    for route in routes:
        if not reachable(route.platform, route.channel):
            continue
        wanted = [m for m in matches if "all" in route.rules or m.rule in route.rules]
        if not wanted:
            continue
        key = (route.platform, route.channel)
        previous = planned.get(key)
        rules = _unique((previous.rules if previous else ()) + tuple(m.rule for m in wanted))
        terms = _unique((previous.terms if previous else ()) + tuple(t for m in wanted for t in m.terms))
        planned[key] = PlannedDelivery(route.platform, route.channel, rules, terms)
    return list(planned.values())


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
