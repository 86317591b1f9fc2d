"""Decide which operator notices to raise and clear: dead feeds, silent rules and channels that
refuse alerts for good (pure).

Takes the feeds' health, the rules' last matches, the channels' refusals, the notices already
raised and `now`; returns the state changes, each with the text to post. No database, no network,
no clock read here: bot.ops.notices reads the inputs, posts the texts and records the changes.

A notice has three states per key (`feed-down:<url>`, `rule-silent:<name>`,
`channel-refused:<platform>:<channel>`):
- raised: the operator was told; nothing more is said until it is over.
- cleared: not (or no longer) a problem. A missing row means the same.
- watching: a feed that has never fetched successfully was first seen failing at `changed_at`
  (the feeds table does not say since when a never-good feed fails); recorded silently.
Each change to raised, and each change from raised to cleared, carries one message; every other
change is recorded without one. So an operator hears of each problem once, and once when it is over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

NoticeStateName = Literal["raised", "cleared", "watching"]
FEED_PREFIX = "feed-down:"
RULE_PREFIX = "rule-silent:"
CHANNEL_PREFIX = "channel-refused:"
PLATFORM_NAMES = {"slack": "Slack", "discord": "Discord", "console": "Console"}
MIN_FAILED_POLLS = 2  # one failed poll is never "down for a day" (e.g. the first poll after a long stop)
MAX_ERROR_CHARS = 200


@dataclass(frozen=True)
class FeedHealth:
    """One configured, enabled feed's row in `feeds` (all None/0 when it was never polled)."""

    url: str
    name: str
    error_count: int = 0
    last_success_at: float | None = None
    last_status: int | None = None
    last_error: str | None = None
    disabled_reason: str | None = None


@dataclass(frozen=True)
class RuleActivity:
    """One enabled rule: when it last matched, and since when it exists in this form, if known
    (a chat edit's time; None for rules only in the files)."""

    name: str
    last_match_at: float | None = None
    since: float | None = None


@dataclass(frozen=True)
class ChannelRefusals:
    """A channel some of whose alerts a platform refused for good recently (unknown channel, missing
    access, bad token, a message refused even as plain text): the latest refusal, its error, and
    the latest alert delivered there. `channel` has any token redacted."""

    platform: str
    channel: str
    last_refused_at: float
    last_error: str
    last_sent_at: float | None = None

    @property
    def refusing(self) -> bool:
        """Nothing has got through since the latest refusal."""
        return self.last_sent_at is None or self.last_sent_at < self.last_refused_at


@dataclass(frozen=True)
class NoticeState:
    key: str
    state: NoticeStateName
    changed_at: float
    message: str = ""


@dataclass(frozen=True)
class NoticePolicy:
    feed_down_after: float = 24 * 3600.0
    rule_silent_after: float = 7 * 24 * 3600.0


@dataclass(frozen=True)
class NoticeChange:
    """Move `key` to `state` at `at`. `text` is what to post first; None: record silently."""

    key: str
    state: NoticeStateName
    at: float
    text: str | None


def decide_notices(
    *,
    feeds: Iterable[FeedHealth],
    rules: Iterable[RuleActivity],
    polling_since: float | None,
    states: Mapping[str, NoticeState],
    now: float,
    policy: NoticePolicy,
    channels: Iterable[ChannelRefusals] = (),
) -> list[NoticeChange]:
    """The notice changes due now, feeds first, then rules, then channels, each key at most once.

    `polling_since` is when the bot first fetched any feed successfully (None: never); rules are
    judged only after it has been polling for `rule_silent_after`, so a fresh install pages nobody.
    A raised notice whose feed or rule is no longer configured is cleared without a message.
    """
    changes: list[NoticeChange] = []
    seen: set[str] = set()
    for feed in feeds:
        key = FEED_PREFIX + feed.url
        seen.add(key)
        change = _decide_feed(feed, states.get(key), now, policy)
        if change is not None:
            changes.append(change)
    for rule in rules:
        key = RULE_PREFIX + rule.name
        seen.add(key)
        change = _decide_rule(rule, states.get(key), polling_since, now, policy)
        if change is not None:
            changes.append(change)
    for channel in channels:
        key = channel_key(channel)
        seen.add(key)
        change = _decide_channel(channel, states.get(key), now)
        if change is not None:
            changes.append(change)
    for key, state in sorted(states.items()):
        if key not in seen and state.state != "cleared":
            changes.append(NoticeChange(key=key, state="cleared", at=now, text=None))
    return changes


def _decide_feed(
    feed: FeedHealth, current: NoticeState | None, now: float, policy: NoticePolicy
) -> NoticeChange | None:
    key = FEED_PREFIX + feed.url
    state = current.state if current else "cleared"
    failing = feed.disabled_reason is not None or feed.error_count > 0
    if not failing:
        if state == "watching":
            return NoticeChange(key=key, state="cleared", at=now, text=None)
        if state == "raised" and current is not None and _succeeded_since(feed, current.changed_at):
            return NoticeChange(key=key, state="cleared", at=now, text=feed_back_text(feed, current, now))
        return None  # healthy, or resumed by an admin but not yet fetched successfully
    if state == "raised":
        return None
    if feed.disabled_reason is not None:  # never retried by itself: an admin has to act, so say so now
        return NoticeChange(key=key, state="raised", at=now, text=feed_disabled_text(feed))
    since = feed.last_success_at
    if since is None:
        if state != "watching" or current is None:
            return NoticeChange(key=key, state="watching", at=now, text=None)
        since = current.changed_at
    if feed.error_count >= MIN_FAILED_POLLS and now - since >= policy.feed_down_after:
        return NoticeChange(key=key, state="raised", at=now, text=feed_down_text(feed, now - since))
    return None


