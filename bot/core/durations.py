"""Parse and format human durations such as "90s", "5m", "2h", "1d" (pure)."""

from __future__ import annotations

import math
import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_LONGEST_TEXT = 32  # "1.5h" needs 4 characters; anything far longer is not a duration
MAX_SECONDS = 365 * 86400  # longer waits overflow timers (asyncio, datetime) and are typos anyway
_EXPECTED = "expected a duration like 30s, 5m, 2h or 1d"


def parse_duration(value: object) -> float:
    """Seconds in `value`: a number of seconds, or a number with a unit s/m/h/d.

    Raises ValueError (never anything else) for any other value: config files can hold any YAML type.
    """
    if value is None:
        raise ValueError(f"no value given; {_EXPECTED}")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(_EXPECTED)
    seconds = _seconds_in_text(value) if isinstance(value, str) else _as_float(value)
    if math.isnan(seconds) or seconds <= 0:
        raise ValueError("a duration must be positive")
    if seconds > MAX_SECONDS:
        raise ValueError(f"a duration must be at most {format_duration(MAX_SECONDS)}")
    return seconds


def _seconds_in_text(text: str) -> float:
    found = _DURATION.match(text) if len(text) <= _LONGEST_TEXT else None
    if not found:
        shown = text if len(text) <= _LONGEST_TEXT else text[:_LONGEST_TEXT] + "…"
        raise ValueError(f"{shown!r} is not a duration; use a number with s, m, h or d (e.g. 5m)")
    return _as_float(found.group(1)) * _UNITS[found.group(2) or "s"]


def _as_float(number: int | float | str) -> float:
    try:
        return float(number)
    except OverflowError:  # an int too large for a float
        return math.inf


def format_duration(seconds: float) -> str:
    """The shortest exact unit form: 300 -> "5m", 90 -> "90s"."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
