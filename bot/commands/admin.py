"""Admin subcommands for rules, facts, routes and the audit log (feeds are in feeds_admin.py).

Every change goes through context.commit_edit: stored as a chat edit over the file config and
audited in the same transaction. Input is checked completely before anything is written, so a
refused command changes nothing.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from bot.commands.arguments import ParsedCommand, after_words, take_option
from bot.commands.context import Context, commit_edit, usage_error
from bot.commands.feedback import rules_feedback
from bot.commands.format import format_time, one_line
from bot.commands.help import usage_of
from bot.config import FactConfig, RuleConfig, rule_context
from bot.core.model import Reply, ReplyEntry
from bot.core.rules import RuleSet, RuleSpec, compile_query, format_explanation
from bot.errors import CommandError, RuleError
from bot.store.audit import recent_audit
from bot.store.lookups import recent_items
from bot.store.overrides import Origin, fact_key, origins

TEST_STORIES = 500
MAX_AUDIT = 50


def rules(ctx: Context, cmd: ParsedCommand) -> Reply:
    handlers = {
        "list": _rules_list,
        "add": _rules_add,
        "edit": _rules_edit,
        "remove": _rules_remove,
        "enable": _rules_toggle,
        "disable": _rules_toggle,
        "test": _rules_test,
        "feedback": rules_feedback,
        "reset": _rules_reset,
    }
    handler = handlers.get(cmd.action or "list")
    if handler is None:
        raise usage_error(f"Unknown action {cmd.action!r} for rules.", usage_of("rules", ctx.command))
    return handler(ctx, cmd)


def _rules_list(ctx: Context, cmd: ParsedCommand) -> Reply:
    _no_args(ctx, cmd, "rules list")
    where = origins(ctx.file_config, ctx.db, "rules")
    entries = tuple(
        ReplyEntry(
            title=rule.name + ("" if rule.enabled else " (disabled)"),
            meta=_origin_text(ctx, where[rule.name]) + (f" · {rule.description}" if rule.description else ""),
            text=rule.query,
        )
        for rule in ctx.config.rules
    )
    removed = [k for k, o in where.items() if o.edit is not None and o.edit.value is None]
    lines = tuple(f"Removed in chat (the file still has it): {name}" for name in removed)
    return Reply(title=f"Rules ({len(entries)})", lines=lines, entries=entries)


def _rules_add(ctx: Context, cmd: ParsedCommand) -> Reply:
    name, query = _name_and_query(ctx, cmd, "rules add")
    if _find_rule(ctx, name) is not None:
        raise CommandError(
            f"A rule named {name!r} exists. Change it with: /{ctx.command} rules edit {name} <query>"
        )
    rule = _valid_rule(ctx, name, query)
    commit_edit(ctx, kind="rules", key=name, action="rules.add", before=None, after=rule)
    return Reply(title=f"Added rule {name}", lines=(f"Query: {query}", "It applies from the next poll."))


def _rules_edit(ctx: Context, cmd: ParsedCommand) -> Reply:
    name, query = _name_and_query(ctx, cmd, "rules edit")
    before = _existing_rule(ctx, name)
    after = _valid_rule(ctx, name, query, like=before)
    if after == before:
        return Reply(title=f"Rule {name} already has that query")
    commit_edit(ctx, kind="rules", key=name, action="rules.edit", before=before, after=after)
    return Reply(title=f"Changed rule {name}", lines=(f"Was: {before.query}", f"Now: {query}"))


def _rules_remove(ctx: Context, cmd: ParsedCommand) -> Reply:
    name = _one_name(ctx, cmd, "rules remove")
    before = _existing_rule(ctx, name)
    commit_edit(ctx, kind="rules", key=name, action="rules.remove", before=before, after=None)
    routed = [f"{r.platform} {r.channel}" for r in ctx.config.routes if name in r.rules]
    lines = (f"Routes that still name it get nothing from it: {', '.join(routed)}",) if routed else ()
    return Reply(title=f"Removed rule {name}", lines=lines)


def _rules_toggle(ctx: Context, cmd: ParsedCommand) -> Reply:
    name = _one_name(ctx, cmd, f"rules {cmd.action}")
    before = _existing_rule(ctx, name)
    enabled = cmd.action == "enable"
    if before.enabled == enabled:
        return Reply(title=f"Rule {name} is already {cmd.action}d")
    after = before.model_copy(update={"enabled": enabled})
    commit_edit(ctx, kind="rules", key=name, action=f"rules.{cmd.action}", before=before, after=after)
    return Reply(title=f"Rule {name} {cmd.action}d", lines=("It applies from the next poll.",))


def _rules_reset(ctx: Context, cmd: ParsedCommand) -> Reply:
    name = _one_name(ctx, cmd, "rules reset")
    where = origins(ctx.file_config, ctx.db, "rules").get(name)
    if where is None or where.edit is None:
        raise CommandError(f"Rule {name!r} has no chat edit to drop.")
    before = _find_rule(ctx, name)
    after = next((r for r in ctx.file_config.rules if r.name == name), None)
    commit_edit(ctx, kind="rules", key=name, action="rules.reset", before=before, after=after, drop=True)
    state = "the file's version applies" if after else "the rule is gone (the file does not have it)"
    return Reply(title=f"Dropped the chat edit of rule {name}", lines=(f"Now {state}.",))


def _rules_test(ctx: Context, cmd: ParsedCommand) -> Reply:
    usage = usage_of("rules test", ctx.command)
    query, text = take_option(cmd.raw, "text")
    if not query:
        raise usage_error("Give a rule name or a query to test.", usage)
    existing = _find_rule(ctx, query.lower())
    if existing is not None:
        query = existing.query
    try:
        ruleset = RuleSet.compile(
            [RuleSpec(name=existing.name if existing else "test", query=query)], ctx.config.rule_lists
        )
    except RuleError as error:
        raise CommandError(f"That query does not parse:\n{error}") from None
    if text is not None:
        if not text.strip():
            raise usage_error("--text needs some text.", usage)
        explanation = format_explanation(ruleset.explain(text, ""))
        return Reply(title=f"Test of {query}", lines=tuple(explanation.splitlines()))
    stories = recent_items(ctx.db, limit=TEST_STORIES)
    hits = [(s, m) for s in stories if (m := ruleset.match(s.title, s.summary))]
    entries = tuple(
        ReplyEntry(title=one_line(s.title, 200), url=s.link, meta="found: " + ", ".join(m[0].terms))
        for s, m in hits[:5]
    )
    return Reply(
        title=f"Test of {query}",
        lines=(f"Would match {len(hits)} of the {len(stories)} newest stored stories.",),
        entries=entries,
    )


def facts_edit(ctx: Context, cmd: ParsedCommand) -> Reply:
    if cmd.action == "add":
        text, source = take_option(cmd.raw, "source")
        text = " ".join(text.split())
        if not text:
            raise usage_error("Give the fact's text.", usage_of("facts add", ctx.command))
        if len(text) > 500:
            raise CommandError("A fact must be at most 500 characters.")
        key = fact_key(text)
        if any(fact_key(f.text) == key for f in ctx.config.facts):
            raise CommandError("That fact is already listed.")
        fact = FactConfig(text=text, source=source or "", added=format_time(ctx.now)[:10])
        commit_edit(ctx, kind="facts", key=key, action="facts.add", before=None, after=fact)
        return Reply(title="Added the fact", lines=(text,))
    if cmd.action == "remove":
        usage = usage_of("facts remove", ctx.command)
        if len(cmd.args) != 1 or not cmd.args[0].isdigit():
            raise usage_error("Give the number of one fact, as shown by facts.", usage)
        number = int(cmd.args[0])
        if not 1 <= number <= len(ctx.config.facts):
            raise CommandError(f"There is no fact {number}; there are {len(ctx.config.facts)}.")
        fact = ctx.config.facts[number - 1]
        commit_edit(
            ctx, kind="facts", key=fact_key(fact.text), action="facts.remove", before=fact, after=None
        )
        return Reply(title=f"Removed fact {number}", lines=(fact.text,))
    raise usage_error(f"Unknown action {cmd.action!r} for facts.", usage_of("facts", ctx.command))


def routes(ctx: Context, cmd: ParsedCommand) -> Reply:
    _no_args(ctx, cmd, "routes")
    entries = tuple(
        ReplyEntry(title=f"{r.platform} · {r.channel}", text="rules: " + ", ".join(r.rules))
        for r in ctx.config.routes
    )
    return Reply(
        title=f"Routes ({len(entries)})", entries=entries, footer="Routes are edited in config/routes.yaml."
    )


def audit(ctx: Context, cmd: ParsedCommand) -> Reply:
    usage = usage_of("audit", ctx.command)
    if len(cmd.args) > 1 or cmd.options or (cmd.args and not cmd.args[0].isdigit()):
        raise usage_error("audit takes one optional number.", usage)
    limit = int(cmd.args[0]) if cmd.args else 10
    if not 1 <= limit <= MAX_AUDIT:
        raise usage_error(f"n must be between 1 and {MAX_AUDIT}.", usage)
    zone = ctx.config.settings.timezone
    entries = tuple(
        ReplyEntry(
            title=f"{row['action']} {row['target']}".strip(),
            meta=f"{format_time(row['at'], zone)} · {row['platform']} · {row['actor']}",
            text=one_line(f"before: {_short(row['before'])} → after: {_short(row['after'])}", 300),
        )
        for row in recent_audit(ctx.db, limit)
    )
    return Reply(title=f"Audit log (newest {len(entries)})", entries=entries)


def _short(value: str | None) -> str:
    if value is None:
        return "—"
    try:
        data = json.loads(value)
    except ValueError:
        return value
    if isinstance(data, dict):
        return ", ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", True))
    return str(data)


def _origin_text(ctx: Context, where: Origin) -> str:
    if where.edit is None:
        return "from file"
    return (
        f"{where.describe()} · {where.edit.actor}, {format_time(where.edit.at, ctx.config.settings.timezone)}"
    )


def _no_args(ctx: Context, cmd: ParsedCommand, name: str) -> None:
    if cmd.args or cmd.options:
        raise usage_error(f"{name} takes no arguments.", usage_of(name, ctx.command))


def _one_name(ctx: Context, cmd: ParsedCommand, name: str) -> str:
    if len(cmd.args) != 1 or cmd.options:
        raise usage_error("Give exactly one rule name.", usage_of(name, ctx.command))
    return cmd.args[0].lower()


def _name_and_query(ctx: Context, cmd: ParsedCommand, name: str) -> tuple[str, str]:
    usage = usage_of(name, ctx.command)
    words = cmd.raw.split(None, 1)
    if len(words) < 2:
        raise usage_error("Give a rule name and a query.", usage)
    return words[0].lower(), after_words(cmd.raw, 1)


def _valid_rule(ctx: Context, name: str, query: str, like: RuleConfig | None = None) -> RuleConfig:
    if len(query) > 1000:
        raise CommandError("A rule query must be at most 1,000 characters.")
    try:
        compile_query(query, ctx.config.rule_lists)  # a chat rule may use the files' @lists
    except RuleError as error:
        raise CommandError(f"That query does not parse:\n{error}") from None
    try:
        if like is not None:
            return like.model_copy(update={"query": query})
        return RuleConfig.model_validate(
            {"name": name, "query": query}, context=rule_context(ctx.config.rule_lists)
        )
    except ValidationError as error:
        reason = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise CommandError(f"Rule name {name!r} is not valid: {reason}.") from None


def _find_rule(ctx: Context, name: str) -> RuleConfig | None:
    return next((r for r in ctx.config.rules if r.name == name), None)


def _existing_rule(ctx: Context, name: str) -> RuleConfig:
    rule = _find_rule(ctx, name)
    if rule is None:
        known = ", ".join(r.name for r in ctx.config.rules) or "none"
        raise CommandError(f"There is no rule named {name!r}. Rules: {known}.")
    return rule
