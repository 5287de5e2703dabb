"""Database glue of the search stage: index the articles that have no search vector yet.

New and re-extracted articles get their vector when they are loaded (``ingest.upsert_articles``);
this catches the rest: articles loaded before the search migration, or by an older worker.
"""
from __future__ import annotations

import logging

from mediamon import search, store
from mediamon.results import SearchIndexResult
from mediamon.settings import Settings

log = logging.getLogger(__name__)


def index_articles(settings: Settings, batch_size: int = 1000) -> SearchIndexResult:
    """Give every article without a search vector its vector, one transaction per batch."""
    indexed = 0
    while True:
        with store.transaction(settings) as conn:
            batch = store.rows(conn, "search.unindexed_articles", {"limit": batch_size})
            if batch:
                store.execute_many_values(conn, "search.set_vectors", [
                    (row.article_id, search.vector_literal(row.title, row.text, row.translation))
                    for row in batch])
        indexed += len(batch)
        if len(batch) < batch_size:
            break
    if indexed:
        log.info("search: indexed %d articles", indexed)
    return SearchIndexResult(indexed)
