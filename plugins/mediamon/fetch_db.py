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
from mediamon.fetch import Fetcher, FetchError, FetchResult, policy_for_sources, redact_userinfo
from mediamon.outcomes import UrlStatus, error_reason, is_blocked
from mediamon.results import FetchBatchResult
from mediamon.settings import Settings

log = logging.getLogger(__name__)


def plan_fetch(settings: Settings) -> list[list[int]]:
    """Split the pending frontier into batches of one host each, of at most ``fetch.batch_pages``
    URLs.

    One batch is one mapped fetch task, so per-host politeness holds inside a task and hosts are
    fetched in parallel across tasks. A URL waits only when every source that lists it is
    auto-disabled or backing off: one source's hold never blocks another's URLs.
    """
    on_hold = health_db.sources_on_hold(settings)
    with store.transaction(settings) as conn:
        pending = store.rows(conn, "fetch.pending_urls")
    by_host: dict[str, list[int]] = defaultdict(list)
    held = 0
    for row in pending:
        if all(source_id in on_hold for source_id in row.source_ids):
            held += 1
        else:
            by_host[row.host].append(row.url_id)
    size = settings.fetch.batch_pages
    batches = [ids[i:i + size] for ids in by_host.values() for i in range(0, len(ids), size)]
    log.info("fetch plan: %d pending URLs in %d batches; %d held back (sources on hold: %s)",
             len(pending) - held, len(batches), held, ", ".join(sorted(on_hold)) or "none")
    return batches


def fetch_batch(settings: Settings, url_ids: list[int]) -> FetchBatchResult:
    """Fetch the still-pending URLs among ``url_ids`` and store each raw page.

    Each URL is committed once its archive record is durable (with the other pages of its fsync
    group), so a worker killed mid-batch loses nothing: a re-run fetches only what is still
    pending. The commits do not wait for the WAL flush (``synchronous_commit`` off): should the
    database server crash, the last fetches are lost with the pages they stored and their URLs
    are still pending, so they are fetched again. Per source, the batch counts as
    one success for its health if any URL was fetched, else as one failure with the most frequent
    reason.
    """
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    with store.transaction(settings) as conn:
        todo = store.rows(conn, "fetch.urls_to_fetch", {"url_ids": list(url_ids)})
    on_hold = health_db.sources_on_hold(settings)
    fetchers: dict[tuple[frozenset[str], float | None], Fetcher] = {}
    outcomes: dict[str, list[FetchError | None]] = defaultdict(list)
    refused: list[str] = []  # reasons of fetched pages whose row the database refused (pending again)
    out: archive.ArchiveWriter[_Fetched]
    try:
        with store.engine(settings).connect() as conn:  # one connection, one transaction per URL or group
            with archive_db.writer(settings) as out:
                for row in todo:
                    # The URL's policy and health are its listing sources' that are not on hold.
                    listing = [(source_id, cfg or {}) for source_id, cfg in zip(row.source_ids, row.source_settings)]
                    active = [(source_id, cfg) for source_id, cfg in listing if source_id not in on_hold] or listing
                    try:
                        policy = policy_for_sources([cfg for _, cfg in active])
                        if policy not in fetchers:
                            fetchers[policy] = Fetcher(settings.fetch, allow_private=policy[0], crawl_delay_s=policy[1])
                        status, error = _fetch_one(conn, settings, fetchers[policy], row, active[0][0], out,
                                                   refused)
                    except Exception as exc:  # noqa: BLE001 - isolation: one URL's failure is its own
                        if _database_gone(exc):
                            raise  # not this URL's fault: the task fails and is retried
                        status, error = _record_error(conn, settings, row, exc)
                    for source_id, _ in active:
                        outcomes[source_id].append(error)
                    statuses[status] += 1
                    if error:
                        reasons[error.reason] += 1
            # An object store's file is durable once closed.
            _record_fetched(conn, out.durable(), settings.fetch.max_url_attempts, refused)
    finally:
        for fetcher in fetchers.values():
            fetcher.close()
    statuses[UrlStatus.FETCHED] -= len(refused)
    statuses[UrlStatus.PENDING] += len(refused)
    reasons.update(refused)
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


