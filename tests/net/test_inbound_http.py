"""Hostile and broken requests to every inbound HTTP endpoint get a 4xx, never a 500, and leave no
traceback in the log: Slack HTTP mode (the real public server, `run_public_server` with Slack's routes, on a free port of 127.0.0.1, Bolt
behind it, the fake Slack API for its calls) and the operator's /healthz and /metrics server.

Named cases first (the timestamp that used to give a 500, bodies that are not what they claim to be,
a size cap, methods, paths, header injection over a raw socket), then bounded hypothesis fuzzing of
headers and bodies, some correctly signed so that the garbage gets past the signature to Bolt.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.deliver.adapters.slack import EVENTS_PATH, MAX_BODY, slack_routes, slack_web_app
from bot.net.inbound import refuse_malformed, run_public_server, start_public_server
from bot.ops.health import build_health_app, start_health_server
from bot.store import open_database
from bot.store.db import database_problem
from tests.deliver.test_slack_app import SECRET, SmallCore, free_port, make_app, running
from tests.fakes.slack_api import FakeSlackAPI

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- servers and what they logged ------------------------------------------------------------------


@pytest.fixture
async def slack(fake_slack: FakeSlackAPI) -> AsyncIterator[str]:
    """The production HTTP mode (ack first, answer later) on a free port; yields its base URL."""
    port = free_port()
    app = make_app(fake_slack, SmallCore())
    async with running(run_public_server([slack_routes(app, SECRET)], "127.0.0.1", port, max_body=MAX_BODY)):
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            for _ in range(100):  # wait for the listener, at most ~5 s
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    async with session.get(f"{base}/healthz") as resp:
                        if resp.status == 200:
                            break
                await asyncio.sleep(0.05)
        yield base


@pytest.fixture
async def health(tmp_path: Path) -> AsyncIterator[str]:
    db = open_database(tmp_path / "bot.db")
    runner, port = await start_health_server(
        db, host="127.0.0.1", port=0, heartbeat=lambda: (time.time(), time.time()), stall_after=900
    )
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()
    db.conn.close()


@pytest.fixture
def log_is_clean(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything logged at any level; after the test, nothing may carry a traceback or be an error."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    assert_no_trouble(caplog.get_records("call"))


def assert_no_trouble(records: list[logging.LogRecord]) -> None:
    troubled = [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in records
        if r.exc_info or r.exc_text or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()
    ]
    assert not troubled, troubled


# -- requests --------------------------------------------------------------------------------------


def sign(stamp: str, body: bytes, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return f"v0={digest}"


async def post(
    url: str, body: bytes, headers: dict[str, str], method: str = "POST"
) -> tuple[int, str, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=body, headers=headers, allow_redirects=False) as resp,
    ):
        return resp.status, await resp.text(errors="replace"), dict(resp.headers)


async def signed_post(
    base: str, body: bytes, content_type: str = "application/x-www-form-urlencoded", stamp: str | None = None
) -> int:
    stamp = str(int(time.time())) if stamp is None else stamp
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(stamp, body),
    }
    status, _, _ = await post(base + EVENTS_PATH, body, headers)
    return status


async def raw_request(base: str, data: bytes, *, hang_up: bool = False) -> tuple[str, bytes]:
    """Send bytes as they are (no client to tidy them up), then with `hang_up` close the sending
    side; returns the status line and the header block of the answer ("" when there is none)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        with contextlib.suppress(OSError):  # the server may hang up before reading it all
            await writer.drain()
            if hang_up:
                writer.write_eof()
        head = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in head and (chunk := await asyncio.wait_for(reader.read(65536), 5)):
                head += chunk
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    status_line, _, rest = head.partition(b"\r\n")
    return status_line.decode("latin-1"), rest.partition(b"\r\n\r\n")[0]


def status_of(status_line: str) -> int:
    parts = status_line.split(" ")
    assert len(parts) >= 2 and parts[0].startswith("HTTP/1."), status_line
    return int(parts[1])


# -- Slack: the signature and its timestamp -------------------------------------------------------

FORM = urlencode(
    {"command": "/other", "text": "latest", "user_id": "U1", "response_url": "http://127.0.0.1:9/x"}
).encode()


