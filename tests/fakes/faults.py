"""Garbled answers for the fake platforms: what a proxy, load balancer or half-broken platform sends
back to a post, often after the platform has already taken it.

Shared by tests/fakes/slack_api.py and tests/fakes/discord_api.py (`garble_next`): each fake
computes its real answer (recording the message when the fault says the post was accepted), then
replaces the answer with one of these.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from aiohttp import web

GARBLES = ("wrong_content_type", "empty_body", "html_502", "truncated_json", "reset")
BAD_GATEWAY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


@dataclass
class Garble:
    kind: str  # one of GARBLES
    accept: bool = True  # the platform took the post before the answer went wrong
    path_contains: str = ""
    method: str = "POST"

    def __post_init__(self) -> None:
        if self.kind not in GARBLES:
            raise ValueError(f"unknown garble {self.kind!r}; one of {GARBLES}")


def garbled(kind: str, body: bytes, request: web.Request) -> web.Response:
    """The answer `kind` in place of the real answer `body` (a JSON document)."""
    if kind == "wrong_content_type":  # the right JSON, labelled as text
        return web.Response(body=body, headers={"Content-Type": "text/plain; charset=utf-8"})
    if kind == "empty_body":
        return web.Response(body=b"", headers={"Content-Type": "application/json"})
    if kind == "html_502":
        return web.Response(text=BAD_GATEWAY_PAGE, status=502, content_type="text/html")
    if kind == "truncated_json":
        return web.Response(body=body[: max(1, len(body) // 2)], headers={"Content-Type": "application/json"})
    reset_connection(request)
    return web.Response(status=500)  # never reaches the client


def reset_connection(request: web.Request) -> None:
    """Close the client's connection with a TCP reset (SO_LINGER 0), as a crashed server would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
