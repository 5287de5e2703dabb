"""The ingest pipeline, composed: each stage's glue in DAG order. For the CLI, tests and benchmarks.

Each stage is three files named alike: ``<stage>.py`` decides (no database), ``<stage>_db.py`` runs
its SQL from ``sql/queries/<stage>.sql`` and returns a typed result (:mod:`mediamon.results`).
Every step reads its input from Postgres and writes its output there, so the steps can run in
separate processes (Airflow tasks, Celery workers) and pass only ids and counts between them. Each
step is idempotent: unique keys and upserts mean a retried or re-run step adds nothing twice.
"""
from __future__ import annotations

import logging

from mediamon import classify_db, dedupe_db, discover_db, events_db, extract_db, fetch_db, search_db, sources_db, store
from mediamon.results import DedupeResult, ExtractResult, RunCounts
from mediamon.settings import Settings

log = logging.getLogger(__name__)


def migrate(settings: Settings) -> list[str]:
    applied = store.upgrade(store.engine(settings))
    log.info("migrations applied: %s", ", ".join(applied) if applied else "none (schema is current)")
    return applied


def dedupe(settings: Settings) -> DedupeResult:
    """The dedupe step: extract pages an earlier run fetched but died before extracting, link exact
    duplicates, assign stories, and give a search vector to articles loaded without one."""
    leftovers = extract_db.extract_pages(settings)
    return DedupeResult(leftovers, dedupe_db.link_exact_duplicates(settings), dedupe_db.assign_stories(settings),
                        search_db.index_articles(settings))


def ingest(settings: Settings) -> RunCounts:
    """Run every ingest step in this process, in DAG order."""
    migrate(settings)
    synced = sources_db.sync_sources(settings)
    discovered = [discover_db.discover_source(settings, source_id) for source_id in synced.source_ids]
    fetched = [fetch_db.fetch_batch(settings, batch) for batch in fetch_db.plan_fetch(settings)]
    extracted = [extract_db.extract_pages(settings)]
    # Everything fetched was just extracted: no leftovers (the DAG's dedupe task may find some).
    deduped = DedupeResult(ExtractResult(), dedupe_db.link_exact_duplicates(settings),
                           dedupe_db.assign_stories(settings), search_db.index_articles(settings))
    classified = classify_db.classify_articles(settings)
    return RunCounts.merge(discovered, fetched, extracted, deduped, classified, events_db.link_events(settings))