@pytest.mark.parametrize(
    "stamp",
    ["", "abc", "1e9", "-5", "+1700000000", " 1700000000", "0x10", "NaN", "１７００００００００",
     "9" * 5000, "99999999999999999999", "1700000000.5", "0", "1700000000\t"],
)  # fmt: skip
async def test_a_malformed_timestamp_is_401_like_any_bad_signature(slack, log_is_clean, stamp):
    # signed with the very timestamp it carries: only the timestamp is wrong
    assert await signed_post(slack, FORM, stamp=stamp) == 401


async def test_a_missing_timestamp_or_signature_is_401(slack, log_is_clean):
    stamp = str(int(time.time()))
    for headers in (
        {},
        {"X-Slack-Signature": sign(stamp, FORM)},
        {"X-Slack-Request-Timestamp": stamp},
        {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": ""},
        {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0="},
        {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(stamp, FORM).upper()},
        {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v1=" + sign(stamp, FORM)[3:]},
        {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(stamp, FORM) + "00"},
        {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + "é" * 64},
    ):
        status, body, _ = await post(slack + EVENTS_PATH, FORM, headers)
        assert status == 401, headers
        assert json.loads(body) == {"error": "invalid request"}


async def test_a_signature_for_another_body_or_an_old_request_is_401(slack, log_is_clean):
    stamp = str(int(time.time()))
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(stamp, b"other body")}
    assert (await post(slack + EVENTS_PATH, FORM, headers))[0] == 401
    assert await signed_post(slack, FORM, stamp=str(int(time.time()) - 301)) == 401
    assert await signed_post(slack, FORM, stamp=str(int(time.time()) + 301)) == 401


async def test_a_web_app_without_a_signing_secret_refuses_everything(fake_slack, log_is_clean):
    web_app = slack_web_app(make_app(fake_slack, SmallCore()), None)
    runner = aiohttp.web.AppRunner(web_app)
    await runner.setup()
    try:
        await aiohttp.web.TCPSite(runner, "127.0.0.1", 0).start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        assert await signed_post(base, FORM) == 401
    finally:
        await runner.cleanup()


# -- Slack: bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (
            b"\xff\xfe\x00command=/news",
            "application/x-www-form-urlencoded",
            401,
        ),  # not UTF-8: Slack never signs that
        (b'{"type": "event_callback", "event"', "application/x-www-form-urlencoded", 400),  # broken JSON
        (b'{"type": "event_callback", "event"', "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),  # JSON, not an object
        (b'"just a string"', "application/json", 400),
        (b"payload=not-json", "application/x-www-form-urlencoded", 400),
        (b"payload=%5B1%5D", "application/x-www-form-urlencoded", 400),  # payload is a JSON list
        (b"payload=%7B%22type%22%3A%207%7D", "application/x-www-form-urlencoded", 404),  # nothing handles it
        (b'{"type": 7, "event": "x", "team_id": []}', "application/json", 400),  # event not an object
        (b"hello, this is not a form", "text/plain", 404),
        (b"command=%2Fnews&text=%ff%fe", "application/x-www-form-urlencoded; charset=bogus", 200),
        (b"--x\r\nContent-Disposition: form-data\r\n\r\n1\r\n--x--", "multipart/form-data; boundary=x", 404),
        (b"", "application/x-www-form-urlencoded", 404),
    ],
)
async def test_signed_bodies_that_are_not_what_they_claim_get_a_4xx(
    slack, fake_slack, log_is_clean, body, content_type, expected
):
    if expected == 200:  # a real command: its answer goes to the fake's response_url
        body += b"&response_url=" + quote(fake_slack.response_url("odd"), safe="").encode()
    assert await signed_post(slack, body, content_type) == expected
    if expected == 200:
        await fake_slack.wait_for_responses(1)


