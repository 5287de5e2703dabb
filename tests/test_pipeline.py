"""The ingest steps end to end over the demo site, in-process, against real Postgres and HTTP."""
from __future__ import annotations

from conftest import count_rows
from mediamon import discover_db, fetch_db, pipeline, sources_db, store


def test_ingest_loads_demo_articles_and_is_idempotent(demo_settings):
    first = pipeline.ingest(demo_settings)
    counts = count_rows(demo_settings)
    assert first.new_articles == counts["articles"] > 5
    assert counts["urls"] >= counts["pages"] >= counts["articles"]
    with store.transaction(demo_settings) as conn:
        sites = {r[0] for r in conn.exec_driver_sql("SELECT DISTINCT site FROM articles")}
        langs = {r[0] for r in conn.exec_driver_sql("SELECT DISTINCT lang FROM articles")}
        no_reason = conn.exec_driver_sql(
            "SELECT count(*) FROM pages WHERE extract_status = 'no_article' AND extract_reason IS NULL").scalar()
    assert len(sites) == 2 and "zh" in langs and no_reason == 0

    second = pipeline.ingest(demo_settings)
    assert count_rows(demo_settings) == counts
    assert second.discovered == 0 and second.new_articles == 0
    # The feeds and sitemaps answered 304 the second time, the children of the sitemap index too.
    assert second.not_modified >= 3
    with store.transaction(demo_settings) as conn:
        statuses = dict(conn.exec_driver_sql(
            "SELECT url, last_status FROM discovery_documents WHERE source_id = 'demo-news-sitemap'").all())
    assert len(statuses) == 3 and set(statuses.values()) == {"not_modified"}


def test_fetch_batches_hold_one_host_each_and_at_most_batch_pages(demo_settings):
    from dataclasses import replace

    from mediamon.settings import FetchSettings, Settings

    assert Settings.from_env({"MEDIAMON_FETCH_BATCH_PAGES": "3"}).fetch.batch_pages == 3
    small = replace(demo_settings, fetch=FetchSettings(batch_pages=3))
    for source_id in sources_db.sync_sources(small).source_ids:
        discover_db.discover_source(small, source_id)
    batches = fetch_db.plan_fetch(small)
    with store.transaction(small) as conn:
        host_of = dict(conn.exec_driver_sql("SELECT url_id, host FROM urls WHERE status = 'pending'").all())
    assert sorted(i for batch in batches for i in batch) == sorted(host_of)
    assert all(1 <= len(batch) <= 3 and len({host_of[i] for i in batch}) == 1 for batch in batches)
    assert len(batches) > len(fetch_db.plan_fetch(demo_settings))
