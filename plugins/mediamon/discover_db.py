"""The discover stage's database glue: read a source's documents, queue the links they list.

Parsing feeds, sitemaps and listing pages is :mod:`mediamon.discover`; the SQL is
``sql/queries/discover.sql``. Each document's state (ETag, Last-Modified, body hash, last status)
is kept in ``discovery_documents``, and each discover run records one health outcome per source
and one row of its history (``discover_outcomes``, :mod:`mediamon.pace_db`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from mediamon import discover, health_db, pace_db, store
from mediamon.errors import UnknownSource
from mediamon.extract import decode_html
from mediamon.fetch import Fetcher, FetchError, fetcher_for_source, redact_userinfo
from mediamon.outcomes import DocumentStatus, error_reason
from mediamon.results import DiscoverResult
from mediamon.settings import Settings
from mediamon.sources import Source

log = logging.getLogger(__name__)


@dataclass
class _Tally:
    """The counts of one discover run while it runs; frozen into a :class:`DiscoverResult` at the end."""

    source_id: str
    documents: int = 0
    not_modified: int = 0
    unchanged: int = 0
    links: int = 0
    new_urls: int = 0
    errors: list[str] = field(default_factory=list)

    def result(self) -> DiscoverResult:
        return DiscoverResult(**(dataclasses.asdict(self) | {"errors": tuple(self.errors)}))


def discover_source(settings: Settings, source_id: str) -> DiscoverResult:
    """Fetch a source's feed, sitemap(s) or listing page and queue new article URLs.

    Feed documents use conditional GET (ETag, Last-Modified) and a body hash, so an unchanged
    feed costs one 304 and parses nothing. A failure is logged and counted; it does not raise,
    so one broken source never fails the others. The outcome feeds the source's health; a source
    that is auto-disabled or backing off is skipped (``errors`` then says why).
    Raises :class:`UnknownSource` for a source id not in the database.
    """
    with store.transaction(settings) as conn:
        row = store.rows(conn, "discover.source", {"source_id": source_id})
    if not row:
        raise UnknownSource(source_id)
    r = row[0]
    source = Source.from_stored(r.source_id, r.name, r.language, r.kind, r.url, r.settings)
    counts = _Tally(source_id)
    hold = health_db.sources_on_hold(settings).get(source_id)
    if hold:
        log.info("discover %s: skipped, %s", source_id, hold)
        counts.errors.append(f"skipped: {hold}")
        return counts.result()
    try:
        _discover(settings, source, counts)
    except Exception as exc:  # noqa: BLE001 - whatever it is, it is this source's, not the run's
        # A bug or an input no check foresaw: recorded against the source, the other sources go on.
        reason = error_reason(exc)
        log.exception("discover %s: %s", source_id, reason)
        counts.errors.append(f"{reason}: {redact_userinfo(str(exc))[:300]}")
        health_db.record_failure(settings, source_id, "discover", reason, hard=False)
    return counts.result()


def _discover(settings: Settings, source: Source, counts: _Tally) -> None:
    source_id = source.source_id
    links: list[discover.Link] = []
    failures: list[tuple[str, bool]] = []
    seen: set[str] = set()
    if source.kind == "page":
        url = discover.canonical_url(source.url)
        links = [discover.Link(url)] if url else []
        counts.documents = 1
    else:
        with fetcher_for_source(settings.fetch, source.settings_json()) as fetcher:
            # Child sitemaps are checked even when their index is unchanged (304): the index of a
            # news site rarely changes, its children do. Conditional GET keeps that cheap.
            with store.transaction(settings) as conn:
                known = [r.url for r in store.rows(conn, "discover.source_documents", {"source_id": source_id})]
            queue = [source.url, *known]
            while queue and len(seen) < settings.discover.max_sitemap_documents and len(links) < source.max_pages:
                doc_url = queue.pop(0)
                if doc_url in seen:
                    continue
                seen.add(doc_url)
                found, failure = _discover_document_isolated(settings, source, fetcher, doc_url, counts)
                if failure:
                    failures.append(failure)
                if found is not None:
                    links.extend(found.links)
                    queue.extend(found.sitemaps)
        # One document that answered (even 304) shows the source alive; else its first error counts.
        if len(failures) < len(seen):
            health_db.record_success(settings, source_id, "discover")
        else:
            reason, hard = failures[0]
            health_db.record_failure(settings, source_id, "discover", reason, hard=hard)
    links = list({link.url: link for link in links}.values())[: source.max_pages]
    counts.links = len(links)
    if links:
        counts.new_urls = _queue_links(settings, source_id, links, counts)
    # The source's history, from which its pace (next due time) and silence are learned.
    pace_db.record_discover(settings, source_id, answered=source.kind == "page" or len(failures) < len(seen),
                            links=counts.links, new_urls=counts.new_urls)
    log.info("discover %s (%s): %d documents (%d not modified, %d unchanged), %d links, %d new URLs%s",
             source.source_id, source.kind, counts.documents, counts.not_modified, counts.unchanged,
             counts.links, counts.new_urls, f", errors: {'; '.join(counts.errors)}" if counts.errors else "")


def _queue_links(settings: Settings, source_id: str, links: list[discover.Link], counts: _Tally) -> int:
    """Insert the links into the frontier and link them to the source; returns how many are new.

    All links go in one statement; should that fail (a value no check foresaw), each link is
    inserted on its own, so only the link that fails is left out, and counted as an error.
    """
    def insert(conn: sa.Connection, batch: list[discover.Link]) -> int:
        new = store.execute_many_values(conn, "discover.insert_urls", [
            (link.url, source_id, urlsplit(link.url).netloc.lower(), link.title, link.published_at)
            for link in batch], fetch=True)
        store.execute(conn, "discover.link_url_sources",
                      {"source_id": source_id, "canonical_urls": [link.url for link in batch]})
        return len(new)

    try:
        with store.transaction(settings) as conn:
            return insert(conn, links)
    except store.DATABASE_ERRORS as exc:
        if store.connection_lost(exc):
            raise  # the database went away: not this batch's fault, the task retries
        log.warning("discover %s: inserting %d links failed (%s); inserting them one by one",
                    source_id, len(links), error_reason(getattr(exc, 'orig', None) or exc))
    new = 0
    for link in links:
        try:
            with store.transaction(settings) as conn:
                new += insert(conn, [link])
        except store.DATABASE_ERRORS as exc:
            if store.connection_lost(exc):
                raise
            reason = error_reason(getattr(exc, 'orig', None) or exc)
            log.warning("discover %s: link %s refused: %s", source_id, redact_userinfo(link.url)[:300], reason)
            counts.errors.append(f"{redact_userinfo(link.url)[:200]}: {reason}")
    return new


def _discover_document_isolated(settings: Settings, source: Source, fetcher: Fetcher, url: str,
                                counts: _Tally) -> tuple[discover.Discovery | None, tuple[str, bool] | None]:
    """:func:`_discover_document`, with any exception recorded against the document (its
    ``last_status`` is ``error:<type>``) instead of ending the source's discovery."""
    try:
        return _discover_document(settings, source, fetcher, url, counts)
    except Exception as exc:  # noqa: BLE001 - isolation: one document's failure is its own
        reason = error_reason(exc)
        log.exception("discover %s: document %s: %s", source.source_id, redact_userinfo(url)[:300], reason)
        counts.errors.append(f"{redact_userinfo(url)[:200]}: {reason}")
        try:
            _save_document(settings, {"url": url, "source_id": source.source_id, "etag": None,
                                      "last_modified": None, "body_sha256": None, "last_status": reason})
        except store.DATABASE_ERRORS:
            log.warning("discover %s: could not record the failure of %s", source.source_id, url[:300])
        return None, (reason, False)


