"""The platform-neutral core behind App Home, the rule editor and the alert buttons.

Adapters (Slack block actions and views; Discord components and modals) translate a click or a
form into a call here and render what comes back; they decide nothing. Every change goes through
`CommandCore.handle` as the equivalent slash command (`rules add/edit/enable/disable`,
`feeds add`), so a form is checked, admin-gated and audited exactly like the command: a forged
submission from a non-admin is refused there and recorded as "denied". Edit controls are built
only for admins; a request for one from anyone else is refused and logged here too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlite_utils import Database

from bot.commands import CommandCore
from bot.commands.access import is_admin
from bot.commands.feedback import WEEK, precision_report
from bot.commands.format import feed_health, format_time
from bot.config import BotConfig
from bot.core.model import CommandRequest, Reply
from bot.core.rules.preview import PreviewAlert, PreviewItem, RulePreview, preview_rule
from bot.core.views import ActionOutcome, HomeFeed, HomeRule, HomeStory, HomeView, RuleForm
from bot.store.feedback import (
    AlertTarget,
    alert_target,
    alerts_since,
    items_since,
    match_counts_since,
    mute_story,
    record_feedback,
)
from bot.store.lookups import feed_rows, latest_matched

log = logging.getLogger(__name__)

HOME_STORIES = 8
HOME_FEEDS = 15
HOME_RULES = 20
DAY = 86400
_FEED_ORDER = {"failing": 0, "paused": 1, "not polled yet": 2, "healthy": 3}


class InteractiveCore:
    """Answers App Home, editor and button requests from any platform. Holds no state."""

    def __init__(
        self,
        *,
        db: Database,
        commands: CommandCore,
        config_provider: Callable[[], BotConfig],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`config_provider` gives the effective config (files plus chat edits)."""
        self._db = db
        self._commands = commands
        self._config = config_provider
        self._clock = clock

    def is_admin(self, request: CommandRequest) -> bool:
        return is_admin(request, self._config().settings)

    # -- App Home ---------------------------------------------------------------------------

    def home(self, request: CommandRequest, *, notice: str = "", notice_is_error: bool = False) -> HomeView:
        config = self._config()
        now = self._clock()
        zone = config.settings.timezone
        admin = is_admin(request, config.settings)
        stories = tuple(
            HomeStory(
                title=story.title,
                link=story.link,
                meta=" · ".join(
                    part
                    for part in (
                        story.source.strip(),
                        format_time(story.story_at, zone),
                        ", ".join(story.rules),
                    )
                    if part
                ),
            )
            for story in latest_matched(self._db, limit=HOME_STORIES)
        )
        rows = feed_rows(self._db, [feed.url for feed in config.feeds])
        feeds = []
        for feed in config.feeds:
            state, detail = feed_health(feed.enabled, rows.get(feed.url), now)
            feeds.append(HomeFeed(name=feed.name or feed.url, url=feed.url, state=state, detail=detail))
        feeds.sort(key=lambda f: (_FEED_ORDER.get(f.state, 9), f.name.lower()))
        counts = match_counts_since(self._db, now - WEEK)
        rules = tuple(
            HomeRule(
                name=rule.name,
                query=rule.query,
                enabled=rule.enabled,
                matched_7d=counts.get(rule.name, 0),
                channels=self._channels_of(config, request.platform, rule.name),
            )
            for rule in config.rules[:HOME_RULES]
        )
        precision = tuple(precision_report(self._db, since=now - WEEK)) if admin else ()
        return HomeView(
            stories=stories,
            feeds=tuple(feeds[:HOME_FEEDS]),
            rules=rules,
            is_admin=admin,
            precision=precision,
            notice=notice,
            notice_is_error=notice_is_error,
        )

    # -- the rule editor --------------------------------------------------------------------

    def rule_form(self, request: CommandRequest, name: str | None) -> RuleForm | None:
        """The editor for rule `name` (None: a new rule), or None for a non-admin or an unknown rule."""
        config = self._config()
        if not self._admin_or_log(request, f"open the editor of rule {name!r}"):
            return None
        if name is None:
            return RuleForm(name=None)
        rule = next((r for r in config.rules if r.name == name), None)
        if rule is None:
            return None
        return RuleForm(
            name=rule.name,
            query=rule.query,
            enabled=rule.enabled,
            channels=self._channels_of(config, request.platform, rule.name),
        )

    def preview(
        self, request: CommandRequest, name: str, query: str, *, enabled: bool = True
    ) -> RulePreview | None:
        """What the rule would match (stored items of the last 7 days) and which alerts of the
        last 24 hours it would stop; None for a non-admin."""
        if not self._admin_or_log(request, f"test rule {name!r}"):
            return None
        now = self._clock()
        items = [
            PreviewItem(i, title, summary, link)
            for i, title, summary, link in items_since(self._db, now - WEEK)
        ]
        alerts = [
            PreviewAlert(a.delivery_id, PreviewItem(a.item_id, a.title, a.summary), a.rules, a.channel)
            for a in alerts_since(self._db, now - DAY)
        ]
        lists = self._config().rule_lists
        return preview_rule(name, query, enabled=enabled, items=items, alerts=alerts, lists=lists)

    async def save_rule(
        self, request: CommandRequest, *, name: str, query: str, enabled: bool, new: bool
    ) -> Reply:
        """Save the editor's rule as the slash commands would: `rules add` or `rules edit`, then
        `rules enable`/`disable` when that changed. The first refusal is the answer."""
        if not self.is_admin(request):
            log.warning(
                "refused a rule edit form from non-admin %s user %s", request.platform, request.user_id
            )
        name = name.strip().lower()
        query = " ".join(query.split())  # one line, as a slash command carries it
        if not name or len(name.split()) != 1:  # else the query's first word would become the name
            return Reply(title="Give the rule a name: one word, no spaces.", is_error=True)
        config = self._config()
        existing = None if new else next((r for r in config.rules if r.name == name), None)
        steps: list[str] = []
        if new or existing is None:
            steps.append(f"rules add {name} {query}")
            if not enabled:
                steps.append(f"rules disable {name}")
        else:
            if query != existing.query:
                steps.append(f"rules edit {name} {query}")
            if enabled != existing.enabled:
                steps.append(f"rules {'enable' if enabled else 'disable'} {name}")
        if not steps:
            return Reply(title=f"Rule {name} is unchanged")
        reply = Reply(title="")
        for text in steps:
            reply = await self._commands.handle(_as_command(request, text))
            if reply.is_error:
                return reply
        return Reply(
            title=f"Saved rule {name}", lines=(f"Query: {query}", "enabled" if enabled else "disabled")
        )

    async def add_feed(self, request: CommandRequest, url: str, name: str = "") -> Reply:
        """`feeds add <url> [name]` through the command core (admin check, feed check, audit)."""
        text = " ".join(part for part in ("feeds add", url.strip(), " ".join(name.split())) if part)
        return await self._commands.handle(_as_command(request, text))

    # -- alert buttons ----------------------------------------------------------------------

    def not_relevant(self, request: CommandRequest, delivery_id: str) -> ActionOutcome:
        """Record that `request.user_id` finds the alert not relevant (once, whatever the clicks)."""
        target = self._target(request, delivery_id)
        if target is None:
            return ActionOutcome("That alert is no longer known to the bot.", counted=False)
        if not record_feedback(self._db, target, user_id=request.user_id, at=self._clock()):
            return ActionOutcome("You already marked this alert as not relevant.", counted=False)
        rules = ", ".join(target.rules) or "no rule"
        return ActionOutcome(
            f"Thanks: marked not relevant ({rules}). Admins see it in the weekly report.", True
        )

    def mute(self, request: CommandRequest, delivery_id: str) -> ActionOutcome:
        """Stop "also reported by" updates of the alert's story in its channel."""
        target = self._target(request, delivery_id)
        if target is None:
            return ActionOutcome("That alert is no longer known to the bot.", counted=False)
        if not mute_story(self._db, target, user_id=request.user_id, at=self._clock()):
            return ActionOutcome("This story is already muted in this channel.", counted=False)
        log.info(
            "%s user %s muted story %s in %s",
            request.platform,
            request.user_id,
            target.story_id,
            target.channel,
        )
        return ActionOutcome("Muted: no more updates on this story in this channel.", True)

    # -- helpers ----------------------------------------------------------------------------

    def _target(self, request: CommandRequest, delivery_id: str) -> AlertTarget | None:
        if not delivery_id.isdigit() or len(delivery_id) > 18:
            return None
        target = alert_target(self._db, int(delivery_id))
        # A button acts only where its alert was posted: a payload naming another channel's alert is refused.
        if target is None or target.platform != request.platform or target.channel != request.channel_id:
            return None
        return target

    def _admin_or_log(self, request: CommandRequest, what: str) -> bool:
        if self.is_admin(request):
            return True
        log.warning("refused: %s user %s tried to %s", request.platform, request.user_id, what)
        return False

    @staticmethod
    def _channels_of(config: BotConfig, platform: str, rule: str) -> tuple[str, ...]:
        return tuple(
            route.channel
            for route in config.routes
            if route.platform == platform and (rule in route.rules or "all" in route.rules)
        )


def _as_command(request: CommandRequest, text: str) -> CommandRequest:
    return CommandRequest(
        platform=request.platform,
        user_id=request.user_id,
        text=text,
        channel_id=request.channel_id,
        user_name=request.user_name,
        is_admin_hint=request.is_admin_hint,
    )
