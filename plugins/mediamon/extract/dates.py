"""Dates: the publication time of a page from its machine-readable dates, its header lines, the
dates of its visible text (classed by the evidence around each: a publication label, the
headline they stand by, a list of dates they belong to, a today's-date banner, a modification
label), the wire dateline of its first paragraphs, its URL and the date its feed or sitemap
listed, with the source it came from and two checks (not after the fetch; before 1990 only when
a second source agrees).

Besides the Chinese and ISO forms, the European ones are read: day-first dotted dates
("25.09.2018") and month names in English, German, French, Spanish, Italian, Dutch and Portuguese
("25. September 2018", "September 25, 2018", "3 de marzo de 2019"), with their publication labels.

Naive dates are read as Asia/Shanghai time: this is a Chinese-news pipeline. A machine date with
an offset is written in the page's local time when the page shows which (its day is the day the
page shows).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
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
# "25.09.2018", "5. 9. 2018, 14:30 Uhr": day first, as everywhere dates are written with dots (year
# first, "2018.09.25", is _FULL_DATE's).
_DOTTED_DATE = re.compile(
    r"(\d(?<![\d.]\d)\d?)\.\s?(\d{1,2})\.\s?((?:19|20)\d{2})(?!\d|\.\d)"
    r"(?:,?\s*(?:um\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
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
    """First date in ``text``: ``2024年3月20日``, ``2021-06-23 05:52``, ``2024/3/20``, ``20.3.2024``,
    ``20. März 2024``, ``March 20, 2024``, ``03-20 10:15``, ``3月20日`` (the first format found
    wins, not the first date written). Month-day dates take their year from ``reference`` or
    :func:`_infer_year`. The result is in Asia/Shanghai time."""
    now = now or datetime.now(SHANGHAI)
    if match := _FULL_DATE.search(text):
        return _datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), *match.group(4, 5, 6))
    if match := _SLASH_DATE.search(text):
        return _slash_date(match)
    if match := _DOTTED_DATE.search(text):
        return _dotted_date(match)
    if match := _NAMED_MONTH_DATE.search(text):
        return _named_month_date(match)
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
                    page_text: str, url: str | None, listed_at: datetime | None = None,
                    headlines: Sequence[str | None] = ()) -> Iterator[tuple[DateSource, datetime]]:
    """Every publication time the page and its listing give, most trusted first: machine-readable
    dates (meta, JSON-LD, ``<time>``; in the page's local time, :func:`_in_local_time`), the date
    line of the article header, the page's labelled publication date and the date shown by its
    headline (``headlines``: its title, og:title, h1), the dateline of the first paragraphs, the
    page's first plain date (:func:`page_dates`), a month-day date with a time, the URL's date, the
    feed or sitemap date ``listed_at``, and last the page's discounted dates (a modification date,
    dates of a list, a today's-date banner). Month-day dates take their year from the URL or the
    page's date. A generator: most pages are decided by their first candidates."""
    machine = [(source, parsed) for source, value in machine_dates if (parsed := _parse_iso(value))]
    if any(not _is_naive_reading(parsed) for _, parsed in machine):
        shown = page_dates(page_text, headlines, by_headlines_only=True).shown
        for source, parsed in machine:
            yield source, _in_local_time(parsed, [value for _, value in machine], shown)
    else:
        yield from machine
    page = page_dates(page_text, headlines)
    best = page.labelled or page.by_headline or page.first
    reference = _url_date(url) or best
    for line in _header_date_lines(header_lines):
        if parsed := parse_date(line, reference):
            yield DateSource.LABELLED, parsed
            break
    if page.labelled is not None:
        yield DateSource.LABELLED, page.labelled
    if page.by_headline is not None:
        yield DateSource.LABELLED, page.by_headline
    for line in lines[:3]:
        if match := DATELINE.match(line):
            year_text, month, day = match.group(1), int(match.group(2)), int(match.group(3))
            if best is not None and (best.month, best.day) == (month, day):
                yield DateSource.DATELINE, best  # the same day, with its time of day
            else:
                year = int(year_text) if year_text else _infer_year(month, day, reference, datetime.now(SHANGHAI))
                if dated := _datetime(year, month, day):
                    yield DateSource.DATELINE, dated
            break
    if page.first is not None:
        yield DateSource.PAGE_TEXT, page.first
    elif (match := _MONTH_DAY_TIME.search(page_text)) and (parsed := parse_date(match.group(0), reference)):
        yield DateSource.PAGE_TEXT, parsed
    if url_day := _url_day(url):
        yield DateSource.URL, url_day
    if listed_at is not None:
        yield DateSource.FEED, listed_at if listed_at.tzinfo else listed_at.replace(tzinfo=SHANGHAI)
    yield from page.discounted


def _header_date_lines(header_lines: list[str]) -> list[str]:
    """The header lines that may give the publication date: not the date-only lines when those name
    two days or more (a list of related articles that the text kept, each with its date)."""
    days = {parsed.date() for line in header_lines if is_date_only(line) and (parsed := parse_date(line))}
    return [line for line in header_lines if not is_date_only(line)] if len(days) >= 2 else header_lines


# A machine date and the time the page shows differ by the page's UTC offset: at most 14 hours, in
# quarter hours (UTC+05:45 exists).
_MAX_OFFSET = timedelta(hours=14)
_OFFSET_STEP = timedelta(minutes=15)
# The offsets a shown day without a time may move a machine date to: enough for the Americas and
# East Asia. A larger move says the page shows another date (the site's today, an update), not
# the same instant in another zone.
_GUESSED_OFFSET_HOURS = 10


def _in_local_time(value: datetime, machine: list[datetime], shown: _Mention | None) -> datetime:
    """``value`` written in the page's local time, so that its day is the day the page shows.

    A machine date with an explicit offset is often in UTC (``...Z``) while the page shows its
    local time: a story of 21:00 in Beijing or of 20:00 in New York carries the next or the same
    UTC day. The local offset is, in this order: the one between the wall-clock time the page
    shows by its headline or label (``shown``) and the instant, when the minutes agree; that of
    another machine date of the same instant that is not UTC; when the page shows a day without
    a time, the whole-hour offset nearest to the value's own (within GUESSED_OFFSET) that puts the
    instant on that day. Naive dates (read as Shanghai time) are left alone."""
    if _is_naive_reading(value) or not EARLIEST_UNCORROBORATED.year <= value.year < datetime.max.year:
        return value  # (a "0001-01-01" placeholder cannot move west)
    instant = value.astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0)
    if shown is not None and shown.timed:
        offset = shown.value.replace(tzinfo=None, second=0, microsecond=0) - instant
        if abs(offset) <= _MAX_OFFSET and offset % _OFFSET_STEP == timedelta(0):
            return value.astimezone(timezone(offset))
    if value.utcoffset() == timedelta(0):
        for other in machine:
            if other == value and not _is_naive_reading(other) and other.utcoffset() != timedelta(0):
                value = value.astimezone(other.tzinfo)
                break
    if shown is not None and not shown.timed and value.date() != (day := shown.value.date()):
        own = (value.utcoffset() or timedelta(0)) // timedelta(hours=1)
        for hours in sorted(range(-_GUESSED_OFFSET_HOURS, _GUESSED_OFFSET_HOURS + 1), key=lambda h: abs(h - own)):
            if (local := value.astimezone(timezone(timedelta(hours=hours)))).date() == day:
                return local
    return value


