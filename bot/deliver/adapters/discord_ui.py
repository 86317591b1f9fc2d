"""Discord's interactive parts: the buttons under alerts and the rule editor (a modal), decided once
for both ways an interaction arrives (the gateway, bot.deliver.adapters.discord_commands, and the
HTTP interactions endpoint, bot.deliver.adapters.discord_interactions).

`DiscordUI` takes who clicked or submitted (a CommandRequest), the component's custom_id and what
was typed, calls the platform-neutral `Interactions` core (bot.commands.interactive) and returns
what to show: a `UIMessage` (always private to the presser) or a `UIModal`. It decides nothing
itself: admin checks, saving, auditing and the one-click-counts-once rule are the core's.

Everything a component acts on is in its custom_id, so buttons keep working across restarts and
on any instance behind the HTTP endpoint, with no state kept here:
- `nb:notrelevant:<delivery id>`, `nb:mute:<delivery id>`: the alert buttons (the core finds the
  item, story, channel and rules, and refuses a click from another channel than the alert's);
- `nb:rule:<new|edit>:<name>`: the editor modal; its fields are `name` (new rules), `query`,
  `enabled` (on/off) and `then` (test/save);
- `nb:rule-save:…`, `nb:rule-edit:…` (`<new|edit>:<on|off>:<name>`): the buttons under a tested
  draft. A Discord modal cannot be updated in place, so "Test" answers the submission with the
  preview, and the draft's query rides in that private message's footer (plain text there: no
  markdown, no mention), from where Save and Edit read it back.

Every text shown is rendered by discord_render (escaped, no mentions); every send is made with no
allowed mentions by the callers.
"""

from __future__ import annotations

import re
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import discord

from bot.core.model import CommandRequest, Reply, ReplyEntry
from bot.core.platform import Interactions
from bot.core.rules.preview import RulePreview
from bot.deliver.adapters.discord_render import render_discord_reply

ALERT_BUTTON = r"nb:(?P<action>notrelevant|mute):(?P<delivery>[0-9]{1,18})"
DRAFT_BUTTON = (
    r"nb:(?P<action>rule-save|rule-edit):(?P<kind>new|edit):(?P<enabled>on|off):(?P<name>[a-z0-9_-]{0,64})"
)
RULE_MODAL = r"nb:rule:(?P<kind>new|edit):(?P<name>[a-z0-9_-]{0,64})"
QUERY_MAX = 2000  # the editor's query field; the draft rides in a footer (2,048 characters at most)
DRAFT_PREFIX = "Draft query: "
TITLE_MAX = 45  # a modal's title
_RULE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
EDIT_ACTIONS = ("add", "edit")  # `/news rules add|edit <name>` with no query opens the editor
STOPPED_SHOWN = 8


@dataclass(frozen=True)
class RuleDraft:
    """What the editor holds: `edited` is the existing rule's name, or "" for a new rule."""

    edited: str
    name: str
    query: str
    enabled: bool = True

    @property
    def kind(self) -> str:
        return "edit" if self.edited else "new"


@dataclass(frozen=True)
class UIMessage:
    """A private answer: embeds, and buttons when `view` is set (already stopped: see `_stopped`)."""

    embeds: list[discord.Embed]
    view: discord.ui.View | None = None

    def to_dict(self) -> dict[str, Any]:
        """As an interaction response's or webhook message's JSON (HTTP endpoint)."""
        out: dict[str, Any] = {
            "embeds": [embed.to_dict() for embed in self.embeds],
            "allowed_mentions": {"parse": []},
            "components": self.view.to_components() if self.view is not None else [],
        }
        return out


@dataclass(frozen=True)
class UIModal:
    modal: discord.ui.Modal


