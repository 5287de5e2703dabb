"""The ingest pipeline: each function is one task of ``mediamon_ingest``.

Every step reads its input from Postgres and writes its output there, so the steps can run in
separate processes (Airflow tasks, Celery workers) and pass only ids and counts between them. Each
step is idempotent: unique keys and upserts mean a retried or re-run step adds nothing twice.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit


from mediamon import dedupe, discover, extract, store
from mediamon.fetch import FetchError, Fetcher, redact_userinfo
from mediamon.settings import Settings
from mediamon.sources import Source, load_sources

log = logging.getLogger(__name__)

MAX_SITEMAP_DOCUMENTS = 50


def migrate(settings: Settings) -> list[str]:
    applied = store.upgrade(store.engine(settings))
    log.info("migrations applied: %s", ", ".join(applied) if applied else "none (schema is current)")
    return applied


# --- sources -------------------------------------------------------------------------------------

def sync_sources(settings: Settings) -> dict:
    """Load and validate the source file, then upsert it into ``sources``.

    Sources that disappeared from the file are disabled, not deleted: their history stays.
    Returns the ids of the enabled sources and the counts.
    """
    sources = load_sources(settings.sources_file)
    inserted = 0
    with store.transaction(settings) as conn:
        for source in sources:
            inserted += bool(store.scalar(conn, "ingest.upsert_source", {
                "source_id": source.source_id, "name": source.name, "language": source.language,
                "kind": source.kind, "url": source.url, "settings": json.dumps(source.settings_json()),
                "enabled": source.enabled}))
        disabled = [r.source_id for r in store.rows(conn, "ingest.disable_missing_sources",
                                                    {"source_ids": [s.source_id for s in sources]})]
    enabled = [s.source_id for s in sources if s.enabled]
    log.info("sources synced from %s: %d in file, %d new, %d disabled as removed",
             settings.sources_file, len(sources), inserted, len(disabled))
    return {"source_ids": enabled, "sources": len(sources), "new": inserted, "disabled": len(disabled)}


def _source_from_row(row) -> Source:
    cfg = row.settings or {}
    return Source(source_id=row.source_id, name=row.name, language=row.language, kind=row.kind,
                  url=row.url, crawl_delay_s=cfg.get("crawl_delay_s"), max_pages=cfg.get("max_pages", 200),
                  allow_private=tuple(cfg.get("allow_private") or ()))


def _fetcher(settings: Settings, source_settings: dict) -> Fetcher:
    """A fetcher with a source's politeness and address allowlist (``sources.settings``)."""
    return Fetcher(settings.fetch, allow_private=source_settings.get("allow_private") or (),
                   crawl_delay_s=source_settings.get("crawl_delay_s"))


# --- discover ------------------------------------------------------------------------------------

@dataclass
class DiscoverCounts:
    source_id: str
    documents: int = 0
    not_modified: int = 0
    unchanged: int = 0
    links: int = 0
    new_urls: int = 0
    errors: list[str] = field(default_factory=list)


def discover_source(settings: Settings, source_id: str) -> dict:
    """Fetch a source's feed, sitemap(s) or listing page and queue new article URLs.

    Feed documents use conditional GET (ETag, Last-Modified) and a body hash, so an unchanged
    feed costs one 304 and parses nothing. A failure is logged and counted; it does not raise,
    so one broken source never fails the others. The outcome feeds the source's health; a source
    that is auto-disabled or backing off is skipped (``errors`` then says why).
    """
    from mediamon import health

    with store.transaction(settings) as conn:
        row = store.rows(conn, "ingest.source", {"source_id": source_id})
    if not row:
        raise KeyError(f"unknown source {source_id!r}")
    source = _source_from_row(row[0])
    counts = DiscoverCounts(source_id)
    hold = health.sources_on_hold(settings).get(source_id)
    if hold:
        log.info("discover %s: skipped, %s", source_id, hold)
        counts.errors.append(f"skipped: {hold}")
        return counts.__dict__
    links: list[discover.Link] = []
    if source.kind == "page":
        url = discover.canonical_url(source.url)
        links = [discover.Link(url)] if url else []
        counts.documents = 1
    else:
        failures: list[tuple[str, bool]] = []
        with _fetcher(settings, source.settings_json()) as fetcher:
            # Child sitemaps are checked even when their index is unchanged (304): the index of a
            # news site rarely changes, its children do. Conditional GET keeps that cheap.
            with store.transaction(settings) as conn:
                known = [r.url for r in store.rows(conn, "ingest.source_documents", {"source_id": source_id})]
            queue, seen = [source.url, *known], set()
            while queue and len(seen) < MAX_SITEMAP_DOCUMENTS and len(links) < source.max_pages:
                doc_url = queue.pop(0)
                if doc_url in seen:
                    continue
                seen.add(doc_url)
                found, failure = _discover_document(settings, source, fetcher, doc_url, counts)
                if failure:
                    failures.append(failure)
                if found is not None:
                    links.extend(found.links)
                    queue.extend(found.sitemaps)
        # One document that answered (even 304) shows the source alive; else its first error counts.
        if len(failures) < len(seen):
            health.record_success(settings, source_id, "discover")
        else:
            reason, hard = failures[0]
            health.record_failure(settings, source_id, "discover", reason, hard=hard)
    links = list({link.url: link for link in links}.values())[: source.max_pages]
    counts.links = len(links)
    if links:
        with store.transaction(settings) as conn:
            new = store.execute_many_values(conn, "ingest.insert_urls", [
                (link.url, source.source_id, urlsplit(link.url).netloc.lower(), link.title, link.published_at)
                for link in links], fetch=True)
        counts.new_urls = len(new)
    log.info("discover %s (%s): %d documents (%d not modified, %d unchanged), %d links, %d new URLs%s",
             source.source_id, source.kind, counts.documents, counts.not_modified, counts.unchanged,
             counts.links, counts.new_urls, f", errors: {'; '.join(counts.errors)}" if counts.errors else "")
    return counts.__dict__


