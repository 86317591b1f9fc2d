"""The seam between the platform-neutral core and each platform: what an adapter must provide.

An adapter module (console, Slack, Discord) implements AlertSender for alerts and calls a
CommandHandler for slash commands. It translates only; it decides nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.core.model import Alert, CommandRequest, Reply
from bot.core.rules.preview import RulePreview
from bot.core.views import ActionOutcome, HomeView, RuleForm


class AlertSender(Protocol):
    """Sends rendered alerts to one platform's channels."""

    platform: str

    async def send_alert(self, channel: str, alert: Alert) -> str:
        """Post `alert` to `channel` and return the platform's message reference (Slack ts,
        Discord message id, ...). Raise bot.errors.DeliveryError on failure, with
        `retryable` set truthfully; never mark anything sent yourself."""
        ...

    async def send_update(self, channel: str, parent_ref: str, alert: Alert, key: str | None = None) -> str:
        """Tell `channel` that more outlets now report the story first alerted as message `parent_ref`.

        `alert` is that original alert with `also_reported` listing every later copy so far (the newest
        last). Slack answers in the alert's thread about the newest copy and edits the alert to name
        every outlet; Discord edits the original message to show the whole list. `key` is the update's
        own delivery key, carried like an alert's where the platform posts a new message. Returns the
        reference of the message posted or edited. Raises DeliveryError like send_alert."""
        ...

    async def send_notice(self, channel: str, text: str) -> str:
        """Post a short operator notice (plain text, escaped by the adapter, no mentions) to `channel`."""
        ...


CommandHandler = Callable[[CommandRequest], Awaitable[Reply]]


class SentMessageFinder(Protocol):
    """Optional on a sender: finds a message it posted earlier, by the delivery key it carried.

    Used after a crash, for rows whose send may or may not have reached the platform.
    """

    async def find_sent(
        self, channel: str, key: str, since: float, thread_ts: str | None = None
    ) -> str | None:
        """The message reference of the post carrying `key` made after `since` (epoch seconds), in
        the thread `thread_ts` when given, or None when there is none. Raise
        bot.errors.UncheckableChannel when the bot can never read this channel (the send is then
        repeated: at least once), and any other DeliveryError when it cannot right now."""
        ...


class ParentRefresher(Protocol):
    """Optional on a sender whose update posts a message of its own *and* edits the alert (Slack).

    Used after a crash or lost answer: when recovery finds the update's post already made, the
    alert's edit may not have happened, so it is done again (an edit is safe to repeat)."""

    async def refresh_parent(self, channel: str, parent_ref: str, alert: Alert) -> str:
        """Edit the alert message `parent_ref` to list `alert.also_reported`, as send_update does.
        Raises DeliveryError like send_alert."""
        ...


def delivery_key(alert: Alert) -> str:
    """A short key that identifies one delivery of one alert; adapters embed it in the message
    (Slack message metadata; Discord nonce and the end of the embed footer) so a post can be
    recognised later.
    At most 25 characters, Discord's nonce limit."""
    return f"nb{alert.delivery_id}-{alert.item.id[:10]}"[:25]


class Interactions(Protocol):
    """The platform-neutral core behind App Home, the rule editor and the alert buttons
    (bot.commands.interactive.InteractiveCore); adapters translate to and from it."""

    def is_admin(self, request: CommandRequest) -> bool: ...

    def home(
        self, request: CommandRequest, *, notice: str = "", notice_is_error: bool = False
    ) -> HomeView: ...

    def rule_form(self, request: CommandRequest, name: str | None) -> RuleForm | None: ...

    def preview(
        self, request: CommandRequest, name: str, query: str, *, enabled: bool = True
    ) -> RulePreview | None: ...

    async def save_rule(
        self, request: CommandRequest, *, name: str, query: str, enabled: bool, new: bool
    ) -> Reply: ...

    async def add_feed(self, request: CommandRequest, url: str, name: str = "") -> Reply: ...

    def not_relevant(self, request: CommandRequest, delivery_id: str) -> ActionOutcome: ...

    def mute(self, request: CommandRequest, delivery_id: str) -> ActionOutcome: ...
