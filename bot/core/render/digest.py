"""The catch-up digest (pure): many alerts that waited out an outage, told as one message."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.model import Alert

MAX_LISTED = 15


def render_digest(alerts: Sequence[Alert], *, now: datetime) -> str:
    """Plain text (the adapter escapes it): a heading, then each story's headline, source and link."""
    oldest = min((alert.item.published or now) for alert in alerts)
    hours = max(1, round((now - oldest).total_seconds() / 3600))
    lines = [f"Catch-up: {len(alerts)} stories matched while alerts could not be delivered (last {hours} h):"]
    for alert in alerts[:MAX_LISTED]:
        source = alert.item.source or alert.feed_name
        lines.append(f"• {alert.item.title}" + (f" ({source})" if source else ""))
        if alert.item.link:
            lines.append(f"  {alert.item.link}")
    if len(alerts) > MAX_LISTED:
        lines.append(f"…and {len(alerts) - MAX_LISTED} more: /news latest {min(len(alerts), 20)}")
    return "\n".join(lines)
