"""A local farm of generated feeds for benchmarks: `python bench/feed_farm.py N ITEMS` serves
/feed/0.xml .. /feed/N-1.xml on 127.0.0.1 (port printed on stdout) with ETags, honouring 304s.
`POST /grow?by=K` makes every feed carry K more new items on top from then on (a later poll sees a
feed that changed by K items, as a real feed does between polls).

Runs in its own process so that serving does not count against the bot's measured time.
"""

from __future__ import annotations

import hashlib
import random
import sys
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


def make_feed(index: int, items: int, added: int = 0) -> bytes:
    """Feed `index` with `items` items and, on top of them, `added` newer ones (the `items` are the
    same bytes whatever `added` is)."""
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {index}</title>']
    newer = random.Random(f"{index}-added")
    parts += [_item(index, f"new-{n}", newer, now + timedelta(hours=1)) for n in range(added)]
    rng = random.Random(index)
    parts += [_item(index, str(n), rng, now) for n in range(items)]
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def _item(index: int, n: str, rng: random.Random, now: datetime) -> str:
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))).capitalize()
    if rng.random() < 0.02:  # about one item in fifty is about the story
        title = rng.choice(STORY_HEADLINES)
    summary = " ".join(rng.choice(WORDS) for _ in range(rng.randint(80, 160)))
    when = format_datetime(now - timedelta(minutes=rng.randint(1, 5000)))
    return (
        f"<item><title>{escape(title)} {index}-{n}</title>"
        f"<link>https://news{index % 37}.example.com/{index}/{n}?utm_source=rss</link>"
        f"<guid>feed-{index}-item-{n}</guid><pubDate>{when}</pubDate>"
        f"<description>{escape('<p>' + summary + '</p>')}</description></item>"
    )


def main() -> None:
    count, items = int(sys.argv[1]), int(sys.argv[2])
    bodies: dict[str, bytes] = {}
    etags: dict[str, str] = {}

    def serve(added: int) -> None:
        bodies.update({f"/feed/{i}.xml": make_feed(i, items, added) for i in range(count)})
        etags.update({path: '"' + hashlib.md5(body).hexdigest() + '"' for path, body in bodies.items()})

    serve(0)

    async def grow(request: web.Request) -> web.Response:
        serve(int(request.query.get("by", "5")))
        return web.Response(text="grown")

    async def handle(request: web.Request) -> web.Response:
        body = bodies.get(request.path)
        if body is None:
            return web.Response(status=404)
        etag = etags[request.path]
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"})

    app = web.Application()
    app.router.add_post("/grow", grow)
    app.router.add_get("/{tail:.*}", handle)

    async def announce(_: web.Application) -> None:
        print("ready", flush=True)

    app.on_startup.append(announce)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[3]), print=None, access_log=None)


if __name__ == "__main__":
    main()
