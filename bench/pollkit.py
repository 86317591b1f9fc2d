"""What the poll-cycle benches share: the feed farm in its own process, the bot built over it, and
CPU / peak-RSS readings of a process and its children from /proc.

Only the standard library is imported at module level: the bot's parser workers are spawned
processes that import the script which started them, and that script imports this module.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Farm:
    """A running bench/feed_farm.py: its port and pid (the pid is left out of this process's children
    when their CPU and memory are read)."""

    port: int
    pid: int
    feeds: int

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.port}/feed/{i}.xml" for i in range(self.feeds)]

    def grow(self, by: int) -> None:
        """Every feed carries `by` new items on top from now on (`by=0`: the first bytes again)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/grow?by={by}", method="POST")
        with urllib.request.urlopen(request, timeout=600) as response:
            response.read()


@contextlib.contextmanager
def feed_farm(
    feeds: int, items: int, *, gzip: bool = False, summary_words: str = "80-160", port: int | None = None
) -> Iterator[Farm]:
    port = port or free_port()
    command = [sys.executable, str(BENCH / "feed_farm.py"), str(feeds), str(items), str(port)]
    command += ["--summary-words", summary_words] + (["--gzip"] if gzip else [])
    farm = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert farm.stdout is not None
    farm.stdout.readline()
    FARM_PIDS.add(farm.pid)
    try:
        yield Farm(port, farm.pid, feeds)
    finally:
        farm.terminate()
        farm.wait()
        FARM_PIDS.discard(farm.pid)


FARM_PIDS: set[int] = set()


def child_pids() -> list[int]:
    """This process's live children but the feed farm: the bot's parser workers."""
    pids = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) in FARM_PIDS:
            continue
        try:
            stat = (pid_dir / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():  # field 4: the parent's pid
            pids.append(int(pid_dir.name))
    return pids


def stat_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds of this process (all its threads) and of its live children (not the farm)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime, sum(stat_cpu(pid) for pid in child_pids())


def own_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb() -> float:
    """Peak RSS of this process's live children (not the farm), summed, from /proc."""
    total = 0
    for pid in child_pids():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if "VmHWM" in fields:
            total += int(fields["VmHWM"].split()[0])
    return total / 1024


@dataclass
class BenchBot:
    """The bot (`bot.pipeline.run_cycle()` polls every due feed) on a frozen clock that `advance()`
    moves an hour on, so that every feed is due again."""

    bot: Any
    now: list[float]

    def advance(self, seconds: float = 3600) -> None:
        self.now[0] += seconds


@contextlib.asynccontextmanager
async def bot_over(farm: Farm, scratch: Path, concurrency: int = 16) -> AsyncIterator[BenchBot]:
    """The bot with the default rules, polling every feed of `farm` at fetch concurrency
    `concurrency`, a fresh database in `scratch`, WAL checkpoints in a thread every 5 s as the
    service does. The parser workers start on the first cycle (`bot.parser.warm_up()` starts them
    before)."""
    import asyncio
    import io

    import yaml

    from bot.app import Environment, build_bot
    from bot.deliver.adapters.console import ConsoleAlertSender
    from bot.store.db import checkpoint, checkpoint_off_loop

    config_dir = scratch / "config"
    config_dir.mkdir()
    rules = yaml.safe_load((ROOT / "config" / "rules.yaml").read_text())
    (config_dir / "rules.yaml").write_text(yaml.safe_dump(rules))
    (config_dir / "feeds.yaml").write_text(yaml.safe_dump({"feeds": [{"url": url} for url in farm.urls()]}))
    (config_dir / "settings.yaml").write_text(
        yaml.safe_dump({"fetch": {"concurrency": concurrency, "allow_private": True}})
    )
    db_file = scratch / "bench.db"
    bot = build_bot(
        Environment(config_dir=config_dir, db_path=db_file), console=ConsoleAlertSender(io.StringIO())
    )
    checkpoint_off_loop(bot.db)

    async def checkpoints() -> None:
        while True:
            await asyncio.sleep(5)
            await checkpoint(db_file)

    checkpointer = asyncio.get_running_loop().create_task(checkpoints())
    now = [time.time()]
    bot.clock = lambda: now[0]
    try:
        yield BenchBot(bot, now)
    finally:
        checkpointer.cancel()
        await bot.close()


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as scratch:
        yield Path(scratch)
