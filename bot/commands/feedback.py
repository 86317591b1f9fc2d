"""Readers' "not relevant" feedback as a per-rule precision report: `/news rules feedback [days]`
for admins, and the admins' part of the App Home. Reads only."""

from __future__ import annotations

from sqlite_utils import Database

from bot.commands.arguments import ParsedCommand
from bot.commands.context import Context, usage_error
from bot.commands.format import format_time, one_line
from bot.commands.help import usage_of
from bot.core.model import Reply, ReplyEntry
from bot.core.precision import FlaggedExample, RulePrecision, precision_by_rule
from bot.store.feedback import alerts_since, feedback_since

WEEK = 7 * 86400
MAX_DAYS = 90


def precision_report(db: Database, *, since: float) -> list[RulePrecision]:
    """Each rule's alerts since `since` and how many of their items readers marked "not relevant"."""
    alerted: dict[str, set[str]] = {}
    for alert in alerts_since(db, since):
        for rule in alert.rules:
            alerted.setdefault(rule, set()).add(alert.item_id)
    flagged = [
        (f.rules, FlaggedExample(f.id, f.item_id, f.title, f.user_id, f.at, f.link))
        for f in feedback_since(db, since)
    ]
    return precision_by_rule(alerted, flagged)


def describe_precision(rule: RulePrecision) -> str:
    if rule.precision is None:
        return f"{rule.flagged} marked not relevant"
    return f"{rule.alerted - rule.flagged}/{rule.alerted} not flagged ({rule.precision:.0%}), {rule.flagged} marked not relevant"


def rules_feedback(ctx: Context, cmd: ParsedCommand) -> Reply:
    usage = usage_of("rules feedback", ctx.command)
    if cmd.options or len(cmd.args) > 1 or (cmd.args and not cmd.args[0].isdigit()):
        raise usage_error("rules feedback takes one optional number of days.", usage)
    days = int(cmd.args[0]) if cmd.args else 7
    if not 1 <= days <= MAX_DAYS:
        raise usage_error(f"days must be between 1 and {MAX_DAYS}.", usage)
    zone = ctx.config.settings.timezone
    report = precision_report(ctx.db, since=ctx.now - days * 86400)
    entries = []
    for rule in report:
        examples = [
            f"feedback:{e.feedback_id} · {one_line(e.title, 120) or e.item_id} · {e.user_id}, {format_time(e.at, zone)}"
            for e in rule.examples
        ]
        entries.append(ReplyEntry(title=rule.rule, meta=describe_precision(rule), text="\n".join(examples)))
    return Reply(
        title=f"Rule precision, last {days} days",
        lines=() if entries else ("No alerts and no feedback in that time.",),
        entries=tuple(entries),
        footer="Explain one example: python -m bot rules explain feedback:<id>",
    )
