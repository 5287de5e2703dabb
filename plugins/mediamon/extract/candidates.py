"""Choosing the main text between candidates, on evidence.

The first candidate is trafilatura in the mode chosen for the page's script (precision mode for
non-CJK pages, where it keeps comment and related-story blocks out). Precision mode also turns off
trafilatura's own safety net, the recall retry of a short extraction, so on some pages it keeps a
reprint notice or a teaser while the article is on the page. When the first candidate covers
little of the page (:func:`under_extracted`), a second one is made by the same trafilatura call in
its default (balanced) mode on the same tree, and :func:`prefer_alternative` takes it only when it
adds article-like text: distinct prose lines amounting to a good share of the first candidate's
length. Nothing here looks at a site, a URL or a phrase.

Only pages that trigger the check pay for the second call (7 of the 146 dev pages, all English):
running both candidates on every page would double the extraction time.
"""
from __future__ import annotations

from dataclasses import dataclass

from mediamon.settings import ExtractSettings
from mediamon.text import LINE_ENDS_SENTENCE

# Closing quotes and brackets that may follow the stop that ends a sentence.
_CLOSERS = "\"'’)）」』 "


@dataclass(frozen=True)
class Comparison:
    """What :func:`prefer_alternative` weighed: the first candidate's length, the distinct prose the
    alternative adds (characters and lines), and the verdict."""

    first_chars: int
    added_prose_chars: int
    added_prose_lines: int
    chosen: bool


def under_extracted(lines: list[str], page_chars: int, settings: ExtractSettings) -> bool:
    """Whether a candidate is short (under ``recheck_max_chars``) and covers less than
    ``recheck_page_share`` of the page's visible text: then another candidate deserves a look."""
    chars = sum(map(len, lines))
    return chars < settings.recheck_max_chars and chars < settings.recheck_page_share * page_chars


def _is_prose(line: str, settings: ExtractSettings) -> bool:
    # A paragraph of running text: long enough and closed like a sentence. Captions, headings,
    # link labels, dates and URLs are not. A closing quote or bracket may follow the stop.
    return (len(line) >= settings.min_prose_line_chars
            and LINE_ENDS_SENTENCE.search(line.rstrip(_CLOSERS)) is not None)


def prefer_alternative(first: list[str], alternative: list[str], settings: ExtractSettings) -> Comparison:
    """Compare two cleaned candidates: the alternative wins when the prose lines it adds (distinct,
    not in ``first``: repeated blocks count once) number at least ``min_added_prose_lines`` and
    amount to at least ``alternative_gain`` times ``first``'s length."""
    first_chars = sum(map(len, first))
    known = set(first)
    added = [line for line in dict.fromkeys(alternative) if line not in known and _is_prose(line, settings)]
    added_chars = sum(map(len, added))
    chosen = (len(added) >= settings.min_added_prose_lines
              and added_chars >= settings.alternative_gain * max(first_chars, 1))
    return Comparison(first_chars, added_chars, len(added), chosen)