def _discover_document(settings: Settings, source: Source, fetcher: Fetcher, url: str,
                       counts: DiscoverCounts) -> tuple[discover.Discovery | None, tuple[str, bool] | None]:
    """Fetch and parse one feed, sitemap or listing document.

    Returns what it yielded (None when it failed or did not change) and, for a failure, its
    reason code and whether it is hard (not worth retrying soon).
    """
    with store.transaction(settings) as conn:
        state = store.rows(conn, "ingest.discovery_document", {"url": url})
    etag, last_modified, old_hash = (state[0] if state else (None, None, None))
    counts.documents += 1
    record = {"url": url, "source_id": source.source_id, "etag": None, "last_modified": None,
              "body_sha256": None}
    try:
        result = fetcher.get(url, etag=etag, last_modified=last_modified)
    except FetchError as exc:
        counts.errors.append(f"{redact_userinfo(url)}: {exc}")
        _save_document(settings, record | {"last_status": exc.reason})
        return None, (exc.reason, not exc.temporary)
    if result.not_modified:
        counts.not_modified += 1
        _save_document(settings, record | {"last_status": "not_modified"})
        return None, None
    body_hash = hashlib.sha256(result.body).hexdigest()
    record |= {"etag": result.headers.get("etag"), "last_modified": result.headers.get("last-modified"),
               "body_sha256": body_hash}
    if body_hash == old_hash:
        counts.unchanged += 1
        _save_document(settings, record | {"last_status": "unchanged"})
        return None, None
    try:
        if source.kind in ("rss", "atom"):
            found = discover.parse_feed(result.body, result.final_url, source.max_pages)
        elif source.kind == "sitemap":
            found = discover.parse_sitemap(result.body, result.final_url, source.max_pages)
        else:
            html, _ = extract.decode_html(result.body, result.charset)
            found = discover.parse_listing(html, result.final_url, source.max_pages)
    except discover.NotAFeed as exc:
        counts.errors.append(f"{redact_userinfo(url)}: {exc}")
        # No hash: the document must be parsed again next time, it may be fixed by then.
        _save_document(settings, record | {"body_sha256": None, "last_status": "unparseable"})
        return None, ("unparseable", True)
    _save_document(settings, record | {"last_status": "ok"})
    return found, None


def _save_document(settings: Settings, record: dict) -> None:
    with store.transaction(settings) as conn:
        store.execute(conn, "ingest.save_discovery_document", record)


# --- fetch ---------------------------------------------------------------------------------------

