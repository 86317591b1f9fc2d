"""The seam between the platform-neutral core and each platform: what an adapter must provide.

An adapter module (console, Slack, Discord) implements AlertSender for alerts and calls a
CommandHandler for slash commands. It translates only; it decides nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.model import Alert, CommandRequest, Reply


class AlertSender(Protocol):
    """Sends rendered alerts to one platform's channels."""

    platform: str

    async def send_alert(self, channel: str, alert: Alert) -> str:
        """Post `alert` to `channel` and return the platform's message reference (Slack ts,
        Discord message id, ...). Raise bot.errors.DeliveryError on failure, with
        `retryable` set truthfully; never mark anything sent yourself."""
        ...


CommandHandler = Callable[[CommandRequest], Awaitable[Reply]]
