"""A second, held-out check of the shipped rules: 40 items (20 about the story, 20 hard negatives)
written by a different author after the rules were fixed, never used to tune them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_rules_precision import THRESHOLD, load_default_rules

HELD_OUT = Path(__file__).resolve().parent / "data" / "heldout_items.jsonl"


def test_default_rules_hold_their_precision_and_recall_on_items_they_were_not_tuned_on() -> None:
    ruleset = load_default_rules()
    items = [json.loads(line) for line in HELD_OUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    verdicts = [(item, bool(ruleset.match(item["title"], item["summary"]))) for item in items]
    true_positives = sum(1 for item, matched in verdicts if matched and item["relevant"])
    false_positives = [item["title"] for item, matched in verdicts if matched and not item["relevant"]]
    missed = [item["title"] for item, matched in verdicts if not matched and item["relevant"]]
    precision = true_positives / (true_positives + len(false_positives))
    recall = true_positives / (true_positives + len(missed))
    print(f"held-out: precision {precision:.3f}, recall {recall:.3f} on {len(items)} items")
    assert precision >= THRESHOLD, false_positives
    assert recall >= THRESHOLD, missed
