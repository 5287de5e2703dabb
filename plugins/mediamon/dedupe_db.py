"""Dedupe's database glue: fingerprint articles into the LSH index, assign and rebuild stories.

The decisions (tokens, shingles, MinHash, containment, the canonical article, the spam rules) are
in :mod:`mediamon.dedupe`; this module runs ``sql/queries/dedupe.sql`` around them. See that
module's docstring for the four steps, and :func:`assign_stories` for the locking.
"""
from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from mediamon import store
from mediamon.dedupe import canonical_article, containment, fingerprint, params_key, shingles, spam_evidence, tokens
from mediamon.results import DuplicatesResult, StoriesResult
from mediamon.settings import DedupeSettings, Settings

log = logging.getLogger(__name__)

def link_exact_duplicates(settings: Settings) -> DuplicatesResult:
    """Point every article whose normalized text equals an earlier article's at that article."""
    with store.transaction(settings) as conn:
        changed = store.rows(conn, "dedupe.link_exact_duplicates")
        duplicates = int(store.scalar(conn, "dedupe.duplicate_count"))
    log.info("exact duplicates: %d links changed, %d duplicates in total", len(changed), duplicates)
    return DuplicatesResult(changed=len(changed), duplicates=duplicates)


# Any constant works: it only has to be the same for every process that assigns stories.
STORY_LOCK_KEY = 0x6D6D7374


class ShingleCache:
    """Shingle hashes by article id, for verifying candidates: an article that is a candidate for
    many others is read and shingled once per run, not once per comparison. Holds at most
    ``dedupe.shingle_cache_bytes`` of hashes (then starts over), so a long rebuild cannot exhaust memory."""

    def __init__(self, cfg: DedupeSettings) -> None:
        self.cfg, self.max_bytes, self.bytes = cfg, cfg.shingle_cache_bytes, 0
        self.hashes: dict[int, np.ndarray] = {}

    def add(self, article_id: int, hashes: np.ndarray) -> None:
        if self.bytes + hashes.nbytes > self.max_bytes:
            self.hashes.clear()
            self.bytes = 0
        self.hashes[article_id] = hashes
        self.bytes += hashes.nbytes

    def get(self, conn: sa.Connection, article_ids: Iterable[int]) -> dict[int, np.ndarray]:
        wanted = set(article_ids)
        found = {i: self.hashes[i] for i in wanted if i in self.hashes}
        missing = sorted(wanted - found.keys())
        if missing:
            for row in store.rows(conn, "dedupe.article_texts", {"article_ids": missing}):
                found[row.article_id] = shingles(tokens(row.text), self.cfg)
                self.add(row.article_id, found[row.article_id])
        return found


def index_articles(settings: Settings, known: ShingleCache | None = None) -> dict[str, int]:
    """Fingerprint every article without a fingerprint (its row with its band keys is its entry in
    the LSH index); the shingles go to ``known``. The page spam rules run when the article gets its
    story (:func:`_assign_batch`), so that story and flags are one write of the article's row.

    Safe to run in several processes at once: rows are keyed by article and inserted with
    ``ON CONFLICT DO NOTHING``. Returns the count of this call: ``fingerprinted``.
    """
    cfg, params = settings.dedupe, params_key(settings.dedupe)
    counts = {"fingerprinted": 0}
    with store.transaction(settings) as conn:
        stale = store.scalar(conn, "dedupe.other_params_count", {"params": params})
    if stale:
        log.warning("%d articles were fingerprinted with other dedupe settings; run rebuild_stories "
                    "(mediamon_reprocess) or new copies of them start new stories", stale)
    while True:
        with store.transaction(settings) as conn:
            batch = store.rows(conn, "dedupe.articles_to_fingerprint", {"limit": cfg.index_batch_size})
            if not batch:
                return counts
            prints = {row.article_id: fingerprint(row.text, cfg) for row in batch}
            inserted = store.execute_many_values(conn, "dedupe.insert_fingerprints", [
                (article_id, params, len(fp.shingles), list(fp.band_keys)) for article_id, fp in prints.items()],
                fetch=True)
            counts["fingerprinted"] += len(inserted)
        if known is not None:
            for article_id, fp in prints.items():
                known.add(article_id, fp.shingles)


# --- stories -------------------------------------------------------------------------------------