def plan_fetch(settings: Settings) -> list[list[int]]:
    """Split the pending frontier into batches of one source and host each, of at most
    ``fetch.batch_pages`` URLs.

    One batch is one mapped fetch task, so per-host politeness holds inside a task and hosts are
    fetched in parallel across tasks. URLs of sources that are auto-disabled or backing off wait.
    """
    from mediamon import health

    on_hold = health.sources_on_hold(settings)
    with store.transaction(settings) as conn:
        pending = store.rows(conn, "ingest.pending_urls")
    by_host: dict[tuple[str, str], list[int]] = defaultdict(list)
    held = 0
    for row in pending:
        if row.source_id in on_hold:
            held += 1
        else:
            by_host[(row.source_id, row.host)].append(row.url_id)
    size = settings.fetch.batch_pages
    batches = [ids[i:i + size] for ids in by_host.values() for i in range(0, len(ids), size)]
    log.info("fetch plan: %d pending URLs in %d batches; %d held back (sources on hold: %s)",
             len(pending) - held, len(batches), held, ", ".join(sorted(on_hold)) or "none")
    return batches


def fetch_batch(settings: Settings, url_ids: list[int]) -> dict:
    """Fetch the still-pending URLs among ``url_ids`` and store each raw page.

    Each URL is committed on its own, so a worker killed mid-batch loses nothing: a re-run fetches
    only what is still pending. The commits do not wait for the WAL flush (``synchronous_commit``
    off): should the database server crash, the last fetches are lost with the pages they stored
    and their URLs are still pending, so they are fetched again. Per source, the batch counts as
    one success for its health if any URL was fetched, else as one failure with the most frequent
    reason.
    """
    from mediamon import health

    counts: Counter = Counter()
    with store.transaction(settings) as conn:
        todo = store.rows(conn, "ingest.urls_to_fetch", {"url_ids": list(url_ids)})
    fetchers: dict[str, Fetcher] = {}
    outcomes: dict[str, list[FetchError | None]] = defaultdict(list)
    try:
        with store.engine(settings).connect() as conn:  # one connection, one transaction per URL
            for row in todo:
                if row.source_id not in fetchers:
                    fetchers[row.source_id] = _fetcher(settings, row.settings or {})
                status, error = _fetch_one(conn, settings, fetchers[row.source_id], row)
                outcomes[row.source_id].append(error)
                counts[status] += 1
                if error:
                    counts[f"reason:{error.reason}"] += 1
    finally:
        for fetcher in fetchers.values():
            fetcher.close()
    for source_id, errors in outcomes.items():
        if None in errors:
            health.record_success(settings, source_id, "fetch")
        else:
            reason = Counter(e.reason for e in errors).most_common(1)[0][0]
            health.record_failure(settings, source_id, "fetch", reason, hard=not any(e.temporary for e in errors))
    log.info("fetched batch of %d: %s", len(todo), dict(counts))
    return {"fetched": counts["fetched"], "failed": counts["failed"] + counts["blocked"],
            "retry_later": counts["pending"], "reasons": {k[7:]: v for k, v in counts.items() if k.startswith("reason:")}}


def _fetch_one(conn, settings: Settings, fetcher: Fetcher, row) -> tuple[str, FetchError | None]:
    """Fetch one URL and record its new status, in one transaction of ``conn``: fetched (page
    stored), blocked (refused by policy: address, robots, content type), failed, or pending again
    after a temporary error until it has had ``max_url_attempts``. Returns the status and the
    error, if any."""
    try:
        result = fetcher.get(row.canonical_url)
    except FetchError as exc:
        log.warning("fetch %s: %s", redact_userinfo(row.canonical_url), exc)
        with conn.begin():
            store.execute(conn, "ingest.commit_without_flush")
            if exc.temporary:
                status = store.scalar(conn, "health.give_up_or_retry_url", {
                    "url_id": row.url_id, "reason": exc.reason, "max_attempts": settings.fetch.max_url_attempts})
            else:
                status = "blocked" if exc.reason in ("blocked_address", "robots_disallowed", "content_type",
                                                     "bad_url") else "failed"
                store.execute(conn, "ingest.mark_url", {"url_id": row.url_id, "status": status, "reason": exc.reason})
        return status, exc
    with conn.begin():
        store.execute(conn, "ingest.commit_without_flush")
        store.execute(conn, "ingest.save_page", {
            "url_id": row.url_id, "final_url": result.final_url, "http_status": result.status,
            "headers": json.dumps(result.headers), "content_type": result.content_type,
            "declared_charset": result.charset, "body_gzip": gzip.compress(result.body, 1),
            "body_bytes": len(result.body), "body_sha256": hashlib.sha256(result.body).hexdigest()})
        store.execute(conn, "ingest.mark_url", {"url_id": row.url_id, "status": "fetched", "reason": None})
    return "fetched", None


# --- extract and load ----------------------------------------------------------------------------

