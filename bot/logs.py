"""Logging set-up. Secrets from the environment are masked in every record, whatever logged them
(our code, slack-sdk, discord.py, aiohttp), so a token can never reach the logs."""

from __future__ import annotations

import logging
import os
import re
import sys

SECRET_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_BOT_TOKEN")
# token shapes, in case one arrives by another road (a pasted token, a library's debug line)
_TOKEN_PATTERNS = re.compile(
    r"xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|[MN][A-Za-z\d_-]{23,25}\.[\w-]{6}\.[\w-]{27,}"
)
# Discord webhook and interaction URLs carry their token after the id: keep the id, drop the token
_URL_TOKENS = re.compile(r"(/(?:webhooks|interactions)/\d+/)[\w.-]+")


def redact_tokens(text: str) -> str:
    """`text` with anything shaped like a token, or a webhook URL's token, masked."""
    return _URL_TOKENS.sub(r"\1[redacted]", _TOKEN_PATTERNS.sub("[redacted]", text))


class RedactSecrets(logging.Filter):
    """Masks the given secrets and anything shaped like a token in each record it sees."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self._secrets = [s for s in secrets or [] if len(s) >= 8]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return redact_tokens(text)

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
