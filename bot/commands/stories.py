"""`story show` (everyone) and `story split` (admins): see which reports were grouped into one story,
and undo a wrong grouping.

A split makes the report a story of its own (bot.store.stories.split_from_story) and queues it as an
alert for every channel its rules route to now (bot.core.routing.plan_deliveries, bot.store.outbox.enqueue,
so the outbox's once-per-channel and delivery-key guarantees hold as for any alert), with its audit
row, all in one transaction.
"""

from __future__ import annotations

from bot.commands.arguments import ParsedCommand
from bot.commands.context import Context, usage_error
from bot.commands.format import format_time, one_line
from bot.commands.help import usage_of
from bot.core.model import Item, Reply, ReplyEntry
from bot.core.routing import PlannedDelivery, plan_deliveries
from bot.errors import CommandError
from bot.store import transaction
from bot.store.audit import record_audit
from bot.store.items import find_item_ids, item_matches, load_item
from bot.store.outbox import enqueue, has_deliveries
from bot.store.stories import StoryReport, split_from_story, story_of, story_reports

MAX_REPORTS = 20
SHORT_ID = 12  # ids are shown this long; any unique prefix of 8 or more characters is accepted


def story(ctx: Context, cmd: ParsedCommand) -> Reply:
    if cmd.action == "show":
        return _show(ctx, cmd)
    if cmd.action == "split":
        return _split(ctx, cmd)
    what = f"Unknown action {cmd.action!r} for story." if cmd.action else "Say what to do: show or split."
    raise usage_error(what, usage_of("story", ctx.command))


def _show(ctx: Context, cmd: ParsedCommand) -> Reply:
    item = _named_item(ctx, cmd, "story show")
    story_id = story_of(ctx.db, item.id)
    if story_id is None:
        return Reply(title="Not in a story", lines=("That report matched no rule, so it was never grouped.",))
    reports = story_reports(ctx.db, story_id, limit=MAX_REPORTS + 1)
    zone = ctx.config.settings.timezone
    if len(reports) > MAX_REPORTS:
        lines = [f"More than {MAX_REPORTS} reports; the first {MAX_REPORTS} are shown."]
    else:
        lines = [f"{len(reports)} reports." if len(reports) > 1 else "1 report: nothing was grouped with it."]
    if ctx.is_admin and len(reports) > 1:
        lines.append(f"A report grouped here by mistake: /{ctx.command} story split <id>")
    return Reply(
        title=f"Story: {one_line(reports[0].title, 200)}",
        lines=tuple(lines),
        entries=tuple(_report_entry(report, story_id, zone) for report in reports[:MAX_REPORTS]),
    )


def _report_entry(report: StoryReport, story_id: str, zone: str) -> ReplyEntry:
    meta = [f"id {report.item_id[:SHORT_ID]}", report.source.strip() or "unknown source"]
    meta.append(format_time(report.seen_at, zone))
    if report.item_id == story_id:
        meta.append("first report")
    return ReplyEntry(
        title=one_line(report.title, 250) or "(untitled)", url=report.link, meta=" · ".join(meta)
    )


def _split(ctx: Context, cmd: ParsedCommand) -> Reply:
    item = _named_item(ctx, cmd, "story split")
    # Checked and changed in one transaction: two admins splitting at once split it once.
    with transaction(ctx.db):
        old_story = story_of(ctx.db, item.id)
        if old_story is None:
            raise CommandError("That report matched no rule, so it is in no story: nothing to split.")
        if old_story == item.id:
            return Reply(
                title="Nothing to split",
                lines=(
                    "That report is its story's first report: it already is a story of its own.",
                    f"To separate a later report, split that one (/{ctx.command} story show lists them).",
                ),
            )
        # An item that arrived as backlog or too old was never alerted: splitting it must not post it now.
        alerted = has_deliveries(ctx.db, item.id)
        planned = (
            plan_deliveries(item_matches(ctx.db, item.id), ctx.config.routes, ctx.reachable)
            if alerted
            else []
        )
        dropped = split_from_story(ctx.db, item, ctx.now)
        queued = enqueue(ctx.db, item.id, planned, now=ctx.now)
        record_audit(
            ctx.db,
            platform=ctx.request.platform,
            actor=ctx.actor,
            action="story.split",
            target=item.id,
            before={"story": old_story},
            after={"story": item.id, "alerts_queued": queued, "updates_dropped": len(dropped)},
            at=ctx.now,
        )
    return Reply(
        title=f"Split out: {one_line(item.title, 200)}", lines=_split_lines(alerted, planned, queued, dropped)
    )


def _split_lines(
    alerted: bool, planned: list[PlannedDelivery], queued: int, dropped: list[int]
) -> tuple[str, ...]:
    lines = ["It is a story of its own now: later reports of it join it, not the story it was grouped with."]
    if not alerted:
        lines.append("It arrived as backlog or too old to alert, so no alert is queued.")
    elif not planned:
        lines.append("No route takes its rules now, so no alert is queued.")
    else:
        lines.append(f"Queued as an alert for {queued} channel{'s' if queued != 1 else ''}.")
        if queued < len(planned):
            lines.append(f"{len(planned) - queued} channel(s) had already been alerted with it.")
    if dropped:
        lines.append(f'{len(dropped)} "also reported by" message(s) about it not sent yet were dropped.')
    lines.append("The old story's messages keep what they show; its next update no longer lists this report.")
    return tuple(lines)


def _named_item(ctx: Context, cmd: ParsedCommand, name: str) -> Item:
    """The stored report the single argument names (an id, an id prefix or a link)."""
    if len(cmd.args) != 1 or cmd.options:
        raise usage_error("Give one report's id or link.", usage_of(name, ctx.command))
    ref = cmd.args[0]
    ids = find_item_ids(ctx.db, ref)
    if len(ids) > 1:
        raise CommandError(f"{one_line(ref, 80)!r} names several reports; give more of the id.")
    item = load_item(ctx.db, ids[0]) if ids else None
    if item is None:
        raise CommandError(
            f"No stored report has the id or link {one_line(ref, 80)!r}."
            f" /{ctx.command} story show <link> lists a story's reports with their ids."
        )
    return item
