"""Canonical links (pure): the same article reached by different URLs gets one key.

`canonical_link` is a dedup key, not necessarily a URL to show: it forces https, drops "www.",
tracking parameters, fragments and trailing slashes. `unwrap_redirect` recovers the real article URL
from Google News and similar redirectors when the URL itself carries it.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "twclid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "cmpid",
        "ocid",
        "smid",
        "smtyp",
        "taid",
        "ito",
        "icid",
        "ncid",
        "sr_share",
        "soc_src",
        "soc_trk",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "source",
        "via",
        "share",
        "s_cid",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "__twitter_impression",
        "ns_campaign",
        "ns_mchannel",
        "ns_source",
        "ns_linkname",
        "ns_fee",
        "cid",
        "oc",
        "mod",
        "outputtype",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "at_", "hsa_", "itm_")
_REDIRECT_HOSTS = {"news.google.com", "google.com", "www.google.com", "l.facebook.com", "t.co"}
_REDIRECT_PARAMS = ("url", "q", "u", "target")
_EMBEDDED_URL = re.compile(rb"https?://[\x21-\x7e]+")


def unwrap_redirect(url: str) -> str:
    """The article URL hidden in a redirector link, or `url` unchanged when none can be recovered.

    Handles `...?url=<article>` style redirects and Google News's older article ids, which are
    base64 protobufs containing the URL. Newer opaque Google News ids cannot be decoded offline;
    such items are recognised by their headline instead (see bot.core.dedup).
    """
    parts = http_url_parts(url)
    if parts is None or (parts.hostname or "").lower() not in _REDIRECT_HOSTS:
        return url
    for key, value in parse_qsl(parts.query):
        if key.lower() in _REDIRECT_PARAMS and re.match(r"^https?://", value):
            return value
    match = re.search(r"/articles/([A-Za-z0-9_-]+)", parts.path)
    if match:
        decoded = _decode_google_article_id(match.group(1))
        if decoded:
            return decoded
    return url


def _decode_google_article_id(article_id: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(article_id + "=" * (-len(article_id) % 4))
    except (binascii.Error, ValueError):
        return None
    found = _EMBEDDED_URL.search(raw)
    if not found:
        return None
    candidate = found.group(0)
    # protobuf framing may follow the URL; the URL ends at the first byte that is not URL-safe text
    candidate = re.split(rb"[\x00-\x20\x7f-\xff\xd2]", candidate)[0]
    try:
        return candidate.decode("ascii")
    except UnicodeDecodeError:
        return None


def http_url_parts(url: str | None) -> SplitResult | None:
    """The parts of an absolute http(s) URL with a host, or None for anything else (other schemes,
    relative or malformed URLs). The one test every module applies before using a feed's URL."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError for a malformed port)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return parts


def _without_tracking(query: str) -> list[tuple[str, str]]:
    return [
        (key, value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
    ]


def canonical_link(url: str | None) -> str | None:
    """A dedup key for an article URL, or None for URLs that cannot identify an article
    (not http(s), no host, or a site's front page)."""
    parts = http_url_parts(unwrap_redirect(url.strip())) if url else None
    if parts is None or parts.hostname is None:
        return None
    port = parts.port
    host = parts.hostname.lower().rstrip(".")
    host = host.removeprefix("www.").removeprefix("m.").removeprefix("amp.")
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", unquote(parts.path) or "/")
    path = re.sub(r"/amp/?$", "/", path)
    if len(path) > 1:
        path = path.rstrip("/")
    query = urlencode(sorted(_without_tracking(parts.query)))
    if path == "/" and not query:
        return None  # a front page is not an article
    return urlunsplit(("https", host, path, query, ""))


def display_link(url: str | None) -> str | None:
    """The URL to show people: the unwrapped article URL, tracking parameters removed, scheme kept."""
    parts = http_url_parts(unwrap_redirect(url.strip())) if url else None
    if parts is None:
        return None
    query = urlencode(_without_tracking(parts.query))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))
