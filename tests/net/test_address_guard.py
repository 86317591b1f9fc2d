"""The one address guard in the feed HTTP client: refused before any connection, for every feed and hop.

Safety net for the tests themselves: `outside_connections` replaces the event loop's sock_connect so
that any attempt to connect anywhere but loopback is recorded and refused without leaving the
machine. Each test asserts it stayed empty, and that a loopback listener counted zero connections.
Names are answered by an injected lookup (the resolver's underlying getaddrinfo), never by DNS.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.abc import ResolveResult

from bot.app import Bot
from bot.cli import main as cli_main
from bot.config import FetchSettings, load_config
from bot.errors import AddressRefused
from bot.net import url_safety
from bot.net.url_safety import GuardedResolver, Lookup, check_feed_url
from bot.poll.feed_check import make_feed_validator
from bot.poll.fetch import FeedHttpClient, FetchResult, fetch_feed
from bot.store.feeds import feed_health
from tests.conftest import ConfigDir
from tests.fakes.counting_listener import CountingListener
from tests.paths import CONFIG

PUBLIC = "93.184.216.34"  # only ever answered by a fake lookup and checked, never connected to
SETTINGS = FetchSettings(connect_timeout=2, read_timeout=2)


@pytest.fixture(autouse=True)
async def outside_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Connection attempts to non-loopback addresses: recorded and refused here, so none is ever made."""
    loop = asyncio.get_running_loop()
    real_connect = loop.sock_connect
    attempts: list[Any] = []

    async def sock_connect(sock: socket.socket, address: Any) -> None:
        if url_safety.parse_address(str(address[0])).is_loopback:
            return await real_connect(sock, address)
        attempts.append(address)
        raise ConnectionRefusedError(f"test tripwire: no connection to {address[0]}")

    monkeypatch.setattr(loop, "sock_connect", sock_connect)
    return attempts


@pytest.fixture
async def listener() -> AsyncIterator[CountingListener]:
    server = await CountingListener().start()
    yield server
    await server.stop()