async def test_a_body_over_the_cap_is_413_before_it_is_checked(slack, log_is_clean):
    big = b"text=" + b"x" * MAX_BODY
    assert await signed_post(slack, big) == 413
    status, _, _ = await post(slack + EVENTS_PATH, big, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413


async def test_a_chunked_body_over_the_cap_is_413(slack, log_is_clean):
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY // 16384 + 2):
            yield b"x" * 16384

    async with aiohttp.ClientSession() as session, session.post(slack + EVENTS_PATH, data=chunks()) as resp:
        assert resp.status == 413


# -- methods, paths ----------------------------------------------------------------------------------


async def test_wrong_methods_are_405_and_unknown_paths_404(slack, health, log_is_clean):
    cases = [
        (slack, "GET", EVENTS_PATH, 405),
        (slack, "PUT", EVENTS_PATH, 405),
        (slack, "DELETE", EVENTS_PATH, 405),
        (slack, "PATCH", EVENTS_PATH, 405),
        (slack, "POST", "/healthz", 405),
        (slack, "GET", "/", 404),
        (slack, "POST", "/slack/events/../../etc/passwd", 404),
        (slack, "POST", "/slack/Events", 404),
        (slack, "GET", "/healthz%0d%0aX-Injected:%201", 404),
        (health, "POST", "/healthz", 405),
        (health, "PUT", "/metrics", 405),
        (health, "DELETE", "/metrics", 405),
        (health, "GET", "/admin", 404),
        (health, "GET", "/metrics/../../etc/passwd", 404),
    ]
    for base, method, path, expected in cases:
        url = aiohttp.client.URL(base + path, encoded=True)
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, url, data=b"x=1", allow_redirects=False) as resp,
        ):
            assert resp.status == expected, (method, path)
            assert "X-Injected" not in resp.headers


async def test_health_endpoints_still_answer_with_stray_headers_and_bodies(health, log_is_clean):
    for path in ("/healthz", "/metrics"):
        status, _, _ = await post(
            health + path, b"\xff" * 3000, {"Content-Type": "application/json; charset=bogus"}, method="GET"
        )
        assert status == 200
    status, _, _ = await post(health + "/healthz", b"x" * 10000, {}, method="GET")
    assert status < 500


async def test_every_inbound_server_is_built_on_the_hardened_app(
    tmp_path: Path, fake_slack: FakeSlackAPI
) -> None:
    db = open_database(tmp_path / "bot.db")
    try:
        health_app = build_health_app(db, heartbeat=lambda: (None, None), stall_after=1)
    finally:
        db.conn.close()
    slack_app = slack_web_app(make_app(fake_slack, SmallCore()), SECRET)
    for app, cap in ((health_app, 4096), (slack_app, MAX_BODY)):
        assert refuse_malformed in app.middlewares
        assert app._client_max_size == cap


# -- header injection and broken HTTP, over a raw socket ---------------------------------------------

RAW_CASES = {
    "bare CR in a header": b"X-Slack-Signature: v0=abc\rX-Injected: 1\r\n",
    "bare LF in a header": b"X-Slack-Signature: v0=abc\nX-Injected: 1\r\n",
    "NUL in a header": b"X-Slack-Request-Timestamp: 17\x0000\r\n",
    "obsolete line folding": b"X-Slack-Signature: v0=abc\r\n X-Injected: 1\r\n",
    "header without a colon": b"X-Injected 1\r\n",
    "space in a header name": b"X Slack: 1\r\n",
    "two Content-Lengths": b"Content-Length: 1\r\nContent-Length: 2\r\n",
    "chunked and Content-Length": b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
    "negative Content-Length": b"Content-Length: -1\r\n",
    "huge header": b"X-Slack-Signature: " + b"a" * 100_000 + b"\r\n",
    "non-ASCII header name": b"X-\xc3\xa9: 1\r\n",
}


@pytest.mark.parametrize("name", list(RAW_CASES))
async def test_header_injection_and_broken_http_get_a_400(slack, health, log_is_clean, name):
    for base, path in ((slack, EVENTS_PATH), (health, "/healthz")):
        request = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\n".encode() + RAW_CASES[name] + b"Connection: close\r\n\r\n"
        )
        status_line, headers = await raw_request(base, request)
        assert 400 <= status_of(status_line) < 500, (name, status_line)
        assert b"x-injected" not in headers.lower()


@pytest.mark.parametrize(
    "data",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # a TLS hello to the plain port
        b"GET /healthz HTTP/9.9\r\n\r\n",
        b"GET\t/healthz HTTP/1.1\r\n\r\n",
        b"G=T /healthz HTTP/1.1\r\n\r\n",
        b"GET /health z HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET " + b"/a" * 20_000 + b" HTTP/1.1\r\n\r\n",
        b"POST /slack/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n",
    ],
)
async def test_garbage_instead_of_http_gets_a_400(slack, health, log_is_clean, data):
    for base in (slack, health):
        status_line, _ = await raw_request(base, data)
        assert 400 <= status_of(status_line) < 500, (data[:40], status_line)


