"""A local farm of generated feeds for benchmarks: `python bench/feed_farm.py N ITEMS PORT` serves
/feed/0.xml .. /feed/N-1.xml on 127.0.0.1 with ETag and Last-Modified, honouring 304s ("ready" is
printed on stdout once it listens). `--gzip` serves gzip to clients that accept it (compressed once
up front); `--summary-words 210-410` makes feeds of about 131 KB instead of 60 KB.
`POST /grow?by=K` makes every feed carry K more new items on top from then on (a later poll sees a
feed that changed by K items, as a real feed does between polls); `by=0` serves the first bytes again.

Runs in its own process so that serving does not count against the bot's measured time.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

# General news vocabulary: most items in real feeds have nothing to do with the story.
WORDS = (
    "government minister election vote policy market shares earnings quarter analysts growth inflation "
    "central bank rates company chief executive announced plans report investors deal acquisition startup "
    "software cloud chip smartphone launch users data privacy regulators court ruling lawsuit climate energy "
    "oil prices electric vehicles battery factory workers union strike city council housing school health "
    "hospital study researchers football season coach transfer film festival music album tour weather storm"
).split()
STORY_HEADLINES = (
    "Bezos's Project Prometheus in talks to buy aerospace supplier",
    "Vik Bajaj says Project Prometheus will hire hundreds of engineers",
    "Jeff Bezos seeks investors in Singapore for $100 billion manufacturing fund",
)


def make_feed(index: int, items: int, added: int = 0, summary_words: tuple[int, int] = (80, 160)) -> bytes:
    """Feed `index` with `items` items and, on top of them, `added` newer ones (the `items` are the
    same bytes whatever `added` is). Each summary has between `summary_words` words: the default
    makes about 60 KB per feed of 50 items, (220, 420) about 131 KB."""
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {index}</title>']
    newer = random.Random(f"{index}-added")
    parts += [_item(index, f"new-{n}", newer, now + timedelta(hours=1), summary_words) for n in range(added)]
    rng = random.Random(index)
    parts += [_item(index, str(n), rng, now, summary_words) for n in range(items)]
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def _item(index: int, n: str, rng: random.Random, now: datetime, summary_words: tuple[int, int]) -> str:
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))).capitalize()
    if rng.random() < 0.02:  # about one item in fifty is about the story
        title = rng.choice(STORY_HEADLINES)
    summary = " ".join(rng.choice(WORDS) for _ in range(rng.randint(*summary_words)))
    when = format_datetime(now - timedelta(minutes=rng.randint(1, 5000)))
    return (
        f"<item><title>{escape(title)} {index}-{n}</title>"
        f"<link>https://news{index % 37}.example.com/{index}/{n}?utm_source=rss</link>"
        f"<guid>feed-{index}-item-{n}</guid><pubDate>{when}</pubDate>"
        f"<description>{escape('<p>' + summary + '</p>')}</description></item>"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("items", type=int)
    parser.add_argument("port", type=int)
    parser.add_argument("--gzip", action="store_true", help="gzip bodies for clients that accept it")
    parser.add_argument(
        "--summary-words", default="80-160", help="LO-HI words per summary (210-410: ~131 KB)"
    )
    args = parser.parse_args()
    low, high = (int(n) for n in args.summary_words.split("-"))
    # one state per `added`, built once: a later /grow back to a state reuses its bytes
    states: dict[int, dict[str, _Body]] = {}
    current: list[dict[str, _Body]] = []

    def serve(added: int) -> None:
        if added not in states:
            modified = format_datetime(
                datetime(2026, 11, 25, 12, tzinfo=UTC) + timedelta(hours=added), usegmt=True
            )
            states[added] = {
                f"/feed/{i}.xml": _Body(make_feed(i, args.items, added, (low, high)), modified, args.gzip)
                for i in range(args.count)
            }
        current[:] = [states[added]]

    serve(0)

    async def grow(request: web.Request) -> web.Response:
        serve(int(request.query.get("by", "5")))  # by=0: back to the first state
        return web.Response(text="grown")

    async def handle(request: web.Request) -> web.Response:
        body = current[0].get(request.path)
        if body is None:
            return web.Response(status=404)
        validators = {"ETag": body.etag, "Last-Modified": body.modified}
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match == body.etag or (
            if_none_match is None and request.headers.get("If-Modified-Since") == body.modified
        ):
            return web.Response(status=304, headers=validators)
        headers = {**validators, "Content-Type": "application/rss+xml", "Vary": "Accept-Encoding"}
        if body.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
            return web.Response(body=body.gzipped, headers={**headers, "Content-Encoding": "gzip"})
        return web.Response(body=body.raw, headers=headers)

    app = web.Application()
    app.router.add_post("/grow", grow)
    app.router.add_get("/{tail:.*}", handle)

    async def announce(_: web.Application) -> None:
        print("ready", flush=True)

    app.on_startup.append(announce)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


class _Body:
    """One feed's bytes as served: raw, gzipped once up front (if asked), and its validators."""

    def __init__(self, raw: bytes, modified: str, compress: bool) -> None:
        self.raw = raw
        self.gzipped = gzip.compress(raw, 6) if compress else None
        self.etag = '"' + hashlib.md5(raw).hexdigest() + '"'
        self.modified = modified


if __name__ == "__main__":
    main()
