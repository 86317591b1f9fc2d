"""The command line as operators use it: real subprocesses, a local feed server, a temp database."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.ops.metrics import Snapshot, render_metrics_from_file
from tests.fakes.feed_server import rss

pytestmark = pytest.mark.slow  # every test here runs `python -m bot` in a subprocess


def bot_env(config_dir, db: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(BOT_CONFIG=str(config_dir.path), BOT_DB=str(db), PYTHONUNBUFFERED="1")
    return env


async def run_bot(*args: str, env: dict[str, str], stdin: bytes | None = None, limit: float = 60):  # type: ignore[no-untyped-def]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), limit)
    return process.returncode, out.decode(), err.decode()


def fresh_items() -> list[dict[str, str]]:
    when = format_datetime(datetime.now(UTC) - timedelta(minutes=10))
    return [
        {
            "title": "Bezos and Vik Bajaj’s Project Prometheus buys an aerospace supplier",
            "guid": "p1",
            "link": "https://news.example.com/p1",
            "pubDate": when,
            "description": "The $100 billion fund's first deal.",
        },
        {
            "title": "Prometheus 3.0 released with PromQL improvements",
            "guid": "m1",
            "link": "https://news.example.com/m1",
            "pubDate": when,
            "description": "Grafana dashboards updated.",
        },
    ]


async def test_match_reads_json_lines_and_writes_verdicts(config_dir, tmp_path):
    config_dir.write()
    lines = [
        {"id": "a", "title": "Project Prometheus hires", "summary": "", "link": "https://x/a"},
        {"id": "b", "title": "Grafana adds Prometheus exporters", "summary": "monitoring"},
    ]
    stdin = ("\n".join(json.dumps(line) for line in lines) + "\nnot json\n").encode()
    code, out, err = await run_bot("match", env=bot_env(config_dir, tmp_path / "db.sqlite"), stdin=stdin)
    assert code == 0, err
    results = [json.loads(line) for line in out.splitlines()]
    assert results[0]["id"] == "a" and results[0]["matched"] is True and "prometheus" in results[0]["rules"]
    assert results[1] == {"id": "b", "matched": False, "rules": [], "terms": []}
    assert "error" in results[2]


async def test_poll_once_dry_run_prints_alerts_and_changes_nothing(feed_server, config_dir, tmp_path):
    url = feed_server.serve("/feed.xml", rss(fresh_items()))
    config_dir.write(
        feeds=[{"url": url}], settings={"backlog": {"mode": "newest", "count": 5, "hours": "24h"}}
    )
    db = tmp_path / "bot.db"
    code, out, err = await run_bot("poll", "--once", "--dry-run", env=bot_env(config_dir, db))
    assert code == 0, err
    assert "aerospace supplier" in out and "PromQL" not in out
    assert not db.exists()

    code, out, err = await run_bot("poll", "--once", env=bot_env(config_dir, db))
    assert code == 0 and "aerospace supplier" in out
    code, out, err = await run_bot("poll", "--once", env=bot_env(config_dir, db))
    assert "aerospace supplier" not in out  # posted once, ever

    code, out, err = await run_bot("status", env=bot_env(config_dir, db))
    assert code == 0 and "1 feeds, 0 failing" in out


async def test_run_posts_to_the_console_and_stops_cleanly_on_sigterm(feed_server, config_dir, tmp_path):
    url = feed_server.serve("/feed.xml", rss(fresh_items()))
    config_dir.write(
        feeds=[{"url": url}], settings={"backlog": {"mode": "newest", "count": 5, "hours": "24h"}}
    )
    db = tmp_path / "bot.db"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=bot_env(config_dir, db),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    assert b"aerospace supplier" in line
    process.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(process.wait(), 20)
    assert code == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status, message_ref FROM deliveries").fetchall() == [
            ("sent", "console:1")
        ]


async def test_poll_once_exits_non_zero_when_every_feed_fails(config_dir, tmp_path):
    config_dir.write(feeds=[{"url": "http://127.0.0.1:9/a.xml"}])
    code, _, err = await run_bot("poll", "--once", env=bot_env(config_dir, tmp_path / "db"))
    assert code == 1 and "failed" in err


async def test_sigterm_during_a_large_first_poll_stops_promptly_and_cleanly(
    feed_server, config_dir, tmp_path
):
    from bench.feed_farm import make_feed

    urls = [feed_server.serve(f"/big/{n}.xml", make_feed(n, 50)) for n in range(120)]
    config_dir.write(feeds=[{"url": url} for url in urls])
    db = tmp_path / "bot.db"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=bot_env(config_dir, db),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    while len(feed_server.requests) < 60:  # noqa: ASYNC110  (the poll is under way)
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    started = asyncio.get_running_loop().time()
    code = await asyncio.wait_for(process.wait(), 30)
    assert code == 0
    assert asyncio.get_running_loop().time() - started < 15  # generous: the loop was never blocked for long
    with sqlite3.connect(db) as conn:  # what was stored is consistent: every item has its feed's row
        orphans = conn.execute(
            "SELECT count(*) FROM items WHERE feed_url NOT IN (SELECT url FROM feeds)"
        ).fetchone()
    assert orphans == (0,)


async def test_rules_test_and_cmd_run_the_command_core_as_operator(config_dir, tmp_path):
    config_dir.write()
    env = bot_env(config_dir, tmp_path / "db.sqlite")
    code, out, _ = await run_bot("rules", "test", '"Project Prometheus" AND Bezos', env=env)
    assert code == 0 and "Would match 0" in out
    code, out, _ = await run_bot("rules", "test", "Bezos AND (", env=env)
    assert code == 1 and "position" in out
    code, out, _ = await run_bot("cmd", "rules", "list", env=env)  # admin-only: the operator is an admin
    assert code == 0 and "prometheus" in out


async def test_poll_once_polls_every_enabled_feed_and_due_keeps_the_schedule(
    feed_server, config_dir, tmp_path
):
    url = feed_server.serve("/feed.xml", rss(fresh_items()))
    config_dir.write(feeds=[{"url": url, "interval": "1h"}])
    env = bot_env(config_dir, tmp_path / "bot.db")
    code, _, err = await run_bot("poll", "--once", env=env)
    assert code == 0 and "1 feeds polled" in err, err
    code, _, err = await run_bot("poll", "--once", env=env)  # within the interval: polled all the same
    assert code == 0 and "1 feeds polled" in err, err
    code, _, err = await run_bot("poll", "--once", "--due", env=env)
    assert code == 0 and "0 feeds polled (skipped: 1 not due)" in err, err
    assert len(feed_server.hits("/feed.xml")) == 2


async def test_the_cycle_report_is_what_poll_once_status_and_metrics_show(feed_server, config_dir, tmp_path):
    good = feed_server.serve("/good.xml", rss(fresh_items()))
    broken = feed_server.serve("/broken.xml", "gone", status=500)
    config_dir.write(feeds=[{"url": good}, {"url": broken}])
    db = tmp_path / "bot.db"
    env = bot_env(config_dir, db)
    code, _, err = await run_bot("poll", "--once", env=env)
    # a feed's first fetch is backlog: stored and matched, not alerted
    summary = "2 feeds polled, 1 fetched (0 unchanged), 1 failed, 2 new items, 1 matched, 0 alerts queued"
    assert code == 0 and f"{summary}; 0 alerts posted" in err, err
    assert f"failed: {broken}: http: " in err, err
    code, out, _ = await run_bot("cmd", "status", env=env)
    assert code == 0 and summary in out, out
    code, out, _ = await run_bot("status", env=env)
    assert code == 0 and f"): {summary}" in out and "last poll cycle (" in out, out
    assert "polling and sending: no running process" in out, out  # poll --once takes no lease
    page = render_metrics_from_file(db, Snapshot(now=0)).decode()
    for sample in (
        'newsbot_last_cycle_feeds{outcome="polled"} 2.0',
        'newsbot_last_cycle_feeds{outcome="failed"} 1.0',
        'newsbot_last_cycle_items{kind="new"} 2.0',
        'newsbot_last_cycle_items{kind="matched"} 1.0',
    ):
        assert sample in page, page


def test_run_takes_http_and_still_its_first_name_slack_http():
    from bot.cli import _parser

    assert _parser().parse_args(["run", "--http"]).slack_http is True
    assert _parser().parse_args(["run", "--slack-http"]).slack_http is True
    assert _parser().parse_args(["run"]).slack_http is False


async def test_rules_explain_takes_a_feedback_example_and_says_who_flagged_it(config_dir, tmp_path):
    from bot.commands.interactive import InteractiveCore  # the alert button's own path writes the row
    from bot.core.model import CommandRequest
    from bot.store import transaction
    from tests.commands.helpers import Harness, add_story

    config_dir.write()
    db_path = tmp_path / "bot.db"
    harness = Harness(config_dir.path, db_path)
    item = add_story(harness.db, "Prometheus 3.0 released with PromQL changes", rules=("prometheus",))
    with transaction(harness.db):
        harness.db.execute(
            "INSERT INTO deliveries (item_id, platform, channel, rules, next_attempt_at, created_at)"
            " VALUES (?, 'slack', 'C1', '[\"prometheus\"]', 0, 0)",
            [item],
        )
    buttons = InteractiveCore(db=harness.db, commands=harness.core, config_provider=harness.file_config)
    reader = CommandRequest(platform="slack", user_id="U0READER", text="", channel_id="C1")
    assert buttons.not_relevant(reader, "1").counted
    harness.db.conn.close()
    code, out, err = await run_bot("rules", "explain", "feedback:1", env=bot_env(config_dir, db_path))
    assert code == 0, err
    assert "feedback:1: not relevant, by slack user U0READER" in out
    assert "rules that fired: prometheus" in out
    assert "prometheus" in out.split("\n", 1)[1]  # the explanation of each rule follows
    code, _, err = await run_bot("rules", "explain", "feedback:99", env=bot_env(config_dir, db_path))
    assert code == 1 and "no feedback" in err
