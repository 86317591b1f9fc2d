"""WebSub (W3C) subscriber decisions, pure: which hub a feed names, whether a push is signed by its
subscription's secret, when a lease is renewed, how long a failed subscription waits, and how often a
feed with a live subscription is still polled. The I/O is in bot.poll.websub and bot.store.websub.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

# The algorithms WebSub names for X-Hub-Signature (sha1 is the spec's minimum, so it is accepted).
SIGNATURE_ALGORITHMS = frozenset({"sha1", "sha256", "sha384", "sha512"})
_SIGNATURE = re.compile(r"(sha1|sha256|sha384|sha512)=([0-9a-fA-F]{40,128})")
MAX_URL = 2000  # a hub or topic URL longer than this is not used
RENEW_AT = 0.8  # a lease is renewed once this share of it has passed
RETRY_FIRST = 60.0  # a failed subscription is tried again after this, doubling per failure ...
RETRY_MAX = 6 * 3600.0  # ... up to this
MIN_LEASE = 60  # a hub's lease_seconds is kept within these bounds (a hub is untrusted)
MAX_LEASE = 365 * 24 * 3600


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` (X-Hub-Signature: "<algorithm>=<hex>") is the HMAC of `body` under `secret`.

    A missing or malformed header, or an unknown algorithm, is simply not valid."""
    if not header:
        return False
    found = _SIGNATURE.fullmatch(header.strip())
    if found is None:
        return False
    algorithm, given = found.group(1), found.group(2).lower()
    expected = hmac.new(secret.encode("utf-8"), body, getattr(hashlib, algorithm)).hexdigest()
    return hmac.compare_digest(expected, given)


def sign(secret: str, body: bytes, algorithm: str = "sha256") -> str:
    """The X-Hub-Signature value a hub sends for `body` (tests and benchmarks play the hub with it)."""
    if algorithm not in SIGNATURE_ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    return f"{algorithm}={hmac.new(secret.encode('utf-8'), body, getattr(hashlib, algorithm)).hexdigest()}"


def pick_links(
    header_links: Iterable[tuple[str, str]], document_links: Iterable[tuple[str, str]]
) -> tuple[str | None, str | None]:
    """(hub, self) from (rel, href) pairs: the HTTP Link header first, then the feed document, as
    the spec says. Only absolute http(s) URLs of sane length count; the first of each rel wins."""
    hub: str | None = None
    topic: str | None = None
    for source in (header_links, document_links):
        for rel, href in source:
            href = href.strip()
            if not _usable_url(href):
                continue
            rels = rel.lower().split()
            if "hub" in rels and hub is None:
                hub = href
            if "self" in rels and topic is None:
                topic = href
    return hub, topic


def _usable_url(url: str) -> bool:
    lowered = url.lower()
    return (
        len(url) <= MAX_URL
        and lowered.startswith(("http://", "https://"))
        and not any(c.isspace() or not c.isprintable() for c in url)
    )


def granted_lease(value: str | None, asked: int) -> int:
    """The lease a hub's verification grants (hub.lease_seconds), kept within sane bounds; what we
    asked for when the hub names none or something that is not a number."""
    if value is None or not value.strip().isdigit():
        return asked
    return max(MIN_LEASE, min(int(value.strip()), MAX_LEASE))


def renew_at(verified_at: float, lease_seconds: int) -> float:
    """When a verified lease is renewed: at 80% of it, well before the hub drops it."""
    return verified_at + RENEW_AT * lease_seconds


def retry_after_failures(failures: int) -> float:
    """Seconds before a failed subscription is tried again: 1 min doubling, at most 6 h."""
    return float(min(RETRY_FIRST * 2.0 ** max(0, failures - 1), RETRY_MAX))


def poll_interval(normal: float, safety: float, *, live: bool) -> float:
    """How long until a feed is polled again: while its subscription is live (verified, lease
    running, pushes arriving) the slower safety interval, never faster than the normal one."""
    return max(normal, safety) if live else normal


def hub_went_quiet(*, last_heard: float | None, now: float, quiet_after: float) -> bool:
    """A poll found items no push brought: if the hub has also said nothing for `quiet_after`
    (no push, no verification), it is taken to have gone quiet and the feed is polled normally."""
    return last_heard is None or now - last_heard >= quiet_after