def extract_pages(settings: Settings, url_ids: list[int] | None = None, *, reprocess: bool = False,
                  limit: int = 100_000) -> dict:
    """Extract stored pages and load the articles with one multi-row upsert per batch.

    ``url_ids`` limits the work to those pages (None: every page not yet extracted).
    ``reprocess`` also re-extracts pages extracted by another extractor version.
    A page without a usable article is recorded with its reason, never dropped silently.
    """
    version = settings.extract.version
    with store.transaction(settings) as conn:
        pages = store.rows(conn, "ingest.pages_to_extract", {
            "url_ids": list(url_ids) if url_ids is not None else None, "version_mismatch": reprocess,
            "version": version, "limit": limit})
    articles, outcomes, reasons = [], [], Counter()
    for page in pages:
        body = gzip.decompress(page.body_gzip)
        result = extract.extract(body, url=page.final_url, declared_charset=page.declared_charset,
                                 settings=settings.extract)
        if result.failure_reason:
            reasons[result.failure_reason] += 1
            outcomes.append((page.url_id, "no_article", result.failure_reason, version))
            continue
        canonical = _article_canonical_url(page, result.canonical_url)
        articles.append((page, canonical, result))
    # One canonical URL gives one article: a page whose canonical URL already belongs to another
    # page's article (or to an earlier page in this batch) is recorded as a duplicate URL.
    with store.transaction(settings) as conn:
        taken = {r.canonical_url: r.url_id for r in store.rows(
            conn, "ingest.canonical_urls_taken", {"canonical_urls": [c for _, c, _ in articles]})}
        rows = []
        for page, canonical, result in articles:
            if taken.setdefault(canonical, page.url_id) != page.url_id:
                reasons["duplicate_canonical_url"] += 1
                outcomes.append((page.url_id, "no_article", "duplicate_canonical_url", version))
                continue
            rows.append((page.url_id, canonical, page.source_id, page.host, result.title, result.text,
                         result.lang, result.published_at, result.author, result.editor, result.site_name,
                         result.source_attribution, result.original_title, result.translation,
                         result.translation_lang, result.encoding, dedupe.text_sha256(result.text), version,
                         json.dumps(result.page_fields, ensure_ascii=False)))
            outcomes.append((page.url_id, "article", None, version))
        loaded = store.execute_many_values(conn, "ingest.upsert_articles", rows, fetch=True) if rows else []
        if outcomes:
            store.execute_many_values(conn, "ingest.mark_pages_extracted", outcomes)
    new = sum(1 for _, inserted in loaded if inserted)
    log.info("extracted %d pages: %d articles (%d new, %d updated), %d without article %s",
             len(pages), len(loaded), new, len(loaded) - new, sum(reasons.values()), dict(reasons))
    return {"pages": len(pages), "articles": len(loaded), "new_articles": new,
            "no_article": sum(reasons.values()), "reasons": dict(reasons)}


def reextract_pages(settings: Settings, *, force: bool = False, batch_size: int = 500) -> dict:
    """Re-extract stored pages whose extractor version differs from the current one (every page
    with ``force``), batch by batch, without fetching anything again."""
    if force:
        with store.transaction(settings) as conn:
            store.execute(conn, "ingest.forget_extraction")
    totals: Counter = Counter()
    while True:
        done = extract_pages(settings, reprocess=True, limit=batch_size)
        if not done["pages"]:
            break
        totals.update({k: v for k, v in done.items() if isinstance(v, int)})
    log.info("re-extracted %d pages: %d articles", totals["pages"], totals["articles"])
    return dict(totals)


def _article_canonical_url(page, declared: str | None) -> str:
    """The page's own canonical URL: rel=canonical when it stays on the same host (cross-site
    canonicals on reposts would merge distinct copies), else the final URL after redirects."""
    final = discover.canonical_url(page.final_url) or page.canonical_url
    if declared:
        candidate = discover.canonical_url(declared, page.final_url)
        if candidate and urlsplit(candidate).netloc == urlsplit(final).netloc:
            return candidate
    return final


# --- exact dedupe and summary --------------------------------------------------------------------

def link_exact_duplicates(settings: Settings) -> dict:
    """Point every article whose normalized text equals an earlier article's at that article."""
    with store.transaction(settings) as conn:
        changed = store.rows(conn, "ingest.link_exact_duplicates")
        totals = store.rows(conn, "ingest.table_counts")[0]
    log.info("exact duplicates: %d links changed, %d duplicates in total", len(changed), totals.duplicates)
    return {"changed": len(changed), "duplicates": totals.duplicates}


# --- classify ------------------------------------------------------------------------------------

