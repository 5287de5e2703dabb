"""The fetch stage's database glue: plan the pending frontier into batches, fetch a batch, archive
each raw page (WARC, :mod:`mediamon.archive`) and record its pointer and each URL's new state.

Fetching itself (address policy, robots, redirects, limits) is :mod:`mediamon.fetch`; the SQL is
``sql/queries/fetch.sql``; the URL states and reasons are :mod:`mediamon.outcomes`.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mediamon import archive, archive_db, health_db, store
from mediamon.fetch import Fetcher, FetchError, FetchResult, fetcher_for_source, redact_userinfo
from mediamon.outcomes import UrlStatus, is_blocked
from mediamon.results import FetchBatchResult
from mediamon.settings import Settings

log = logging.getLogger(__name__)


def plan_fetch(settings: Settings) -> list[list[int]]:
    """Split the pending frontier into batches of one source and host each, of at most
    ``fetch.batch_pages`` URLs.

    One batch is one mapped fetch task, so per-host politeness holds inside a task and hosts are
    fetched in parallel across tasks. URLs of sources that are auto-disabled or backing off wait.
    """
    on_hold = health_db.sources_on_hold(settings)
    with store.transaction(settings) as conn:
        pending = store.rows(conn, "fetch.pending_urls")
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


def fetch_batch(settings: Settings, url_ids: list[int]) -> FetchBatchResult:
    """Fetch the still-pending URLs among ``url_ids`` and store each raw page.

    Each URL is committed on its own, so a worker killed mid-batch loses nothing: a re-run fetches
    only what is still pending. The commits do not wait for the WAL flush (``synchronous_commit``
    off): should the database server crash, the last fetches are lost with the pages they stored
    and their URLs are still pending, so they are fetched again. Per source, the batch counts as
    one success for its health if any URL was fetched, else as one failure with the most frequent
    reason.
    """
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    with store.transaction(settings) as conn:
        todo = store.rows(conn, "fetch.urls_to_fetch", {"url_ids": list(url_ids)})
    fetchers: dict[str, Fetcher] = {}
    outcomes: dict[str, list[FetchError | None]] = defaultdict(list)
    out: archive.ArchiveWriter[_Fetched]
    try:
        with store.engine(settings).connect() as conn:  # one connection, one transaction per URL
            with archive_db.writer(settings) as out:
                for row in todo:
                    if row.source_id not in fetchers:
                        fetchers[row.source_id] = fetcher_for_source(settings.fetch, row.settings or {})
                    status, error = _fetch_one(conn, settings, fetchers[row.source_id], row, out)
                    outcomes[row.source_id].append(error)
                    statuses[status] += 1
                    if error:
                        reasons[error.reason] += 1
            _record_fetched(conn, out.durable())  # an object store's file is durable once closed
    finally:
        for fetcher in fetchers.values():
            fetcher.close()
    for source_id, errors in outcomes.items():
        failures = [e for e in errors if e is not None]
        if len(failures) < len(errors):
            health_db.record_success(settings, source_id, "fetch")
        else:
            reason = Counter(e.reason for e in failures).most_common(1)[0][0]
            health_db.record_failure(settings, source_id, "fetch", reason,
                                     hard=not any(e.temporary for e in failures))
    log.info("fetched batch of %d: %s", len(todo), dict(statuses) | {f"reason:{k}": v for k, v in reasons.items()})
    return FetchBatchResult(fetched=statuses[UrlStatus.FETCHED],
                            failed=statuses[UrlStatus.FAILED] + statuses[UrlStatus.BLOCKED],
                            retry_later=statuses[UrlStatus.PENDING], reasons=dict(reasons))


_Fetched = tuple[int, FetchResult, datetime]


def _fetch_one(conn: sa.Connection, settings: Settings, fetcher: Fetcher, row: Any,
               out: archive.ArchiveWriter[_Fetched]) -> tuple[str, FetchError | None]:
    """Fetch one URL and record its new status, in one transaction of ``conn``: fetched (page
    archived; its row and pointer are written once the record is durable), blocked (refused by
    policy: address, robots, content type), failed, or pending again after a temporary error until
    it has had ``max_url_attempts``. Returns the status and the error, if any."""
    try:
        result = fetcher.get(row.canonical_url)
    except FetchError as exc:
        log.warning("fetch %s: %s", redact_userinfo(row.canonical_url), exc)
        with conn.begin():
            store.execute(conn, "fetch.commit_without_flush")
            if exc.temporary:
                status = str(store.scalar(conn, "fetch.give_up_or_retry_url", {
                    "url_id": row.url_id, "reason": exc.reason, "max_attempts": settings.fetch.max_url_attempts}))
            else:
                status = UrlStatus.BLOCKED if is_blocked(exc.reason) else UrlStatus.FAILED
                store.execute(conn, "fetch.mark_url", {"url_id": row.url_id, "status": status, "reason": exc.reason})
        return status, exc
    fetched_at = datetime.now(UTC)
    out.append(archive.Capture(url=result.final_url, status=result.status, headers=result.headers, body=result.body,
                               fetched_at=fetched_at, source_id=row.source_id, reason="fetch",
                               request_headers={"User-Agent": settings.fetch.user_agent}),
               (row.url_id, result, fetched_at))
    _record_fetched(conn, out.durable())
    return UrlStatus.FETCHED, None


def _record_fetched(conn: sa.Connection, durable: list[tuple[_Fetched, archive.RecordPointer]]) -> None:
    """Point each page at its now durable record and mark its URL fetched, one transaction each."""
    for (url_id, result, fetched_at), pointer in durable:
        with conn.begin():
            store.execute(conn, "fetch.commit_without_flush")
            archive_db.save_page(conn, url_id, result, pointer, fetched_at)
            store.execute(conn, "fetch.mark_url", {"url_id": url_id, "status": UrlStatus.FETCHED, "reason": None})
