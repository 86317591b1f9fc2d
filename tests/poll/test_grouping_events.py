"""Story grouping measured on labelled events, through the `group` command's core (the pipeline's
own grouping on a throw-away database).

tests/data/grouping_dev.jsonl was written to develop the method; tests/data/grouping_heldout.jsonl was
written by another author who saw neither the method nor the development set, and is only measured.
Targets (docs/grouping.md, "Measured"): pairwise precision >= 0.99 and no hidden event (an event all
of whose reports were filed under another event's alert) are met and enforced. The recall target of
0.85 is NOT met (dev 0.618, held-out 0.663 with the sentence encoder; mostly reports in other
languages and paraphrases that share no names): the floors below only keep it from sliding back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from bot.poll.embedder import story_embedder
from bot.poll.grouping import group_jsonl
from bot.store import open_database
from tests.grouping_metrics import evaluate, load, run_group
from tests.paths import DATA, ROOT

DEV = DATA / "grouping_dev.jsonl"
HELD_OUT = DATA / "grouping_heldout.jsonl"
MIN_PRECISION = 0.99
# Floors against sliding back: words only (the default; 0.574 / 0.610 measured) and with the optional
# sentence encoder (story_embeddings: true; 0.615 / 0.663 measured).
MIN_RECALL = {("dev", False): 0.55, ("heldout", False): 0.6, ("dev", True): 0.6, ("heldout", True): 0.64}


@pytest.mark.parametrize("path", [DEV, HELD_OUT], ids=["dev", "heldout"])
def test_the_labelled_sets_are_large_and_hard(path: Path) -> None:
    reports = load(path)
    events = Counter(r["event"] for r in reports)
    assert len({r["id"] for r in reports}) == len(reports)
    assert [r["published"] for r in reports] == sorted(r["published"] for r in reports)
    assert Counter(r["variant"] for r in reports)["translation"] >= 10
    assert sum(1 for r in reports if r["variant"] == "first" and r.get("related")) >= 20
    if path == DEV:
        assert len(events) >= 120 and len(reports) >= 300


@pytest.mark.parametrize("embeddings", [False, True], ids=["words", "embeddings"])
@pytest.mark.parametrize(("split", "path"), [("dev", DEV), ("heldout", HELD_OUT)])
def test_grouping_hides_no_event_and_never_merges_two(split: str, path: Path, embeddings: bool) -> None:
    if embeddings and story_embedder() is None:
        pytest.skip("the sentence encoder is not installed (requirements-embed.txt)")
    result = evaluate(path, embeddings=embeddings)
    print(f"\n{split}: {result.line()}")
    assert result.precision >= MIN_PRECISION, result.false_merges[:10]
    assert not result.hidden_events
    assert result.recall >= MIN_RECALL[split, embeddings]


def test_bad_lines_get_an_error_line_and_the_stream_goes_on() -> None:
    lines = ['{"title": "no id"}', "[1, 2]", '{"id": "x", "title": "Fine", "published": "last Tuesday"}',
             '{"id": "y", "title": "Bezos startup Prometheus buys Kessler", "published": "2026-01-01T10:00:00Z"}']  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        db = open_database(Path(scratch) / "g.db")
        out = [json.loads(line) for line in group_jsonl(lines, db)]
        db.conn.close()
    assert [row.get("error", "").split(": ", 1)[-1] for row in out[:3]] == [
        '"id" is missing or not a string or number',
        "expected a JSON object",
        '"published" is not an ISO 8601 time',
    ]
    assert out[3]["id"] == "y" and out[3]["story"]


@pytest.mark.slow
def test_group_command_reads_json_lines_and_names_one_story_per_event() -> None:
    """The real command line, on reports of two events about the company and one copy."""
    reports = [
        {"id": "a", "title": "Bezos's Project Prometheus, co-led by Vik Bajaj, opens Munich office to court"
         " German automakers", "summary": "", "link": "https://a.example/1", "source": "Reuters",
         "published": "2026-03-02T09:00:00Z"},
        {"id": "b", "title": "Bezos's Project Prometheus, co-led by Vik Bajaj, buys stake in Japanese machine"
         " tool company Okuma", "summary": "", "link": "https://b.example/2", "source": "Reuters",
         "published": "2026-03-02T10:00:00Z"},
        {"id": "c", "title": "Jeff Bezos AI venture takes stake in Japan's Okuma, a machine tool maker",
         "summary": "", "link": "https://c.example/3", "source": "Nikkei Asia",
         "published": "2026-03-02T12:00:00Z"},
    ]  # fmt: skip
    lines = "\n".join(json.dumps(r) for r in reports) + "\nnot json\n"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "group"], input=lines, capture_output=True, text=True, cwd=ROOT,
        check=True, env={"PATH": "", "BOT_CONFIG": str(ROOT / "config")},
    )  # fmt: skip
    out = [json.loads(line) for line in done.stdout.splitlines()]
    stories = {row["id"]: row["story"] for row in out if "story" in row}
    assert stories["a"] != stories["b"] and stories["b"] == stories["c"]
    assert out[-1]["id"] is None and "not valid JSON" in out[-1]["error"]


def test_explain_names_the_shared_event_terms_and_the_scores() -> None:
    event = _an_event_with_copies()
    reports = [r for r in load(DEV) if r["event"] == event][:2]
    rows = run_group(reports, explain=True)
    second = rows[reports[1]["id"]]
    assert second["joined"] is not None
    chosen = next(c for c in second["candidates"] if c["item"] == second["joined"])
    assert chosen["same"] and chosen["shared"] and 0 < chosen["score"] <= 1


def _an_event_with_copies() -> str:
    result = run_group(load(DEV))
    counts = Counter(row["story"] for row in result.values())
    story = next(s for s, n in counts.most_common() if n >= 2)
    first = next(rid for rid, row in result.items() if row["story"] == story)
    return str(next(r["event"] for r in load(DEV) if r["id"] == first))