def _is_naive_reading(value: datetime) -> bool:
    """Whether ``value`` was written without an offset (and read as Shanghai time)."""
    return value.tzinfo is SHANGHAI


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


# Month names (and their usual abbreviations) of the languages of European news pages: English,
# German, French, Spanish, Italian, Dutch and Portuguese. Lower case; "mär" and "maerz" are März.
_MONTH_WORDS = {
    1: "january jan januar jänner jän janvier janv enero ene gennaio januari janeiro",
    2: "february feb februar février févr fevrier febrero febbraio februari fevereiro fev",
    3: "march mar märz maerz mär mrz mars marzo maart mrt março",
    4: "april apr avril avr abril aprile",
    5: "may mai mayo maggio mei maio",
    6: "june jun juni juin junio giugno giu junho",
    7: "july jul juli juillet juil julio luglio lug julho",
    8: "august aug août aout agosto ago augustus",
    9: "september sep sept septembre septiembre setiembre settembre setembro",
    10: "october oct oktober okt octobre octubre ottobre ott outubro",
    11: "november nov novembre noviembre novembro",
    12: "december dec dezember dez décembre déc decembre diciembre dic dicembre dezembro",
}
_MONTH_OF = {word: month for month, words in _MONTH_WORDS.items() for word in words.split()}
_MONTH_NAME = "(" + "|".join(sorted(_MONTH_OF, key=len, reverse=True)) + r")\.?"
# "20 Dec 2023", "December 20, 2023", "Dec. 20th 2023", "25. September 2018", "1er mars 2019",
# "3 de marzo de 2019": pages without a machine-readable date write it so, perhaps with a time of
# day ("Nov 19, 2019, 10:31 pm CST", "November 18, 2019 8:22AM", "25. September 2018, 14:30 Uhr",
# "um 14:30", "à 14h30").
_NAMED_MONTH_DATE = re.compile(
    rf"\b(?:(\d{{1,2}})(?:\.|er|º)?\s+(?:de\s+)?{_MONTH_NAME},?|{_MONTH_NAME}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?)"
    r"\s+(?:de\s+)?((?:19|20)\d{2})\b"
    r"(?:,?\s*(?:at|um|à|a\s+las|alle|om|às|-)?\s*(\d{1,2})[:h](\d{2})(?:\s*([AaPp])\.?[Mm]\b\.?)?)?",
    re.I)


