"""Logging set-up. Secrets from the environment are masked in every record, whatever logged them
(our code, slack-sdk, discord.py, aiohttp), so a token can never reach the logs."""

from __future__ import annotations

import logging
import os
import re
import sys

SECRET_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_BOT_TOKEN")
# token shapes, in case one arrives by another road (a webhook URL in a route, a pasted token)
_TOKEN_PATTERNS = re.compile(
    r"xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|(?<=/webhooks/)\d+/[A-Za-z0-9_-]+"
    r"|[MN][A-Za-z\d_-]{23,25}\.[\w-]{6}\.[\w-]{27,}"
)


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 8]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return _TOKEN_PATTERNS.sub("[redacted]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(level: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets([os.environ.get(name, "") for name in SECRET_VARIABLES]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    for noisy in ("apscheduler", "discord.gateway"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
