"""Which regions of a relevant article are parties to the cooperation, and which are only mentioned.

A region is a *party* when the article names it where the cooperation is stated: in a sentence that
holds a cooperation term or cue and names the sides (two regions, a cluster, or a pair-up / sister-city
tie), or that it names at least ``MIN_MENTIONS`` times: an article about a cooperation keeps coming back
to its parties, often in sentences that say what one of them did without a cooperation word ("北京援建下
的和田 ..." is stated; "湖南专家的种植新技术 ..." is not). Everything else is *mentioned*. (Narrowing
the sentence to the clause around the term, between commas, lost more parties than it removed mentions
on the development half: Chinese lists the parties and the action in separate clauses, "上海市要发挥带动
作用,江苏、浙江、安徽三省要各扬所长".)

Not evidence of taking part, whatever the clause says:

* the dateline and regions that start an organisation's name (decided by :mod:`mediamon.topics`);
* the venue or the places visited: "论坛在江苏南京举行", "还到伊犁、喀什等地调研" (where a meeting
  sits or an official goes, not who cooperates);
* a region that appears only as part of a grouping's proper name: 粤港澳 inside 粤港澳大湾区 names the
  area, not Guangdong, Hong Kong and Macao as actors (GUIDELINE: a cluster's members count only when
  the text names them). A bare run such as 京津冀 or 粤港澳三地 does name them.

The rules were developed on half of the labelled fixtures (``tests/fixtures/topics/parties.jsonl``,
split "develop") and checked on the other half; see docs/architecture.md for the figures.
"""
from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence

from mediamon.regions import PROVINCE_ABBREVIATIONS, RegionSpan

# Calibration: on the development half, 3 to 5 mentions give the same precision; 4 finds a few more
# parties than "stated only" (R 0.833 -> 0.849) at no cost in precision.
MIN_MENTIONS = 4
# 在/到 + places + a verb of holding or visiting: where a meeting sits or an official goes, not who
# cooperates ("论坛在江苏南京举行", "还到伊犁、喀什、克孜勒苏等地调研").
_VENUE_BEFORE = re.compile(r"(?:在|于|到|赴|来到|前往)$")
_VENUE_AFTER = re.compile(r"[^,，。；;!！?？\n]{0,12}?(?:召开|举行|举办|开幕|闭幕|启动|揭牌|调研|考察|视察|看望)")
# What may stand between the places of one list: 江苏南京, 伊犁、喀什和克孜勒苏.
_LIST_GAP = re.compile(r"[、和及]?")


def is_venue(text: str, span: RegionSpan, spans: _SpanIndex) -> bool:
    """True when the span is one of the places after 在/到 that a holding or visiting verb follows."""
    first = last = span
    while (previous := spans.before(first, text)) is not None:  # walk over the list this place is in
        first = previous
    while (following := spans.after(last, text)) is not None:
        last = following
    return bool(_VENUE_BEFORE.search(text[max(0, first.start - 2):first.start])
                and _VENUE_AFTER.match(text, last.end))


class _SpanIndex:
    """The place named right before or after another in a list (江苏南京, 伊犁、喀什和克孜勒苏)."""

    def __init__(self, spans: Sequence[RegionSpan]):
        self.by_end = {span.end: span for span in spans}
        self.by_start = {span.start: span for span in spans}

    def before(self, span: RegionSpan, text: str) -> RegionSpan | None:
        for end in (span.start, span.start - 1):
            if end in self.by_end and _LIST_GAP.fullmatch(text[end:span.start]):
                return self.by_end[end]
        return None

    def after(self, span: RegionSpan, text: str) -> RegionSpan | None:
        for start in (span.end, span.end + 1):
            if start in self.by_start and _LIST_GAP.fullmatch(text[span.end:start]):
                return self.by_start[start]
        return None


def party_codes(text: str, spans: Sequence[RegionSpan], cluster_names: Sequence[tuple[int, int]],
                side_sentences: set[int], sentence_starts: Sequence[int]) -> set[str]:
    """Codes of the regions that take part in the cooperation.

    ``spans`` are the region occurrences that may be parties (datelines and organisation names already
    removed), ``cluster_names`` the ``(start, end)`` of each cluster alias, ``side_sentences`` the indices
    of sentences that hold a cooperation term or cue and name the sides of a cooperation.
    """
    index = _SpanIndex(spans)
    eligible = [span for span in spans if not _inside_proper_name(text, span, cluster_names)
                and not is_venue(text, span, index)]
    stated = {span.code for span in eligible
              if bisect.bisect_right(sentence_starts, span.start) - 1 in side_sentences}
    counts = Counter(span.code for span in eligible)
    return stated | {code for code, count in counts.items() if count >= MIN_MENTIONS}


def _inside_proper_name(text: str, span: RegionSpan, cluster_names: Sequence[tuple[int, int]]) -> bool:
    """True when the span lies in a cluster alias that is more than a run of abbreviations (粤港澳大湾区).

    An alias made only of one-character abbreviations (京津冀) names each of its regions.
    """
    return any(start <= span.start and span.end <= end
               and not all(char in PROVINCE_ABBREVIATIONS for char in text[start:end])
               for start, end in cluster_names)