class DiscordUI:
    """Alert buttons and the rule editor over the `Interactions` core. Holds no state."""

    def __init__(self, core: Interactions) -> None:
        self.core = core

    # -- alert buttons ------------------------------------------------------------------------

    def alert_click(self, request: CommandRequest, custom_id: str) -> UIMessage | None:
        """The answer to "Not relevant" or "Mute this story"; None when `custom_id` is not one."""
        match = re.fullmatch(ALERT_BUTTON, custom_id)
        if match is None:
            return None
        if match["action"] == "notrelevant":
            outcome = self.core.not_relevant(request, match["delivery"])
        else:
            outcome = self.core.mute(request, match["delivery"])
        return _say(outcome.text, error=False)

    # -- the rule editor ----------------------------------------------------------------------

    def slash_editor(self, request: CommandRequest, action: object, args: object) -> UIModal | None:
        """`/news rules add [name]` or `/news rules edit <name>` with no query: the editor, for an
        admin. None (the command then goes to the core as typed) for anything else, a non-admin
        (the core refuses and records it) or an unknown rule."""
        words = str(args or "").split()
        if action not in EDIT_ACTIONS or len(words) > 1 or (action == "edit" and not words):
            return None
        if not self.core.is_admin(request):
            return None
        name = words[0].lower() if words else ""
        if action == "add":
            return self.editor(request, RuleDraft(edited="", name=name, query=""))
        return self.editor(request, None, rule=name)

    def editor(
        self, request: CommandRequest, draft: RuleDraft | None, *, rule: str | None = None
    ) -> UIModal | None:
        """The editor holding `draft`, or rule `rule` as saved; None for a non-admin (logged by the
        core), an unknown rule, or a query too long for Discord's text field."""
        form = self.core.rule_form(request, (draft.edited or None) if draft else rule)
        if form is None:
            return None
        if draft is None:
            draft = RuleDraft(
                edited=form.name or "", name=form.name or "", query=form.query, enabled=form.enabled
            )
        if len(draft.query) > QUERY_MAX:
            return None
        return UIModal(rule_modal(draft))

    @staticmethod
    def is_editor(custom_id: str) -> bool:
        """Whether a modal submission is the rule editor's."""
        return re.fullmatch(RULE_MODAL, custom_id) is not None

    async def submit(
        self, request: CommandRequest, custom_id: str, values: Mapping[str, str]
    ) -> UIMessage | None:
        """The answer to the editor's submission: the preview (Test) or the save's outcome; None
        when `custom_id` is not the editor's."""
        match = re.fullmatch(RULE_MODAL, custom_id)
        if match is None:
            return None
        edited = match["name"] if match["kind"] == "edit" else ""
        draft = RuleDraft(
            edited=edited,
            name=edited or values.get("name", "").strip().lower(),
            query=" ".join(values.get("query", "").split()),
            enabled=values.get("enabled", "on") != "off",
        )
        if values.get("then") == "save":
            return await self._save(request, draft)
        return self._test(request, draft)

    def draft_edit(self, request: CommandRequest, custom_id: str, footer: str) -> UIModal | UIMessage | None:
        """The editor again, holding the tested draft (its query is in `footer`); None when
        `custom_id` is not a draft's Edit button."""
        draft = _draft(custom_id, footer, "rule-edit")
        if draft is None:
            return None
        return self.editor(request, draft) or _say("The editor cannot open here.", error=True)

    def draft_save(
        self, request: CommandRequest, custom_id: str, footer: str
    ) -> Coroutine[Any, Any, UIMessage] | None:
        """Saving the tested draft, to await (after acknowledging the click); None when
        `custom_id` is not a draft's Save button. A non-admin is refused by the core."""
        draft = _draft(custom_id, footer, "rule-save")
        return None if draft is None else self._save(request, draft)

    def _test(self, request: CommandRequest, draft: RuleDraft) -> UIMessage:
        preview = self.core.preview(request, draft.name or "new", draft.query, enabled=draft.enabled)
        if preview is None:  # not an admin: refused and logged by the core
            return _say("Only admins can test rules.", error=True)
        name_ok = bool(_RULE_NAME.fullmatch(draft.name))
        reply = preview_reply(draft, preview, name_ok=name_ok)
        embeds = render_discord_reply(reply)
        embeds[-1].set_footer(text=DRAFT_PREFIX + draft.query)  # read back by Save and Edit
        buttons: list[discord.ui.Item[Any]] = [_draft_button("rule-edit", draft, "Edit")]
        if preview.ok and name_ok:
            buttons.insert(0, _draft_button("rule-save", draft, "Save", discord.ButtonStyle.primary))
        return UIMessage(embeds, _stopped(buttons))

    async def _save(self, request: CommandRequest, draft: RuleDraft) -> UIMessage:
        reply = await self.core.save_rule(
            request, name=draft.name, query=draft.query, enabled=draft.enabled, new=not draft.edited
        )
        return UIMessage(render_discord_reply(reply))


def preview_reply(draft: RuleDraft, preview: RulePreview, *, name_ok: bool = True) -> Reply:
    """The Test answer as a neutral Reply (rendered and escaped by discord_render)."""
    title = f"Test of rule {draft.name}" if draft.name else "Test of a new rule"
    lines: list[str] = []
    if not name_ok:
        lines.append("Give the rule a name: one word of a-z, 0-9, _ and -.")
    if not preview.ok:
        lines.append(f"Does not parse at position {preview.position}: expected {preview.error}")
        lines.extend(preview.pointer.splitlines())
        return Reply(title=title, lines=tuple(lines), is_error=True)
    lines.append(f"Matches {preview.matched} of {preview.scanned} stored items of the last 7 days.")
    if not draft.enabled:
        lines.append("Saved disabled, it would match nothing.")
    if preview.would_stop:
        lines.append(f"Would stop {len(preview.would_stop)} of the last 24 hours' alerts:")
        lines += [f"• {alert.item.title}" for alert in preview.would_stop[:STOPPED_SHOWN]]
        if len(preview.would_stop) > STOPPED_SHOWN:
            lines.append(f"…and {len(preview.would_stop) - STOPPED_SHOWN} more")
    else:
        lines.append("Would stop none of the last 24 hours' alerts.")
    entries = tuple(ReplyEntry(title=item.title, url=item.link) for item in preview.headlines)
    return Reply(title=title, lines=tuple(lines), entries=entries)