def assign_stories(settings: Settings) -> StoriesResult:
    """Give every article without a story its story, and update the stories it touched.

    Fingerprinting (:func:`index_articles`) runs without a lock. Assignment runs in batches of
    ``dedupe.batch_size`` articles, each in one transaction holding the advisory lock
    :data:`STORY_LOCK_KEY`: two concurrent callers take turns, and each batch sees every story
    committed before it, so an article never starts a second story for a story another task has
    just created, and a story is never split. A batch costs a fixed number of statements, whatever
    its size (:func:`_assign_batch`). Returns counts: ``fingerprinted``, ``assigned``,
    ``new_stories``, ``merged_stories`` and ``spam`` (articles flagged by the page rules, plus those
    flagged as spun copies: an article can count in both).
    """
    known = ShingleCache(settings.dedupe)
    counts = index_articles(settings, known) | {"spam": 0, "assigned": 0, "new_stories": 0, "merged_stories": 0}
    while True:
        with store.transaction(settings) as conn:
            store.execute(conn, "dedupe.lock", {"key": STORY_LOCK_KEY})
            batch = store.rows(conn, "dedupe.unassigned_articles", {"limit": settings.dedupe.batch_size})
            if not batch:
                break
            for key, value in _assign_batch(conn, batch, settings.dedupe, known).items():
                counts[key] += value
    log.info("stories: %s", counts)
    return StoriesResult(**counts)


