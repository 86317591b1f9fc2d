"""Entry points for one use of the bot: the service, one poll, one operator command. Each gets
its objects from bot.app.open_bot.

Platform adapters are attached only when their credentials are in the environment; with none,
alerts go to the console, so a fresh checkout runs with no set-up.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from bot.app import Connect, Environment, open_bot
from bot.core.model import CommandRequest
from bot.core.render.console import render_console_reply
from bot.deliver.dispatch import dispatch_due
from bot.service import Service

log = logging.getLogger(__name__)


async def run_service(env: Environment, *, slack_http: bool = False) -> None:
    bot = await open_bot(env, Connect.SERVICE, slack_http=slack_http)
    try:
        if set(bot.senders) == {"console"}:
            log.info("no Slack or Discord credentials set: alerts go to the console")
        await Service(bot, bot.listeners, bot.scheduler).run()
    finally:
        await bot.close()


async def poll_once(
    env: Environment, *, db_path: Path | None = None, console_only: bool = False, only_due: bool = False
) -> int:
    """One poll cycle over every enabled feed (`only_due`: those whose next fetch has come) and one
    dispatch round; prints the cycle's summary. Exit code 1 if every feed failed."""
    bot = await open_bot(env, Connect.NOTHING if console_only else Connect.SENDERS, db_path=db_path)
    try:
        report = await bot.pipeline.run_cycle(only_due=only_due)
        sent = await dispatch_due(bot.db, bot.senders, clock=time.time)
        print(f"{report.summary()}; {sent.sent} alerts posted", file=sys.stderr)
        for url, error in sorted(report.errors.items()):
            print(f"  failed: {url}: {error}", file=sys.stderr)
        return 1 if report.offline or (report.feeds_due and report.failed == report.feeds_due) else 0
    finally:
        await bot.close()


async def run_operator_command(env: Environment, text: str) -> tuple[str, bool]:
    bot = await open_bot(env, Connect.NOTHING)
    try:
        reply = await bot.commands.handle(
            CommandRequest(platform="console", user_id="operator", user_name="operator", text=text)
        )
        return render_console_reply(reply), reply.is_error
    finally:
        await bot.close()