def answer(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(
        hostname=host, host=address, port=port, family=family, proto=0, flags=socket.AI_NUMERICHOST
    )


def answering(*rounds: list[str]) -> tuple[Lookup, list[str]]:
    """A lookup giving each round of addresses in turn (the last one again after that), and its calls."""
    calls: list[str] = []

    async def lookup(host: str, port: int, family: int) -> list[ResolveResult]:
        addresses = rounds[min(len(calls), len(rounds) - 1)]
        calls.append(host)
        return [answer(host, address, port) for address in addresses]

    return lookup, calls


async def fetch(url: str, *, allow_private: bool, lookup: Lookup | None = None) -> FetchResult:
    http = FeedHttpClient(SETTINGS) if lookup is None else FeedHttpClient(SETTINGS, lookup=lookup)
    async with http:
        return await fetch_feed(
            http, url, allow_private=allow_private, etag=None, last_modified=None, settings=SETTINGS
        )


# --- DNS rebinding: the address checked is the address connected to ---------------------------


async def test_a_name_answering_public_then_loopback_is_refused_without_connecting(
    listener: CountingListener, outside_connections: list[Any]
) -> None:
    lookup, calls = answering([PUBLIC], ["127.0.0.1"])
    url = f"http://rebind.example:{listener.port}/feed.xml"
    assert await check_feed_url(url, lookup=lookup) is None  # the chat check sees the public answer
    result = await fetch(url, allow_private=False, lookup=lookup)  # the connect sees 127.0.0.1
    assert result.error_kind == "refused"
    assert "rebind.example resolves to 127.0.0.1 is a loopback address" in (result.error or "")
    assert calls == ["rebind.example", "rebind.example"]
    assert listener.connections == 0 and outside_connections == []


async def test_the_resolver_hands_aiohttp_only_the_allowed_addresses() -> None:
    lookup, _ = answering([PUBLIC, "127.0.0.1", "::1", "10.0.0.7"])
    allowed = await GuardedResolver(allow_private=False, lookup=lookup).resolve("mixed.example", 80)
    assert [entry["host"] for entry in allowed] == [PUBLIC]


async def test_metadata_names_are_refused_before_any_lookup() -> None:
    lookup, calls = answering(["127.0.0.1"])
    with pytest.raises(AddressRefused, match="metadata"):
        await GuardedResolver(allow_private=True, lookup=lookup).resolve("METADATA.google.internal.", 80)
    assert calls == []


# --- config feeds: refused unless the operator allowed them -----------------------------------


async def test_a_config_feed_on_loopback_is_refused_without_the_allowance(
    listener: CountingListener,
    config_dir: ConfigDir,
    make_bot: Callable[..., Bot],
    outside_connections: list[Any],
) -> None:
    config_dir.write(feeds=[{"url": listener.url()}], settings={"fetch": {"allow_private": False}})
    bot = make_bot(config_dir)
    report = await bot.pipeline.run_cycle()
    assert report.failed == 1 and listener.connections == 0 and outside_connections == []
    [row] = feed_health(bot.db)
    assert row["last_error_kind"] == "refused"
    assert row["last_error"].startswith(f"refused: {listener.url()}: 127.0.0.1 is a loopback address")
    assert "allow_private: true" in row["last_error"]  # the error says how an operator allows it


@pytest.mark.parametrize(
    ("feed_allowance", "global_allowance"), [(True, False), (False, True)], ids=["per-feed", "global"]
)
async def test_a_config_feed_on_loopback_is_fetched_with_the_allowance(
    listener: CountingListener,
    config_dir: ConfigDir,
    make_bot: Callable[..., Bot],
    feed_allowance: bool,
    global_allowance: bool,
) -> None:
    config_dir.write(
        feeds=[{"url": listener.url(), "allow_private": feed_allowance}],
        settings={"fetch": {"allow_private": global_allowance}},
    )
    report = await make_bot(config_dir).pipeline.run_cycle()
    assert (report.fetched, report.failed, listener.connections) == (1, 0, 1)


async def test_the_allowance_is_per_feed(
    listener: CountingListener, config_dir: ConfigDir, make_bot: Callable[..., Bot]
) -> None:
    allowed, other = listener.url("/allowed.xml"), listener.url("/other.xml")
    config_dir.write(
        feeds=[{"url": allowed, "allow_private": True}, {"url": other}],
        settings={"fetch": {"allow_private": False}},
    )
    bot = make_bot(config_dir)
    await bot.pipeline.run_cycle()
    errors = {row["url"]: row["last_error_kind"] for row in feed_health(bot.db)}
    assert errors == {allowed: None, other: "refused"} and listener.connections == 1


async def test_a_metadata_address_is_refused_even_with_the_allowance(
    config_dir: ConfigDir, make_bot: Callable[..., Bot], outside_connections: list[Any]
) -> None:
    url = "http://169.254.169.254/latest/meta-data/"
    config_dir.write(feeds=[{"url": url, "allow_private": True}])  # and fetch.allow_private (conftest)
    bot = make_bot(config_dir)
    await bot.pipeline.run_cycle()
    [row] = feed_health(bot.db)
    assert (
        row["last_error_kind"] == "refused"
        and "169.254.169.254 is a cloud metadata address" in row["last_error"]
    )
    assert "allow_private" not in row["last_error"]  # no allowance can lift it: none is offered
    assert outside_connections == []


def test_the_shipped_defaults_allow_no_private_address() -> None:
    config = load_config(CONFIG)
    assert not config.settings.fetch.allow_private and not config.settings.allow_private_feed_hosts
    assert config.feeds and not any(feed.allow_private for feed in config.feeds)


# --- every form of a refused address, on the wire ---------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("169.254.169.254", "cloud metadata"),
        ("[fd00:ec2::254]", "cloud metadata"),
        ("[::ffff:169.254.169.254]", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("[::ffff:169.254.1.1]", "link-local"),
        ("metadata.google.internal", "cloud metadata hosts"),
        ("0.0.0.0", "not a unicast"),
        ("[::]", "not a unicast"),
        ("224.0.0.1", "not a unicast"),
    ],
)
async def test_never_allowed_addresses_are_refused_with_the_allowance(
    host: str, expected: str, outside_connections: list[Any]
) -> None:
    result = await fetch(f"http://{host}:8080/feed.xml", allow_private=True)
    assert result.error_kind == "refused" and expected in (result.error or "")
    assert outside_connections == []


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("fe80::1", "link-local"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),  # NAT64 form of 169.254.169.254
    ],
)
async def test_a_name_resolving_to_a_never_allowed_address_is_refused_with_the_allowance(
    address: str, expected: str, outside_connections: list[Any]
) -> None:
    lookup, _ = answering([address])
    result = await fetch("http://innocent.example/feed.xml", allow_private=True, lookup=lookup)
    assert result.error_kind == "refused" and expected in (result.error or "")
    assert outside_connections == []


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "localhost-alias.example", "mapped.example"],
)
async def test_loopback_in_every_form_is_refused_without_the_allowance(
    listener: CountingListener, host: str, outside_connections: list[Any]
) -> None:
    answers = {"localhost-alias.example": "127.0.0.1", "mapped.example": "::ffff:127.0.0.1"}
    lookup, _ = answering([answers.get(host, "127.0.0.1")])
    result = await fetch(f"http://{host}:{listener.port}/feed.xml", allow_private=False, lookup=lookup)
    assert result.error_kind == "refused" and "127.0.0.1 is a loopback address" in (result.error or "")
    assert listener.connections == 0 and outside_connections == []


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("100.64.0.9", "carrier-grade NAT"),
        ("::ffff:10.1.2.3", "private"),
        ("fd12:3456::1", "private"),
        ("240.0.0.1", "private"),
        ("64:ff9b::a01:203", "private"),  # NAT64 form of 10.1.2.3
        ("2002:a01:203::1", "private"),  # 6to4 form of 10.1.2.3
    ],
)
async def test_private_addresses_are_refused_without_the_allowance(
    address: str, expected: str, outside_connections: list[Any]
) -> None:
    lookup, _ = answering([address])
    result = await fetch("http://intranet.example/feed.xml", allow_private=False, lookup=lookup)
    assert result.error_kind == "refused" and expected in (result.error or "")
    assert "allow_private: true" in (result.error or "")
    assert outside_connections == []