@dataclass(frozen=True)
class _Mention:
    """One date written in the page's text, at ``start:end`` (a time of day with it: ``timed``)."""

    start: int
    end: int
    value: datetime
    timed: bool


@dataclass
class PageDates:
    """The dates of a page's visible text, sorted by how far they can be trusted.

    ``labelled``: the first date labelled as the publication date (发布时间, Published ...);
    ``by_headline``: the first date written by the headline, as article headers show it;
    ``first``: the first plain date with a time of day, else the first plain date (plain: not
    labelled as a modification, not one of a list of dates, not a today's-date banner);
    ``discounted``: those others, to be used only when nothing better is found;
    ``shown``: the labelled or by-headline date, the page's local day and perhaps wall-clock time
    (:func:`_in_local_time`).
    """

    labelled: datetime | None = None
    by_headline: datetime | None = None
    first: datetime | None = None
    discounted: list[tuple[DateSource, datetime]] = field(default_factory=list)
    shown: _Mention | None = None


# Labels before a date, within the LABEL_WINDOW characters before it. A bare 发布/发表 ("released")
# or 时间/日期 ("time", "date") needs its colon: without one it is the last word of a headline in a
# list of them ("...新版ZoomEye发布 2019-09-05", "...定下质询日期 2012年12月6日").
_PUBLISHED_LABEL = re.compile(
    r"(?:(?:发布|发表|发稿|出版)(?:时间|日期)|发布于|发表于|(?:发布|发表|时间|日期)\s*[:：]"
    r"|\b(?:Published|Posted)(?:\s+on)?(?:\s+[A-Z][a-z]+day,?)?|(?<![A-Za-z]\s)\bDate"
    # and in the other languages of _MONTH_WORDS: "veröffentlicht am", "publié le", "publicado el"
    r"|\b(?:ver[öo]ffentlicht|publiziert|erschienen|publi[ée]|publicad[oa]|pubblicat[oa]|gepubliceerd)"
    r"(?:\s+(?:am|le|el|il|op|em|en))?)\s*[:：]?\s*$", re.I)
