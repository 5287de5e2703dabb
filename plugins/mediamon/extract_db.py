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

import sqlalchemy as sa

from mediamon import archive, archive_db, discover, extract, store
from mediamon.dedupe import text_sha256
from mediamon.outcomes import ExtractReason, ExtractStatus, error_reason
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
        try:
            result = extract.extract(body, url=page.final_url, declared_charset=page.declared_charset,
                                     settings=settings.extract, listed_at=page.listed_published_at,
                                     fetched_at=page.fetched_at)
            canonical = article_canonical_url(page.final_url, page.canonical_url, result.canonical_url)
        except Exception as exc:  # noqa: BLE001 - isolation: one page's failure is its own
            reason = error_reason(exc)
            log.error("extract %s: %s", page.final_url[:300], reason, exc_info=exc)
            reasons[reason] += 1
            outcomes.append((page.url_id, ExtractStatus.NO_ARTICLE, reason, version))
            continue
        if result.failure_reason:
            reasons[result.failure_reason] += 1
            outcomes.append((page.url_id, ExtractStatus.NO_ARTICLE, result.failure_reason, version))
            continue
        articles.append((page, canonical, result))
    try:
        with store.transaction(settings) as conn:
            loaded = _load(conn, articles, outcomes, version)
        reasons.update(_duplicate_reasons(outcomes, articles))
    except store.DATABASE_ERRORS as exc:
        if store.connection_lost(exc):
            raise  # the database went away: the task fails and is retried
        # One row the database refuses must not cost the others: load page by page.
        log.warning("loading %d articles failed (%s); loading them one by one", len(articles),
                    error_reason(getattr(exc, 'orig', None) or exc))
        loaded = _load_one_by_one(settings, articles, outcomes, reasons, version)
    new = sum(1 for _, inserted in loaded if inserted)
    log.info("extracted %d pages: %d articles (%d new, %d updated), %d without article %s",
             len(pages), len(loaded), new, len(loaded) - new, sum(reasons.values()), dict(reasons))
    return ExtractResult(pages=len(pages), articles=len(loaded), new_articles=new,
                         no_article=sum(reasons.values()), reasons={str(k): v for k, v in reasons.items()})


Outcome = tuple[int, str, str | None, str]  # url_id, extract status, reason, extractor version


def _load(conn: sa.Connection, articles: list[tuple[Any, str, Any]], outcomes: list[Outcome],
          version: str) -> list[tuple]:
    """Upsert the articles and record every page's outcome, in ``conn``'s transaction.

    One canonical URL gives one article: a page whose canonical URL already belongs to another
    page's article (or to an earlier page in this batch) is recorded as a duplicate URL."""
    taken = {r.canonical_url: r.url_id for r in store.rows(
        conn, "extract.canonical_urls_taken", {"canonical_urls": [c for _, c, _ in articles]})}
    rows, marks = [], list(outcomes)
    for page, canonical, result in articles:
        if taken.setdefault(canonical, page.url_id) != page.url_id:
            marks.append((page.url_id, ExtractStatus.NO_ARTICLE, ExtractReason.DUPLICATE_CANONICAL_URL, version))
            continue
        rows.append((page.url_id, canonical, page.source_id, page.host, result.title, result.text,
                     result.lang, result.published_at, result.author, result.editor, result.site_name,
                     result.source_attribution, result.original_title, result.translation,
                     result.translation_lang, result.encoding, text_sha256(result.text), version,
                     json.dumps(result.page_fields, ensure_ascii=False), str(result.published_at_source)))
        marks.append((page.url_id, ExtractStatus.ARTICLE, None, version))
    loaded = store.execute_many_values(conn, "extract.upsert_articles", rows, fetch=True) if rows else []
    if marks:
        store.execute_many_values(conn, "extract.mark_pages_extracted", marks)
    outcomes[:] = marks
    return loaded


def _duplicate_reasons(outcomes: list[Outcome], articles: list) -> Counter[str]:
    loaded_pages = {page.url_id for page, _, _ in articles}
    return Counter(str(reason) for url_id, _, reason, _ in outcomes
                   if url_id in loaded_pages and reason == ExtractReason.DUPLICATE_CANONICAL_URL)


def _load_one_by_one(settings: Settings, articles: list[tuple[Any, str, Any]], outcomes: list[Outcome],
                     reasons: Counter[str], version: str) -> list[tuple]:
    """:func:`_load` per page, each in its own transaction; a page the database refuses is
    recorded as ``no_article`` with reason ``error:<type>``."""
    with store.transaction(settings) as conn:
        _load(conn, [], outcomes, version)  # the pages that gave no article
    loaded: list[tuple] = []
    for item in articles:
        marks: list[Outcome] = []
        try:
            with store.transaction(settings) as conn:
                loaded += _load(conn, [item], marks, version)
            reasons.update(_duplicate_reasons(marks, [item]))
        except store.DATABASE_ERRORS as exc:
            if store.connection_lost(exc):
                raise
            reason = error_reason(getattr(exc, 'orig', None) or exc)
            log.error("load %s: %s", item[0].final_url[:300], reason)
            reasons[reason] += 1
            with store.transaction(settings) as conn:
                _load(conn, [], [(item[0].url_id, ExtractStatus.NO_ARTICLE, reason, version)], version)
    return loaded


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
