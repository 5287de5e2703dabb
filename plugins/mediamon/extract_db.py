"""The extract stage's database glue: read stored pages from the WARC archive, load their articles,
record each page's extract outcome.

Extraction itself is :mod:`mediamon.extract`; the SQL is ``sql/queries/extract.sql``; the
outcomes are :class:`~mediamon.outcomes.ExtractStatus` and :class:`~mediamon.outcomes.ExtractReason`.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from mediamon import archive, archive_db, discover, extract, search, store
from mediamon.dedupe import text_sha256
from mediamon.outcomes import ExtractReason, ExtractStatus
from mediamon.results import ExtractResult
from mediamon.settings import Settings

log = logging.getLogger(__name__)


def extract_pages(settings: Settings, url_ids: list[int] | None = None, *, reprocess: bool = False,
                  limit: int = 100_000) -> ExtractResult:
    """Extract stored pages and load the articles with one multi-row upsert per batch.

    ``url_ids`` limits the work to those pages (None: every page not yet extracted).
    ``reprocess`` also re-extracts pages extracted by another extractor version.
    A page without a usable article is recorded with its reason, never dropped silently.
    """
    version = settings.extract.version
    with store.transaction(settings) as conn:
        pages = store.rows(conn, "extract.pages_to_extract", {
            "url_ids": list(url_ids) if url_ids is not None else None, "version_mismatch": reprocess,
            "version": version, "limit": limit})
    articles: list[tuple[Any, str, Any]] = []
    outcomes: list[tuple[int, str, str | None, str]] = []
    reasons: Counter[str] = Counter()
    raw = archive_db.reader(settings)
    for page in pages:
        try:
            body = raw.read(archive_db.pointer_of(page)).body
        except archive.ArchiveError as exc:
            log.error("page %s: %s", page.url_id, exc)
            reasons[ExtractReason.ARCHIVE_UNREADABLE] += 1
            outcomes.append((page.url_id, ExtractStatus.NO_ARTICLE, ExtractReason.ARCHIVE_UNREADABLE, version))
            continue
        result = extract.extract(body, url=page.final_url, declared_charset=page.declared_charset,
                                 settings=settings.extract, listed_at=page.listed_published_at,
                                 fetched_at=page.fetched_at)
        if result.failure_reason:
            reasons[result.failure_reason] += 1
            outcomes.append((page.url_id, ExtractStatus.NO_ARTICLE, result.failure_reason, version))
            continue
        canonical = article_canonical_url(page.final_url, page.canonical_url, result.canonical_url)
        articles.append((page, canonical, result))
    # One canonical URL gives one article: a page whose canonical URL already belongs to another
    # page's article (or to an earlier page in this batch) is recorded as a duplicate URL.
    with store.transaction(settings) as conn:
        taken = {r.canonical_url: r.url_id for r in store.rows(
            conn, "extract.canonical_urls_taken", {"canonical_urls": [c for _, c, _ in articles]})}
        rows = []
        for page, canonical, result in articles:
            if taken.setdefault(canonical, page.url_id) != page.url_id:
                reasons[ExtractReason.DUPLICATE_CANONICAL_URL] += 1
                outcomes.append((page.url_id, ExtractStatus.NO_ARTICLE, ExtractReason.DUPLICATE_CANONICAL_URL,
                                 version))
                continue
            rows.append((page.url_id, canonical, page.source_id, page.host, result.title, result.text,
                         result.lang, result.published_at, result.author, result.editor, result.site_name,
                         result.source_attribution, result.original_title, result.translation,
                         result.translation_lang, result.encoding, text_sha256(result.text), version,
                         json.dumps(result.page_fields, ensure_ascii=False), str(result.published_at_source),
                         search.vector_literal(result.title, result.text, result.translation)))
            outcomes.append((page.url_id, ExtractStatus.ARTICLE, None, version))
        loaded = store.execute_many_values(conn, "extract.upsert_articles", rows, fetch=True) if rows else []
        if outcomes:
            store.execute_many_values(conn, "extract.mark_pages_extracted", outcomes)
    new = sum(1 for _, inserted in loaded if inserted)
    log.info("extracted %d pages: %d articles (%d new, %d updated), %d without article %s",
             len(pages), len(loaded), new, len(loaded) - new, sum(reasons.values()), dict(reasons))
    return ExtractResult(pages=len(pages), articles=len(loaded), new_articles=new,
                         no_article=sum(reasons.values()), reasons={str(k): v for k, v in reasons.items()})


def reextract_pages(settings: Settings, *, force: bool = False) -> ExtractResult:
    """Re-extract stored pages whose extractor version differs from the current one (every page
    with ``force``), batch by batch (``extract.reextract_batch_size``), without fetching anything again."""
    if force:
        with store.transaction(settings) as conn:
            store.execute(conn, "extract.forget_extraction")
    totals = ExtractResult()
    while True:
        done = extract_pages(settings, reprocess=True, limit=settings.extract.reextract_batch_size)
        if not done.pages:
            break
        totals += done
    log.info("re-extracted %d pages: %d articles", totals.pages, totals.articles)
    return totals


def article_canonical_url(final_url: str, frontier_url: str, declared: str | None) -> str:
    """The page's own canonical URL: rel=canonical when it stays on the same host (cross-site
    canonicals on reposts would merge distinct copies), else the final URL after redirects
    (``frontier_url``, the URL it was queued under, when the final URL is not usable)."""
    final = discover.canonical_url(final_url) or frontier_url
    if declared:
        candidate = discover.canonical_url(declared, final_url)
        if candidate and urlsplit(candidate).netloc == urlsplit(final).netloc:
            return candidate
    return final