def _succeeded_since(feed: FeedHealth, moment: float) -> bool:
    return feed.last_success_at is not None and feed.last_success_at >= moment


def _decide_rule(
    rule: RuleActivity,
    current: NoticeState | None,
    polling_since: float | None,
    now: float,
    policy: NoticePolicy,
) -> NoticeChange | None:
    key = RULE_PREFIX + rule.name
    state = current.state if current else "cleared"
    if state == "raised" and current is not None:
        if rule.last_match_at is not None and rule.last_match_at >= current.changed_at:
            return NoticeChange(key=key, state="cleared", at=now, text=rule_back_text(rule, current, now))
        if rule.since is not None and rule.since >= current.changed_at:  # edited since: a new rule
            return NoticeChange(key=key, state="cleared", at=now, text=None)
        return None
    if polling_since is None or now - polling_since < policy.rule_silent_after:
        return None
    quiet_since = max(
        moment for moment in (rule.last_match_at, rule.since, polling_since) if moment is not None
    )
    if now - quiet_since >= policy.rule_silent_after:
        return NoticeChange(key=key, state="raised", at=now, text=rule_silent_text(rule, now - quiet_since))
    return None


def channel_key(channel: ChannelRefusals) -> str:
    return f"{CHANNEL_PREFIX}{channel.platform}:{channel.channel}"


def _decide_channel(channel: ChannelRefusals, current: NoticeState | None, now: float) -> NoticeChange | None:
    """Raised at the first refusal (retrying cannot help, so there is nothing to wait for); cleared
    once an alert is delivered there after that."""
    key = channel_key(channel)
    raised = current is not None and current.state == "raised"
    if channel.refusing and not raised:
        return NoticeChange(key=key, state="raised", at=now, text=channel_refused_text(channel))
    if not channel.refusing and raised and current is not None:
        return NoticeChange(key=key, state="cleared", at=now, text=channel_back_text(channel, current, now))
    return None


def channel_refused_text(channel: ChannelRefusals) -> str:
    return (
        f"{_channel_name(channel)} refuses alerts, so they are not retried: {_one_line(channel.last_error)}"
    )


def channel_back_text(channel: ChannelRefusals, raised: NoticeState, now: float) -> str:
    return (
        f"{_channel_name(channel)} takes alerts again (reported refusing "
        f"{format_span(now - raised.changed_at)} ago)"
    )


def _channel_name(channel: ChannelRefusals) -> str:
    return f"{PLATFORM_NAMES.get(channel.platform, channel.platform)} channel {channel.channel}"


def feed_down_text(feed: FeedHealth, failing_for: float) -> str:
    return f"Feed '{feed.name}' has failed for {format_span(failing_for)}: {_error(feed)}"


def feed_disabled_text(feed: FeedHealth) -> str:
    return (
        f"Feed '{feed.name}' is stopped ({_one_line(feed.disabled_reason or '')}) and is no longer "
        f"polled; an admin can resume it once it is fixed: {feed.url}"
    )


def feed_back_text(feed: FeedHealth, raised: NoticeState, now: float) -> str:
    return f"Feed '{feed.name}' is back (reported down {format_span(now - raised.changed_at)} ago)"


def rule_silent_text(rule: RuleActivity, silent_for: float) -> str:
    if rule.last_match_at is None:
        return (
            f"Rule '{rule.name}' has matched nothing in {format_span(silent_for)}, ever since it was set up"
        )
    return f"Rule '{rule.name}' has matched nothing in {format_span(silent_for)}"


def rule_back_text(rule: RuleActivity, raised: NoticeState, now: float) -> str:
    return (
        f"Rule '{rule.name}' is matching again (reported silent {format_span(now - raised.changed_at)} ago)"
    )


def format_span(seconds: float) -> str:
    """Minutes below an hour, whole hours up to two days, then whole days: "26 hours", "8 days"."""
    seconds = max(seconds, 0.0)
    if seconds < 3600:
        minutes = int(seconds // 60)
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    hours = int(seconds // 3600)
    if hours < 48:
        return "1 hour" if hours == 1 else f"{hours} hours"
    return f"{hours // 24} days"


def _error(feed: FeedHealth) -> str:
    if feed.last_error:
        text = _one_line(feed.last_error)  # the fetcher writes "HTTP 503 Service Unavailable" and the like
    elif feed.last_status is not None:
        text = f"HTTP {feed.last_status}"
    else:
        text = "unknown error"
    polls = "1 failed poll" if feed.error_count == 1 else f"{feed.error_count} failed polls in a row"
    return f"{text} ({polls})"


def _one_line(text: str) -> str:
    """Feed servers write error bodies; keep them short and on one line (adapters escape them)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_ERROR_CHARS else flat[: MAX_ERROR_CHARS - 1] + "…"