def _database_gone(exc: Exception) -> bool:
    """Whether ``exc`` means the database connection is lost (then the task, not the URL, failed)."""
    return store.connection_lost(exc)


def _record_error(conn: sa.Connection, settings: Settings, row: Any, exc: Exception) -> tuple[str, FetchError]:
    """Record an exception no check foresaw against its URL: pending with reason ``error:<type>``,
    one more attempt, failed once it has had ``max_url_attempts``. Returns the status and the
    error, as a temporary :class:`FetchError` for the source's health."""
    reason = error_reason(exc)
    log.error("fetch %s: %s", redact_userinfo(row.canonical_url)[:300], reason, exc_info=exc)
    if conn.in_transaction():
        conn.rollback()
    with conn.begin():
        status = str(store.scalar(conn, "fetch.give_up_or_retry_url", {
            "url_id": row.url_id, "reason": reason, "max_attempts": settings.fetch.max_url_attempts}))
    return status, FetchError(reason, redact_userinfo(str(exc))[:300], temporary=True)


_Fetched = tuple[int, FetchResult, datetime]


def _fetch_one(conn: sa.Connection, settings: Settings, fetcher: Fetcher, row: Any, source_id: str,
               out: archive.ArchiveWriter[_Fetched], refused: list[str]) -> tuple[str, FetchError | None]:
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
                               fetched_at=fetched_at, source_id=source_id, reason="fetch",
                               request_headers={"User-Agent": settings.fetch.user_agent}),
               (row.url_id, result, fetched_at))
    _record_fetched(conn, out.durable(), settings.fetch.max_url_attempts, refused)
    return UrlStatus.FETCHED, None


def _record_fetched(conn: sa.Connection, durable: list[tuple[_Fetched, archive.RecordPointer]],
                    max_attempts: int, refused: list[str]) -> None:
    """Point each page at its now durable record and mark its URL fetched.

    The pages of one group (the records one fsync made durable, ``archive.sync_every_records``)
    are committed together: a crash loses the group's rows whole, and its URLs, still pending,
    are fetched again, as they would be had the crash come before the fsync. One transaction per
    group instead of per page saves three round trips a page (BEGIN, SET LOCAL, COMMIT), and one
    multi-row statement for the group's page rows and one for its URLs two more. Should
    the database refuse the group, each page is tried in its own transaction: a page whose row is
    refused is recorded against its own URL (pending with reason ``error:<type>``, one attempt, as
    :func:`_record_error` does; its reason is added to ``refused``) and the others are kept.
    """
    if len(durable) > 1:
        try:
            _record_group(conn, durable)
            return
        except store.DATABASE_ERRORS as exc:
            if store.connection_lost(exc):
                raise
            log.warning("recording %d fetched pages together failed (%s); recording them one by one",
                        len(durable), error_reason(getattr(exc, "orig", None) or exc))
    for item in durable:
        try:
            _record_group(conn, [item])
        except store.DATABASE_ERRORS as exc:
            if store.connection_lost(exc) or len(durable) == 1:
                raise  # a page alone: the caller records the error against its URL
            (url_id, result, _), _ = item
            reason = error_reason(getattr(exc, "orig", None) or exc)
            log.error("recording page %s: %s", redact_userinfo(result.final_url)[:300], reason)
            with conn.begin():
                store.execute(conn, "fetch.give_up_or_retry_url", {
                    "url_id": url_id, "reason": reason, "max_attempts": max_attempts})
            refused.append(reason)


def _record_group(conn: sa.Connection, durable: list[tuple[_Fetched, archive.RecordPointer]]) -> None:
    # Two statements for the whole group (its page rows, its URLs) rather than two per page.
    with conn.begin():
        store.execute(conn, "fetch.commit_without_flush")
        archive_db.save_pages(conn, [(url_id, result, pointer, fetched_at)
                                     for (url_id, result, fetched_at), pointer in durable])
        store.execute(conn, "fetch.mark_urls_fetched", {"url_ids": [url_id for (url_id, _, _), _ in durable]})
