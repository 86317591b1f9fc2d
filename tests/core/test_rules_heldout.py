"""The held-out checks of the shipped rules, on items written by authors who never saw the rules
and never used to tune them (only their aggregate figures are printed, never the misses):

- heldout_items.jsonl: 490 items (225 about the story, 265 hard negatives: passing mentions, other
  things called Prometheus, other Bezos news, other funds and industrial AI, in nine languages).
  The first 40 (h1-h20, n1-n20) predate the rest and carry no `kind`.
- heldout_items_2.jsonl: 245 items (122 relevant, 123 hard negatives, 56 relevant in the eight
  other languages), written later by another author, committed before the rule changes measured
  against it.
- heldout_items_3.jsonl: 240 items (120 relevant, 40 of them in nine other languages; 60 hard
  negatives), written by an author who saw neither the rules nor any other labelled set, and
  committed before it was first measured. Its first reading, once, for the rules before and after
  the fourth development set's changes: precision 0.882 -> 0.954, recall 0.875 -> 0.858. Neither
  meets the target (precision 0.97, recall 0.95): these are the honest figures for news the rules
  were not written beside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.core.test_rules_precision import load_default_rules
from tests.paths import DATA

HELD_OUT = DATA / "heldout_items.jsonl"
HELD_OUT_2 = DATA / "heldout_items_2.jsonl"
HELD_OUT_3 = DATA / "heldout_items_3.jsonl"
MIN_PRECISION = 0.97
# The target is recall >= 0.95; the rules measure 0.947 on the first set (precision 1.000),
# so the target is NOT met there: this floor only keeps the figure from sliding back. Before the
# nine-language rewrite: P 0.660, R 0.707; after it: P 1.000, R 0.933.
MIN_RECALL = 0.94


def test_held_out_set_is_large_and_covers_the_kinds() -> None:
    items = [json.loads(line) for line in HELD_OUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    kinds = {item.get("kind") for item in items}
    assert len(items) >= 450 and len({item["id"] for item in items}) == len(items)
    assert {"relevant-foreign", "relevant-fund-no-word-fund", "passing-mention", "other-prometheus"} <= kinds
    second = [
        json.loads(line) for line in HELD_OUT_2.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    assert len(second) >= 240 and len(
        {item["id"] for item in second} | {item["id"] for item in items}
    ) == len(items) + len(second)
    assert sum(item["kind"] == "relevant-foreign" for item in second) >= 50


@pytest.mark.parametrize(
    ("path", "min_precision", "min_recall"),
    # The second set measured recall 0.975 before any rule change made after it was written. The
    # third set's floors sit under its measured 0.954 / 0.858: the target is NOT met there.
    [(HELD_OUT, MIN_PRECISION, MIN_RECALL), (HELD_OUT_2, MIN_PRECISION, 0.95), (HELD_OUT_3, 0.94, 0.85)],
    ids=["heldout-1", "heldout-2", "heldout-3"],
)
def test_default_rules_hold_their_precision_and_recall_on_items_they_were_not_tuned_on(
    path: Path, min_precision: float, min_recall: float
) -> None:
    ruleset = load_default_rules()
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    verdicts = [(item, bool(ruleset.match(item["title"], item["summary"]))) for item in items]
    true_positives = sum(1 for item, matched in verdicts if matched and item["relevant"])
    false_positives = sum(1 for item, matched in verdicts if matched and not item["relevant"])
    missed = sum(1 for item, matched in verdicts if not matched and item["relevant"])
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / (true_positives + missed)
    print(f"{path.name}: precision {precision:.3f}, recall {recall:.3f} on {len(items)} items")
    # Only the figures are reported: the misses are not listed, so nobody tunes a rule to them.
    assert precision >= min_precision and recall >= min_recall, (
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