# A modification date is not the publication date when the page labels one too (guancha: 发布 ...
# 最后更新 ...); alone, 更新时间 is how some sites (BBC Chinese) label the publication time.
_MODIFIED_LABEL = re.compile(
    r"(?:更新时间|更新日期|最后更新|修改时间|修改日期|更新于|\b(?:Updated|Last\s+updated|Modified)(?:\s+on)?"
    r"|\b(?:aktualisiert|ge[äa]ndert|mis\s+[àa]\s+jour|actualizad[oa]|aggiornat[oa]|bijgewerkt)"
    r"(?:\s+(?:am|le|el|il|op|em|en))?)"
    r"\s*[:：]?\s*$", re.I)
_LABEL_WINDOW = 20  # "Published Monday, " is the longest label
# A date heading a list (related articles, comments, a site's latest news): the run of dates it is
# in holds LIST_RUN dates or more, each within LIST_GAP characters of the next. An article header
# shows two dates at most (published, updated) and the article's text parts them from any list.
_LIST_RUN = 3
_LIST_GAP = 120
# The date of the day a page was served, in its top bar: "今天是2024年3月20日 星期三",
# "2006年12月27日（北京时间）". Such a date has no time of day.
_BANNER_BEFORE = re.compile(r"(?:今天是|今天|今日|Today\s+is)\s*[:：]?\s*$", re.I)
_BANNER_AFTER = re.compile(
    r"^\s*(?:[(（][^)）]{0,6}时间[)）]|(?:星期|礼拜|周)[一二三四五六日天](?!\s*\d{1,2}\s*[:：]\d)"
    r"|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b(?!,?\s*\d{1,2}\s*:\d))", re.I)
# The date line of an article header: within BY_HEADLINE_AFTER characters after the headline (a
# source or an author name between them) or BY_HEADLINE_BEFORE characters before it, with no
# sentence punctuation between them: a date in the lead sentence ("3月5日，...") is an event date.
_BY_HEADLINE_AFTER = 60
_BY_HEADLINE_BEFORE = 40
_HEADLINE_KEY_CHARS = 10  # a headline is found by its beginning (titles get cut or suffixed: "标题...", "标题-网站")
_MIN_HEADLINE_KEY_CHARS = 6
# A headline quoted ("《标题》已有1件评论", "Comments on “Title”") is named, not shown as the header.
_QUOTE_OPENINGS = ("《", "“", "「", '"')
# A "headline" written more often than this is the site's name (pages titled by their site alone).
_MAX_HEADLINE_SPANS = 3
_SENTENCE_PUNCTUATION = re.compile(r"[。，；！？]")
# "9/17/2004 5:54:13 AM" (month first, as with a 12-hour clock in the US), "17/9/2004" (the day
# first, where it cannot be a month). A day and month both 12 or less without AM/PM is ambiguous.
_SLASH_DATE = re.compile(
    r"(\d(?<![\d/.]\d)\d?)/(\d{1,2})/((?:19|20)\d{2})(?![\d/])"
    r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?(?![a-z]))?)?")


def _slash_date(match: re.Match[str]) -> datetime | None:
    first, second, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
    hour, minute, second_text, meridiem = match.group(4, 5, 6, 7)
    if first > 12:
        day, month = first, second
    elif second > 12 or meridiem:
        month, day = first, second
    else:
        return None
    if hour is not None and meridiem:
        hour = str(int(hour) % 12 + (12 if meridiem.lower() == "p" else 0))
    return _datetime(year, month, day, hour, minute, second_text)


def _dotted_date(match: re.Match[str]) -> datetime | None:
    return _datetime(int(match.group(3)), int(match.group(2)), int(match.group(1)), *match.group(4, 5, 6))


