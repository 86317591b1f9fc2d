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


# -- credential-bearing URLs and fields ---------------------------------------------------------

SLACK_HOOK_SECRET = "hookSecret7f3a9c1e5b2d"
LEAKS = {
    "slack-sdk debug line": f"Sending a request - url: https://hooks.slack.com/commands/T0AB12CD/1234567/{SLACK_HOOK_SECRET}, body: {{}}",
    "form body": f"token=legacy{SLACK_HOOK_SECRET}&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0%2F1%2F{SLACK_HOOK_SECRET}&x=1",
    "access log": f'"POST /commands/T0FAKE/1000000001/{SLACK_HOOK_SECRET} HTTP/1.1" 200',
    "json": f'{{"response_url": "http://proxy.example/r/{SLACK_HOOK_SECRET}", "text": "hi"}}',
    "interactivity payload": f"payload=%7B%22response_url%22%3A%22https%3A%2F%2Fproxy.example%2F{SLACK_HOOK_SECRET}%22%7D",
    "incoming webhook": f"https://hooks.slack.com/services/T000/B000/{SLACK_HOOK_SECRET}",
    "gateway event repr": f"{{'t': 'INTERACTION_CREATE', 'd': {{'id': '1', 'token': '{SLACK_HOOK_SECRET}.x-y'}}}}",
    "interaction callback": f"POST https://discord.com/api/v10/interactions/12345/{SLACK_HOOK_SECRET}/callback",
    "webhook, form-encoded": f"url=https%3A%2F%2Fdiscord.com%2Fapi%2Fwebhooks%2F2233%2F{SLACK_HOOK_SECRET}",
}


def test_credential_urls_and_fields_are_masked_in_every_shape_they_are_logged_in():
    for shape, line in LEAKS.items():
        redacted = redact_tokens(line)
        assert SLACK_HOOK_SECRET not in redacted, shape
        assert "[redacted]" in redacted, shape


def test_ordinary_text_is_left_alone():
    for line in (
        "GET https://example.com/services/the/page.xml and /commands/test/feed: 200",
        "Slack refused: token_revoked: the bot token was revoked",
        "latest 5 stories; trigger_id=1.2.3",
    ):
        assert redact_tokens(line) == line
