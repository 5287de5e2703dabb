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
   ``lsh_bands`` (Postgres), so looking up candidates is one hash-index probe per band.
3. **Verify** a candidate by containment: the share of the shorter text's shingles found in the
   longer, so a copy padded with chrome or cut short still matches, and the two must share at least
   ``min_shared_shingles`` shingles.
4. **Cluster**. An article joins the stories of all verified candidates; when it bridges several,
   they merge into the oldest. Stories are thus the connected components of the "verified copy"
   graph, which does not depend on the order articles arrive in, so a rebuild is reproducible.

Spam rules on the page (:func:`spam_evidence`) run with fingerprinting; the spun-copy rule runs
while clustering.

Concurrency: fingerprinting runs in parallel, but assigning stories holds one transaction-level
advisory lock per batch, so two tasks (or DAG runs) never decide about the same story at once; each
sees every story committed before it took the lock. See :func:`assign_stories`.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import cache
from typing import Iterable, Sequence

import lxml.etree
import lxml.html
import numpy as np
import opencc
from datasketch import MinHash

from mediamon import store
from mediamon.settings import DedupeSettings, Settings

log = logging.getLogger(__name__)

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
# Any constant works: it only has to be the same for every process that assigns stories.
STORY_LOCK_KEY = 0x6D6D7374


def normalize_text(text: str) -> str:
    """NFKC, lower case, punctuation and whitespace removed: what two copies of one text share."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def text_sha256(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


# --- fingerprints --------------------------------------------------------------------------------

_CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK_CHARS}]|[^\W_{_CJK_CHARS}]+")
_CJK_TOKEN = re.compile(rf"[{_CJK_CHARS}]")
# A first line this short without sentence punctuation is a headline, not text.
_HEADLINE = re.compile(r"^[^。！？!?；;]{1,60}$")


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def tokens(text: str) -> list[str]:
    """The text's tokens after normalization: one per CJK character, one per word otherwise.

    NFKC folds full-width forms; OpenCC maps traditional to simplified characters; punctuation and
    whitespace separate tokens and are dropped. A short first line without sentence punctuation
    (a headline) is dropped.
    """
    lines = text.strip().split("\n", 1)
    if len(lines) == 2 and _HEADLINE.match(lines[0].strip()):
        text = lines[1]
    text = _t2s().convert(unicodedata.normalize("NFKC", text)).lower()
    return _TOKEN.findall(text)


def shingles(toks: Sequence[str], settings: DedupeSettings) -> set[str]:
    """Runs of consecutive tokens: ``cjk_shingle_tokens`` long when the text is mostly CJK,
    ``word_shingle_tokens`` otherwise. A text shorter than one shingle is one shingle."""
    cjk = sum(1 for t in toks if _CJK_TOKEN.fullmatch(t)) >= settings.cjk_token_share * max(len(toks), 1)
    size = settings.cjk_shingle_tokens if cjk else settings.word_shingle_tokens
    if len(toks) <= size:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i:i + size]) for i in range(len(toks) - size + 1)}


def containment(a: set[str], b: set[str]) -> tuple[float, int]:
    """Share of the smaller set's shingles found in the larger, and the number shared."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if not small:
        return 0.0, 0
    shared = len(small & large)
    return shared / len(small), shared


@dataclass(frozen=True)
class Fingerprint:
    """What the index knows about one text: its shingles and its LSH band keys."""
    shingles: frozenset[str]
    band_keys: tuple[int, ...]


_SCHEME = "affine32"  # datasketch's default: 32-bit values, which the band keys then mix to 64 bits


@cache
def _permutations(num_perm: int, seed: int):
    return MinHash(num_perm=num_perm, seed=seed, scheme=_SCHEME).permutations


def minhash(items: Iterable[str], num_perm: int, seed: int) -> np.ndarray:
    """MinHash signature (datasketch) of a set of strings, as ``num_perm`` uint64 values."""
    m = MinHash(num_perm=num_perm, seed=seed, permutations=_permutations(num_perm, seed), scheme=_SCHEME)
    m.update_batch([item.encode("utf-8") for item in items])
    return m.hashvalues.astype(np.uint64)


