"""Logging set-up. Secrets from the environment are masked in every record, whatever logged them
(our code, slack-sdk, discord.py, aiohttp), so a token can never reach the logs. So are URLs that
are credentials themselves (a Slack response_url or webhook, a Discord webhook or interaction URL:
whoever holds one can post), and the values of fields that carry them, at every level, DEBUG too."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence

# token shapes, in case one arrives by another road (a pasted token, a library's debug line)
_TOKEN_PATTERNS = re.compile(
    r"xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|[MN][A-Za-z\d_-]{23,25}\.[\w-]{6}\.[\w-]{27,}"
)
_SLASH = r"(?:/|%2[Ff])"  # also inside a form-encoded body, where "/" is "%2F"
# Discord webhook and interaction URLs carry their token after the id: keep the id, drop the token
_URL_TOKENS = re.compile(rf"({_SLASH}(?:webhooks|interactions){_SLASH}\d+{_SLASH})[\w.-]+")
# Slack response_url (/commands/T.../..., /actions/...), incoming webhooks and workflow triggers: by
# host, and by path shape whatever the host (a proxy, a test double)
_SLACK_HOOKS = re.compile(
    rf"((?i:hooks\.slack(?:-gov)?\.com){_SLASH}|{_SLASH}(?:commands|actions|services|triggers|workflows)"
    rf"{_SLASH}(?=[TE][A-Z0-9]+{_SLASH}))[^\s\"'<>&|,)\]}}]+"
)
# a WebSub callback's path token (bot.poll.websub): whoever holds one can knock on the callback
_WEBSUB_CALLBACK = re.compile(rf"({_SLASH}websub{_SLASH})[\w-]+")
# the value of a field that holds such a URL or a token (an interaction's "token", a form's token=),
# as JSON, a Python repr, a form body (also URL-encoded inside one) or key=value
_SECRET_FIELDS = re.compile(
    r"""((?<![A-Za-z_-])(?:response_url|webhook_url|[a-z_]*token|hub\.secret)(?:["']|%22)?\s*(?:[:=]|%3A)\s*(?:["']|%22)?)"""
    r"""[^\s"'&,}]+""",
    re.IGNORECASE,
)


def redact_tokens(text: str) -> str:
    """`text` with anything shaped like a token, a credential URL's secret part, or the value of a
    field holding either, masked. The one redaction routine: logs and `status` output use it."""
    text = _TOKEN_PATTERNS.sub("[redacted]", text)
    text = _SLACK_HOOKS.sub(r"\1[redacted]", text)
    text = _URL_TOKENS.sub(r"\1[redacted]", text)
    text = _WEBSUB_CALLBACK.sub(r"\1[redacted]", text)
    return _SECRET_FIELDS.sub(r"\1[redacted]", text)


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


def setup_logging(level: str | None = None, secrets: Sequence[str] = ()) -> None:
    """Log to stderr at `level` (INFO when None), masking each of `secrets` (the Environment's)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(list(secrets)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or "INFO")
    for noisy in ("apscheduler", "discord.gateway"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
