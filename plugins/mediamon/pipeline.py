"""The ingest pipeline, composed: each stage's glue in DAG order. For the CLI, tests and benchmarks.

Each stage is three files named alike: ``<stage>.py`` decides (no database), ``<stage>_db.py`` runs
its SQL from ``sql/queries/<stage>.sql`` and returns a typed result (:mod:`mediamon.results`).
Every step reads its input from Postgres and writes its output there, so the steps can run in
separate processes (Airflow tasks, Celery workers) and pass only ids and counts between them. Each
step is idempotent: unique keys and upserts mean a retried or re-run step adds nothing twice.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from mediamon import (
    archive_db,
    classify_db,
    dedupe_db,
    discover_db,
    events_db,
    extract_db,
    fetch_db,
    sources_db,
    store,
    warc_scan,
)
from mediamon.errors import UnknownSource
from mediamon.results import DedupeResult, ExtractResult, ImportResult, RunCounts
from mediamon.settings import Settings

log = logging.getLogger(__name__)


def migrate(settings: Settings) -> list[str]:
    applied = store.upgrade(store.engine(settings))
    log.info("migrations applied: %s", ", ".join(applied) if applied else "none (schema is current)")
    return applied


def dedupe(settings: Settings) -> DedupeResult:
    """The dedupe step: extract pages an earlier run fetched but died before extracting, link exact
    duplicates, assign stories (the search index follows every write by itself)."""
    leftovers = extract_db.extract_pages(settings)
    return DedupeResult(leftovers, dedupe_db.link_exact_duplicates(settings), dedupe_db.assign_stories(settings))


def ingest(settings: Settings) -> RunCounts:
    """Run every ingest step in this process, in DAG order."""
    migrate(settings)
    synced = sources_db.sync_sources(settings)
    discovered = [discover_db.discover_source(settings, source_id) for source_id in synced.source_ids]
    fetched = [fetch_db.fetch_batch(settings, batch) for batch in fetch_db.plan_fetch(settings)]
    extracted = [extract_db.extract_pages(settings)]
    # Everything fetched was just extracted: no leftovers (the DAG's dedupe task may find some).
    deduped = DedupeResult(ExtractResult(), dedupe_db.link_exact_duplicates(settings),
                           dedupe_db.assign_stories(settings))
    classified = classify_db.classify_articles(settings)
    return RunCounts.merge(discovered, fetched, extracted, deduped, classified, events_db.link_events(settings))


def import_warc(settings: Settings, specs: list[str], *, hosts: list[str] | None = None,
                source_ids: list[str] | None = None, since: datetime | None = None, until: datetime | None = None,
                batch_size: int = 200, progress: Callable[[ImportResult], None] | None = None,
                finish: bool = True) -> ImportResult:
    """Import the HTML ``response`` records of WARC files (paths, URLs or globs; CC-NEWS or ours)
    through the same extract, dedupe and classify stages as fetched pages.

    ``hosts`` and the hosts of ``source_ids`` choose the records kept (none given: every host);
    the check reads only the record's WARC headers. ``since``/``until`` bound the capture time.
    Importing a file twice adds nothing: a canonical URL that has a page is skipped. An unknown id
    in ``source_ids`` raises :class:`UnknownSource`; a path that matches nothing, FileNotFoundError. ``progress``
    is called with the running counts after each batch. ``finish=False`` leaves exact duplicates,
    stories and classification to the caller (the DAG imports files in parallel, then runs them once).
    """
    migrate(settings)
    host_map = archive_db.HostMap.load(settings)
    for source_id in source_ids or ():
        if not host_map.hosts_of([source_id]):
            raise UnknownSource(source_id)
    wanted = {h.lower() for h in hosts or ()} | host_map.hosts_of(source_ids or ())
    keep = warc_scan.RecordFilter(keep_host=wanted.__contains__ if wanted else None, since=since, until=until)
    scan = warc_scan.ScanCounts()
    known = pages_new = articles_new = 0
    started = time.perf_counter()

    def counts() -> ImportResult:
        return ImportResult(
            files=scan.files, records_read=scan.records, responses=scan.responses, kept=scan.kept,
            skipped=scan.skipped_host + scan.skipped_date + scan.skipped_not_html + scan.skipped_status,
            skipped_host=scan.skipped_host, skipped_date=scan.skipped_date, skipped_not_html=scan.skipped_not_html,
            skipped_status=scan.skipped_status, corrupt=scan.corrupt, already_known=known, pages_new=pages_new,
            articles_new=articles_new, seconds=round(time.perf_counter() - started, 3))

    for batch in archive_db.scan_inputs(specs, keep, scan, batch_size=batch_size):
        stored = archive_db.store_imported(settings, batch, host_map)
        known += stored.known
        pages_new += len(stored.url_ids)
        if stored.url_ids:
            articles_new += extract_db.extract_pages(settings, url_ids=list(stored.url_ids)).new_articles
        if progress:
            progress(counts())
    if pages_new and finish:
        _after_import(settings)
    result = counts()
    log.info("import: %s, %.0f records/s", result, result.records_per_s)
    return result


def finish_imports(settings: Settings, imported: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """After the per-file imports of ``mediamon_import`` (their XCom dicts): one dedupe and one
    classification over everything they added. Returns the summed counts."""
    total = sum((ImportResult.from_xcom(imported[i]) for i in range(len(imported))), ImportResult())
    counts = total.to_xcom()
    if total.pages_new:
        counts |= _after_import(settings)
    return counts


def _after_import(settings: Settings) -> dict[str, int]:
    """The stages after loading, once over everything an import added: exact duplicates, stories,
    classification, events. Returns the counts the import reports."""
    dedupe_db.link_exact_duplicates(settings)
    new_stories = dedupe_db.assign_stories(settings).new_stories
    relevant = classify_db.classify_articles(settings).relevant
    return {"new_stories": new_stories, "relevant": relevant, "events": events_db.link_events(settings).events}
