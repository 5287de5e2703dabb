"""Dates: the publication time of a page from its machine-readable dates, its header lines, the
wire dateline of its first paragraphs, the dates in its text, its URL and the date its feed or
sitemap listed, with the source it came from and two checks (not after the fetch; before 1990
only when a second source agrees).

Naive dates are read as Asia/Shanghai time: this is a Chinese-news pipeline.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mediamon import safe
from mediamon.outcomes import DateSource
from mediamon.text import DATELINE

SHANGHAI = ZoneInfo("Asia/Shanghai")

_TIME = r"(?:\s*(?:T|\s)?\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?"
# These two are searched over whole pages. The "no digit before" lookbehind comes after the first
# digit(s) rather than first, so that the pattern starts with a digit and re skips in C to the
# candidate positions instead of trying the lookbehind at every character (3-4 times faster).
_FULL_DATE = re.compile(
    r"((?:19|20)\d{2})(?<!\d{5})\s*(?:年|-|/|\.)\s*(\d{1,2})\s*(?:月|-|/|\.)\s*(\d{1,2})(?!\d)\s*日?" + _TIME
)
_MONTH_DAY_TIME = re.compile(r"(\d(?<![\d\-/.]\d)\d?)\s*[-/月]\s*(\d{1,2})\s*日?\s+(\d{1,2})\s*:\s*(\d{2})(?!\d)")
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})日")
_DATE_LABEL = re.compile(
    r"(?:发布时间|发表时间|发布日期|发表日期|更新时间|时间|日期|发布于?|发表于?|Published|Date)\s*[:：]?\s*$", re.I
)
_DATE_ONLY = re.compile(r"^[\s【\[(（]*" + _FULL_DATE.pattern + r"\s*[】\])）]*\s*$")
_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[/_-]?(0[1-9]|1[0-2])(?:[/_-]?(0[1-9]|[12]\d|3[01]))?(?!\d)")


def _datetime(year: int, month: int, day: int, hour: str | None = None, minute: str | None = None,
              second: str | None = None) -> datetime | None:
    try:
        return datetime(year, month, day, int(hour or 0), int(minute or 0), int(second or 0), tzinfo=SHANGHAI)
    except ValueError:
        return None


def _infer_year(month: int, day: int, reference: datetime | None, now: datetime) -> int:
    """Year for a month-day date: the reference's year (URL or another date on the page), else the
    latest year that does not put the date in the future."""
    if reference is not None:
        return reference.year
    year = now.year
    candidate = _datetime(year, month, day)
    if candidate is not None and candidate > now + timedelta(days=1):
        year -= 1
    return year


def parse_date(text: str, reference: datetime | None = None, now: datetime | None = None) -> datetime | None:
    """First date in ``text``: ``2024年3月20日``, ``2021-06-23 05:52``, ``2024/3/20``, ``03-20 10:15``,
    ``3月20日``. Month-day dates take their year from ``reference`` or :func:`_infer_year`. The result
    is in Asia/Shanghai time."""
    now = now or datetime.now(SHANGHAI)
    if match := _FULL_DATE.search(text):
        return _datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), *match.group(4, 5, 6))
    if match := _MONTH_DAY_TIME.search(text):
        month, day = int(match.group(1)), int(match.group(2))
        return _datetime(_infer_year(month, day, reference, now), month, day, match.group(3), match.group(4))
    if match := _MONTH_DAY.search(text):
        month, day = int(match.group(1)), int(match.group(2))
        return _datetime(_infer_year(month, day, reference, now), month, day)
    return None


def _parse_iso(value: str) -> datetime | None:
    """An ISO 8601 date (naive ones read as Shanghai time), else whatever :func:`parse_date` finds."""
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return parse_date(value)
    # An offset of 16 h or more, or a year past 9999 in UTC: not a date Postgres can store.
    return safe.safe_datetime(parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI))


def _url_date(url: str | None) -> datetime | None:
    """The date in a URL path (``/2024/0315/``, ``/20240315/``, ``2024-03``; day 1 when it has none)."""
    match = _URL_DATE.search(url or "")
    if not match:
        return None
    return _datetime(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1))


def _url_day(url: str | None) -> datetime | None:
    """The date in a URL path when it names the day (a month alone is no publication date)."""
    match = _URL_DATE.search(url or "")
    return _datetime(int(match.group(1)), int(match.group(2)), int(match.group(3))) if match and match.group(3) else None


def date_candidates(machine_dates: list[tuple[DateSource, str]], header_lines: list[str], lines: list[str],
                    page_text: str, url: str | None,
                    listed_at: datetime | None = None) -> Iterator[tuple[DateSource, datetime]]:
    """Every publication time the page and its listing give, most trusted first: machine-readable
    dates (meta, JSON-LD, ``<time>``), labelled or date-only header lines, the dateline of the first
    paragraphs, the page's own date (:func:`_page_date`), a month-day date with a time, the URL's
    date, the feed or sitemap date ``listed_at``. Month-day dates take their year from the URL or
    the page's date. A generator: most pages are decided by their first candidate, and the later
    ones search the whole page text."""
    for source, value in machine_dates:
        if parsed := _parse_iso(value):
            yield source, parsed
    page_date, page_source = _page_date(page_text)
    reference = _url_date(url) or page_date
    for line in header_lines:
        if parsed := parse_date(line, reference):
            yield DateSource.LABELLED, parsed
            break
    for line in lines[:3]:
        if match := DATELINE.match(line):
            year_text, month, day = match.group(1), int(match.group(2)), int(match.group(3))
            if page_date is not None and (page_date.month, page_date.day) == (month, day):
                yield DateSource.DATELINE, page_date  # the same day, with its time of day
            else:
                year = int(year_text) if year_text else _infer_year(month, day, reference, datetime.now(SHANGHAI))
                if dated := _datetime(year, month, day):
                    yield DateSource.DATELINE, dated
            break
    if page_date is not None:
        yield page_source, page_date
    elif (match := _MONTH_DAY_TIME.search(page_text)) and (parsed := parse_date(match.group(0), reference)):
        yield DateSource.PAGE_TEXT, parsed
    if url_day := _url_day(url):
        yield DateSource.URL, url_day
    if listed_at is not None:
        yield DateSource.FEED, listed_at if listed_at.tzinfo else listed_at.replace(tzinfo=SHANGHAI)


# A publication date this long after the fetch is wrong (time zones account for less); one before
# EARLIEST_UNCORROBORATED needs a second source (see published_at).
MAX_DAYS_AFTER_FETCH = timedelta(days=1)
EARLIEST_UNCORROBORATED = datetime(1990, 1, 1, tzinfo=SHANGHAI)


def published_at(candidates: Iterable[tuple[DateSource, datetime]],
                 fetched_at: datetime | None = None) -> tuple[datetime | None, DateSource]:
    """The first of ``candidates`` (most trusted first) that can be a publication time, and its
    source (``DateSource.NONE`` with None when there is none).

    A date more than ``MAX_DAYS_AFTER_FETCH`` after ``fetched_at`` (default: now) is rejected: a
    page cannot be published after it was fetched (it is an event date, a copyright year's end or
    a typo). A date before ``EARLIEST_UNCORROBORATED`` is taken only when a candidate of another
    source gives the same day: an archive page of 1998 is possible, but so is a birth date or a
    "since 1985" in the page.
    """
    latest = (fetched_at or datetime.now(SHANGHAI)) + MAX_DAYS_AFTER_FETCH
    plausible = ((source, value) for source, value in candidates if value <= latest)
    for source, value in plausible:
        if value >= EARLIEST_UNCORROBORATED:
            return value, source
        # An early date: the remaining candidates are needed to confirm it, or to replace it.
        remaining = [(source, value), *plausible]
        for candidate_source, candidate in remaining:
            if candidate >= EARLIEST_UNCORROBORATED or any(
                    other_source != candidate_source and _same_day(other, candidate)
                    for other_source, other in remaining):
                return candidate, candidate_source
    return None, DateSource.NONE


def _same_day(first: datetime, second: datetime) -> bool:
    return first.astimezone(SHANGHAI).date() == second.astimezone(SHANGHAI).date()


def _page_date(page_text: str) -> tuple[datetime | None, DateSource]:
    """The first full date of the page labelled as a publication date, else its first full date
    with a time of day (archive lists and copyright lines carry dates without one), else its first
    full date; with :attr:`DateSource.LABELLED` or :attr:`DateSource.PAGE_TEXT`."""
    matches = list(_FULL_DATE.finditer(page_text))
    for match in matches:
        if _DATE_LABEL.search(page_text[max(0, match.start() - 12):match.start()]):
            return parse_date(match.group(0)), DateSource.LABELLED
    timed = next((match for match in matches if match.group(4)), None)
    first = timed or (matches[0] if matches else None)
    if first is None:
        return _english_date(page_text)
    return parse_date(first.group(0)), DateSource.PAGE_TEXT


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAME = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]{0,6}\.?"
# "20 Dec 2023", "December 20, 2023", "Dec. 20th 2023": English pages without a machine-readable
# date write it so. Only the fallback of pages without any numeric date looks for them.
_ENGLISH_DATE = re.compile(
    rf"\b(?:(\d{{1,2}})\s+{_MONTH_NAME},?|{_MONTH_NAME}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?)\s+((?:19|20)\d{{2}})\b"
)


def _english_date(page_text: str) -> tuple[datetime | None, DateSource]:
    """The first English date of the page labelled as a publication date, else its first one."""
    first: datetime | None = None
    for match in _ENGLISH_DATE.finditer(page_text):
        day_month_year, month_day_year = match.group(1, 2), match.group(4, 3)
        day, month_name = day_month_year if day_month_year[0] else month_day_year
        dated = _datetime(int(match.group(5)), _MONTHS.index(month_name[:3].lower()) + 1, int(day))
        if dated is None:
            continue
        if _DATE_LABEL.search(page_text[max(0, match.start() - 12):match.start()]):
            return dated, DateSource.LABELLED
        first = first or dated
    return first, DateSource.PAGE_TEXT


def is_date_only(line: str) -> bool:
    """Whether ``line`` is a full date (perhaps with a time) and nothing else: a header line."""
    return bool(line) and _DATE_ONLY.match(line) is not None
