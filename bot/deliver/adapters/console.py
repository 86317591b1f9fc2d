"""Console adapter: alerts printed to a text stream (stdout by default). Used when no platform
token is set, so a fresh checkout shows what it would post."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.core.model import Alert
from bot.core.render.console import clean, render_console_alert, render_console_update


class ConsoleAlertSender:
    platform = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send_alert(self, channel: str, alert: Alert) -> str:
        stream = self._stream or sys.stdout
        print(render_console_alert(alert), file=stream, flush=True)
        print(file=stream, flush=True)
        return f"console:{alert.delivery_id}"

    async def send_update(self, channel: str, parent_ref: str, alert: Alert, key: str | None = None) -> str:
        stream = self._stream or sys.stdout
        print(render_console_update(alert), file=stream, flush=True)
        print(file=stream, flush=True)
        return parent_ref

    async def send_notice(self, channel: str, text: str) -> str:
        stream = self._stream or sys.stdout
        print(f"[notice] {clean(text)}", file=stream, flush=True)
        return "console:notice"
