"""WebSub's pure decisions: push signatures, hub discovery, leases, backoff, the poll interval."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.core.websub import (
    granted_lease,
    hub_went_quiet,
    pick_links,
    poll_interval,
    renew_at,
    retry_after_failures,
    sign,
    signature_valid,
)

BODY = b"<rss>...</rss>"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha384", "sha512"])
def test_a_signature_of_the_raw_body_with_the_secret_is_valid(algorithm: str) -> None:
    digest = hmac.new(b"s3cret", BODY, getattr(hashlib, algorithm)).hexdigest()
    assert signature_valid("s3cret", BODY, f"{algorithm}={digest}")
    assert signature_valid("s3cret", BODY, f"{algorithm}={digest.upper()}")  # hex is case-free
    assert sign("s3cret", BODY, algorithm) == f"{algorithm}={digest}"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256",
        "sha256=",
        "md5=" + hashlib.md5(BODY).hexdigest(),  # an algorithm WebSub does not name
        "sha256=" + "0" * 64,
        "sha256=" + hmac.new(b"other", BODY, hashlib.sha256).hexdigest(),
        "sha256=" + hmac.new(b"s3cret", BODY + b" ", hashlib.sha256).hexdigest(),
        "sha256=zz" + "0" * 62,
        "SHA256=" + hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest(),
    ],
)
def test_a_missing_malformed_or_wrong_signature_is_not_valid(header: str | None) -> None:
    assert not signature_valid("s3cret", BODY, header)


def test_the_link_header_wins_over_the_document_and_only_http_urls_count() -> None:
    header = [("hub", "https://hub.example.com/a")]
    document = [("hub", "https://other.example.com/"), ("self", "https://feed.example.com/rss")]
    assert pick_links(header, document) == ("https://hub.example.com/a", "https://feed.example.com/rss")
    assert pick_links([], [("hub", "javascript:alert(1)"), ("hub", "https://h.example/ x")]) == (None, None)
    assert pick_links([], [("HUB", "https://h.example/" + "a" * 3000)]) == (None, None)


def test_a_hubs_lease_is_kept_within_bounds() -> None:
    assert granted_lease("864000", 100) == 864000
    assert granted_lease(None, 100) == 100 and granted_lease("soon", 100) == 100
    assert granted_lease("1", 100) == 60
    assert granted_lease("9" * 30, 100) == 365 * 24 * 3600


def test_renewal_backoff_and_the_safety_interval() -> None:
    assert renew_at(1000.0, 1000) == 1800.0
    assert [retry_after_failures(n) for n in (1, 2, 3)] == [60.0, 120.0, 240.0]
    assert retry_after_failures(50) == 6 * 3600
    assert poll_interval(300, 3600, live=True) == 3600
    assert poll_interval(300, 3600, live=False) == 300
    assert poll_interval(7200, 3600, live=True) == 7200  # never faster than the feed's own
    assert hub_went_quiet(last_heard=None, now=10, quiet_after=5)
    assert not hub_went_quiet(last_heard=8, now=10, quiet_after=5)
