"""The archive's database glue: page pointers, the move of old blobs into WARC files, retention,
export, and storing imported records. The WARC bytes themselves are :mod:`mediamon.archive`'s.

The rule that keeps pointers true: a row points at a record only after the record is durable
(:meth:`archive.ArchiveWriter.durable`), and a file is deleted only after the rows pointing into
it were cleared and committed.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import sqlalchemy as sa

from mediamon import archive, discover, store, warc_scan
from mediamon.outcomes import UrlStatus
from mediamon.results import ArchiveMigrateResult, ExportResult, MaintenanceResult, RetentionResult
from mediamon.settings import Settings

log = logging.getLogger(__name__)


def writer(settings: Settings) -> archive.ArchiveWriter[Any]:
    knobs = settings.archive
    return archive.ArchiveWriter(settings.archive_url, max_file_bytes=knobs.max_file_bytes,
                                 sync_every_records=knobs.sync_every_records, sync_every_s=knobs.sync_every_s)


def reader(settings: Settings) -> archive.ArchiveReader:
    return archive.ArchiveReader(settings.archive_url)


def pointer_of(row: Any) -> archive.RecordPointer:
    """The pointer of a ``pages`` row (``warc_file``, ``warc_offset``, ``warc_length``, ``body_sha256``)."""
    return archive.RecordPointer(row.warc_file, row.warc_offset, row.warc_length, row.body_sha256)


def save_page(conn: sa.Connection, url_id: int, response: Any, pointer: archive.RecordPointer,
              fetched_at: datetime) -> None:
    """Record a page and its pointer. ``response``: a fetch result or an archived response (both
    have ``url``, ``status``, ``headers``, ``body``, ``content_type`` and ``charset``)."""
    save_pages(conn, [(url_id, response, pointer, fetched_at)])


def save_pages(conn: sa.Connection, pages: Sequence[tuple[int, Any, archive.RecordPointer, datetime]]) -> None:
    """Record many pages as :func:`save_page` does, in one round trip: ``(url_id, response,
    pointer, fetched_at)`` each (a url_id at most once)."""
    store.execute_many_values(conn, "archive.save_pages", [
        (url_id, getattr(response, "final_url", None) or response.url, response.status,
         json.dumps(archive.header_summary(response.headers)), response.content_type, response.charset,
         pointer.file, pointer.offset, pointer.length, len(response.body), pointer.payload_sha256, fetched_at)
        for url_id, response, pointer, fetched_at in pages])


# --- moving the blobs of an existing install -----------------------------------------------------

def bodies_left(settings: Settings) -> int:
    """How many pages still hold their body in Postgres (0 once ``migrate_blobs`` is done)."""
    with store.transaction(settings) as conn:
        if not store.scalar(conn, "archive.body_column_exists"):
            return 0
        return store.rows(conn, "archive.body_counts")[0].with_body

def migrate_blobs(settings: Settings, *, batch_size: int = 500) -> ArchiveMigrateResult:
    """Write every ``pages.body_gzip`` into the archive, read each record back and compare its
    payload digest with ``pages.body_sha256``, and only then clear the blob, batch by batch.
    When no page holds a blob any more the column is dropped.

    Safe to interrupt and re-run: a killed run leaves blobs in place (and at most one batch of
    records no row points at). A page whose blob does not match its own digest is left as it is
    and reported; the column then stays.
    """
    started = time.perf_counter()
    with store.transaction(settings) as conn:
        if not store.scalar(conn, "archive.body_column_exists"):
            return ArchiveMigrateResult()
        before = store.rows(conn, "archive.body_counts")[0]
    counts: Counter[str] = Counter()
    check = reader(settings)
    after = 0
    while True:
        with store.transaction(settings) as conn:
            batch = store.rows(conn, "archive.pages_with_bodies", {"after": after, "limit": batch_size})
        if not batch:
            break
        after = batch[-1].url_id
        verified: list[tuple[int, str, int, int, str, str]] = []
        summaries = {row.url_id: json.dumps(archive.header_summary(row.headers or {})) for row in batch}
        out: archive.ArchiveWriter[int]
        with writer(settings) as out:
            for row in batch:
                body = gzip.decompress(row.body_gzip)
                if hashlib.sha256(body).hexdigest() != row.body_sha256:
                    counts["mismatched"] += 1
                    log.error("page %s: stored body does not match its digest; left in the database", row.url_id)
                    continue
                out.append(archive.Capture(url=row.final_url, status=row.http_status, headers=row.headers or {},
                                           body=body, fetched_at=row.fetched_at, source_id=row.source_id,
                                           reason="migrate"), row.url_id)
        for url_id, pointer in out.durable():
            check.read(pointer)  # raises ArchiveError when the bytes are not the page's
            verified.append((url_id, pointer.file, pointer.offset, pointer.length, pointer.payload_sha256,
                             summaries[url_id]))
        counts["archive_bytes"] += out.bytes_written
        with store.transaction(settings) as conn:
            moved = store.execute_many_values(conn, "archive.move_bodies", verified, fetch=True) if verified else []
        counts["moved"] += len(moved)
    with store.transaction(settings) as conn:
        left = store.rows(conn, "archive.body_counts")[0].with_body
        if not left:
            store.execute(conn, "archive.drop_body_column")
    result = ArchiveMigrateResult(
        pages=before.pages, with_body=before.with_body, moved=counts["moved"], mismatched=counts["mismatched"],
        left=left, column_dropped=not left, body_gzip_bytes=int(before.body_gzip_bytes),
        archive_bytes=counts["archive_bytes"], seconds=round(time.perf_counter() - started, 2))
    log.info("archive migrate: %s", result)
    return result


# --- retention -----------------------------------------------------------------------------------

def apply_retention(settings: Settings, *, today: date | None = None) -> RetentionResult:
    """Delete archive files older than their source's retention (``retention_days`` in the source
    file, else ``MEDIAMON_ARCHIVE_RETENTION_DAYS``). Pointers into a file are cleared and its pages
    marked archived-out in one committed transaction before the file goes, so none dangles; a
    file whose deletion then fails is simply found again by the next run."""
    today = today or datetime.now(UTC).date()
    with store.transaction(settings) as conn:
        per_source = {archive.source_folder(r.source_id): r.retention_days
                      for r in store.rows(conn, "archive.source_retention")}
    files = reader(settings)
    counts: Counter[str] = Counter()
    for relative in files.files():
        days = per_source.get(relative.split("/", 1)[0]) or settings.archive.retention_days
        day = archive.file_day(relative)
        if not days or day is None or day >= today - timedelta(days=days):
            continue
        with store.transaction(settings) as conn:
            counts["pages_archived_out"] += store.execute(conn, "archive.archive_out_file",
                                                          {"warc_file": relative}).rowcount
        files.delete(relative)
        counts["files_deleted"] += 1
    log.info("archive retention: %d files deleted, %d pages archived out",
             counts["files_deleted"], counts["pages_archived_out"])
    return RetentionResult(files_deleted=counts["files_deleted"], pages_archived_out=counts["pages_archived_out"])


def recompute_health_and_analyze(settings: Settings) -> MaintenanceResult:
    """Every configured source gets a health row and expired backoffs are cleared (so
    ``analyst.source_health`` shows what the next run will do); then ``ANALYZE`` of the hot tables."""
    with store.transaction(settings) as conn:
        health = store.rows(conn, "archive.recompute_source_health")[0]
    with store.engine(settings).connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        store.execute(conn, "archive.analyze_hot_tables")
    return MaintenanceResult(health_rows_created=health.created, backoffs_cleared=health.backoffs_cleared)


# --- export --------------------------------------------------------------------------------------

def export_pages(settings: Settings, out_url: str, *, source_ids: list[str] | None = None,
                 since: datetime | None = None, until: datetime | None = None,
                 story_id: int | None = None) -> ExportResult:
    """Write the chosen pages' response records (by source, capture time range or story) as one
    WARC file at ``out_url``, each followed by a metadata record naming its source."""
    with store.transaction(settings) as conn:
        rows = store.rows(conn, "archive.pages_to_export", {
            "source_ids": source_ids, "since": since, "until": until, "story_id": story_id})
    source = reader(settings)
    written = archive.write_export(out_url, ((source.read(pointer_of(r)), r.source_id, "export") for r in rows))
    log.info("exported %d pages to %s", written, out_url)
    return ExportResult(pages=written, path=out_url)


# --- import --------------------------------------------------------------------------------------

@dataclass
class HostMap:
    """Which source an imported record belongs to: the source its metadata record names, else the
    first configured source on its host, else a disabled source ``warc:<host>`` made for it."""
    by_host: dict[str, str]
    known: set[str]

    @classmethod
    def load(cls, settings: Settings) -> HostMap:
        with store.transaction(settings) as conn:
            rows = store.rows(conn, "archive.source_urls")
        by_host: dict[str, str] = {}
        for row in rows:
            by_host.setdefault(urlsplit(row.url).netloc.lower(), row.source_id)
        return cls(by_host, {r.source_id for r in rows})

    def hosts_of(self, source_ids: Iterable[str]) -> set[str]:
        wanted = set(source_ids)
        return {host for host, source_id in self.by_host.items() if source_id in wanted}

    def source_for(self, response: archive.ArchivedResponse, host: str) -> str:
        if response.source_id and response.source_id in self.known:
            return response.source_id
        return self.by_host.get(host) or f"warc:{host}"


class StoredImport(NamedTuple):
    url_ids: tuple[int, ...]
    known: int


_ImportToken = tuple[str, str, str, archive.ArchivedResponse, datetime]


def store_imported(settings: Settings, responses: list[archive.ArchivedResponse], hosts: HostMap) -> StoredImport:
    """Archive and record the responses whose canonical URL has no page yet; returns the new
    page ids and how many were already known. Each page row is written once its record is durable."""
    by_url: dict[str, archive.ArchivedResponse] = {}
    for response in responses:
        canonical = discover.canonical_url(response.url)
        if canonical:
            by_url.setdefault(canonical, response)
    with store.transaction(settings) as conn:
        known = {r.canonical_url for r in store.rows(conn, "archive.known_pages", {"canonical_urls": list(by_url)})}
    fresh = {url: response for url, response in by_url.items() if url not in known}
    url_ids: list[int] = []
    out: archive.ArchiveWriter[_ImportToken]
    with writer(settings) as out:
        for canonical, response in fresh.items():
            host = urlsplit(canonical).netloc.lower()
            source_id = hosts.source_for(response, host)
            fetched_at = response.captured_at or datetime.now(UTC)
            out.append(archive.Capture(url=response.url, status=response.status, headers=response.headers,
                                       body=response.body, fetched_at=fetched_at, source_id=source_id,
                                       reason="import"), (canonical, host, source_id, response, fetched_at))
            url_ids += _record_imported(settings, out.durable(), hosts)
    url_ids += _record_imported(settings, out.durable(), hosts)
    return StoredImport(tuple(url_ids), len(known))


def _record_imported(settings: Settings, done: list[tuple[_ImportToken, archive.RecordPointer]],
                     hosts: HostMap) -> list[int]:
    url_ids = []
    for (canonical, host, source_id, response, fetched_at), pointer in done:
        with store.transaction(settings) as conn:
            if source_id not in hosts.known:
                store.execute(conn, "archive.insert_import_source", {
                    "source_id": source_id, "name": f"imported from WARC: {host}", "url": f"http://{host}/"})
                hosts.known.add(source_id)
            url_id = int(store.scalar(conn, "archive.import_url", {
                "canonical_url": canonical, "source_id": source_id, "host": host, "status": UrlStatus.FETCHED,
                "fetched_at": fetched_at}))
            store.execute(conn, "archive.link_url_source", {"url_id": url_id, "source_id": source_id})
            save_page(conn, url_id, response, pointer, fetched_at)
        url_ids.append(url_id)
    return url_ids


def scan_inputs(specs: Iterable[str], record_filter: warc_scan.RecordFilter, counts: warc_scan.ScanCounts,
                *, batch_size: int, on_file: Callable[[str], None] | None = None
                ) -> Iterator[list[archive.ArchivedResponse]]:
    """Batches of kept HTML responses from every WARC file the specs name."""
    batch: list[archive.ArchivedResponse] = []
    for name, handle in warc_scan.open_inputs(specs):
        if on_file:
            on_file(name)
        for response in warc_scan.iter_html_responses(handle, record_filter, counts):
            batch.append(response)
            if len(batch) >= batch_size:
                yield batch
                batch = []
    if batch:
        yield batch