_MIX = np.uint64(0x9E3779B97F4A7C15)


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
    if not whole:  # nothing to match on; no keys, so empty texts do not pile up on one band key
        return Fingerprint(frozenset(), ())
    lead = shingles(toks[: settings.lead_tokens], settings)
    full_sig = minhash(whole, settings.lsh_bands * settings.lsh_rows, settings.minhash_seed)
    lead_sig = minhash(lead, settings.lead_lsh_bands * settings.lsh_rows, settings.minhash_seed + 1)
    keys = np.concatenate([band_keys(full_sig[None, :], settings.lsh_rows, 1)[0],
                           band_keys(lead_sig[None, :], settings.lsh_rows, 2)[0]])
    return Fingerprint(frozenset(whole), tuple(int(k) for k in keys))


def params_key(settings: DedupeSettings) -> str:
    """The settings that shape band keys, recorded with each fingerprint."""
    fields = ("cjk_shingle_tokens", "word_shingle_tokens", "cjk_token_share", "lsh_bands", "lsh_rows",
              "lead_tokens", "lead_lsh_bands", "minhash_seed")
    return json.dumps({k: asdict(settings)[k] for k in fields}, sort_keys=True)


def index_articles(settings: Settings, batch_size: int = 500) -> dict:
    """Fingerprint every article without a fingerprint, add its LSH bands to the index and apply
    the page spam rules to it.

    Safe to run in several processes at once: rows are keyed by article and inserted with
    ``ON CONFLICT DO NOTHING``, and only the process that inserted a fingerprint adds its bands and
    flags. Returns the counts of this call: ``fingerprinted``, ``spam``.
    """
    cfg, params = settings.dedupe, params_key(settings.dedupe)
    counts = {"fingerprinted": 0, "spam": 0}
    with store.transaction(settings) as conn:
        stale = store.scalar(conn, "dedupe.other_params_count", {"params": params})
    if stale:
        log.warning("%d articles were fingerprinted with other dedupe settings; run rebuild_stories "
                    "(mediamon_reprocess) or new copies of them start new stories", stale)
    while True:
        with store.transaction(settings) as conn:
            batch = store.rows(conn, "dedupe.articles_to_fingerprint", {"limit": batch_size})
            if not batch:
                return counts
            prints = [(row.article_id, fingerprint(row.text, cfg)) for row in batch]
            inserted = store.execute_many_values(conn, "dedupe.insert_fingerprints", [
                (article_id, params, len(fp.shingles), list(fp.band_keys)) for article_id, fp in prints],
                fetch=True)
            store.execute_many_values(conn, "dedupe.insert_bands", [
                (key, article_id) for article_id, keys in inserted for key in keys])
            counts["fingerprinted"] += len(inserted)
            counts["spam"] += len(_flag_spam(conn, [article_id for article_id, _ in inserted], cfg))


# --- stories -------------------------------------------------------------------------------------

def assign_stories(settings: Settings) -> dict:
    """Give every article without a story its story, and update the stories it touched.

    Fingerprinting (:func:`index_articles`) runs without a lock. Assignment runs in batches of ``dedupe.batch_size``
    articles, each in one transaction holding the advisory lock :data:`STORY_LOCK_KEY`: two
    concurrent callers take turns, and each batch sees every story committed before it, so an
    article never starts a second story for a story another task has just created, and a story
    is never split. Returns counts: ``fingerprinted``, ``assigned``, ``new_stories``,
    ``merged_stories`` and ``spam`` (articles flagged by the page rules, plus those flagged as spun
    copies: an article can count in both).
    """
    counts = index_articles(settings) | {"assigned": 0, "new_stories": 0, "merged_stories": 0}
    known = _ShingleCache(settings.dedupe)
    while True:
        with store.transaction(settings) as conn:
            store.execute(conn, "dedupe.lock", {"key": STORY_LOCK_KEY})
            batch = store.rows(conn, "dedupe.unassigned_articles", {"limit": settings.dedupe.batch_size})
            if not batch:
                break
            touched: set[int] = set()
            spun: list[tuple[int, dict]] = []
            for row in batch:
                story_id, created, merged, spun_copies = _assign(conn, row, settings.dedupe, known)
                touched.add(story_id)
                counts["new_stories"] += created
                counts["merged_stories"] += merged
                spun += spun_copies
            for article_id, evidence in spun:
                store.execute(conn, "dedupe.add_spam_evidence", {
                    "article_id": article_id, "evidence": json.dumps([evidence], ensure_ascii=False)})
            _refresh_stories(conn, touched)
            # Two copies of one story can share little (one truncated, one with sentences dropped):
            # once they are in one story, neither was spun from the other.
            store.execute(conn, "dedupe.drop_spun_within_stories", {"story_ids": sorted(touched)})
            counts["assigned"] += len(batch)
            counts["spam"] += len({article_id for article_id, _ in spun})
    log.info("stories: %s", counts)
    return counts


