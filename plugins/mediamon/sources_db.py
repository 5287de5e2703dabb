"""The sources stage's database glue: sync the source file into ``sources``; the run summary.

Parsing and validating the file is :mod:`mediamon.sources`; the SQL is ``sql/queries/sources.sql``.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from mediamon import store
from mediamon.results import SyncResult
from mediamon.settings import Settings
from mediamon.sources import load_sources

log = logging.getLogger(__name__)


def sync_sources(settings: Settings) -> SyncResult:
    """Load and validate the source file, then upsert it into ``sources``.

    Sources that disappeared from the file are disabled, not deleted: their history stays.
    Returns the ids of the enabled sources and the counts.
    """
    sources = load_sources(settings.sources_file)
    inserted = 0
    with store.transaction(settings) as conn:
        for source in sources:
            inserted += bool(store.scalar(conn, "sources.upsert_source", {
                "source_id": source.source_id, "name": source.name, "language": source.language,
                "kind": source.kind, "url": source.url, "settings": json.dumps(source.settings_json()),
                "enabled": source.enabled, "outlet_tier": source.outlet_tier,
                "outlet_province": source.outlet_province, "media_type": source.media_type,
                "collections": list(source.collections)}))
        disabled = [r.source_id for r in store.rows(conn, "sources.disable_missing_sources",
                                                    {"source_ids": [s.source_id for s in sources]})]
    enabled = tuple(s.source_id for s in sources if s.enabled)
    log.info("sources synced from %s: %d in file, %d new, %d disabled as removed",
             settings.sources_file, len(sources), inserted, len(disabled))
    return SyncResult(source_ids=enabled, sources=len(sources), new=inserted, disabled=len(disabled))


def summary(settings: Settings) -> list[dict[str, Any]]:
    """Per enabled source: URLs discovered, fetched, failed; articles and duplicates."""
    with store.transaction(settings) as conn:
        return [dict(row._mapping) for row in store.rows(conn, "sources.source_summary")]


def table_counts(settings: Settings) -> dict[str, int]:
    with store.transaction(settings) as conn:
        return dict(store.rows(conn, "sources.table_counts")[0]._mapping)

