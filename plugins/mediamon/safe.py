"""Make untrusted values safe where they enter: header values, URLs, dates, JSON-LD strings.

Everything here is pure and total: it never raises on any ``str`` (or ``datetime``) and returns
either a value Postgres and the rest of the pipeline accept, or ``None``.

- Postgres text cannot hold NUL, and UTF-8 cannot encode a lone surrogate (``"\\ud800"`` from JSON):
  both are removed from every string that is stored.
- ``timestamptz`` input accepts UTC offsets below 16 hours (an RFC 2822 ``-2359`` is valid in
  Python, refused by Postgres), and Python datetimes end at year 9999 (a date late on 31 December
  9999 in a negative offset is year 10000 in UTC): such dates are dropped, not stored.
- A URL longer than :data:`MAX_URL_CHARS` is refused: unique b-tree indexes cap a row near 2.7 kB,
  and no real article URL is that long. Userinfo (``user:password@``) is removed from every URL that
  was discovered or redirected to, so it is neither stored nor sent as Basic auth.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import overload
from urllib.parse import urlsplit, urlunsplit

# Browsers and sitemaps (sitemaps.org: "less than 2,048 characters") agree on this bound.
MAX_URL_CHARS = 2048
# Postgres timestamptz: "the offset must be less than 16 hours" (datetime.c, MAX_TZDISP_HOUR 15).
MAX_UTC_OFFSET = timedelta(hours=16)
_UNSAFE_CHARS = re.compile("[\x00\ud800-\udfff]")


@overload
def clean_text(value: str) -> str: ...


@overload
def clean_text(value: None) -> None: ...


def clean_text(value: str | None) -> str | None:
    """``value`` without NUL characters and lone surrogates (None stays None)."""
    if value is None:
        return None
    return _UNSAFE_CHARS.sub("", str(value))


def clean_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Response headers as a plain dict with lower-case names, every name and value cleaned."""
    return {clean_text(str(name)).lower(): clean_text(str(value)) for name, value in headers.items()}


def safe_datetime(value: datetime | None) -> datetime | None:
    """``value`` when Postgres can store it and Python can convert it to UTC, else None.

    Naive datetimes are returned unchanged (the caller gives them a zone). An aware one must have
    ``|offset| < 16h`` and a UTC year in 1..9999.
    """
    if value is None or value.tzinfo is None:
        return value
    try:
        offset = value.utcoffset()
        if offset is None or abs(offset) >= MAX_UTC_OFFSET:
            return None
        value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return value


def strip_userinfo(url: str) -> str:
    """``url`` without ``user:password@`` in its authority (unchanged when it has none or does not
    parse)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot go into the frontier or be requested, or None when it can: not
    http(s), no host, a malformed host or port, or longer than :data:`MAX_URL_CHARS`."""
    if len(url) > MAX_URL_CHARS:
        return f"longer than {MAX_URL_CHARS} characters"
    if _UNSAFE_CHARS.search(url) or any(ch.isspace() and ch != " " for ch in url):
        return "control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port out of range or not a number
    except ValueError as exc:
        return f"malformed: {exc}"
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme!r} is not http(s)"
    if not parts.hostname:
        return "no host"
    return None


def finite_number(value: object) -> bool:
    """True for an int or float that is finite (not NaN, not infinite) and not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