async def test_ipv6_loopback_is_refused_without_the_allowance_and_fetched_with_it(
    outside_connections: list[Any],
) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        listener = await CountingListener("::1").start()
    except OSError:
        pytest.skip("cannot listen on ::1")
    try:
        refused = await fetch(listener.url(), allow_private=False)
        assert refused.error_kind == "refused" and "::1 is a loopback address" in (refused.error or "")
        assert listener.connections == 0
        allowed = await fetch(listener.url(), allow_private=True)
        assert allowed.status == 200 and listener.connections == 1
    finally:
        await listener.stop()
    assert outside_connections == []


async def test_legacy_numeric_ip_forms_never_connect(
    listener: CountingListener, outside_connections: list[Any]
) -> None:
    for host in ("2130706433", "0x7f000001", "017700000001"):  # 127.0.0.1 spelled as socket would accept it
        result = await fetch(f"http://{host}:{listener.port}/feed.xml", allow_private=False)
        assert result.error_kind in ("refused", "network") and result.body is None
    assert listener.connections == 0 and outside_connections == []


# --- redirects: every hop is checked ------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/feed.xml",
        "http://intranet.example:{port}/feed.xml",
        "http://[::ffff:127.0.0.1]:{port}/x",
    ],
)
async def test_a_public_feed_redirecting_to_loopback_is_refused_at_the_hop(
    monkeypatch: pytest.MonkeyPatch, listener: CountingListener, location: str, outside_connections: list[Any]
) -> None:
    # 127.0.0.2 stands in for a public server: the guard is told to treat it as one, since a test
    # can listen on loopback only. Every other address is judged as usual.
    real_problem = url_safety.address_problem

    def as_if_public(address: url_safety.IPAddress, *, allow_private: bool) -> str | None:
        if address == ipaddress.ip_address("127.0.0.2"):
            return None
        return real_problem(address, allow_private=allow_private)

    monkeypatch.setattr(url_safety, "address_problem", as_if_public)
    public = await CountingListener("127.0.0.2", redirect_to=location.format(port=listener.port)).start()
    try:
        lookup, _ = answering(["127.0.0.1"])
        result = await fetch(public.url(), allow_private=False, lookup=lookup)
    finally:
        await public.stop()
    assert public.connections == 1  # the first hop was allowed and answered with the redirect
    assert result.error_kind == "refused"
    assert "redirected to a refused address (redirect 1:" in (result.error or "")
    assert "127.0.0.1 is a loopback address" in (result.error or "")
    assert listener.connections == 0 and outside_connections == []


async def test_a_redirect_to_a_metadata_address_is_refused_with_the_allowance(
    listener: CountingListener, outside_connections: list[Any]
) -> None:
    hop = await CountingListener(redirect_to="http://169.254.169.254/latest/meta-data/").start()
    try:
        result = await fetch(hop.url(), allow_private=True)
    finally:
        await hop.stop()
    assert hop.connections == 1 and result.error_kind == "refused"
    assert "(redirect 1: http://169.254.169.254/latest/meta-data/)" in (result.error or "")
    assert outside_connections == []


# --- feed checks from chat use the same guard -----------------------------------------------------


async def test_the_feed_check_refuses_a_name_that_resolves_to_loopback_at_fetch_time(
    listener: CountingListener, config_dir: ConfigDir, outside_connections: list[Any]
) -> None:
    config_dir.write(settings={"fetch": {"allow_private": False}})
    lookup, _ = answering(["127.0.0.1"])
    async with FeedHttpClient(SETTINGS, lookup=lookup) as http:
        validate = make_feed_validator(lambda: load_config(config_dir.path), http)
        problem = await validate(f"http://news.example:{listener.port}/feed.xml")
    assert problem is not None and "127.0.0.1 is a loopback address" in problem
    assert listener.connections == 0 and outside_connections == []


# --- python -m bot check shows the allowances -----------------------------------------------------


def test_check_lists_each_feed_allowed_to_reach_private_addresses(
    config_dir: ConfigDir, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config_dir.write(
        feeds=[
            {"url": "http://10.0.0.5/intranet.xml", "name": "Intranet", "allow_private": True},
            {"url": "https://news.example/rss.xml", "name": "Public"},
        ],
        settings={"fetch": {"allow_private": False}},
    )
    monkeypatch.setenv("BOT_CONFIG", str(config_dir.path))
    assert cli_main(["check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "private addresses allowed: Intranet (http://10.0.0.5/intranet.xml; allow_private in feeds.yaml)"
    ]

    config_dir.write(feeds=[{"url": "https://news.example/rss.xml", "name": "Public"}])  # global allowance
    assert cli_main(["check"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "private addresses allowed: Public (https://news.example/rss.xml; fetch.allow_private in settings.yaml)",
        "private addresses allowed: every feed added from chat (fetch.allow_private in settings.yaml)",
    ]