def _numeric_mentions(page_text: str, start: int = 0, end: int | None = None) -> list[_Mention]:
    end = len(page_text) if end is None else end
    mentions = [_Mention(match.start(), match.end(), dated, bool(match.group(4)))
                for match in _FULL_DATE.finditer(page_text, start, end)
                if (dated := _datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)),
                                       *match.group(4, 5, 6)))]
    if "/" in page_text:
        mentions += [_Mention(match.start(), match.end(), dated, bool(match.group(4)))
                     for match in _SLASH_DATE.finditer(page_text, start, end) if (dated := _slash_date(match))]
    mentions += [_Mention(match.start(), match.end(), dated, bool(match.group(4)))
                 for match in _DOTTED_DATE.finditer(page_text, start, end) if (dated := _dotted_date(match))]
    return sorted(mentions, key=lambda mention: mention.start)


def _named_month_date(match: re.Match[str]) -> datetime | None:
    day_month, month_day = match.group(1, 2), match.group(4, 3)
    day, month_name = day_month if day_month[0] else month_day
    hour, minute, meridiem = match.group(6, 7, 8)
    if hour is not None and meridiem:
        hour = str(int(hour) % 12 + (12 if meridiem.lower() == "p" else 0))
    return _datetime(int(match.group(5)), _MONTH_OF[month_name.lower()], int(day), hour, minute)


# A month-name date spans at most this many characters before its year ("25 de septiembre de ")
# and after it (", at 10:31 p.m."). The pattern, its names tried at every word, is looked for
# only around the years of the text: over a whole page it cost seven times the other dates.
_NAMED_DATE_BEFORE_YEAR = 32
_NAMED_DATE_AFTER_YEAR = 24
_YEAR = re.compile(r"(?:19|20)(?<!\d{3})\d{2}(?!\d)")


def _named_month_mentions(page_text: str, start: int = 0, end: int | None = None) -> list[_Mention]:
    end = len(page_text) if end is None else end
    mentions: list[_Mention] = []
    for year in _YEAR.finditer(page_text, start, end):
        before = page_text[max(start, year.start() - 3):year.start()].rstrip(" ,")
        if not (before and before[-1].isascii() and (before[-1].isalnum() or before[-1] == ".")):
            continue  # no month name or day before it (every one ends in an ASCII letter or digit)
        window = (max(start, year.start() - _NAMED_DATE_BEFORE_YEAR), min(end, year.end() + _NAMED_DATE_AFTER_YEAR))
        for match in _NAMED_MONTH_DATE.finditer(page_text, *window):
            if match.start(5) == year.start() and (dated := _named_month_date(match)):
                mentions.append(_Mention(match.start(), match.end(), dated, match.group(6) is not None))
    return mentions


def _headline_spans(page_text: str, headlines: Sequence[str | None]) -> list[tuple[int, int]]:
    """Where the headlines are written in ``page_text``: (start, approximate end) of each."""
    spans = []
    for headline in filter(None, headlines):
        headline = " ".join(headline.split())
        key = headline[:_HEADLINE_KEY_CHARS]
        if len(key) < _MIN_HEADLINE_KEY_CHARS:
            continue
        found: list[tuple[int, int]] = []
        position = page_text.find(key)
        while position >= 0 and len(found) <= _MAX_HEADLINE_SPANS:
            if page_text[max(0, position - 1):position] not in _QUOTE_OPENINGS:
                found.append((position, position + max(len(key), len(headline))))
            position = page_text.find(key, position + 1)
        if len(found) <= _MAX_HEADLINE_SPANS:
            spans += found
    return spans


