"""The shipped rules (config/rules.yaml) against the three labelled development sets: precision >= 0.97
and recall >= 0.95 on each. labelled_items.jsonl is the set the rules were first written beside;
labelled_items_more.jsonl (223 items, about half relevant) and labelled_items_3.jsonl (215 items,
108 relevant) were each written before their author read the rules, and only then used to improve
them. Run with -s for the report of misses and false alarms.
(The held-out set is checked separately, by tests/core/test_rules_heldout.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_config
from bot.core.rules import RuleSet, RuleSpec
from tests.paths import DATA, ROOT

LABELLED = DATA / "labelled_items.jsonl"
LABELLED_MORE = DATA / "labelled_items_more.jsonl"
LABELLED_3 = DATA / "labelled_items_3.jsonl"
# Written blind to the rules by another author (220 items, 110 relevant); first measured P 0.840
# R 0.809, and the rules have since been improved on it by general changes only.
LABELLED_4 = DATA / "labelled_items_4.jsonl"
# Likewise (220 items, 110 relevant, blind to the rules and to sets 1-4); first measured P 0.953
# R 0.918, then improved on by general changes only.
LABELLED_5 = DATA / "labelled_items_5.jsonl"
RULES = ROOT / "config" / "rules.yaml"
PRECISION = 0.97
RECALL = 0.95


def load_default_rules() -> RuleSet:
    """The shipped rules, read as the bot reads them (rules.yaml's rules and their @lists)."""
    config = load_config(RULES.parent)
    specs = [
        RuleSpec(name=r.name, query=r.query, enabled=r.enabled, description=r.description, color=r.color)
        for r in config.rules
    ]
    return RuleSet.compile(specs, config.rule_lists)


def load_labelled(path: Path = LABELLED) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def test_labelled_set_is_large_and_about_a_third_relevant() -> None:
    items = load_labelled()
    relevant = sum(item["relevant"] for item in items)
    assert len(items) >= 300
    assert 0.25 <= relevant / len(items) <= 0.4
    assert len({item["id"] for item in items}) == len(items)
    assert all(item["kind"].startswith("relevant") == item["relevant"] for item in items)


@pytest.mark.parametrize(
    "path", [LABELLED_MORE, LABELLED_3, LABELLED_4, LABELLED_5], ids=lambda path: path.name
)
def test_later_development_sets_are_large_and_about_half_relevant(path: Path) -> None:
    items = load_labelled(path)
    relevant = sum(item["relevant"] for item in items)
    assert len(items) >= 200
    assert 0.4 <= relevant / len(items) <= 0.6
    assert len({item["id"] for item in items}) == len(items)
    assert all(item["kind"].startswith("relevant") == item["relevant"] for item in items)


@pytest.mark.parametrize(
    "path", [LABELLED, LABELLED_MORE, LABELLED_3, LABELLED_5], ids=lambda path: path.name
)
def test_default_rules_reach_precision_and_recall_of_95_percent(path: Path) -> None:
    ruleset = load_default_rules()
    misses, false_alarms, hits = [], [], 0
    for item in load_labelled(path):
        matched = ruleset.match(item["title"], item["summary"])
        if matched and item["relevant"]:
            hits += 1
        elif matched:
            fired = ", ".join(f"{m.rule}{list(m.terms)}" for m in matched)
            false_alarms.append(f"  {item['id']} [{item['kind']}] {item['title']}  <- {fired}")
        elif item["relevant"]:
            misses.append(f"  {item['id']} [{item['kind']}] {item['title']}")
    precision = hits / ((hits + len(false_alarms)) or 1)
    recall = hits / ((hits + len(misses)) or 1)
    print(f"\nprecision {precision:.3f}  recall {recall:.3f}  ({hits} true positives)")
    report = "\n".join(["false positives:", *false_alarms, "missed:", *misses])
    print(report)
    if precision < PRECISION or recall < RECALL:
        pytest.fail(
            f"precision {precision:.3f}, recall {recall:.3f} (need {PRECISION} and {RECALL})\n{report}"
        )


# The fourth set does NOT reach the target yet (measured P 0.960, R 0.864): these floors keep the
# figures from sliding back. What it still misses is listed by `pytest -s` on this test.
DEV_4_PRECISION, DEV_4_RECALL = 0.95, 0.85


def test_default_rules_on_the_fourth_development_set_do_not_slide_back() -> None:
    ruleset = load_default_rules()
    outcomes = [(bool(ruleset.match(i["title"], i["summary"])), i) for i in load_labelled(LABELLED_4)]
    hits = sum(1 for matched, item in outcomes if matched and item["relevant"])
    fired = sum(1 for matched, _ in outcomes if matched)
    relevant = sum(1 for _, item in outcomes if item["relevant"])
    for matched, item in outcomes:
        if matched != item["relevant"]:
            print(f"  {'false alarm' if matched else 'missed'} {item['id']} [{item['kind']}] {item['title']}")
    precision, recall = hits / (fired or 1), hits / (relevant or 1)
    print(f"precision {precision:.3f} recall {recall:.3f}")
    assert precision >= DEV_4_PRECISION and recall >= DEV_4_RECALL, (precision, recall)