async def test_a_body_cut_short_is_answered_or_dropped_without_a_traceback(slack, log_is_clean):
    stamp = str(int(time.time()))
    head = (
        f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
        f"X-Slack-Request-Timestamp: {stamp}\r\nX-Slack-Signature: {sign(stamp, b'x')}\r\n\r\n"
    ).encode()
    status_line, _ = await raw_request(slack, head + b"command=", hang_up=True)  # 92 bytes never come
    assert status_line == "" or 400 <= status_of(status_line) < 500
    await asyncio.sleep(0.1)  # let the server finish with the connection before the log is read


# -- fuzzing -------------------------------------------------------------------------------------------

SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=80)  # what a client can send
CONTENT_TYPES = (
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=zz",
            "application/x-www-form-urlencoded; charset=latin-1",
            "application/json; charset=nope",
            "",
        ]
    )
    | SAFE_TEXT
)
SLACK_FIELDS = [
    "command",
    "text",
    "user_id",
    "channel_id",
    "type",
    "payload",
    "token",
    "team_id",
    "ssl_check",
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | SAFE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SAFE_TEXT, inner, max_size=4),
    max_leaves=12,
)


def _bodies(response_url: str) -> st.SearchStrategy[bytes]:
    def form(fields: dict[str, str]) -> bytes:
        if "response_url" in fields or fields.get("command") == "/news":  # answers only ever go to the fake
            fields["response_url"] = response_url
        return urlencode(fields).encode()

    def json_body(value: object) -> bytes:
        if isinstance(value, dict):
            value.pop("response_url", None)
        return json.dumps(value).encode()

    keys = st.sampled_from(SLACK_FIELDS) | SAFE_TEXT
    return st.one_of(
        st.binary(max_size=600),
        st.dictionaries(keys, SAFE_TEXT, max_size=6).map(form),
        st.fixed_dictionaries({"command": st.just("/news"), "text": SAFE_TEXT, "user_id": SAFE_TEXT}).map(
            form
        ),
        st.dictionaries(st.sampled_from(SLACK_FIELDS), JSON_VALUES, max_size=5).map(json_body),
        JSON_VALUES.map(json_body),
        st.dictionaries(st.just("payload"), JSON_VALUES.map(json.dumps), min_size=1).map(form),
    )


TIMESTAMPS = st.one_of(st.integers(-(10**20), 10**20).map(str), SAFE_TEXT, st.text("0123456789", max_size=30))


@pytest.mark.slow
@FUZZ
@given(data=st.data())
async def test_fuzzed_slack_requests_never_get_a_5xx_or_a_traceback(
    slack: str, fake_slack: FakeSlackAPI, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.set_level(logging.DEBUG)
    body = data.draw(_bodies(fake_slack.response_url("fuzz")), label="body")
    # most requests correctly signed and fresh, so that the garbage in them gets through to Bolt
    how = data.draw(st.sampled_from(["signed", "signed", "signed, odd timestamp", "unsigned"]), label="how")
    stamp = str(int(time.time())) if how == "signed" else data.draw(TIMESTAMPS, label="timestamp")
    signature = data.draw(SAFE_TEXT, label="signature") if how == "unsigned" else sign(stamp, body)
    headers = {
        "Content-Type": data.draw(CONTENT_TYPES, label="content type"),
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    headers |= data.draw(st.dictionaries(st.sampled_from(["X-Forwarded-For", "Accept", "X-Slack-Retry-Num",
                                                           "Cookie", "Authorization"]), SAFE_TEXT, max_size=3))  # fmt: skip
    query = data.draw(st.text("abc=&%ff/?+", max_size=20), label="query")

    status, _, _ = await post(f"{slack}{EVENTS_PATH}?{query}", body, headers)

    event(f"HTTP {status}")  # --hypothesis-show-statistics: how far the fuzz got (401 / 4xx from Bolt / 200)
    assert status < 500
    assert_no_trouble(caplog.records)
    caplog.clear()


@pytest.mark.slow
@FUZZ
@given(data=st.data())
async def test_fuzzed_health_requests_never_get_a_5xx_or_a_traceback(
    health: str, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.set_level(logging.DEBUG)
    method = data.draw(st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "BREW"]))
    path = data.draw(st.sampled_from(["/healthz", "/metrics", "/"]) | st.text("abc/%.~-_:09é", max_size=30))
    path = "/" + quote(path.lstrip("/"), safe="/%.~-_:")
    headers = data.draw(st.dictionaries(st.sampled_from(["Accept", "Content-Type", "Range", "If-None-Match",
                                                         "Accept-Encoding", "Cookie"]), SAFE_TEXT, max_size=4))  # fmt: skip
    body = data.draw(st.binary(max_size=300))

    url = aiohttp.client.URL(health + path, encoded=True)
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=body, headers=headers, allow_redirects=False) as resp,
    ):
        event(f"HTTP {resp.status}")
        assert resp.status < 500
    assert_no_trouble(caplog.records)
    caplog.clear()


