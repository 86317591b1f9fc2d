"""Cut text to a length limit at a readable place. Pure: no I/O, no platform knowledge.

Every platform caps message parts (Slack sections at 3,000 characters, Discord embed
descriptions at 4,096, ...). Feeds send text of any length, so renderers cut it here: at the
last sentence end that keeps a fair share of the text, else at the last word boundary, else
mid-word, and mark the cut with an ellipsis. `fit` does the same when the platform escapes the
text afterwards and the escaped form is what must fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.core.rules.text import EDGE_AFTER, EDGE_BEFORE, is_cjk_char

ELLIPSIS = "…"

# A sentence ends at . ! or ? (optionally followed by a closing quote or bracket) before whitespace.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]?(?=\s)")
_WORD_GAP = re.compile(r"\s+")
# Punctuation that reads badly right before an ellipsis.
_TRAILING = " \t\r\n.,;:-–—"

# A boundary cut is used only when it keeps at least this share of the room; otherwise a
# single very long word or sentence would cut a 3,000-character section down to a few words.
_MIN_SHARE = 0.5


def truncate(text: str, limit: int) -> str:
    """Return `text` unchanged if it fits in `limit` characters, else a cut ending in "…".

    The cut falls after the last sentence end that keeps at least half of the room, else at
    the last whitespace that does, else mid-word. The result is never longer than `limit`.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    if room <= 0:
        return ELLIPSIS[:limit]
    # Look one character past the room so a boundary exactly at the edge still counts.
    window = text[: room + 1]
    floor = int(room * _MIN_SHARE)

    cut = room
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(window) if floor <= m.end() <= room]
    if sentence_ends:
        cut = sentence_ends[-1]
    else:
        gaps = [m.start() for m in _WORD_GAP.finditer(window) if floor <= m.start() <= room]
        if gaps:
            cut = gaps[-1]
    kept = text[:cut].rstrip(_TRAILING)
    if not kept:  # the text was all punctuation or space up to the cut
        kept = text[:room]
    return kept + ELLIPSIS


def fit(text: str, limit: int, transform: Callable[[str], str]) -> str:
    """Truncate `text` so that `transform(cut)` fits in `limit` characters, and return that.

    For renderers that escape or mark up text after cutting it: escaping may lengthen the
    text (`&` becomes `&amp;`), and cutting the escaped form could split an escape sequence.
    Searches for the largest cut whose transformed form fits (about 16 rounds for 40,000
    characters); returns "" if even an empty text does not fit. `transform` must never make
    text shorter (escaping and markup only add), so a text already over the limit is not
    transformed whole.
    """
    if len(text) <= limit:
        whole = transform(text)
        if len(whole) <= limit:
            return whole
    best = ""
    fits, too_long = 0, min(limit, len(text))
    while too_long - fits > 1:
        mid = (fits + too_long) // 2
        out = transform(truncate(text, mid))
        if len(out) <= limit:
            fits, best = mid, out
        else:
            too_long = mid
    if not best:
        empty = transform("")
        best = empty if len(empty) <= limit else ""
    return best


def terms_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """A case-insensitive, word-bounded pattern for any of `terms` (longest first), or None.

    The terms are literal text from the matcher, escaped: no user text becomes a live pattern.
    """
    words = sorted({t.strip() for t in terms if t.strip()}, key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(_bounded(w) for w in words)
    return re.compile(f"(?:{alternatives})", re.IGNORECASE)


def _bounded(term: str) -> str:
    """The escaped term with a word boundary at each end, as the matcher sees words.

    The matcher finds "ベゾス" inside "ベゾス氏が", "베이조스" inside "베이조스의" and "1000" right
    after "が" (each Han/kana/Hangul character is a word of its own), so bolding finds them there too.
    """
    head = "" if is_cjk_char(term[0]) else EDGE_BEFORE
    tail = "" if is_cjk_char(term[-1]) else EDGE_AFTER
    return f"{head}{re.escape(term)}{tail}"


def highlight(
    text: str, pattern: re.Pattern[str] | None, escape: Callable[[str], str], emphasise: Callable[[str], str]
) -> str:
    """Escape `text` for a platform, emphasising each match of `pattern`.

    Matching runs on the raw text and each piece is escaped on its own, so a term can never match
    inside an escape sequence (a term "amp" does not touch `&amp;`).
    """
    if pattern is None:
        return escape(text)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(emphasise(escape(match.group())))
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)
