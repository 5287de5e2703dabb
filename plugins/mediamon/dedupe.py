"""Dedupe: recognise the same text at different URLs, and group copies of one news item into stories.

Exact duplicates share the hash of their normalized text (:func:`text_sha256`). Near duplicates:

1. **Fingerprint** (:func:`fingerprint`). The main text (``articles.text``; an appended translation
   is already split off into ``articles.translation``) is NFKC-normalized, converted from traditional
   to simplified characters (OpenCC ``t2s``), lower-cased and cut into tokens (one CJK character, or
   one word of another script), which drops punctuation and whitespace. A leading headline line is
   dropped (the title is a separate column, and reposts change it). Shingles are runs of
   ``cjk_shingle_tokens`` tokens for CJK texts and ``word_shingle_tokens`` words otherwise.
2. **Index**. Two MinHash signatures (datasketch): of all shingles, and of the shingles of the first
   ``lead_tokens`` tokens, so that a truncated copy, which shares only part of the whole text, still
   shares the lead. Each signature is cut into LSH bands; each band becomes one 64-bit key in
   ``article_fingerprints.band_keys`` (Postgres) under a GIN index, so looking up candidates is one
   index probe per band key.
3. **Verify** a candidate by containment: the share of the shorter text's shingles found in the
   longer, so a copy padded with chrome or cut short still matches, and the two must share at least
   ``min_shared_shingles`` shingles.
4. **Cluster**. An article joins the stories of all verified candidates; when it bridges several,
   they merge into the oldest. Stories are thus the connected components of the "verified copy"
   graph, which does not depend on the order articles arrive in, so a rebuild is reproducible.

Spam rules on the page (:func:`spam_evidence`) run with fingerprinting, on what the extract stage
read from the page; the spun-copy rule runs while clustering.

Concurrency: fingerprinting runs in parallel, but assigning stories holds one transaction-level
advisory lock per batch, so two tasks (or DAG runs) never decide about the same story at once; each
sees every story committed before it took the lock. See :func:`assign_stories`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from functools import cache
from typing import Any

import numpy as np
from datasketch import MinHash

from mediamon.settings import DedupeSettings
from mediamon.text import CJK_SCRIPTS, SENTENCE_STOPS, nfkc_lower_word_chars, nfkc_simplified

log = logging.getLogger(__name__)


def text_sha256(text: str) -> str:
    """Hash of what two copies of one text share (:func:`mediamon.text.nfkc_lower_word_chars`)."""
    return hashlib.sha256(nfkc_lower_word_chars(text).encode("utf-8")).hexdigest()


# --- fingerprints --------------------------------------------------------------------------------

# One token per character of the scripts written without spaces (Han, kana, hangul), one per word
# of the others.
_TOKEN = re.compile(rf"[{CJK_SCRIPTS}]|[^\W_{CJK_SCRIPTS}]+")
_CJK_TOKEN = re.compile(rf"[{CJK_SCRIPTS}]")
# A first line this short without sentence punctuation is a headline, not text.
_HEADLINE = re.compile(rf"^[^{SENTENCE_STOPS}]{{1,60}}$")
# Bumped when shingling or hashing changes: band keys of another version never meet the current ones.
FINGERPRINT_VERSION = 2


def tokens(text: str) -> list[str]:
    """The text's tokens after normalization: one per CJK character, one per word otherwise.

    NFKC folds full-width forms; OpenCC maps traditional to simplified characters; punctuation and
    whitespace separate tokens and are dropped. A short first line without sentence punctuation
    (a headline) is dropped.
    """
    lines = text.strip().split("\n", 1)
    if len(lines) == 2 and _HEADLINE.match(lines[0].strip()):
        text = lines[1]
    text = nfkc_simplified(text).lower()
    return _TOKEN.findall(text)


_MIX = np.uint64(0x9E3779B97F4A7C15)
_WORD = 1 << 32  # word ids sit above the code points, so a word never equals a character


def _token_ids(toks: Sequence[str]) -> np.ndarray:
    # A character is its code point; a word its CRC-32 (stable across processes, unlike hash()).
    return np.fromiter((ord(t) if len(t) == 1 else zlib.crc32(t.encode("utf-8")) | _WORD for t in toks),
                       dtype=np.uint64, count=len(toks))


def shingles(toks: Sequence[str], settings: DedupeSettings) -> np.ndarray:
    """The text's shingles as sorted, distinct 64-bit hashes.

    A shingle is a run of ``cjk_shingle_tokens`` tokens when the text is mostly CJK, of
    ``word_shingle_tokens`` otherwise; a text shorter than one shingle is one shingle. Hashes rather
    than strings: 8 bytes per shingle, set operations in numpy, and MinHash without rehashing.
    """
    if not toks:
        return np.empty(0, dtype=np.uint64)
    cjk = sum(1 for t in toks if _CJK_TOKEN.fullmatch(t)) >= settings.cjk_token_share * len(toks)
    size = min(settings.cjk_shingle_tokens if cjk else settings.word_shingle_tokens, len(toks))
    ids = _token_ids(toks)
    count = len(ids) - size + 1
    with np.errstate(over="ignore"):
        hashes = np.full(count, size, dtype=np.uint64)
        for offset in range(size):
            hashes = (hashes ^ ids[offset:offset + count]) * _MIX
            hashes ^= hashes >> np.uint64(29)
    return np.unique(hashes)


def containment(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Share of the smaller shingle set found in the larger, and the number shared."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if not len(small):
        return 0.0, 0
    shared = len(np.intersect1d(small, large, assume_unique=True))
    return shared / len(small), shared


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """What the index knows about one text: its shingle hashes and its LSH band keys."""
    shingles: np.ndarray
    band_keys: tuple[int, ...]


_SCHEME = "affine32"  # datasketch's default: 32-bit values, which the band keys then mix to 64 bits


@cache
def _permutations(num_perm: int, seed: int) -> Any:
    return MinHash(num_perm=num_perm, seed=seed, scheme=_SCHEME).permutations


def minhash(shingle_hashes: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """MinHash signature (datasketch) of a set of shingle hashes, as ``num_perm`` uint64 values."""
    m = MinHash(num_perm=num_perm, seed=seed, permutations=_permutations(num_perm, seed), scheme=_SCHEME,
                hashfunc=int)  # the shingles are hashed already; datasketch premixes the values
    m.update_batch((shingle_hashes >> np.uint64(32)).tolist())
    return m.hashvalues.astype(np.uint64)


def band_keys(signatures: np.ndarray, rows: int, salt: int) -> np.ndarray:
    """One signed 64-bit key per LSH band: ``signatures`` is (n, bands * rows) uint64; returns
    (n, bands) int64. Equal bands give equal keys; the band number and ``salt`` are mixed in so
    band 3 of one signature never meets band 5 (or the lead signature) of another. Vectorized, so
    the benchmark computes a million rows of keys with the same function as production."""
    n, width = signatures.shape
    bands = width // rows
    values = signatures.reshape(n, bands, rows)
    with np.errstate(over="ignore"):
        key = (np.arange(bands, dtype=np.uint64) + np.uint64(salt << 16)) * _MIX
        key = np.broadcast_to(key, (n, bands)).copy()
        for r in range(rows):
            key = (key ^ values[:, :, r]) * _MIX
            key ^= key >> np.uint64(31)
    return key.view(np.int64)


def fingerprint(text: str, settings: DedupeSettings) -> Fingerprint:
    """Shingles and LSH band keys of a main text (whole-text bands, then lead bands)."""
    toks = tokens(text)
    whole = shingles(toks, settings)
    if not len(whole):  # nothing to match on; no keys, so empty texts do not pile up on one band key
        return Fingerprint(whole, ())
    lead = shingles(toks[: settings.lead_tokens], settings)
    full_sig = minhash(whole, settings.lsh_bands * settings.lsh_rows, settings.minhash_seed)
    lead_sig = minhash(lead, settings.lead_lsh_bands * settings.lsh_rows, settings.minhash_seed + 1)
    keys = np.concatenate([band_keys(full_sig[None, :], settings.lsh_rows, 1)[0],
                           band_keys(lead_sig[None, :], settings.lsh_rows, 2)[0]])
    return Fingerprint(whole, tuple(int(k) for k in keys))


def params_key(settings: DedupeSettings) -> str:
    """The settings that shape band keys, recorded with each fingerprint: the first 16 hex digits of
    the SHA-256 of their JSON (:func:`params_json`), 17 bytes a row instead of ~190."""
    return hashlib.sha256(params_json(settings).encode("utf-8")).hexdigest()[:16]


def params_json(settings: DedupeSettings) -> str:
    """The settings that shape band keys, as the JSON :func:`params_key` hashes (migration 015
    hashed the JSON that earlier rows held the same way)."""
    fields = ("cjk_shingle_tokens", "word_shingle_tokens", "cjk_token_share", "lsh_bands", "lsh_rows",
              "lead_tokens", "lead_lsh_bands", "minhash_seed")
    return json.dumps({"version": FINGERPRINT_VERSION} | {k: asdict(settings)[k] for k in fields}, sort_keys=True)


def canonical_article(members: list[Any]) -> Any:
    """The story's original among its articles (rows with article_id, canonical_url, site,
    site_name, source_attribution, published_at, is_spam, trust).

    Spam copies are considered only when the story has nothing else. Then, in order: an article
    that others' attribution points at (its URL, its site's host, or its site name) and that does
    not itself point at another member; else the earliest ``published_at`` among the copies first
    seen within :data:`SAME_CRAWL` of the story's first copy; else the most trusted source
    (``sources.settings.trust``); ties go to the lowest article id.

    ``published_at`` is what a page says about itself (JSON-LD, meta tags), so a date alone must
    not win: a copy that shows up days after the original and backdates itself would otherwise
    headline the story. When we first saw each copy (``created_at``) is our own clock, and bounds
    which dates are believed.
    """
    pool = [m for m in members if not m.is_spam] or list(members)
    attributed = {target.article_id for m in pool if m.source_attribution
                  for target in pool if target is not m and _points_at(m.source_attribution, target)}
    roots = [m for m in pool if m.article_id in attributed and not (
        m.source_attribution and any(_points_at(m.source_attribution, t) for t in pool if t is not m))]
    pool = roots or pool
    first_seen = min(m.created_at for m in pool)
    dated = [m for m in pool if m.published_at is not None and m.created_at - first_seen <= SAME_CRAWL]
    if dated:
        return min(dated, key=lambda m: (m.published_at, m.article_id))
    return min(pool, key=lambda m: (-m.trust, m.article_id))


# Copies first seen this close together came in with one crawl (or a backfill), where the order we
# saw them in says nothing about which came first; past this, a later copy's claimed date is not
# believed over the copies already stored.
SAME_CRAWL = timedelta(hours=24)


def _points_at(attribution: str, target: Any) -> bool:
    """Whether an attribution (a URL, or a site name such as ``中国新闻网``) names ``target``."""
    value = attribution.strip().rstrip("/")
    if "://" in value:
        host = value.split("://", 1)[1].split("/", 1)[0].lower()
        return value == target.canonical_url.rstrip("/") or host == target.site
    return bool(target.site_name) and (value == target.site_name or target.site_name in value)


# --- spam ----------------------------------------------------------------------------------------

# Content farms stamp a word count and reading time on generated or spun pages.
_READING_TIME = re.compile(r"本篇文章\s*\d+\s*字\s*[,，]?\s*读完约\s*\d+\s*分钟")


def spam_evidence(title: str | None, site_name: str | None, text: str, page_fields: dict | None,
                  cfg: DedupeSettings) -> list[dict]:
    """The spam rules an article fires, each with what it saw. Rules:

    ``spam_keyword``: a commercial spam keyword (``spam_keywords``) in the title, the site name, or
    the ``page_fields`` the extract stage read (:func:`mediamon.extract.page_fields`: the page's
    <title>, meta keywords and breadcrumb): spam domains host news copies to rank for them.
    ``reading_time_stamp``: the text carries a content farm's "本篇文章N字，读完约M分钟" stamp.
    ``spun_copy`` is decided while clustering: two articles of different sites sharing between
    ``spun_min_containment`` and ``min_containment`` of their shingles; the later one is flagged.
    """
    fields = {"title": title or "", "site_name": site_name or "", **(page_fields or {})}
    found = [{"rule": "spam_keyword", "field": name, "keyword": kw}
             for name, value in fields.items() for kw in cfg.spam_keywords if kw in value]
    stamp = _READING_TIME.search(text)
    if stamp:
        found.append({"rule": "reading_time_stamp", "match": stamp.group(0)})
    return found
