"""Search tokens: the ``tsvector`` of an article, made here because Postgres cannot split Chinese.

The built-in parsers see ``上海市与浙江省签署`` as one word, and the embedded pgserver has no
pg_trgm or zhparser. So the pipeline makes the tokens itself and stores them as a ``'simple'``
tsvector literal (``articles.search_vector``, GIN-indexed); ``analyst.search()`` (migration 011)
turns a query into the same kind of tokens and rechecks each candidate with ``strpos``, so that
its matches are exactly those of ``LIKE '%term%'`` on title, text and translation.

Tokens (the same rules are written in PL/pgSQL in ``mediamon_search_tokens``):

1. CJK runs (the characters of :data:`CJK`) give every character (so the one-character
   abbreviations 沪 苏 浙 皖 match) and every pair of neighbouring characters. A text containing a
   term of n ≥ 2 such characters contains all n-1 bigrams of the term: the bigrams select a
   superset, the recheck makes it exact. Bigrams give far fewer candidates than characters.
2. Latin runs (ASCII letters and digits, folded to lower case) give every suffix of the run: a
   term's run is a prefix of some suffix of the text's run exactly when the text contains it, so
   ``'term':*`` finds infixes too (``operation`` in ``cooperation``), as LIKE does. Suffixes are
   cut to :data:`MAX_TOKEN` characters, and so are query tokens.
3. Everything else separates tokens. A term with no token at all (only punctuation) is still
   answered, by the recheck alone.

Positions are left out: phrase adjacency comes from the recheck, and positions would overflow
(16383, 256 per lexeme) on long texts anyway.
"""
from __future__ import annotations

import re

from mediamon.text import HAN

# The Han ideographs (Extension A, the Unified Ideographs, the compatibility block) plus 々 and 〇;
# migration 011 spells the same ranges out in mediamon_search_term().
CJK = "\u3005\u3007" + HAN
_RUNS = re.compile(f"([{CJK}]+)|([0-9A-Za-z]+)")
# Suffix tokens are cut to this length (query tokens too, so the match stays a superset): long
# runs such as URLs would otherwise store quadratic text.
MAX_TOKEN = 40
_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def tokens(*fields: str | None) -> set[str]:
    """The search tokens of the given texts (title, text, translation)."""
    found: set[str] = set()
    for field in fields:
        if not field:
            continue
        for cjk, latin in _RUNS.findall(field):
            if cjk:
                found.update(cjk)
                found.update(cjk[i:i + 2] for i in range(len(cjk) - 1))
            else:
                run = latin.translate(_FOLD)
                found.update(run[i:i + MAX_TOKEN] for i in range(len(run)))
    return found


def vector_literal(*fields: str | None) -> str:
    """The tokens as a tsvector literal, e.g. ``'上' '上海' '海'``. Tokens hold only CJK characters,
    ASCII letters and digits, so no quoting rule beyond the enclosing quotes applies."""
    return " ".join(f"'{token}'" for token in sorted(tokens(*fields)))
