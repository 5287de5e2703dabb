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
- when neither adds article prose and what the longer one adds is mostly chrome (neither prose
  nor hard-wrapped text: headlines, captions, menus, comment forms), the shorter one wins (if it
  is not near-empty);
- else the first candidate stays, with the prose lines the second has *inside* the text both
  share (between two lines both have: :func:`with_interior_prose`): precision mode drops a short
  paragraph with a link, or one in a block of its own, from the middle of an article it keeps,
  and balanced mode keeps it; what balanced mode adds before or after the shared text (comments,
  related teasers, a byline box) stays out.

Nothing here looks at a site, a URL or a phrase. The second candidate skips trafilatura's own
comparison with its readability/justext fallbacks (``fast``): it costs about 0.6 of the first, and
the first, which keeps the fallbacks, is the one kept when the evidence is even.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from mediamon.settings import ExtractSettings
from mediamon.text import LINE_ENDS_SENTENCE, SENTENCE_STOPS

# Closing quotes and brackets that may follow the stop that ends a sentence.
_CLOSERS = "\"'’)）」』 "
# A sentence stop anywhere in a line: the short lines of hard-wrapped text (old portals break
# paragraphs at a fixed width) mostly have one; headlines, menus, captions and dates do not.
_SENTENCE_STOP = re.compile(rf"[{SENTENCE_STOPS}]|[.](?:\s|$)")
# Running text has a stop every 20-60 characters (Chinese) or 80-150 (English); a line with
# fewer than one per 100 characters that does not end like a sentence is not text.
_CHARS_PER_STOP = 100


@dataclass(frozen=True)
class Evidence:
    """What one candidate looks like: its length, its prose (characters and lines) and the share of
    the page's visible text it covers."""

    chars: int
    prose_chars: int
    prose_lines: int
    page_share: float
    # Characters in chrome lines (:func:`is_chrome`): headlines, menus, captions, link labels.
    chrome_chars: int = 0

    @property
    def chrome_share(self) -> float:
        """Share of the text in chrome lines."""
        return self.chrome_chars / self.chars if self.chars else 0.0


@dataclass(frozen=True)
class Comparison:
    """What :func:`second_wins` weighed: each candidate's length, the distinct lines it has that the
    other lacks (characters, and of them the chrome: :func:`is_chrome`) and the prose
    among them (characters and lines), and the verdict (``second_chosen``)."""

    first_chars: int
    second_chars: int
    first_added_chars: int
    first_added_chrome_chars: int
    first_added_prose_chars: int
    first_added_prose_lines: int
    second_added_chars: int
    second_added_chrome_chars: int
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
    return Evidence(chars, sum(map(len, prose)), len(prose), chars / page_chars if page_chars else 1.0,
                    _chrome_chars(lines, settings))


def is_chrome(line: str, settings: ExtractSettings) -> bool:
    """Neither prose nor text: fewer than one sentence stop per ``_CHARS_PER_STOP`` characters.
    A line of hard-wrapped text (30-50 characters, a stop in most) is text; a headline, a menu, a
    caption, a date has no stop, and a run of headlines on one line one in hundreds of characters."""
    if is_prose(line, settings):
        return False
    return len(_SENTENCE_STOP.findall(line)) * _CHARS_PER_STOP < len(line)


def _chrome_chars(lines: list[str], settings: ExtractSettings) -> int:
    return sum(len(line) for line in lines if is_chrome(line, settings))


def doubtful(first: Evidence, precision_first: bool, settings: ExtractSettings) -> bool:
    """Whether the first candidate shows the failure the other mode can mend.

    A precision-mode text (``precision_first``) may have missed the article, which balanced mode
    would add: it is short (under ``recheck_max_chars``) and covers less than ``recheck_page_share``
    of the page (trafilatura's own condition for its recall retry, which precision mode switches
    off), or it has fewer than ``min_article_prose_lines`` prose lines (a notice, a teaser).
    A balanced-mode text, which trafilatura already retried for recall, may hold chrome that
    precision mode would drop: at least ``max_chrome_share`` of it is chrome (:func:`is_chrome`:
    headline lists, comment blocks, menus), or it covers at least ``whole_page_share`` of the
    page (the page whole).
    """
    if precision_first:
        return ((first.chars < settings.recheck_max_chars and first.page_share < settings.recheck_page_share)
                or first.prose_lines < settings.min_article_prose_lines)
    return first.chrome_share >= settings.max_chrome_share or first.page_share >= settings.whole_page_share


def _added(lines: list[str], other: list[str], settings: ExtractSettings) -> tuple[int, int, int, int]:
    # The distinct lines of ``lines`` not in ``other`` (repeated blocks count once): their
    # characters, chrome characters, prose characters and prose lines.
    known = set(other)
    added = [line for line in dict.fromkeys(lines) if line not in known]
    prose = [line for line in added if is_prose(line, settings)]
    return sum(map(len, added)), _chrome_chars(added, settings), sum(map(len, prose)), len(prose)


def compare(first: list[str], second: list[str], settings: ExtractSettings) -> Comparison:
    """Weigh two cleaned candidates and give the verdict of :func:`second_wins`."""
    comparison = Comparison(sum(map(len, first)), sum(map(len, second)), *_added(first, second, settings),
                            *_added(second, first, settings), second_chosen=False)
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
    if c.first_chars < min_text_chars or c.second_chars < min_text_chars:
        return c.first_chars < min_text_chars <= c.second_chars  # only one of them is an article
    if c.second_chars == c.first_chars:
        return False
    second_longer = c.second_chars > c.first_chars
    longer_prose_lines, longer_added, longer_chrome = (
        (c.second_added_prose_lines, c.second_added_chars, c.second_added_chrome_chars) if second_longer
        else (c.first_added_prose_lines, c.first_added_chars, c.first_added_chrome_chars))
    # Neither adds article prose, and what the longer adds is mostly chrome (hard-wrapped text is
    # not): the shorter wins.
    return not second_longer and longer_prose_lines < min_added_lines and 2 * longer_chrome >= longer_added


def with_interior_prose(first: list[str], second: list[str], settings: ExtractSettings) -> list[str]:
    """``first`` with the prose lines (:func:`is_prose`) of ``second`` that stand between two lines
    both candidates have, each put after the shared line it follows in ``second``, when ``second``
    has all of ``first`` (else the two took different parts of the page, and lines of one inside
    the other's are not the same article's). On the dev pages such lines were article paragraphs
    every time (2 pages gained, none lost, with a second candidate on every page); lines that
    ``second`` adds before the first or after the last shared line were often not."""
    in_first = set(first)
    if not in_first.issubset(second):
        return first
    shared = [index for index, line in enumerate(second) if line in in_first]
    if len(shared) < 2:
        return first
    after: dict[str, list[str]] = {}
    previous = second[shared[0]]
    for line in second[shared[0] + 1:shared[-1]]:
        if line in in_first:
            previous = line
        elif is_prose(line, settings) and line not in after.get(previous, []):
            after.setdefault(previous, []).append(line)
    if not after:
        return first
    merged: list[str] = []
    for line in first:
        merged.append(line)
        merged.extend(after.pop(line, []))  # after the first occurrence of a repeated line only
    return merged
