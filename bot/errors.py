"""The bot's exception tree. Every error the bot raises on purpose derives from BotError.

    BotError
    ├── ConfigError            bad YAML, bad key, bad value (names file, key and reason)
    │   └── RuleError          a rule query that does not parse (names position and what was expected)
    ├── FeedError              a feed could not be fetched or parsed (recorded per feed, never fatal)
    │   ├── RequestRefused     the address guard refused a request or a redirect hop
    │   └── TooManyRedirects   more redirects than fetch.max_redirects
    ├── AddressRefused         the guard refused to connect to an address (also an OSError, so the
    │                          HTTP client reports it as a failed connection, and fetch turns it
    │                          into RequestRefused)
    ├── StoreError             the database refused (read-only, full disk, bad schema version)
    ├── DeliveryError          a platform refused or failed a send (recorded per outbox row)
    │   └── UncheckableChannel the bot cannot read a channel to see whether a send landed
    └── CommandError           a slash command that is malformed or not allowed (answered, never raised out)
        └── OpmlError          an OPML import that is not usable OPML

Per-feed and per-delivery failures are values stored in the database; these exceptions only carry
them to the place that records them. Two kinds of exceptions stay outside the tree on purpose:
ValueError from validators (pydantic's contract; the config loader reports them as ConfigError,
durations as CommandError), and private control-flow exceptions that never leave their module
(`_ClaimLost` in the outbox, `_WebhookServerError` in the Discord adapter).
"""

from __future__ import annotations


class BotError(Exception):
    """Root of every error the bot raises on purpose."""


class ConfigError(BotError):
    """Configuration is invalid. `problems` lists each (file, key, reason)."""

    def __init__(self, problems: list[tuple[str, str, str]] | str) -> None:
        if isinstance(problems, str):
            problems = [("", "", problems)]
        self.problems = problems
        super().__init__("\n".join(_format_problem(*p) for p in problems))


def _format_problem(file: str, key: str, reason: str) -> str:
    where = ": ".join(part for part in (file, key) if part)
    return f"{where}: {reason}" if where else reason


class RuleError(ConfigError):
    """A rule query does not parse. `position` is the 0-based character offset; `rule` its name if known."""

    def __init__(self, query: str, position: int, expected: str, *, rule: str = "") -> None:
        self.query = query
        self.position = position
        self.expected = expected
        self.rule = rule
        named = f"rule {rule!r}: " if rule else ""
        super().__init__(f"{named}at position {position}: expected {expected}\n{pointer_at(query, position)}")


QUERY_WINDOW = 76  # characters of a query shown around an error: a huge query is never echoed whole


def pointer_at(query: str, position: int) -> str:
    """Two lines: the part of `query` around `position` (at most QUERY_WINDOW characters, "…" where
    cut), and a caret under `position`. Whitespace and control characters show as one space each so
    the caret stays under the character it points at."""
    start = max(0, min(position - QUERY_WINDOW // 2, len(query) - QUERY_WINDOW))
    end = min(len(query), start + QUERY_WINDOW)
    shown = "".join(c if c.isprintable() and not c.isspace() else " " for c in query[start:end])
    before = "…" if start > 0 else ""
    after = "…" if end < len(query) else ""
    return f"{before}{shown}{after}\n{' ' * (len(before) + position - start)}^"


class FeedError(BotError):
    """A feed failed. `kind` is a short stable label stored as the feed's last error kind."""

    def __init__(self, kind: str, message: str, *, retry_after: float | None = None) -> None:
        self.kind = kind
        self.retry_after = retry_after
        super().__init__(message)


class RequestRefused(FeedError):
    """The address guard refused a request (the first one or a redirect hop)."""

    def __init__(self, message: str) -> None:
        super().__init__("refused", message)


class TooManyRedirects(FeedError):
    """More redirects than settings.max_redirects."""

    def __init__(self, limit: int) -> None:
        super().__init__("redirects", f"more than {limit} redirects")


class AddressRefused(OSError, BotError):
    """The guard refused to connect to an address (an OSError so aiohttp reports it as a connect error)."""


class StoreError(BotError):
    """The database cannot be used (schema too new, read-only, disk full)."""


class DeliveryError(BotError):
    """A send failed.

    `retryable` is False only when no retry can help: the platform stated so (unknown channel,
    missing permission, bad token, a message it refuses) or the route cannot work (a Discord
    channel id without a bot token). Anything else, an answer that could not be read included,
    may succeed later. `retry_after` is the platform's requested
    wait in seconds, when it gave one. `ambiguous` means the platform may have accepted the
    message although no answer said so (a connection lost after sending, a 5xx, an unreadable
    answer): the outbox then settles the row like an interrupted send instead of blindly posting
    again.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        code: str = "",
        ambiguous: bool = False,
    ) -> None:
        self.retryable = retryable
        self.retry_after = retry_after
        self.code = code
        self.ambiguous = ambiguous
        super().__init__(message)


class UncheckableChannel(DeliveryError):
    """The bot cannot read this channel's messages (no bot token, no access), so whether a send
    whose answer was lost went through cannot be known there: the outbox sends it again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, code="uncheckable")


class CommandError(BotError):
    """A slash command cannot be run as asked; the message is shown to the user."""


class OpmlError(CommandError):
    """The text is not usable OPML; the message says why."""