class _ShingleCache:
    """Shingle sets of articles already seen in this run, so that an article that is a candidate
    for many others is fetched and shingled once, not once per comparison."""

    def __init__(self, cfg: DedupeSettings, max_entries: int = 20_000):
        self.cfg, self.max_entries, self.sets = cfg, max_entries, {}

    def get(self, conn, article_ids: list[int]) -> dict[int, set[str]]:
        missing = [i for i in article_ids if i not in self.sets]
        if missing:
            if len(self.sets) + len(missing) > self.max_entries:
                self.sets.clear()
            for row in store.rows(conn, "dedupe.article_texts", {"article_ids": missing}):
                self.sets[row.article_id] = set(shingles(tokens(row.text), self.cfg))
        return {i: self.sets.get(i, set()) for i in article_ids}


def _assign(conn, row, cfg: DedupeSettings, known: _ShingleCache) -> tuple[int, bool, int, list[tuple[int, dict]]]:
    """Put one article into a story. Returns (story_id, whether the story is new, number of
    stories merged into it, spun copies found: (article id, evidence) pairs)."""
    own = known.get(conn, [row.article_id])[row.article_id]
    matched: set[int] = set()
    spun = []
    candidates = store.rows(conn, "dedupe.candidates", {"band_keys": list(row.band_keys),
                                                        "article_id": row.article_id})
    candidate_shingles = known.get(conn, [cand.article_id for cand in candidates])
    for cand in candidates:
        share, shared = containment(own, candidate_shingles[cand.article_id])
        needed = cfg.same_site_min_containment if cand.site == row.site else cfg.min_containment
        if shared < cfg.min_shared_shingles:
            continue
        if share >= needed:
            matched.add(cand.story_id)
        elif share >= cfg.spun_min_containment and cand.site != row.site:
            # Too much shared for two own reports, too little for one text: the later one was
            # rewritten from the earlier.
            copy, source = (cand, row) if _earlier(row.published_at, cand.published_at) else (row, cand)
            spun.append((copy.article_id, {"rule": "spun_copy", "of_article_id": source.article_id,
                                           "containment": round(share, 3)}))
    if not matched:
        story_id = store.scalar(conn, "dedupe.new_story")
        store.execute(conn, "dedupe.set_story", {"story_id": story_id, "article_id": row.article_id})
        return story_id, True, 0, spun
    story_id, *others = sorted(matched)
    if others:
        store.execute(conn, "dedupe.move_stories", {"into_story_id": story_id, "story_ids": others})
        store.execute(conn, "dedupe.delete_stories", {"story_ids": others})
    store.execute(conn, "dedupe.set_story", {"story_id": story_id, "article_id": row.article_id})
    return story_id, False, len(others), spun


def _earlier(a, b) -> bool:
    return a is not None and (b is None or a < b)


def _refresh_stories(conn, story_ids: set[int]) -> None:
    members: dict[int, list] = {}
    for row in store.rows(conn, "dedupe.story_members", {"story_ids": sorted(story_ids)}):
        members.setdefault(row.story_id, []).append(row)
    for story_id, rows in members.items():
        canonical = canonical_article(rows)
        seen = [r.published_at or r.created_at for r in rows]
        store.execute(conn, "dedupe.update_story", {
            "story_id": story_id, "canonical_article_id": canonical.article_id, "title": canonical.title,
            "first_seen": min(seen), "last_seen": max(seen), "article_count": len(rows),
            "source_count": len({r.site for r in rows})})


def canonical_article(members: list):
    """The story's original among its articles (rows with article_id, canonical_url, site,
    site_name, source_attribution, published_at, is_spam, trust).

    Spam copies are considered only when the story has nothing else. Then, in order: an article
    that others' attribution points at (its URL, its site's host, or its site name) and that does
    not itself point at another member; else the earliest ``published_at``; else the most trusted
    source (``sources.settings.trust``); ties go to the lowest article id.
    """
    pool = [m for m in members if not m.is_spam] or list(members)
    attributed = {target.article_id for m in pool if m.source_attribution
                  for target in pool if target is not m and _points_at(m.source_attribution, target)}
    roots = [m for m in pool if m.article_id in attributed and not (
        m.source_attribution and any(_points_at(m.source_attribution, t) for t in pool if t is not m))]
    pool = roots or pool
    dated = [m for m in pool if m.published_at is not None]
    if dated:
        return min(dated, key=lambda m: (m.published_at, m.article_id))
    return min(pool, key=lambda m: (-m.trust, m.article_id))


