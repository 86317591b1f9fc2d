"""Decide whether a feed URL given in chat may be fetched by the bot (server-side request forgery guard).

Refused: schemes other than http/https, credentials in the URL, and hosts that resolve to
loopback, private, link-local, or otherwise non-public addresses. Cloud metadata endpoints are
refused even when `allow_private` is set (tests and private deployments set it to reach local
feeds; no feed lives at a metadata address). Every resolved address is checked, so a name that
resolves to one public and one private address is refused.

The pure parts (`url_problem`, `address_problem`) take values and return a reason or None; only
`check_feed_url` resolves names, with the event loop's getaddrinfo.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000
RESOLVE_TIMEOUT = 5.0
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "metadata.goog"})
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def url_problem(url: str) -> str | None:
    """Why `url` is not an acceptable feed URL on its face (no DNS), or None."""
    if len(url) > MAX_URL_LENGTH:
        return f"the URL is longer than {MAX_URL_LENGTH} characters"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "the URL contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as error:
        return f"the URL is malformed ({error})"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http:// and https:// feed URLs are allowed"
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return "the URL must not contain a user name or password"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "the URL has no host name"
    if host in METADATA_HOSTS:
        return "cloud metadata hosts are never allowed"
    if port == 0:
        return "the URL has an invalid port"
    return None


def address_problem(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why the bot must not connect to `address`, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if address.is_multicast or address.is_unspecified:
        return f"{address} is not a unicast address"
    if allow_private or address.is_global:
        return None
    if address.is_loopback:
        kind = "a loopback"
    elif address.is_link_local:
        kind = "a link-local"
    elif address.is_private:
        kind = "a private"
    else:
        kind = "a reserved, non-public"
    return f"{address} is {kind} address"


def addresses_problem(addresses: Iterable[IPAddress], *, allow_private: bool) -> str | None:
    """The first problem among all resolved addresses (every one must be acceptable), or None."""
    found = list(addresses)
    if not found:
        return "the host name did not resolve to any address"
    for address in found:
        problem = address_problem(address, allow_private=allow_private)
        if problem:
            return problem
    return None


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, via the running loop's getaddrinfo (a literal IP is itself)."""
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=RESOLVE_TIMEOUT
    )
    # sockaddr[0] may carry an IPv6 zone ("fe80::1%eth0"); the zone is not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def check_feed_url(url: str, *, allow_private: bool = False) -> str | None:
    """Why the bot must not fetch `url` (syntax, credentials, or any resolved address), or None."""
    problem = url_problem(url)
    if problem:
        return problem
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = await resolve_host(host, port)
    except (OSError, UnicodeError) as error:
        return f"cannot resolve host {host!r} ({error})"
    except TimeoutError:
        return f"resolving host {host!r} timed out"
    problem = addresses_problem(addresses, allow_private=allow_private)
    return f"refused: {problem}" if problem else None
