"""Two bot processes on one database (the Procfile's `worker` and `web`, a rolling deploy): one polls
and sends, the other stands by and takes over when the first stops or is killed. Real processes,
a real SQLite file, a local feed server; alerts to the console."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.store.db import open_database
from bot.store.leases import SCHEDULER, current_lease, hold_lease, release_lease
from tests.fakes.feed_server import rss

WHEN = format_datetime(datetime.now(UTC) - timedelta(minutes=5))


def story(n: int) -> dict[str, str]:
    return {
        "title": f"Project Prometheus agrees ${n + 1}.5 billion deal for plant number {n} (#{n})",
        "link": f"https://news.example.com/prometheus/{n}", "guid": f"prometheus-{n}", "pubDate": WHEN,
        "description": f"Bezos's AI venture buys plant {n}.",
    }  # fmt: skip


class BotProcess:
    def __init__(self, env: dict[str, str], tmp: Path, name: str) -> None:
        self.env, self.out, self.err = env, tmp / f"{name}.out", tmp / f"{name}.err"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> BotProcess:
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=self.env, stdout=out, stderr=err
            )
        return self

    def posted(self, n: int) -> int:
        return self.out.read_text(encoding="utf-8", errors="replace").count(f"plant number {n} (#{n})")

    def log(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    async def stop(self, *, kill: bool = False) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.kill() if kill else self.process.terminate()
        await asyncio.wait_for(self.process.wait(), 30)


async def until(condition, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_one_process_schedules_the_other_stands_by_and_takes_over_when_it_is_killed(
    feed_server, config_dir, tmp_path
):
    published = [story(0)]
    url = feed_server.serve("/feed.xml", rss(published))
    config_dir.write(
        feeds=[{"url": url, "interval": "1s"}],
        settings={"tick": "1s", "dispatch_interval": "1s", "poll_interval": "1s",
                  "backlog": {"mode": "newest", "count": 50, "hours": "24h"}},
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(BOT_CONFIG=str(config_dir.path), BOT_DB=str(tmp_path / "bot.db"), PYTHONUNBUFFERED="1")
    first = await BotProcess(env, tmp_path, "first").start()
    second = None
    try:
        await until(lambda: first.posted(0) == 1)
        second = await BotProcess(env, tmp_path, "second").start()
        await until(lambda: "stands by" in second.log())

        published.append(story(1))
        feed_server.serve("/feed.xml", rss(published))
        await until(lambda: first.posted(1) == 1)
        await asyncio.sleep(3)  # the standby had time to poll and send too, if it would
        assert (second.posted(0), second.posted(1)) == (0, 0)

        await first.stop(kill=True)  # SIGKILL: the lease is not given up; its process is gone
        published.append(story(2))
        feed_server.serve("/feed.xml", rss(published))
        await until(lambda: second.posted(2) == 1, seconds=20)  # long before the 60 s lease expires
        assert "scheduling as" in second.log()
        await asyncio.sleep(2)
        assert [first.posted(n) + second.posted(n) for n in range(3)] == [1, 1, 1]
    finally:
        await first.stop(kill=True)
        if second is not None:
            await second.stop()


def test_a_lease_has_one_holder_until_it_expires_or_is_given_up(tmp_path):
    db = open_database(tmp_path / "bot.db")
    assert hold_lease(db, SCHEDULER, "a", now=100, ttl=60).holder == "a"
    assert hold_lease(db, SCHEDULER, "b", now=130, ttl=60).holder == "a"  # a's lease runs to 160
    renewed = hold_lease(db, SCHEDULER, "a", now=150, ttl=60)
    assert (renewed.holder, renewed.renewed_at, renewed.expires_at) == ("a", 150, 210)
    assert hold_lease(db, SCHEDULER, "b", now=209, ttl=60).holder == "a"
    assert hold_lease(db, SCHEDULER, "b", now=210, ttl=60).holder == "b"  # expired: b takes it
    assert hold_lease(db, SCHEDULER, "a", now=211, ttl=60).holder == "b"

    release_lease(db, SCHEDULER, "a")  # not a's to give up
    assert current_lease(db, SCHEDULER).holder == "b"
    release_lease(db, SCHEDULER, "b")
    assert current_lease(db, SCHEDULER) is None
    assert hold_lease(db, SCHEDULER, "a", now=212, ttl=60).holder == "a"
    db.conn.close()