class _Components:
    """Union-find over articles of the batch and existing stories (nodes ``("a", id)``/``("s", id)``)."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(self, node: tuple[str, int]) -> tuple[str, int]:
        root = node
        while self.parent.setdefault(root, root) != root:
            root = self.parent[root]
        while node != root:  # path compression
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: tuple[str, int], b: tuple[str, int]) -> None:
        self.parent[self.find(a)] = self.find(b)


def _assign_batch(conn: sa.Connection, batch: list[Any], cfg: DedupeSettings, known: ShingleCache) -> dict[str, int]:
    """Assign one batch of articles to stories with a fixed number of statements.

    Every pair (article of the batch, article sharing an LSH band with it) is verified once; verified
    pairs join components; a component without a story gets a new one, one with several stories
    merges them into the oldest. Stories are thus the connected components of the verified-copy
    graph, whatever order articles come in. An article of the batch gets its story, its page-rule
    and spun-copy flags in one write of its narrow ``article_stories`` row (migration 017): the
    ``articles`` row itself is never updated, so its index entries (the search index's above all)
    are written once. Returns the batch's counts.
    """
    by_id = {row.article_id: row for row in batch}
    matches = band_pairs(conn, {row.article_id: row.band_keys for row in batch})
    candidates = {c.article_id: c for c in store.rows(conn, "dedupe.candidate_articles", {
        "article_ids": sorted({candidate_id for _, candidate_id in matches})})}
    # Candidates are articles with a story, and earlier articles of the batch; an article still
    # without a story outside the batch meets this one when its own turn comes.
    pairs = [(by_id[article_id], candidates[candidate_id]) for article_id, candidate_id in sorted(matches)
             if candidate_id in candidates and (candidates[candidate_id].story_id is not None
                                                or candidate_id in by_id and candidate_id < article_id)]
    hashes = known.get(conn, [*by_id, *(candidate.article_id for _, candidate in pairs)])
    page_spam = {row.article_id: found for row in batch
                 if (found := spam_evidence(row.title, row.site_name, row.text, row.page_fields, cfg))}
    components = _Components()
    spun: dict[int, list[dict]] = defaultdict(list)
    for article_id in by_id:
        components.find(("a", article_id))
    for row, candidate in pairs:
        share, shared = containment(hashes[row.article_id], hashes[candidate.article_id])
        needed = cfg.same_site_min_containment if candidate.site == row.site else cfg.min_containment
        if shared < cfg.min_shared_shingles:
            continue
        if share >= needed:
            components.union(("a", row.article_id), ("s", candidate.story_id) if candidate.story_id is not None
                             else ("a", candidate.article_id))
        elif share >= cfg.spun_min_containment and candidate.site != row.site:
            # Too much shared for two own reports, too little for one text: the later one was
            # rewritten from the earlier.
            copy, source = (candidate, row) if _earlier(row.published_at, candidate.published_at) else (row, candidate)
            spun[copy.article_id].append({"rule": "spun_copy", "of_article_id": source.article_id,
                                          "containment": round(share, 3)})

    spun_count = len(spun)
    members: dict = defaultdict(list)
    stories: dict = defaultdict(list)
    for kind, node_id in list(components.parent):
        (members if kind == "a" else stories)[components.find((kind, node_id))].append(node_id)
    roots = sorted(members, key=lambda root: min(members[root]))  # reproducible ids on a rebuild
    fresh = [root for root in roots if not stories[root]]
    new_ids = sorted(r.story_id for r in store.rows(conn, "dedupe.new_stories", {"count": len(fresh)})) if fresh else []
    story_of_root = dict(zip(fresh, new_ids))
    merges = []
    for root in roots:
        if stories[root]:
            story_id, *others = sorted(stories[root])
            story_of_root[root] = story_id
            merges += [(other, story_id) for other in others]
    if merges:
        store.execute_many_values(conn, "dedupe.merge_stories", merges)
        store.execute(conn, "dedupe.delete_stories", {"story_ids": [other for other, _ in merges]})
    merged_into = dict(merges)

    def story_of(article_id: int) -> int:
        if article_id in by_id:
            return story_of_root[components.find(("a", article_id))]
        story_id = candidates[article_id].story_id
        return merged_into.get(story_id, story_id)

    assigned = []
    for root in roots:
        for article_id in members[root]:
            evidence = page_spam.get(article_id, []) + _kept_spun(article_id, spun.pop(article_id, []), story_of)
            assigned.append((article_id, story_of_root[root],
                             json.dumps(evidence, ensure_ascii=False) if evidence else None))
    store.execute_many_values(conn, "dedupe.set_stories", assigned)
    touched = sorted(set(story_of_root.values()))
    _add_spam_evidence(conn, spun)  # copies stored before this batch
    # Two copies of one story can share little (one truncated, one with sentences dropped):
    # once they are in one story, neither was spun from the other (for the batch's own articles,
    # _kept_spun has done this already). Before the refresh, so the canonical article is chosen
    # on the flags that stay.
    store.execute(conn, "dedupe.drop_spun_within_stories", {"story_ids": touched})
    _refresh_stories(conn, touched)
    return {"assigned": len(batch), "new_stories": len(fresh), "merged_stories": len(merges),
            "spam": len(page_spam) + spun_count}


def band_pairs(conn: sa.Connection, keys_of: dict[int, list[int]]) -> set[tuple[int, int]]:
    """Pairs (article, other article sharing an LSH band key with it) for the articles of
    ``keys_of`` (article id -> its band keys): one statement for all their keys."""
    matches = store.rows(conn, "dedupe.band_matches", {
        "article_ids": [article_id for article_id, keys in keys_of.items() for _ in keys],
        "band_keys": [key for keys in keys_of.values() for key in keys]})
    return {(m.article_id, m.candidate_id) for m in matches}


def _earlier(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and (b is None or a < b)


def _refresh_stories(conn: sa.Connection, story_ids: list[int]) -> None:
    members: dict[int, list[Any]] = defaultdict(list)
    for row in store.rows(conn, "dedupe.story_members", {"story_ids": story_ids}):
        members[row.story_id].append(row)
    updates = []
    for story_id, rows in members.items():
        canonical = canonical_article(rows)
        seen = [r.published_at or r.created_at for r in rows]
        updates.append((story_id, canonical.article_id, canonical.title, min(seen), max(seen), len(rows),
                        len({r.site for r in rows})))
    if updates:
        store.execute_many_values(conn, "dedupe.update_stories", updates)


def _kept_spun(article_id: int, evidence: list[dict], story_of: Callable[[int], int]) -> list[dict]:
    """Spun-copy evidence of a batch article without the entries whose source ends up in the
    article's own story (what ``dedupe.drop_spun_within_stories`` removes from stored articles)."""
    return [e for e in evidence if story_of(e["of_article_id"]) != story_of(article_id)]


def _add_spam_evidence(conn: sa.Connection, evidence: dict[int, list[dict]]) -> None:
    if evidence:
        store.execute_many_values(conn, "dedupe.add_spam_evidence", [
            (article_id, json.dumps(found, ensure_ascii=False)) for article_id, found in evidence.items()])


def rebuild_stories(settings: Settings) -> StoriesResult:
    """Forget every story, fingerprint and spam flag, and assign stories again from scratch.

    For ``mediamon_reprocess`` after a change of thresholds or normalization. Clustering is the
    connected components of verified matches, so the same articles and settings give the same
    stories, with the same ids (the id sequence restarts). Returns :func:`assign_stories`'s counts.
    """
    with store.transaction(settings) as conn:
        store.execute(conn, "dedupe.lock", {"key": STORY_LOCK_KEY})
        store.execute(conn, "dedupe.clear_stories")
    return assign_stories(settings)


def story_counts(settings: Settings) -> dict[str, int]:
    with store.transaction(settings) as conn:
        return dict(store.rows(conn, "dedupe.story_counts")[0]._mapping)


def reprocess(settings: Settings, *, rebuild: bool) -> dict[str, int]:
    """``mediamon_reprocess``'s dedupe step: link exact duplicates, and rebuild every story when
    asked (after re-extraction or a threshold change). Returns the counts of both, for XCom."""
    exact = link_exact_duplicates(settings).to_xcom()
    return exact | (rebuild_stories(settings).to_xcom() if rebuild else {})
