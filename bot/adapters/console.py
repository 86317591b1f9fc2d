"""Console adapter: alerts printed to a text stream (stdout by default). Used when no platform
token is set, so a fresh checkout shows what it would post."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.model import Alert
from bot.render.console import render_console_alert


class ConsoleAlertSender:
    platform = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send_alert(self, channel: str, alert: Alert) -> str:
        stream = self._stream or sys.stdout
        print(render_console_alert(alert), file=stream, flush=True)
        print(file=stream, flush=True)
        return f"console:{alert.delivery_id}"