_NAMES = st.sampled_from(
    [b"X-Slack-Request-Timestamp", b"X-Slack-Signature", b"Content-Type", b"Expect", b"Upgrade", b"Accept",
     b"Content-Encoding", b"X-Forwarded-For", b"Cookie"]
)  # fmt: skip
_ANY_NAME = st.binary(min_size=1, max_size=30).filter(
    lambda b: b.lower() not in (b"content-length", b"transfer-encoding")
)
_PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).map(str.encode)
HEADER_NAMES = st.one_of(_NAMES, _NAMES, _NAMES, _ANY_NAME)  # mostly names the server takes...
HEADER_VALUES = st.one_of(_PRINTABLE, _PRINTABLE, st.binary(max_size=60))  # ...with values that may be odd


@pytest.mark.slow
@settings(FUZZ, max_examples=80)
@given(data=st.data())
async def test_fuzzed_raw_requests_never_get_a_5xx_or_a_traceback(
    slack: str, health: str, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.set_level(logging.DEBUG)
    # mostly a request line the server takes, so the odd headers get to the handlers
    methods, paths = (
        st.sampled_from([b"GET", b"POST", b"PUT"]),
        st.sampled_from([EVENTS_PATH.encode(), b"/healthz"]),
    )
    method = data.draw(st.one_of(methods, methods, methods, st.binary(min_size=1, max_size=8)))
    path = data.draw(st.one_of(paths, paths, paths, st.binary(max_size=40)))
    headers = data.draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=5))
    body = data.draw(st.binary(max_size=200))
    request = method + b" " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    request += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    request += b"Content-Length: %d\r\n\r\n" % len(body) + body

    for base in (slack, health):
        status_line, _ = await raw_request(base, request)
        event(status_line[:12] or "no answer")
        assert status_line == "" or status_of(status_line) < 500, status_line
    assert_no_trouble(caplog.records)
    caplog.clear()


@pytest.mark.parametrize("value", [b"\x80", b"100-continue\xff", b"bogus"])
async def test_an_odd_expect_header_is_a_417_not_a_500(slack, health, log_is_clean, value):
    # found by the raw fuzzer: aiohttp echoed the header into its 417 and failed on non-UTF-8 bytes
    for base, path in ((slack, EVENTS_PATH), (health, "/healthz"), (health, "/nowhere"), (slack, "/healthz")):
        request = b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        request += b"Expect: " + value + b"\r\nContent-Length: 2\r\n\r\n{}"
        status_line, _ = await raw_request(base, request)
        assert status_of(status_line) == 417, (base, path, value, status_line)


async def test_expect_100_continue_still_gets_its_interim_answer(health, log_is_clean):
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n"
    status_line, _ = await raw_request(health, request)
    assert status_line == "HTTP/1.1 100 Continue"


async def test_the_public_healthz_answers_503_when_the_database_cannot_be_read(tmp_path: Path) -> None:
    db = open_database(tmp_path / "bot.db")
    runner, port = await start_public_server(
        [], "127.0.0.1", 0, max_body=1024, problem=lambda: database_problem(db)
    )
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert (resp.status, await resp.text()) == (200, "ok")
            db.conn.close()  # the database gone from under the process
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 503 and (await resp.text()).startswith("database unreachable: ")
    finally:
        await runner.cleanup()
