"""The command reference: every subcommand's usage, an example and a one-line description.

Pure data plus two renderers (the full help and one subcommand's usage); the same text serves
`/news help`, error replies ("usage: ...") and docs/commands.md (kept complete by a test).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.model import Reply, ReplyEntry


@dataclass(frozen=True)
class Usage:
    name: str  # "latest", "rules add"
    syntax: str  # after the subcommand words
    example: str  # after the command name
    description: str
    admin: bool = False


USAGES: tuple[Usage, ...] = (
    Usage(
        "latest",
        "[n] [rule] [page N]",
        "latest 5 prometheus page 2",
        "Newest matched stories (n 1-10, default 5).",
    ),
    Usage(
        "search", "<words> [--page N]", 'search "Vik Bajaj" fund', "Full-text search over every stored story."
    ),
    Usage("facts", "", "facts", "What we know: curated facts and key figures seen in matched stories."),
    Usage("status", "", "status", "Last poll, feed health, items and alerts in 24 hours, queue depth."),
    Usage("help", "[subcommand]", "help rules", "This list, or one subcommand's usage."),
    Usage(
        "story show",
        "<report id or link>",
        "story show https://www.reuters.com/business/prometheus-deal/",
        "The reports grouped into that report's story, with their ids.",
    ),
    Usage(
        "story split",
        "<report id or link>",
        "story split 3f2a9c0b1d4e",
        "Undo a wrong grouping: the report becomes a story of its own and is alerted as one.",
        True,
    ),
    Usage(
        "rules list", "", "rules list", "Every rule, its query and where it comes from (file or chat).", True
    ),
    Usage(
        "rules add", "<name> <query>", 'rules add fund "manufacturing fund" AND Bezos', "Add a rule.", True
    ),
    Usage("rules edit", "<name> <query>", "rules edit fund Bezos AND fund", "Change a rule's query.", True),
    Usage("rules remove", "<name>", "rules remove fund", "Remove a rule.", True),
    Usage("rules enable", "<name>", "rules enable fund", "Turn a rule back on.", True),
    Usage("rules disable", "<name>", "rules disable fund", "Stop a rule matching without removing it.", True),
    Usage(
        "rules test",
        '<rule name or query> [--text "headline"]',
        'rules test Bezos AND fund --text "Bezos plans $100B fund"',
        "Try a rule on some text, or on the 500 newest stored stories.",
        True,
    ),
    Usage(
        "rules feedback",
        "[days]",
        "rules feedback 7",
        "Per rule: alerts and how many readers marked not relevant, with examples (default 7 days).",
        True,
    ),
    Usage(
        "rules reset",
        "<name>",
        "rules reset fund",
        "Drop the chat edit of a rule; the file's version applies.",
        True,
    ),
    Usage(
        "feeds list", "[--page N]", "feeds list", "Every feed with its health and where it comes from.", True
    ),
    Usage(
        "feeds add",
        "<url> [name] [--interval 10m]",
        "feeds add https://example.com/rss.xml Example News",
        "Fetch the URL once and, if it is a feed, watch it.",
        True,
    ),
    Usage("feeds remove", "<url or number>", "feeds remove 3", "Stop watching a feed.", True),
    Usage("feeds pause", "<url or number>", "feeds pause 3", "Stop polling a feed for now.", True),
    Usage("feeds resume", "<url or number>", "feeds resume 3", "Poll a paused or failing feed again.", True),
    Usage(
        "feeds reset", "<url>", "feeds reset https://example.com/rss.xml", "Drop a feed's chat edit.", True
    ),
    Usage("feeds export", "", "feeds export", "The feed list as OPML.", True),
    Usage(
        "feeds import",
        "<OPML text>",
        "feeds import <opml>…</opml>",
        "Add every new feed in an OPML list.",
        True,
    ),
    Usage(
        "facts add",
        '<text> [--source "where"]',
        'facts add Prometheus hired 100 people --source "WSJ"',
        "Add a fact.",
        True,
    ),
    Usage("facts remove", "<number>", "facts remove 2", "Remove a fact (numbers as shown by `facts`).", True),
    Usage("routes", "", "routes", "Which rules go to which channels.", True),
    Usage("audit", "[n]", "audit 20", "The newest admin edits and refused attempts.", True),
)
SUBCOMMANDS = ("latest", "search", "facts", "status", "story", "help", "rules", "feeds", "routes", "audit")


def usage_line(usage: Usage, command: str) -> str:
    return f"/{command} {usage.name} {usage.syntax}".rstrip()


def usage_of(name: str, command: str) -> str:
    """Usage lines for a subcommand ("rules") or one action ("rules add")."""
    lines = [usage_line(u, command) for u in USAGES if u.name == name or u.name.startswith(name + " ")]
    return "\n".join(lines) if lines else f"/{command} help"


def help_reply(command: str, topic: str = "", *, show_admin: bool = True) -> Reply:
    """Every subcommand (admin ones marked) with an example; or only those under `topic`."""
    chosen = [u for u in USAGES if not topic or u.name == topic or u.name.startswith(topic + " ")]
    if not show_admin:
        chosen = [u for u in chosen if not u.admin]
    entries = tuple(
        ReplyEntry(
            title=usage_line(u, command),
            meta=("admins only · " if u.admin else "") + f"e.g. /{command} {u.example}",
            text=u.description,
        )
        for u in chosen
    )
    footer = (
        'Quote words to keep them together: "Project Prometheus". Times are shown in UTC unless configured.'
    )
    return Reply(
        title=f"/{command} commands" + (f": {topic}" if topic else ""), entries=entries, footer=footer
    )