def _points_at(attribution: str, target) -> bool:
    """Whether an attribution (a URL, or a site name such as ``中国新闻网``) names ``target``."""
    value = attribution.strip().rstrip("/")
    if "://" in value:
        host = value.split("://", 1)[1].split("/", 1)[0].lower()
        return value == target.canonical_url.rstrip("/") or host == target.site
    return bool(target.site_name) and (value == target.site_name or target.site_name in value)


# --- spam ----------------------------------------------------------------------------------------

_BREADCRUMB_CLASS = re.compile(r"bread|crumb|position|location|weizhi|dqwz", re.I)
_BREADCRUMB_TEXT = re.compile(r"^\s*(当前位置|您的位置|你的位置|您现在的位置|所在位置)\s*[:：]?")
# Content farms stamp a word count and reading time on generated or spun pages.
_READING_TIME = re.compile(r"本篇文章\s*\d+\s*字\s*[,，]?\s*读完约\s*\d+\s*分钟")


def page_spam_fields(html: str) -> dict[str, str]:
    """Where a page's commercial spam shows: its <title>, meta keywords and breadcrumb trail."""
    try:
        tree = lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):  # an empty or unparseable body has no such fields
        return {}
    fields = {"page_title": " ".join(tree.xpath("//title/text()")),
              "meta_keywords": " ".join(tree.xpath("//meta[@name='keywords']/@content"))}
    crumbs = [el.text_content() for el in tree.iter("div", "nav", "p", "span", "ol", "ul")
              if _BREADCRUMB_CLASS.search(f"{el.get('class', '')} {el.get('id', '')}")
              or _BREADCRUMB_TEXT.match(el.text or "")]
    fields["breadcrumb"] = " ".join(c.strip() for c in crumbs if len(c.strip()) < 300)
    return fields


def spam_evidence(title: str | None, site_name: str | None, text: str, html: str | None,
                  cfg: DedupeSettings) -> list[dict]:
    """The spam rules an article fires, each with what it saw. Rules:

    ``spam_keyword``: a commercial spam keyword (``spam_keywords``) in the title, site name, or the
    page's <title>, meta keywords or breadcrumb: spam domains host news copies to rank for them.
    ``reading_time_stamp``: the text carries a content farm's "本篇文章N字，读完约M分钟" stamp.
    ``spun_copy`` is decided while clustering: two articles of different sites sharing between
    ``spun_min_containment`` and ``min_containment`` of their shingles; the later one is flagged.
    """
    fields = {"title": title or "", "site_name": site_name or ""}
    if html:
        fields |= page_spam_fields(html)
    found = [{"rule": "spam_keyword", "field": name, "keyword": kw}
             for name, value in fields.items() for kw in cfg.spam_keywords if kw in value]
    stamp = _READING_TIME.search(text)
    if stamp:
        found.append({"rule": "reading_time_stamp", "match": stamp.group(0)})
    return found


def _flag_spam(conn, article_ids: list[int], cfg: DedupeSettings) -> set[int]:
    """Apply the page rules of :func:`spam_evidence` to these articles; returns those flagged."""
    from mediamon.extract import decode_html

    flagged = set()
    for row in store.rows(conn, "dedupe.spam_inputs", {"article_ids": article_ids}):
        html = decode_html(gzip.decompress(row.body_gzip), row.declared_charset)[0] if row.body_gzip else None
        evidence = spam_evidence(row.title, row.site_name, row.text, html, cfg)
        if evidence:
            flagged.add(row.article_id)
            store.execute(conn, "dedupe.add_spam_evidence", {
                "article_id": row.article_id, "evidence": json.dumps(evidence, ensure_ascii=False)})
    return flagged


def rebuild_stories(settings: Settings) -> dict:
    """Forget every story, fingerprint and spam flag, and assign stories again from scratch.

    For ``mediamon_reprocess`` after a change of thresholds or normalization. Clustering is the
    connected components of verified matches, so the same articles and settings give the same
    stories, with the same ids (the id sequence restarts). Returns :func:`assign_stories`'s counts.
    """
    with store.transaction(settings) as conn:
        store.execute(conn, "dedupe.lock", {"key": STORY_LOCK_KEY})
        store.execute(conn, "dedupe.clear_stories")
    return assign_stories(settings)


def story_counts(settings: Settings) -> dict:
    with store.transaction(settings) as conn:
        return dict(store.rows(conn, "dedupe.story_counts")[0]._mapping)
