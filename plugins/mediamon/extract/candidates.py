"""Choosing the main text between candidates, on evidence.

The first candidate is trafilatura in the mode chosen for the page's script (balanced for CJK pages,
precision for the others). Either mode fails in its own way: precision mode keeps a reprint notice
or a teaser while the article is on the page (it also turns off trafilatura's recall retry), or
empties an old table-layout page; balanced mode keeps the comment, headline and channel blocks
around a short article, or a forum page whole. So when the first candidate gives reason to doubt
it (:func:`doubtful`), a second one is made by the same trafilatura call in the other mode, on the
same tree, and :func:`second_wins` picks one by what each has that the other lacks:

- the candidate that adds *article prose* (distinct paragraph-length lines ending like a sentence,
  at least ``min_added_prose_lines`` of them and, net of what the other adds, ``alternative_gain``
  times the other's length) wins: the article rather than its teaser;
- when neither adds article prose, the shorter one wins (if it is not near-empty): what the longer
  one adds is chrome (headlines, captions, menus, comment forms);
- else the first candidate stays.

Nothing here looks at a site, a URL or a phrase. The second candidate skips trafilatura's own
comparison with its readability/justext fallbacks (``fast``): it costs about 0.6 of the first, and
the first, which keeps the fallbacks, is the one kept when the evidence is even.
"""
from __future__ import annotations

from dataclasses import dataclass

from mediamon.settings import ExtractSettings
from mediamon.text import LINE_ENDS_SENTENCE

# Closing quotes and brackets that may follow the stop that ends a sentence.
_CLOSERS = "\"'’)）」』 "


@dataclass(frozen=True)
class Evidence:
    """What one candidate looks like: its length, its prose (characters and lines) and the share of
    the page's visible text it covers."""

    chars: int
    prose_chars: int
    prose_lines: int
    page_share: float

    @property
    def chrome_share(self) -> float:
        """Share of the text in lines that are not prose (headings, captions, link labels, menus)."""
        return 1 - self.prose_chars / self.chars if self.chars else 0.0


@dataclass(frozen=True)
class Comparison:
    """What :func:`second_wins` weighed: each candidate's length and the distinct prose it has that
    the other lacks (characters and lines), and the verdict (``second_chosen``)."""

    first_chars: int
    second_chars: int
    first_added_prose_chars: int
    first_added_prose_lines: int
    second_added_prose_chars: int
    second_added_prose_lines: int
    second_chosen: bool


def is_prose(line: str, settings: ExtractSettings) -> bool:
    """A paragraph of running text: long enough and closed like a sentence. Captions, headings,
    link labels, dates and URLs are not. A closing quote or bracket may follow the stop."""
    return (len(line) >= settings.min_prose_line_chars
            and LINE_ENDS_SENTENCE.search(line.rstrip(_CLOSERS)) is not None)


def evidence(lines: list[str], page_chars: int, settings: ExtractSettings) -> Evidence:
    """The :class:`Evidence` of a candidate's cleaned ``lines`` on a page of ``page_chars``
    visible characters."""
    prose = [line for line in lines if is_prose(line, settings)]
    chars = sum(map(len, lines))
    return Evidence(chars, sum(map(len, prose)), len(prose), chars / page_chars if page_chars else 1.0)


def doubtful(first: Evidence, settings: ExtractSettings) -> bool:
    """Whether the first candidate deserves a second look. Any one of:

    - it is short (under ``recheck_max_chars``) and covers less than ``recheck_page_share`` of the
      page: trafilatura's own condition for its recall retry, which precision mode switches off;
    - it has fewer than ``min_article_prose_lines`` prose lines: a notice, a teaser, a caption;
    - at least ``max_chrome_share`` of it is not prose: headline lists, comment blocks, menus;
    - it covers at least ``whole_page_share`` of the page: the page returned whole.
    """
    under_extracted = first.chars < settings.recheck_max_chars and first.page_share < settings.recheck_page_share
    return (under_extracted
            or first.prose_lines < settings.min_article_prose_lines
            or first.chrome_share >= settings.max_chrome_share
            or first.page_share >= settings.whole_page_share)


def _added_prose(lines: list[str], other: list[str], settings: ExtractSettings) -> tuple[int, int]:
    # Distinct prose lines of ``lines`` not in ``other``: repeated blocks count once.
    known = set(other)
    added = [line for line in dict.fromkeys(lines) if line not in known and is_prose(line, settings)]
    return sum(map(len, added)), len(added)


def compare(first: list[str], second: list[str], settings: ExtractSettings) -> Comparison:
    """Weigh two cleaned candidates and give the verdict of :func:`second_wins`."""
    first_added, first_lines = _added_prose(first, second, settings)
    second_added, second_lines = _added_prose(second, first, settings)
    comparison = Comparison(sum(map(len, first)), sum(map(len, second)), first_added, first_lines,
                            second_added, second_lines, second_chosen=False)
    chosen = second_wins(comparison, settings.alternative_gain, settings.min_added_prose_lines,
                         settings.min_text_chars)
    return Comparison(**{**vars(comparison), "second_chosen": chosen})


def second_wins(comparison: Comparison, gain: float, min_added_lines: int, min_text_chars: int) -> bool:
    """The rule of the module docstring on a :class:`Comparison` (``gain``: ``alternative_gain``;
    ``min_added_lines``: ``min_added_prose_lines``; ``min_text_chars``: the shortest text that is
    an article). A function of the comparison's numbers alone, so an evaluation can re-run it with
    another gain."""
    c = comparison
    net_second = c.second_added_prose_chars - c.first_added_prose_chars
    if c.second_added_prose_lines >= min_added_lines and net_second >= gain * max(c.first_chars, 1):
        return True  # the second has the article, the first a part of it
    if c.first_added_prose_lines >= min_added_lines and -net_second >= gain * max(c.second_chars, 1):
        return False
    longer_adds = c.second_added_prose_lines if c.second_chars > c.first_chars else c.first_added_prose_lines
    if longer_adds < min_added_lines:
        # Neither adds article prose: the shorter wins, as what the longer adds is chrome, unless
        # it is no article at all.
        if c.second_chars < c.first_chars:
            return c.second_chars >= min_text_chars
        return c.first_chars < min_text_chars and c.second_chars > c.first_chars
    return False
