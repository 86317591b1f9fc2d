"""The door of every HTTP server the bot runs (the public server on $PORT, which carries Slack HTTP
mode, the Discord interactions endpoint and the WebSub callback, see `public_app`; the operator's
/healthz and /metrics): build each one with `inbound_app`, so whatever anyone on the network sends gets a 4xx, never a 500,
and never a traceback in the log.

- a body over `max_body` bytes: 413 (aiohttp's own cap, checked while the body is read);
- a wrong method: 405, an unknown path: 404 (aiohttp's router);
- an Expect header other than 100-continue: 417, whatever bytes it holds (`_expect_continue`);
- a request aiohttp cannot parse (a bad request line, CR/LF or NUL in a header, a second
  Content-Length, a header too long): 400 from aiohttp itself, which logs a traceback at ERROR for
  it; `_ParseErrorsOnOneLine` makes that one INFO line, as it is the client's fault;
- an exception from reading malformed input in a handler (bad encoding, JSON or form data, a field
  of the wrong type): 400 and one WARNING line (`refuse_malformed`);
- a body that breaks off (the client hangs up mid-body) or breaks its framing: 400 (if anyone is
  still there to read it) and one INFO line.

Anything else a handler raises is a bug of ours: aiohttp answers 500 and logs the traceback.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import hdrs, web, web_urldispatcher
from aiohttp.http import HttpVersion11
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger(__name__)

# What parsing input that is not what it should be raises (UnicodeError and JSONDecodeError are
# ValueErrors, an unknown charset a LookupError, a JSON list where an object belongs a TypeError or
# AttributeError on the way in).
MALFORMED_INPUT = (ValueError, LookupError, TypeError, AttributeError)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def describe(error: BaseException) -> str:
    """One line naming the error and where it was raised: enough to follow up, no traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    text = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {text}{where}"


@web.middleware
async def refuse_malformed(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A handler that trips over malformed input answers 400, with one log line instead of a trace."""
    try:
        return await handler(request)
    except web.HTTPException:  # a response already (404, 405, 413, ...)
        raise
    except MALFORMED_INPUT as error:
        # raw_path: the decoded path could hold a newline and forge a log line
        log.warning("%s %s refused as malformed: %s", request.method, request.raw_path[:200], describe(error))
    except (ConnectionResetError, HttpProcessingError) as error:  # aiohttp's words for a broken body
        log.info("%s %s: the body broke off: %s", request.method, request.raw_path[:200], describe(error))
    return web.json_response({"error": "malformed request"}, status=400)


class _ParseErrorsOnOneLine(logging.Filter):
    """aiohttp logs a request it cannot parse with a traceback at ERROR; it is the client's fault, so
    it becomes one INFO line naming the problem (newlines removed: the problem quotes raw input)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            problem = " ".join(str(error.message).split())[:200]
            record.msg, record.args = f"{record.getMessage()}: {type(error).__name__}: {problem}", None
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


def _quiet_parse_errors() -> None:
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _ParseErrorsOnOneLine) for f in server_log.filters):
        server_log.addFilter(_ParseErrorsOnOneLine())


async def _expect_continue(request: web.Request) -> None:
    """`Expect: 100-continue` is answered as aiohttp does; any other Expect is a plain 417.

    aiohttp's own handler echoes the header into its 417 and fails on a value that is not UTF-8
    (a 500 with a traceback). It runs before routing and middlewares, and every route, the router's
    per-request 404 and 405 routes included, takes the module's default when created, so the
    default is replaced rather than set route by route."""
    if request.version == HttpVersion11:
        if request.headers.get(hdrs.EXPECT, "").lower() == "100-continue":
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0  # the body's answer starts now, as in aiohttp's handler
        else:
            raise web.HTTPExpectationFailed(text="unknown Expect header")


def inbound_app(*, max_body: int) -> web.Application:
    """An aiohttp application for requests from the network: bodies capped at `max_body` bytes,
    malformed input answered 400, aiohttp's parse errors logged on one line, an odd Expect 417."""
    _quiet_parse_errors()
    web_urldispatcher._default_expect_handler = _expect_continue
    return web.Application(client_max_size=max_body, middlewares=[refuse_malformed])


Mount = Callable[[web.Application], None]  # adds one service's routes to the public app


def public_app(
    mounts: Sequence[Mount], *, max_body: int, problem: Callable[[], str | None] = lambda: None
) -> web.Application:
    """The bot's one public web app (on $PORT): `inbound_app`, GET /healthz for the platform's or
    load balancer's checks (200 "ok", or 503 with `problem()`'s answer, such as the database being
    unreachable, so the balancer sends commands to another instance), and each mount's routes
    (Slack HTTP mode, the Discord interactions endpoint, the WebSub callback)."""
    app = inbound_app(max_body=max_body)

    async def healthz(_: web.Request) -> web.Response:
        found = problem()
        return web.Response(text="ok") if found is None else web.Response(status=503, text=found)

    app.router.add_get("/healthz", healthz)
    for mount in mounts:
        mount(app)
    return app


async def start_app(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving `app` on `host:port`; returns the runner (`cleanup()` stops it) and the bound port
    (port 0: any free one). No access log: probes every few seconds would drown the log, and a WebSub
    callback's path holds its token."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    addresses = runner.addresses
    return runner, int(addresses[0][1]) if addresses else port


async def start_public_server(
    mounts: Sequence[Mount],
    host: str,
    port: int,
    *,
    max_body: int,
    problem: Callable[[], str | None] = lambda: None,
) -> tuple[web.AppRunner, int]:
    """Start serving `public_app(mounts)` (see `start_app`)."""
    return await start_app(public_app(mounts, max_body=max_body, problem=problem), host, port)


async def run_public_server(
    mounts: Sequence[Mount],
    host: str,
    port: int,
    *,
    max_body: int,
    problem: Callable[[], str | None] = lambda: None,
) -> None:
    """Serve `public_app(mounts)` on `host:port` until cancelled."""
    runner, bound = await start_public_server(mounts, host, port, max_body=max_body, problem=problem)
    paths = sorted({resource.canonical for resource in runner.app.router.resources()})
    log.info("public HTTP server listening on %s:%d: %s", host, bound, ", ".join(paths))
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
