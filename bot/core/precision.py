"""Per-rule precision from readers' "not relevant" feedback. Pure: callers pass the alerts and the
feedback of the period.

Precision here is the share of a rule's alerted items nobody marked "not relevant". Silence counts
as relevant, so it is an upper bound on the true precision, comparable from week to week.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class FlaggedExample:
    feedback_id: int
    item_id: str
    title: str
    user_id: str
    at: float
    link: str | None = None


@dataclass(frozen=True)
class RulePrecision:
    rule: str
    alerted: int  # distinct items the rule alerted on in the period
    flagged: int  # of those (or alerted before it), items someone marked "not relevant"
    examples: tuple[FlaggedExample, ...]  # newest first

    @property
    def precision(self) -> float | None:
        if self.alerted == 0:
            return None
        return max(0.0, 1.0 - self.flagged / self.alerted)


def precision_by_rule(
    alerted: Mapping[str, set[str]],
    flagged: Iterable[tuple[tuple[str, ...], FlaggedExample]],
    *,
    examples: int = 5,
) -> list[RulePrecision]:
    """One RulePrecision per rule that alerted or was flagged, worst first (then by name).

    `alerted` maps a rule to the item ids it alerted on; `flagged` gives each feedback with the rules
    that fired for its alert, newest first. An item flagged by several readers counts once.
    """
    items: dict[str, set[str]] = {}
    shown: dict[str, list[FlaggedExample]] = {}
    for rules, example in flagged:
        for rule in rules:
            items.setdefault(rule, set()).add(example.item_id)
            shown.setdefault(rule, []).append(example)
    report = [
        RulePrecision(
            rule=rule,
            alerted=max(len(alerted.get(rule, set())), len(items.get(rule, set()))),
            flagged=len(items.get(rule, set())),
            examples=tuple(shown.get(rule, [])[:examples]),
        )
        for rule in sorted(set(alerted) | set(items))
    ]
    return sorted(report, key=lambda r: (r.precision if r.precision is not None else 2.0, r.rule))
