"""Secrets never reach the logs: one redaction routine for every logger and for `status` output."""

from __future__ import annotations

import logging

from bot.logs import RedactSecrets, redact_tokens


def test_webhook_urls_keep_their_id_and_lose_their_token():
    url = "https://discord.com/api/webhooks/223344556677889900/abcDEF-123_xyz"
    assert redact_tokens(url) == "https://discord.com/api/webhooks/223344556677889900/[redacted]"


def test_token_shapes_are_masked_wherever_they_appear():
    assert "xoxb" not in redact_tokens("calling with xoxb-1234-5678-abcdef failed")
    assert redact_tokens("POST /interactions/1234/aW50ZXJhY3Rpb24.token/callback").count("[redacted]") == 1


def test_configured_secrets_are_masked_in_messages_and_tracebacks():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "secret is %s", ("hunter2-secret",), None)
    try:
        raise RuntimeError("boom hunter2-secret")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactSecrets(["hunter2-secret"]).filter(record)
    assert "hunter2-secret" not in record.getMessage()
    assert record.exc_text is not None and "hunter2-secret" not in record.exc_text
