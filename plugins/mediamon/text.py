"""Text helpers shared by the stages (extract, dedupe, topics, regions) and the evaluations.

One home for each: character ranges of the CJK scripts, the Traditional -> Simplified converter, the
two normalizations, the wire dateline and the sentence-end patterns. A stage that needs something
slightly different names its own variant here, beside the shared one, with the reason.
"""
from __future__ import annotations

import re
import unicodedata
from functools import cache

import opencc

# --- scripts -----------------------------------------------------------------------------------------
# Ranges as regex class bodies (use inside ``[...]``).

# Han ideographs: CJK Extension A, the Unified Ideographs, the Compatibility Ideographs. What the
# extract stage counts as Chinese (language by script, link-list lines) and what its scoring counts as
# one token per character.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
KANA = "\u3040-\u30ff"  # Hiragana and Katakana
HANGUL = "\uac00-\ud7af"  # Hangul syllables
# Every script written without spaces between words: dedupe tokenizes each of these characters on its
# own. Its fingerprints depend on this exact set (changing it needs a new FINGERPRINT_VERSION).
CJK_SCRIPTS = HAN + KANA + HANGUL


# --- normalization -----------------------------------------------------------------------------------

@cache
def _t2s() -> opencc.OpenCC:
    # One converter per process: building it loads OpenCC's dictionaries.
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """``text`` with Traditional Chinese characters turned Simplified (OpenCC ``t2s``)."""
    return str(_t2s().convert(text))


def nfkc_simplified(text: str) -> str:
    """Full-width forms folded (NFKC), then Traditional turned Simplified: Chinese text as the region
    and term matchers see it, and what dedupe tokenizes (after lower-casing)."""
    return to_simplified(unicodedata.normalize("NFKC", text))


_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def nfkc_lower_word_chars(text: str) -> str:
    """NFKC, lower case, punctuation, whitespace and underscores removed: what two copies of one text
    share (dedupe hashes it to find exact duplicates)."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


# --- datelines and sentences -------------------------------------------------------------------------

# The wire-style dateline that opens a story's first paragraph: "中新网北京3月15日电",
# "红网时刻新闻7月29日讯", "本报讯(记者 ...)2024年3月15日消息". Groups: year (optional), month, day. The
# extract stage reads the date from it; topics does not count the place it names as a party.
DATELINE = re.compile(r"^[(（]?[^。\n]{0,30}?(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日(?:电|讯|消息)")

# Punctuation that ends a sentence in Chinese or English text (the full stop aside, see below).
SENTENCE_STOPS = "。！？!?；;"
# Where sentences split (topics): a run of stops or line breaks, or whitespace after a full stop (a
# bare "." also sits in numbers and abbreviations).
SENTENCE_BOUNDARY = re.compile(rf"[{SENTENCE_STOPS}\n]+|(?<=[.])\s+")
# A line that ends as a sentence does (extract's line rules: menus, link lists, navigation bars do
# not): closing quotes, an ellipsis and a full stop count too.
LINE_ENDS_SENTENCE = re.compile(rf"[{SENTENCE_STOPS}…”」』.]\s*$")
