"""Feed URL checks: syntax, credentials, and every resolved address (real loop getaddrinfo)."""

from __future__ import annotations

import ipaddress

import pytest

from bot.net.url_safety import address_problem, addresses_problem, check_feed_url, url_problem

ip = ipaddress.ip_address


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://example.com/feed", "only http:// and https://"),
        ("javascript:alert(1)", "only http:// and https://"),
        ("https://user:pw@example.com/feed", "user name or password"),
        ("https://user@example.com/feed", "user name or password"),
        ("https:///feed", "no host name"),
        ("https://exa mple.com/feed", "spaces or control characters"),
        ("https://example.com:99999/feed", "malformed"),
        ("http://metadata.google.internal/x", "metadata"),
        ("http://METADATA.google.internal./x", "metadata"),
        ("https://example.com/" + "a" * 2001, "longer than"),
    ],
)
def test_url_problems_on_their_face(url: str, expected: str) -> None:
    problem = url_problem(url)
    assert problem is not None and expected in problem


def test_ordinary_feed_urls_pass_the_syntax_check() -> None:
    assert url_problem("https://news.google.com/rss/search?q=%22Project+Prometheus%22&hl=en-US") is None
    assert url_problem("http://example.com:8080/feed.xml") is None


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.5", "private"),
        ("192.168.1.1", "private"),
        ("172.16.0.1", "private"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "non-public"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "not a unicast"),
        ("224.0.0.1", "not a unicast"),
    ],
)
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    problem = address_problem(ip(address), allow_private=False)
    assert problem is not None and kind in problem


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254"])
def test_metadata_addresses_are_refused_even_when_private_hosts_are_allowed(address: str) -> None:
    problem = address_problem(ip(address), allow_private=True)
    assert problem is not None and "metadata" in problem


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("::ffff:169.254.10.10", "link-local"),
        ("100.100.100.200", "metadata"),
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 form of 169.254.169.254
        ("2002:a9fe:a9fe::1", "metadata"),  # 6to4 form of 169.254.169.254
        ("0.0.0.0", "not a unicast"),
        ("::", "not a unicast"),
        ("ff02::1", "not a unicast"),
    ],
)
def test_link_local_metadata_and_non_unicast_are_refused_even_when_allowed(address: str, kind: str) -> None:
    problem = address_problem(ip(address), allow_private=True)
    assert problem is not None and kind in problem


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("fd12:3456::1", "private"),
        ("fc00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:100.64.0.1", "carrier-grade NAT"),
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 form of 127.0.0.1
        ("2002:7f00:1::1", "loopback"),  # 6to4 form of 127.0.0.1
        ("::7f00:1", "loopback"),  # deprecated IPv4-compatible form
        ("240.0.0.1", "private"),
        ("198.18.0.1", "private"),
    ],
)
def test_embedded_and_ipv6_private_forms_are_refused_unless_allowed(address: str, kind: str) -> None:
    problem = address_problem(ip(address), allow_private=False)
    assert problem is not None and kind in problem
    assert address_problem(ip(address), allow_private=True) is None


@pytest.mark.parametrize("address", ["::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1"])
def test_embedded_public_ipv4_addresses_pass(address: str) -> None:
    assert address_problem(ip(address), allow_private=False) is None


def test_private_addresses_pass_when_allowed_and_public_ones_always() -> None:
    assert address_problem(ip("127.0.0.1"), allow_private=True) is None
    assert address_problem(ip("93.184.216.34"), allow_private=False) is None
    assert address_problem(ip("2606:2800:220:1:248:1893:25c8:1946"), allow_private=False) is None


def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    mixed = [ip("93.184.216.34"), ip("10.0.0.1")]
    problem = addresses_problem(mixed, allow_private=False)
    assert problem is not None and "10.0.0.1" in problem
    assert addresses_problem([], allow_private=False) == "the host name did not resolve to any address"


async def test_localhost_resolves_and_is_refused_unless_allowed() -> None:
    refused = await check_feed_url("http://localhost:8080/rss.xml", allow_private=False)
    assert refused is not None and "loopback" in refused
    assert await check_feed_url("http://localhost:8080/rss.xml", allow_private=True) is None


async def test_an_unresolvable_host_is_refused() -> None:
    problem = await check_feed_url("http://no-such-host.invalid/rss.xml", allow_private=False)
    assert problem is not None and "cannot resolve" in problem
