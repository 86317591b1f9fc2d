"""Items per second for the default rules (config/rules.yaml) on one core. Run by hand:

    python bench/bench_match.py [--items 50000]

Matches the labelled set (tests/data/labelled_items.jsonl) repeated to about --items items with
RuleSet.match, the same call the poll cycle makes, and prints the rate. The target is 20,000/s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_config
from bot.core.rules import RuleSet, RuleSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds; the best is reported")
    args = parser.parse_args()

    config = load_config(ROOT / "config")  # the shipped rules and the named lists they use
    ruleset = RuleSet.compile([RuleSpec(r.name, r.query, r.enabled) for r in config.rules], config.rule_lists)
    lines = (ROOT / "tests" / "data" / "labelled_items.jsonl").read_text(encoding="utf-8").splitlines()
    labelled = [json.loads(line) for line in lines if line.strip()]
    items = [(i["title"], i["summary"]) for i in labelled] * (args.items // len(labelled) + 1)
    items = items[: args.items]

    best = 0.0
    for _ in range(args.rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        matched = sum(1 for title, summary in items if ruleset.match(title, summary))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        best = max(best, len(items) / cpu)
        print(
            f"{len(items)} items: {len(items) / cpu:,.0f} items/s of CPU time "
            f"({len(items) / wall:,.0f}/s wall clock), {matched} matched"
        )
    # CPU time, not wall time: other processes on a shared machine would otherwise set the figure.
    print(f"best: {best:,.0f} items/s on one core with {len(ruleset.names)} rules (target 20,000)")


if __name__ == "__main__":
    main()
