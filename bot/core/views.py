"""What the interactive surfaces show, as data: the App Home, the rule editor, answers to alert
buttons. Built by bot.commands.interactive, rendered per platform (bot.core.render.slack_views).

All text is plain and unescaped, feed text included: each renderer escapes it. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.precision import RulePrecision
from bot.core.rules.preview import RulePreview


@dataclass(frozen=True)
class HomeStory:
    title: str
    link: str | None
    meta: str  # source · time · rules


@dataclass(frozen=True)
class HomeFeed:
    name: str
    url: str
    state: str  # failing | paused | not polled yet | healthy
    detail: str


@dataclass(frozen=True)
class HomeRule:
    name: str
    query: str
    enabled: bool
    matched_7d: int
    channels: tuple[str, ...] = ()  # channels of this platform the rule is routed to


@dataclass(frozen=True)
class HomeView:
    stories: tuple[HomeStory, ...]
    feeds: tuple[HomeFeed, ...]  # failing first
    rules: tuple[HomeRule, ...]
    is_admin: bool
    precision: tuple[RulePrecision, ...] = ()  # admins only: the last 7 days' feedback per rule
    notice: str = ""  # the outcome of the viewer's last action, shown on top
    notice_is_error: bool = False


@dataclass(frozen=True)
class RuleForm:
    """The rule editor's content. `name` None: a new rule."""

    name: str | None
    query: str = ""
    enabled: bool = True
    channels: tuple[str, ...] = ()
    preview: RulePreview | None = None
    draft_name: str = ""  # a new rule's name as typed so far


@dataclass(frozen=True)
class ActionOutcome:
    """The answer to one button press: shown to the presser only."""

    text: str
    counted: bool  # False: refused, or already done (a double click)