def rule_modal(draft: RuleDraft) -> discord.ui.Modal:
    """The editor: name (new rules), query, enabled, and whether submitting tests or saves."""
    title = f"Edit rule {draft.edited}" if draft.edited else "New rule"
    modal = discord.ui.Modal(
        title=title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…",
        custom_id=f"nb:rule:{draft.kind}:{draft.edited}",
        timeout=None,
    )
    if not draft.edited:
        modal.add_item(
            discord.ui.Label(
                text="Name",
                description="One word: a-z, 0-9, _ and -",
                component=discord.ui.TextInput(custom_id="name", default=draft.name or None, max_length=64),
            )
        )
    query: discord.ui.TextInput[Any] = discord.ui.TextInput(
        custom_id="query",
        style=discord.TextStyle.paragraph,
        default=draft.query or None,
        max_length=QUERY_MAX,
        placeholder='"Project Prometheus" OR (Prometheus AND Bezos)',
    )
    modal.add_item(discord.ui.Label(text="Query", component=query))
    modal.add_item(
        discord.ui.Label(
            text="Enabled",
            component=_choice("enabled", [("on", "On", draft.enabled), ("off", "Off", not draft.enabled)]),
        )
    )
    then = _choice(
        "then",
        [("test", "Test: show what it would match, save nothing", True), ("save", "Save", False)],
    )
    modal.add_item(discord.ui.Label(text="When I submit", component=then))
    modal.stop()  # never kept in discord.py's store: submissions are read by custom_id (survive restarts)
    return modal


def alert_view(delivery_id: int) -> discord.ui.View:
    """The buttons under an alert (a channel post by the bot; a plain webhook cannot carry them)."""
    return _stopped(
        [
            _button(f"nb:notrelevant:{delivery_id}", "Not relevant"),
            _button(f"nb:mute:{delivery_id}", "Mute this story"),
        ]
    )


def submitted_values(components: object) -> dict[str, str]:
    """The values of a modal submission's fields (raw JSON, Label-wrapped or in action rows):
    a text input's text, or a select's first choice, by custom_id."""
    values: dict[str, str] = {}
    stack = [components]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            custom_id = node.get("custom_id")
            if isinstance(custom_id, str):
                if isinstance(node.get("value"), str):
                    values[custom_id] = node["value"]
                chosen = node.get("values")
                if isinstance(chosen, list) and chosen and isinstance(chosen[0], str):
                    values[custom_id] = chosen[0]
            stack.extend(node.get(key) for key in ("components", "component") if key in node)
    return values


def draft_footer(embeds: object) -> str:
    """The footer text of a message's last embed (raw JSON), where a tested draft's query is."""
    if not isinstance(embeds, list) or not embeds or not isinstance(embeds[-1], dict):
        return ""
    footer = embeds[-1].get("footer")
    text = footer.get("text") if isinstance(footer, dict) else None
    return text if isinstance(text, str) else ""


def _draft(custom_id: str, footer: str, action: str) -> RuleDraft | None:
    match = re.fullmatch(DRAFT_BUTTON, custom_id)
    if match is None or match["action"] != action:
        return None
    kind, name = match["kind"], match["name"]
    query = footer[len(DRAFT_PREFIX) :] if footer.startswith(DRAFT_PREFIX) else ""
    return RuleDraft(
        edited=name if kind == "edit" else "", name=name, query=query, enabled=match["enabled"] == "on"
    )


def _say(text: str, *, error: bool) -> UIMessage:
    return UIMessage(render_discord_reply(Reply(title=text, is_error=error)))


def _choice(custom_id: str, options: Sequence[tuple[str, str, bool]]) -> discord.ui.Select[Any]:
    return discord.ui.Select(
        custom_id=custom_id,
        options=[discord.SelectOption(label=label, value=value, default=on) for value, label, on in options],
    )


def _button(
    custom_id: str, label: str, style: discord.ButtonStyle = discord.ButtonStyle.secondary
) -> discord.ui.Button[Any]:
    return discord.ui.Button(custom_id=custom_id, label=label, style=style)


def _draft_button(
    action: str, draft: RuleDraft, label: str, style: discord.ButtonStyle = discord.ButtonStyle.secondary
) -> discord.ui.Button[Any]:
    name = draft.edited or (draft.name if _RULE_NAME.fullmatch(draft.name) else "")
    enabled = "on" if draft.enabled else "off"
    return _button(f"nb:{action}:{draft.kind}:{enabled}:{name}", label, style)


def _stopped(items: Sequence[discord.ui.Item[Any]]) -> discord.ui.View:
    """A view only to carry components: stopped, so discord.py never stores it (the gateway's
    handlers match clicks by custom_id, and a stored copy would answer a second time)."""
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    view.stop()
    return view