def _discover_document(settings: Settings, source: Source, fetcher: Fetcher, url: str,
                       counts: _Tally) -> tuple[discover.Discovery | None, tuple[str, bool] | None]:
    """Fetch and parse one feed, sitemap or listing document.

    Returns what it yielded (None when it failed or did not change) and, for a failure, its
    reason code and whether it is hard (not worth retrying soon).
    """
    with store.transaction(settings) as conn:
        state = store.rows(conn, "discover.discovery_document", {"url": url})
    etag, last_modified, old_hash = (state[0] if state else (None, None, None))
    counts.documents += 1
    record: dict[str, Any] = {"url": url, "source_id": source.source_id, "etag": None, "last_modified": None,
                              "body_sha256": None}
    try:
        result = fetcher.get(url, etag=etag, last_modified=last_modified)
    except FetchError as exc:
        counts.errors.append(f"{redact_userinfo(url)}: {exc}")
        _save_document(settings, record | {"last_status": exc.reason})
        return None, (exc.reason, not exc.temporary)
    if result.not_modified:
        counts.not_modified += 1
        _save_document(settings, record | {"last_status": DocumentStatus.NOT_MODIFIED})
        return None, None
    body_hash = hashlib.sha256(result.body).hexdigest()
    record |= {"etag": result.headers.get("etag"), "last_modified": result.headers.get("last-modified"),
               "body_sha256": body_hash}
    if body_hash == old_hash:
        counts.unchanged += 1
        _save_document(settings, record | {"last_status": DocumentStatus.UNCHANGED})
        return None, None
    try:
        if source.kind in ("rss", "atom"):
            found = discover.parse_feed(result.body, result.final_url, source.max_pages)
        elif source.kind == "sitemap":
            found = discover.parse_sitemap(result.body, result.final_url, source.max_pages)
        else:
            html, _ = decode_html(result.body, result.charset)
            found = discover.parse_listing(html, result.final_url, source.max_pages)
    except discover.NotAFeed as exc:
        counts.errors.append(f"{redact_userinfo(url)}: {exc}")
        # No hash: the document must be parsed again next time, it may be fixed by then.
        _save_document(settings, record | {"body_sha256": None, "last_status": DocumentStatus.UNPARSEABLE})
        return None, (DocumentStatus.UNPARSEABLE, True)
    _save_document(settings, record | {"last_status": DocumentStatus.OK})
    return found, None


def _save_document(settings: Settings, record: dict[str, Any]) -> None:
    with store.transaction(settings) as conn:
        store.execute(conn, "discover.save_discovery_document", record)
