"""Scoring a grouping against labelled events: pairwise precision and recall, and hidden events.

Used by tests/poll/test_grouping_events.py and by hand (`python -m tests.grouping_metrics FILE`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from bot.poll.grouping import group_jsonl
from bot.store import open_database


@dataclass(frozen=True)
class GroupingScore:
    reports: int
    events: int
    precision: float
    recall: float
    hidden_events: list[str]  # events all of whose reports went under another event's first report
    false_merges: list[tuple[str, str]]  # (report id, the report id it was grouped with)
    missed: list[tuple[str, str]]

    def line(self) -> str:
        return (
            f"{self.reports} reports, {self.events} events: pairwise precision {self.precision:.3f},"
            f" recall {self.recall:.3f}, hidden events {len(self.hidden_events)}"
        )


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_group(
    reports: list[dict[str, Any]], explain: bool = False, embeddings: bool = True
) -> dict[str, dict[str, Any]]:
    """Report id -> the `group` command's output line for it (through a throw-away database)."""
    with tempfile.TemporaryDirectory() as scratch:
        db = open_database(Path(scratch) / "group.db")
        lines = [json.dumps({k: r.get(k) for k in ("id", "title", "summary", "link", "source", "published")})
                 for r in reports]  # fmt: skip
        out = [json.loads(line) for line in group_jsonl(lines, db, explain=explain, embeddings=embeddings)]
        db.conn.close()
    return {row["id"]: row for row in out}


def score(reports: list[dict[str, Any]], stories: dict[str, str]) -> GroupingScore:
    event_of = {r["id"]: r["event"] for r in reports}
    ids = [r["id"] for r in reports]
    tp = fp = fn = 0
    false_merges, missed = [], []
    for a, b in combinations(ids, 2):
        same_event, same_story = event_of[a] == event_of[b], stories[a] == stories[b]
        if same_story and same_event:
            tp += 1
        elif same_story:
            fp += 1
            false_merges.append((b, a))
        elif same_event:
            fn += 1
            missed.append((b, a))
    first_report_of_story: dict[str, str] = {}
    for report_id in ids:  # in publication order: a story's first report is its alert
        first_report_of_story.setdefault(stories[report_id], report_id)
    by_event: dict[str, list[str]] = defaultdict(list)
    for report_id in ids:
        by_event[event_of[report_id]].append(report_id)
    hidden = [
        event
        for event, members in by_event.items()
        if all(event_of[first_report_of_story[stories[m]]] != event for m in members)
    ]
    return GroupingScore(
        reports=len(ids), events=len(by_event), precision=tp / ((tp + fp) or 1), recall=tp / ((tp + fn) or 1),
        hidden_events=hidden, false_merges=false_merges, missed=missed,
    )  # fmt: skip


def evaluate(path: Path, embeddings: bool = True) -> GroupingScore:
    reports = load(path)
    rows = run_group(reports, embeddings=embeddings)
    return score(reports, {rid: row["story"] for rid, row in rows.items()})


if __name__ == "__main__":
    for name in sys.argv[1:]:
        result = evaluate(Path(name))
        print(f"{name}: {result.line()}")
        if "-v" in sys.argv[1:] or True:
            reports = {r["id"]: r for r in load(Path(name))}
            for b, a in result.false_merges[:40]:
                print(
                    f"  FALSE MERGE {b} [{reports[b]['event']}] {reports[b]['title']!r}\n      with {a} [{reports[a]['event']}] {reports[a]['title']!r}"
                )
