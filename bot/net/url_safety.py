"""The one address guard for every outgoing feed request (server-side request forgery).

One decision, `address_problem`: public unicast addresses pass; cloud metadata, link-local,
multicast and unspecified addresses never pass; loopback, private (RFC 1918, ULA fc00::/7), shared
(CGNAT 100.64/10) and reserved addresses pass only where the operator allowed them
(`allow_private: true` on the feed in feeds.yaml, or `fetch.allow_private: true` in settings.yaml).
An IPv6 address carrying an IPv4 one (IPv4-mapped, NAT64, 6to4, IPv4-compatible) is judged by the
IPv4 address it reaches.

It is enforced inside the feed HTTP client's connector (bot.poll.fetch builds it), where nothing can
go around it, on every request and every redirect hop:

- `GuardedResolver` looks a host name up once and hands aiohttp only the addresses that pass, so
  the address checked is the address connected to (no second lookup for DNS rebinding to answer).
- `guarded_socket_factory` checks the exact address of every socket the connector opens, before
  it connects: this covers IP-literal hosts, which aiohttp connects to without asking a resolver.

`check_feed_url` is the stricter check a URL from chat passes before it is saved: syntax,
credentials, and every address the name resolves to (one private answer refuses the name).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohappyeyeballs import AddrInfoType, SocketFactoryType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from bot.config import FeedConfig, Settings
from bot.errors import AddressRefused

MAX_URL_LENGTH = 2000
RESOLVE_TIMEOUT = 5.0
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud Classic
    }
)
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated; :: and ::1 are judged as themselves
ALLOWANCE_HINT = "allowed only with allow_private: true on the feed or fetch.allow_private: true"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port, family) -> the resolver's answers; the system resolver unless a test injects one.
Lookup = Callable[[str, int, int], Awaitable[list[ResolveResult]]]


def may_reach_private(settings: Settings, feed: FeedConfig | None = None) -> bool:
    """Whether the operator allowed loopback and private addresses for `feed` (None: for any feed,
    e.g. one added from chat). `allow_private_feed_hosts` is the setting's former name."""
    globally = settings.fetch.allow_private or settings.allow_private_feed_hosts
    return globally or (feed is not None and feed.allow_private)


def host_problem(host: str) -> str | None:
    """Why a host name is refused before it is even looked up (cloud metadata names), or None."""
    if host.rstrip(".").lower() in METADATA_HOSTS:
        return "cloud metadata hosts are never allowed"
    return None


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
    if port == 0:
        return "the URL has an invalid port"
    return host_problem(host)


def address_problem(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why the bot must not connect to `address`, or None."""
    reached = _ipv4_reached(address)
    if reached is not None and address not in METADATA_ADDRESSES:
        problem = _single_address_problem(reached, allow_private=allow_private)
        return f"{problem} (as {address})" if problem else None
    return _single_address_problem(address, allow_private=allow_private)


def _ipv4_reached(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to, when it embeds one (mapped, NAT64, 6to4, compatible)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_PREFIX or (address in IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _single_address_problem(address: IPAddress, *, allow_private: bool) -> str | None:
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if address.is_link_local:  # 169.254/16 and fe80::/10: where metadata services live
        return f"{address} is a link-local address"
    if address.is_multicast or address.is_unspecified:
        return f"{address} is not a unicast address"
    if allow_private or (address.is_global and not address.is_reserved):
        return None
    if address.is_loopback:
        kind = "a loopback"
    elif address in SHARED_ADDRESS_SPACE:
        kind = "a shared (carrier-grade NAT), non-public"
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


def _refusal(problem: str, address: IPAddress) -> AddressRefused:
    """The error for a refused address, saying how to allow it when the operator may."""
    if address_problem(address, allow_private=True) is None:
        problem = f"{problem}; {ALLOWANCE_HINT}"
    return AddressRefused(problem)


def parse_address(text: str) -> IPAddress:
    """An address as a resolver or socket gives it; an IPv6 zone ("fe80::1%eth0") is not part of it."""
    return ipaddress.ip_address(text.split("%", 1)[0])


async def system_lookup(host: str, port: int, family: int) -> list[ResolveResult]:
    """The operating system's answers, through aiohttp's threaded resolver (getaddrinfo): the
    addresses this machine could connect to."""
    return await ThreadedResolver().resolve(host, port, family=socket.AddressFamily(family))


async def every_address_lookup(host: str, port: int, family: int) -> list[ResolveResult]:
    """Every address the name has, usable from this machine or not (the chat check judges them all)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
    return [
        ResolveResult(hostname=host, host=str(sockaddr[0]), port=port, family=kind, proto=proto, flags=0)
        for kind, _, proto, _, sockaddr in infos
    ]


class GuardedResolver(AbstractResolver):
    """The feed connector's resolver: one lookup, and only the addresses the guard allows go on to
    be connected to; when none is allowed the request fails with AddressRefused."""

    def __init__(self, *, allow_private: bool, lookup: Lookup = system_lookup) -> None:
        self._allow_private = allow_private
        self._lookup = lookup

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        problem = host_problem(host)
        if problem:
            raise AddressRefused(problem)
        answers = await self._lookup(host, port, family)
        allowed: list[ResolveResult] = []
        refusal: AddressRefused | None = None
        for answer in answers:
            address = parse_address(answer["host"])
            problem = address_problem(address, allow_private=self._allow_private)
            if problem is None:
                allowed.append(answer)
            elif refusal is None:
                refusal = _refusal(f"{host} resolves to {problem}", address)
        if not allowed:
            raise refusal or AddressRefused(f"{host} did not resolve to any address")
        return allowed

    async def close(self) -> None:
        pass


def guarded_socket_factory(*, allow_private: bool) -> SocketFactoryType:
    """The feed connector's socket factory: refuses an address before any socket for it exists."""

    def open_socket(addr_info: AddrInfoType) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        address = parse_address(str(sockaddr[0]))
        problem = address_problem(address, allow_private=allow_private)
        if problem:
            raise _refusal(problem, address)
        return socket.socket(family=family, type=kind, proto=proto)

    return open_socket


async def resolve_host(host: str, port: int, *, lookup: Lookup = every_address_lookup) -> list[IPAddress]:
    """Every address `host` resolves to (a literal IP is itself)."""
    answers = await asyncio.wait_for(lookup(host, port, socket.AF_UNSPEC), timeout=RESOLVE_TIMEOUT)
    return [parse_address(answer["host"]) for answer in answers]


async def check_feed_url(
    url: str, *, allow_private: bool = False, lookup: Lookup = every_address_lookup
) -> str | None:
    """Why the bot must not fetch `url` (syntax, credentials, or any resolved address), or None."""
    problem = url_problem(url)
    if problem:
        return problem
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = await resolve_host(host, port, lookup=lookup)
    except (OSError, UnicodeError) as error:
        return f"cannot resolve host {host!r} ({error})"
    except TimeoutError:
        return f"resolving host {host!r} timed out"
    problem = addresses_problem(addresses, allow_private=allow_private)
    return f"refused: {problem}" if problem else None