def _by_headline(mention: _Mention, page_text: str, spans: list[tuple[int, int]]) -> int | None:
    """Where ``mention`` stands to a headline when it is the date line of an article header (see
    BY_HEADLINE_AFTER): 0 after it, 1 before it (the rarer layout, and a date before a headline can
    be the last of a list above it); None when it is not."""
    side: int | None = None
    for start, end in spans:
        if end - _HEADLINE_KEY_CHARS <= mention.start:
            if mention.start - end > _BY_HEADLINE_AFTER:
                continue
            between, after, this_side = page_text[end:mention.start], page_text[mention.end:mention.end + 1], 0
        elif 0 <= start - mention.end <= _BY_HEADLINE_BEFORE:
            between, after, this_side = page_text[mention.end:start], "", 1
        else:
            continue
        if not _SENTENCE_PUNCTUATION.search(between) and not _SENTENCE_PUNCTUATION.match(after):
            side = this_side if side is None else min(side, this_side)
    return side


def _listed(mentions: list[_Mention]) -> set[int]:
    """Indexes of the mentions that are in a run of dates (see LIST_RUN)."""
    listed: set[int] = set()
    run = [0] if mentions else []
    for index in range(1, len(mentions) + 1):
        if index < len(mentions) and mentions[index].start - mentions[index - 1].end <= _LIST_GAP:
            run.append(index)
            continue
        if len(run) >= _LIST_RUN:
            listed.update(run)
        run = [index]
    return listed


def _is_banner(mention: _Mention, page_text: str) -> bool:
    return not mention.timed and bool(
        _BANNER_BEFORE.search(page_text[max(0, mention.start - _LABEL_WINDOW):mention.start])
        or _BANNER_AFTER.match(page_text[mention.end:mention.end + 24]))


def page_dates(page_text: str, headlines: Sequence[str | None] = (), *, by_headlines_only: bool = False) -> PageDates:
    """The dates of the page's visible text, classed by the evidence around each (:class:`PageDates`).

    Numeric dates and those with a month name ("20 Dec 2023", "25. September 2018") are looked for
    over the whole text; ``by_headlines_only`` looks by the headlines alone (what
    :func:`_in_local_time` needs, at a fraction of the cost)."""
    spans = _headline_spans(page_text, headlines)
    if by_headlines_only:
        windows = [(max(0, start - _BY_HEADLINE_BEFORE - 40), end + _BY_HEADLINE_AFTER + 40) for start, end in spans[:4]]
        by_headlines = {(mention.start, mention.value): mention for start, end in windows
                        for mention in [*_named_month_mentions(page_text, start, end),
                                        *_numeric_mentions(page_text, start, end)]}
        mentions = sorted(by_headlines.values(), key=lambda mention: mention.start)
    else:
        mentions = sorted([*_numeric_mentions(page_text), *_named_month_mentions(page_text)],
                          key=lambda mention: mention.start)
    found = PageDates()
    listed = _listed(mentions)
    plain: list[_Mention] = []
    modified: list[_Mention] = []
    by_headline: list[_Mention | None] = [None, None]  # the first after a headline, the first before one
    for index, mention in enumerate(mentions):
        before = page_text[max(0, mention.start - _LABEL_WINDOW):mention.start]
        if _MODIFIED_LABEL.search(before):
            modified.append(mention)
        elif _PUBLISHED_LABEL.search(before):
            if found.labelled is None:
                found.labelled = mention.value
                found.shown = found.shown or mention
        elif spans and (side := _by_headline(mention, page_text, spans)) is not None:
            by_headline[side] = by_headline[side] or mention
        elif index in listed or _is_banner(mention, page_text):
            found.discounted.append((DateSource.PAGE_TEXT, mention.value))
        else:
            plain.append(mention)
    if header := by_headline[0] or by_headline[1]:
        found.by_headline = header.value
        found.shown = found.shown or header
    first = next((mention for mention in plain if mention.timed), plain[0] if plain else None)
    if first is None and modified and found.labelled is None and found.by_headline is None:
        first, modified = modified[0], modified[1:]  # the page's only date: its publication date
    found.first = first.value if first else None
    found.discounted[:0] = [(DateSource.LABELLED, mention.value) for mention in modified]
    return found


def is_date_only(line: str) -> bool:
    """Whether ``line`` is a full date (perhaps with a time) and nothing else: a header line."""
    return bool(line) and _DATE_ONLY.match(line) is not None
