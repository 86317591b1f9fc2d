"""Command line: `python -m bot run | poll --once [--dry-run] | check | status | match | group | cmd ... | rules ...`.

Each subcommand is a thin call into the core; output goes to stdout, diagnostics to stderr.
Exit codes: 0 success, 1 failure (bad config, bad input), 2 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.app import Environment
from bot.config import BotConfig
from bot.errors import BotError, ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from bot.logs import setup_logging

    env = _env()
    setup_logging("DEBUG" if getattr(args, "verbose", False) else env.log_level, secrets=env.secrets())
    try:
        return int(args.handler(args) or 0)
    except ConfigError as error:
        print(f"config error:\n{error}", file=sys.stderr)
        return 1
    except BotError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="News-alert bot for Slack and Discord."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the service (scheduler and every configured adapter)")
    run.add_argument(
        "--http",
        "--slack-http",  # its first name, still accepted
        dest="slack_http",
        action="store_true",
        help="answer Slack over HTTP on $PORT even if SLACK_APP_TOKEN is set (Discord is answered "
        "over HTTP on $PORT whenever DISCORD_PUBLIC_KEY is set)",
    )
    run.set_defaults(handler=_run)
    poll = sub.add_parser("poll", help="run poll cycles by hand")
    poll.add_argument("--once", action="store_true", required=True, help="one cycle, then exit")
    poll.add_argument("--dry-run", action="store_true", help="print what would be posted; change nothing")
    poll.add_argument(
        "--due", action="store_true", help="only feeds whose next fetch has come (as the service)"
    )
    poll.set_defaults(handler=_poll)
    sub.add_parser("check", help="validate the config; non-zero exit on error").set_defaults(handler=_check)
    sub.add_parser("status", help="feed health and queue").set_defaults(handler=_status)
    sub.add_parser("match", help="match JSON-lines items from stdin against the rules").set_defaults(
        handler=_match
    )
    group = sub.add_parser(
        "group", help="group JSON-lines reports from stdin into stories (throw-away store)"
    )
    group.add_argument("--explain", action="store_true", help="show each report's candidates and verdicts")
    group.set_defaults(handler=_group)
    cmd = sub.add_parser("cmd", help="run a slash-command subcommand as the operator")
    cmd.add_argument("words", nargs=argparse.REMAINDER)
    cmd.set_defaults(handler=_cmd)

    rules = sub.add_parser("rules", help="try rules: explain a verdict, test a rule on stored items")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    explain = rules_sub.add_parser("explain", help="why an item (id) or a text is or is not matched")
    explain.add_argument(
        "target",
        help="a stored item id, feedback:<id> (from `rules feedback`), or any text (treated as a title)",
    )
    explain.add_argument("--summary", default="", help="summary text to match along with the title")
    explain.set_defaults(handler=_rules_explain)
    test = rules_sub.add_parser("test", help="what a rule would have matched among stored items")
    test.add_argument("query")
    test.set_defaults(handler=_rules_test)
    return parser


def _env() -> Environment:
    return Environment.from_env()  # the one place the process environment is read


def _run(args: argparse.Namespace) -> int:
    from bot.runner import run_service

    asyncio.run(run_service(_env(), slack_http=args.slack_http))
    return 0


def _poll(args: argparse.Namespace) -> int:
    from bot.runner import poll_once
    from bot.store.db import copy_database

    env = _env()
    if not args.dry_run:
        return asyncio.run(poll_once(env, only_due=args.due))
    # A dry run is a real cycle on a throw-away copy of the database: same code, nothing changed.
    with tempfile.TemporaryDirectory(prefix="bot-dry-run-") as scratch:
        copy = Path(scratch) / "dry-run.db"
        if env.db_path.exists():
            copy_database(env.db_path, copy)
        print("dry run: nothing is posted and the database is not changed", file=sys.stderr)
        return asyncio.run(poll_once(env, db_path=copy, console_only=True, only_due=args.due))


def _check(args: argparse.Namespace) -> int:
    from bot.config import load_config

    env = _env()
    config = load_config(env.config_dir)  # raises ConfigError listing every problem
    print(
        f"config OK: {len(config.feeds)} feeds, {len(config.rules)} rules, {len(config.routes)} routes, "
        f"{len(config.facts)} facts ({env.config_dir})"
    )
    for line in _private_allowances(config):
        print(line)
    return 0


def _private_allowances(config: BotConfig) -> list[str]:
    """One line per feed the operator allowed to reach loopback and private addresses."""
    from bot.net.url_safety import may_reach_private

    settings = config.settings
    setting = "fetch.allow_private" if settings.fetch.allow_private else "allow_private_feed_hosts"
    globally = f"{setting} in settings.yaml"
    lines = [
        f"private addresses allowed: {feed.name or feed.url} ({feed.url}; "
        f"{'allow_private in feeds.yaml' if feed.allow_private else globally})"
        for feed in config.feeds
        if may_reach_private(settings, feed)
    ]
    if may_reach_private(settings):
        lines.append(f"private addresses allowed: every feed added from chat ({globally})")
    return lines


def _status(args: argparse.Namespace) -> int:
    from bot.app import open_store
    from bot.store.cycles import last_cycle
    from bot.store.feeds import feed_health
    from bot.store.leases import SCHEDULER, current_lease
    from bot.store.outbox import channel_problems, queue_depth

    db, _ = open_store(_env())
    now = time.time()
    rows = feed_health(db)
    print(f"{'feed':<48} {'status':>6} {'errors':>6}  {'last fetch':<17} {'next fetch':<17} last error")
    for row in rows:
        state = "off" if row["disabled_reason"] else str(row["last_status"] or "-")
        note = row["disabled_reason"] or row["last_error"] or ""
        if row["last_error_kind"] == "warning" and not row["disabled_reason"]:
            note = f"warning: {note}"  # fetched and stored, but not all of it (e.g. entries cut)
        print(
            f"{(row['name'] or row['url'])[:48]:<48} {state:>6} {row['error_count']:>6}  "
            f"{_when(row['last_fetch_at']):<17} {_when(row['next_fetch_at']):<17} {note[:80]}"
        )
    failing = sum(1 for row in rows if row["error_count"] or row["disabled_reason"])
    print(f"\n{len(rows)} feeds, {failing} failing; {queue_depth(db)} alerts queued")
    cycle = last_cycle(db)
    if cycle is not None:
        print(f"last poll cycle ({_when(cycle.finished_at)}): {cycle.summary()}")
    lease = current_lease(db, SCHEDULER)
    if lease is not None and lease.expires_at > now:
        print(f"polling and sending: {lease.holder} (lease renewed {_when(lease.renewed_at)})")
    else:
        print("polling and sending: no running process (the scheduler lease is free)")
    for problem in channel_problems(db, now=now):
        print(
            f"delivery problem: {problem.platform} {problem.channel}: {problem.failed} failed,"
            f" {problem.retrying} retrying; last error: {problem.last_error}"
        )
    return 0


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%m-%d %H:%M:%S UTC")


def _match(args: argparse.Namespace) -> int:
    from bot.app import open_store
    from bot.core.rules import match_jsonl

    _, source = open_store(_env())
    ruleset = source.ruleset(source.effective())
    for line in match_jsonl(sys.stdin, ruleset):
        sys.stdout.write(line.rstrip("\n") + "\n")
    return 0


def _group(args: argparse.Namespace) -> int:
    from bot.app import scratch_store
    from bot.config import load_config
    from bot.poll.grouping import group_jsonl

    # The pipeline's grouping on a fresh database that is thrown away: the real store is never touched.
    embeddings = load_config(_env().config_dir).settings.story_embeddings  # as the pipeline groups
    with scratch_store() as db:
        for line in group_jsonl(sys.stdin, db, explain=args.explain, embeddings=embeddings):
            sys.stdout.write(line + "\n")
    return 0


def _cmd(args: argparse.Namespace) -> int:
    from bot.runner import run_operator_command

    reply_text, is_error = asyncio.run(run_operator_command(_env(), " ".join(args.words)))
    print(reply_text)
    return 1 if is_error else 0


def _rules_explain(args: argparse.Namespace) -> int:
    from bot.app import open_store
    from bot.core.rules import format_explanation
    from bot.store.feedback import feedback_by_id, feedback_on_item

    db, source = open_store(_env())
    ruleset = source.ruleset(source.effective())
    target = args.target
    if target.startswith("feedback:"):  # an example from `rules feedback`: explain the item it flags
        number = target.removeprefix("feedback:")
        found = feedback_by_id(db, int(number)) if number.isdigit() else None
        if found is None:
            print(f"There is no feedback {target!r}.", file=sys.stderr)
            return 1
        target = found.item_id
    row = db.execute("SELECT title, summary FROM items WHERE id = ?", [target]).fetchone()
    title, summary = row if row else (target, args.summary)
    if row:
        for flag in feedback_on_item(db, target):
            when = datetime.fromtimestamp(flag.at, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
            fired = ", ".join(flag.rules) or "no rule"
            print(
                f"feedback:{flag.id}: not relevant, by {flag.platform} user {flag.user_id} on {when}; rules that fired: {fired}"
            )
    print(format_explanation(ruleset.explain(title, summary)))
    return 0


def _rules_test(args: argparse.Namespace) -> int:
    return _cmd(argparse.Namespace(words=["rules", "test", args.query]))  # the core reads the rest raw