def load_regions(settings: Settings) -> int:
    """Fill the ``regions`` table from the packaged gazetteer when it is missing or outdated."""
    from mediamon import regions

    divisions = list(regions.iter_regions())
    with store.transaction(settings) as conn:
        if store.scalar(conn, "topics.region_count") == len(divisions):
            return 0
        store.execute_many_values(conn, "topics.insert_regions", [
            (r.code, r.name, r.level, r.parent_code or None, r.short_name, list(r.english)) for r in divisions])
    log.info("regions table loaded: %d divisions", len(divisions))
    return len(divisions)


def classify_articles(settings: Settings, batch_size: int = 500) -> dict:
    """Classify every article not yet classified by the current version of each topic.

    Results replace earlier ones for the same (article, topic): the score, label and evidence in
    ``article_topics``, the regions named and, for relevant articles, the region pairs.
    """
    from mediamon import topics

    load_regions(settings)
    counts: Counter = Counter()
    for topic in topics.load_topics(settings.topics_dir):
        while True:
            with store.transaction(settings) as conn:
                batch = store.rows(conn, "topics.articles_to_classify", {
                    "topic_id": topic.id, "topic_version": topic.version, "limit": batch_size})
            if not batch:
                break
            results = [(row.article_id, topics.classify(topic, row.title or "", row.text, row.lang,
                                                        settings=settings.topics)) for row in batch]
            _save_classifications(settings, topic.id, results)
            counts["classified"] += len(results)
            counts["relevant"] += sum(result.relevant for _, result in results)
        log.info("topic %s v%s: %d articles classified, %d relevant", topic.id, topic.version,
                 counts["classified"], counts["relevant"])
    return {"classified": counts["classified"], "relevant": counts["relevant"]}


def _save_classifications(settings: Settings, topic_id: str, results: list) -> None:
    article_ids = [article_id for article_id, _ in results]
    with store.transaction(settings) as conn:
        store.execute_many_values(conn, "topics.upsert_article_topics", [
            (article_id, r.topic_id, r.topic_version, r.score, r.relevant,
             json.dumps(r.evidence, ensure_ascii=False), [t["type"] for t in r.cooperation_types], r.agreements)
            for article_id, r in results])
        store.execute(conn, "topics.delete_article_regions", {"topic_id": topic_id, "article_ids": article_ids})
        store.execute(conn, "topics.delete_article_region_pairs", {"topic_id": topic_id, "article_ids": article_ids})
        region_rows = [(article_id, topic_id, m.code, m.surface, m.count) for article_id, r in results for m in r.regions]
        pair_rows = [(article_id, topic_id, *sorted(pair)) for article_id, r in results for pair in r.region_pairs
                     if pair[0] != pair[1]]
        if region_rows:
            store.execute_many_values(conn, "topics.insert_article_regions", region_rows)
        if pair_rows:
            store.execute_many_values(conn, "topics.insert_article_region_pairs", pair_rows)


# --- summary -------------------------------------------------------------------------------------

def summary(settings: Settings) -> list[dict]:
    with store.transaction(settings) as conn:
        return [dict(row._mapping) for row in store.rows(conn, "ingest.source_summary")]


def table_counts(settings: Settings) -> dict:
    with store.transaction(settings) as conn:
        return dict(store.rows(conn, "ingest.table_counts")[0]._mapping)


def ingest(settings: Settings) -> dict:
    """Run every ingest step in this process, in DAG order. For the CLI, tests and benchmarks."""
    migrate(settings)
    synced = sync_sources(settings)
    run = Counter()
    for source_id in synced["source_ids"]:
        found = discover_source(settings, source_id)
        run["discovered"] += found["new_urls"]
        run["not_modified"] += found["not_modified"]
    for batch in plan_fetch(settings):
        fetched = fetch_batch(settings, batch)
        run["fetched"] += fetched["fetched"]
        run["failed"] += fetched["failed"]
    extracted = extract_pages(settings)
    run["extracted"] += extracted["pages"]
    run["new_articles"] += extracted["new_articles"]
    run["duplicates"] = link_exact_duplicates(settings)["duplicates"]
    run["new_stories"] = dedupe.assign_stories(settings)["new_stories"]
    run["relevant"] = classify_articles(settings)["relevant"]
    return dict(run)


def format_summary(rows: list[dict]) -> str:
    header = ("source", "kind", "discovered", "fetched", "failed", "articles", "duplicates")
    table = [header] + [tuple(str(r[k if k != "source" else "source_id"]) for k in header) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
