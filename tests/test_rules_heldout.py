"""The held-out check of the shipped rules: 490 items (225 about the story, 265 hard negatives:
passing mentions, other things called Prometheus, other Bezos news, other funds and industrial AI,
in nine languages), written by authors who never saw the rules, and never used to tune them.
The first 40 (h1-h20, n1-n20) predate the rest and carry no `kind`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_rules_precision import load_default_rules

HELD_OUT = Path(__file__).resolve().parent / "data" / "heldout_items.jsonl"
MIN_PRECISION = 0.97
# The target is recall >= 0.95; the rules measure 0.947 here (precision 1.000), so the
# target is NOT met: this floor only keeps the figure from sliding back. Before the nine-language
# rewrite: P 0.660, R 0.707; after it: P 1.000, R 0.933.
MIN_RECALL = 0.94


def test_held_out_set_is_large_and_covers_the_kinds() -> None:
    items = [json.loads(line) for line in HELD_OUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    kinds = {item.get("kind") for item in items}
    assert len(items) >= 450 and len({item["id"] for item in items}) == len(items)
    assert {"relevant-foreign", "relevant-fund-no-word-fund", "passing-mention", "other-prometheus"} <= kinds


def test_default_rules_hold_their_precision_and_recall_on_items_they_were_not_tuned_on() -> None:
    ruleset = load_default_rules()
    items = [json.loads(line) for line in HELD_OUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    verdicts = [(item, bool(ruleset.match(item["title"], item["summary"]))) for item in items]
    true_positives = sum(1 for item, matched in verdicts if matched and item["relevant"])
    false_positives = sum(1 for item, matched in verdicts if matched and not item["relevant"])
    missed = sum(1 for item, matched in verdicts if not matched and item["relevant"])
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / (true_positives + missed)
    print(f"held-out: precision {precision:.3f}, recall {recall:.3f} on {len(items)} items")
    # Only the figures are reported: the misses are not listed, so nobody tunes a rule to them.
    assert precision >= MIN_PRECISION and recall >= MIN_RECALL, (
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
