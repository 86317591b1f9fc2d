"""The /news slash command on Discord, whichever way it arrives: over the gateway
(bot.deliver.adapters.discord_commands, discord.py's CommandTree) or at the HTTP interactions
endpoint (bot.deliver.adapters.discord_interactions). Both translate through this module, so the
two cannot drift apart:

- `request_line`: a subcommand's option values become the core's text line ("latest 5 prometheus"),
  and whether the answer is private before the core has said anything (help, admin work);
- `AdminHint`: the platform's admin signal (Manage Server or Administrator while enabled, or one
  of the configured admin roles) from the permission bits and role ids every interaction carries;
- `suggestions`: what each autocompleted option offers;
- `reply_for`: the core's answer, with a refusal or a crash turned into a private error reply.

Rendering is bot.deliver.adapters.discord_render's `render_discord_reply`, and every reply is sent
with no allowed mentions, on both paths.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.core.model import CommandRequest, Reply
from bot.core.platform import CommandHandler
from bot.errors import CommandError

log = logging.getLogger(__name__)

NameLookup = Callable[[Literal["rules", "feeds"]], list[str]]  # e.g. bot.commands.CommandCore.names
# Suggestions only (the actions bot.commands knows): the core accepts or refuses what is typed.
RULES_ACTIONS = ("list", "add", "edit", "remove", "enable", "disable", "test", "reset")
FEEDS_ACTIONS = ("list", "add", "remove", "pause", "resume", "reset", "export", "import")
FACTS_ACTIONS = ("add", "remove")
STORY_ACTIONS = ("show", "split")
MANAGE_GUILD = 1 << 5  # Discord's permission bits
ADMINISTRATOR = 1 << 3
EPHEMERAL = 1 << 6  # the message flag: only the asker sees it
MAX_CHOICES = 25  # Discord shows at most 25 autocomplete choices


@dataclass(frozen=True)
class Subcommand:
    """One subcommand as Discord sends it: its options, in the order the core reads them."""

    options: tuple[str, ...] = ()
    page_word: str | None = None  # a `page` option becomes this word and the number
    private: bool | frozenset[str] = False  # always, or when its `action` option is one of these


SPEC: dict[str, Subcommand] = {
    "latest": Subcommand(("n", "rule"), page_word="page"),
    "search": Subcommand(("words",), page_word="--page"),
    "facts": Subcommand(("action", "text"), private=frozenset(FACTS_ACTIONS)),
    "status": Subcommand(),
    "story": Subcommand(("action", "report"), private=True),
    "help": Subcommand(("topic",), private=True),
    "rules": Subcommand(("action", "args"), private=True),
    "feeds": Subcommand(("action", "args"), private=True),
    "routes": Subcommand(private=True),
    "audit": Subcommand(("n",), private=True),
}
SUBCOMMANDS = tuple(SPEC)

# What each autocompleted option offers: the core's rule or feed names, or a fixed list.
COMPLETIONS: dict[tuple[str, str], Literal["rules", "feeds"] | tuple[str, ...]] = {
    ("latest", "rule"): "rules",
    ("facts", "action"): FACTS_ACTIONS,
    ("story", "action"): STORY_ACTIONS,
    ("help", "topic"): SUBCOMMANDS,
    ("rules", "action"): RULES_ACTIONS,
    ("rules", "args"): "rules",
    ("feeds", "action"): FEEDS_ACTIONS,
    ("feeds", "args"): "feeds",
}


def command_line(*parts: str | int | None) -> str:
    """The core's text line from option values: "latest 5 prometheus"; empty options dropped."""
    words = (" ".join(str(p).split()) for p in parts if p is not None)
    return " ".join(w for w in words if w)


def request_line(subcommand: str, values: Mapping[str, str | int | None]) -> tuple[str, bool]:
    """The core's text line for `subcommand` with these option values, and whether its answer is
    private from the start. A subcommand this module does not know (a stale registration) is
    passed on as typed, privately, for the core to answer."""
    spec = SPEC.get(subcommand)
    if spec is None:
        return command_line(subcommand, *values.values()), True
    parts: list[str | int | None] = [subcommand, *(values.get(option) for option in spec.options)]
    page = values.get("page")
    if spec.page_word and page:
        parts += [spec.page_word, page]
    private = spec.private if isinstance(spec.private, bool) else values.get("action") in spec.private
    return command_line(*parts), private


class AdminHint:
    """The platform's admin signal: Manage Server (or Administrator) while `manage_server` is on, or
    one of `role_ids`. Only a hint: bot.commands decides (CommandRequest.is_admin_hint)."""

    def __init__(self, role_ids: Collection[int], manage_server: bool) -> None:
        self.role_ids, self.manage_server = frozenset(int(r) for r in role_ids), manage_server

    def __call__(self, permissions: int, role_ids: Iterable[int]) -> bool:
        if self.manage_server and permissions & (MANAGE_GUILD | ADMINISTRATOR):
            return True
        return any(r in self.role_ids for r in role_ids)


def suggestions(subcommand: str, option: str, current: str, lookup: NameLookup | None) -> list[str]:
    """Up to 25 choices for the option being typed: names containing `current`, those starting with
    it first. Rule and feed names come from `lookup` (nothing past the first word, nothing when the
    lookup fails); the action lists are fixed."""
    source = COMPLETIONS.get((subcommand, option))
    if source is None:
        return []
    if isinstance(source, tuple):
        return _matching(source, current)
    if lookup is None or " " in current.strip():  # past the name: nothing to suggest
        return []
    try:
        names = lookup(source)
    except Exception:
        log.exception("name lookup for %s autocomplete failed", source)
        return []
    return _matching(names, current)


def _matching(names: Sequence[str], current: str) -> list[str]:
    needle = current.strip().lower()
    hits = [n for n in names if needle in n.lower() and 0 < len(n) <= 100]
    hits.sort(key=lambda n: (not n.lower().startswith(needle), n.lower()))
    return hits[:MAX_CHOICES]


async def reply_for(handle: CommandHandler, request: CommandRequest) -> Reply:
    """The core's reply; a refusal becomes a private error reply, a crash a private "something went
    wrong" with the details in the log only."""
    try:
        return await handle(request)
    except CommandError as exc:
        return Reply(title="Cannot do that", lines=(str(exc),), ephemeral=True, is_error=True)
    except Exception:
        log.exception("command %r failed", request.text.split(" ", 1)[0])
        lines = ("Something went wrong; the error was logged.",)
        return Reply(title="Error", lines=lines, ephemeral=True, is_error=True)
