"""The DAG files, through real Airflow: they import cleanly and cheaply, and a whole
``mediamon_ingest`` run over the demo site lands articles in Postgres, idempotently."""
from __future__ import annotations

import socket
from dataclasses import replace

from conftest import DAGS, count_rows


def test_dag_files_import_without_errors_or_io(airflow_home, monkeypatch):
    """Parsing must not touch the database or the network: both are made to fail during the parse."""
    from airflow.dag_processing.dagbag import DagBag

    def no_network(*args, **kwargs):
        raise AssertionError("DAG parsing opened a network connection")

    monkeypatch.setenv("MEDIAMON_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert "mediamon_ingest" in bag.dag_ids
    ingest = bag.get_dag("mediamon_ingest")
    assert [t.task_id for t in ingest.topological_sort()][0] == "sync_sources"
    assert ingest.get_task("fetch").pool == "mediamon_fetch"


def test_ingest_dag_run_lands_articles_and_reruns_idempotently(airflow_home, demo_settings, monkeypatch, capfd):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState
    from sqlalchemy.engine import make_url

    # The test server trusts local connections: the password is accepted, ignored, and must
    # appear in no task log.
    password = "s3cret-mediamon-password"
    url = make_url(demo_settings.database_url).set(password=password).render_as_string(hide_password=False)
    monkeypatch.setenv("MEDIAMON_DATABASE_URL", url)
    monkeypatch.setenv("MEDIAMON_SOURCES", str(demo_settings.sources_file))
    monkeypatch.setenv("MEDIAMON_ARCHIVE_URL", demo_settings.archive_url)
    dag = DagBag(dag_folder=str(DAGS)).get_dag("mediamon_ingest")

    first = dag.test()
    assert first.state == DagRunState.SUCCESS
    counts = count_rows(demo_settings)
    assert counts["articles"] >= 10 and counts["sources"] == 6
    extra = _asset_extra(first)
    assert extra["new_articles"] == counts["articles"] and extra["relevant"] >= 5

    # Asked to discover every source, due or not: their feeds answer 304 and nothing changes.
    second = dag.test(run_conf={"all_sources": True})
    assert second.state == DagRunState.SUCCESS
    assert count_rows(demo_settings) == counts
    extra = _asset_extra(second)
    assert extra["new_articles"] == 0 and extra["discovered"] == 0 and extra["not_modified"] >= 3
    task_logs = capfd.readouterr()
    assert "mediamon_ingest counts" in task_logs.out and password not in task_logs.out + task_logs.err
    assert_bodies_only_in_the_archive(demo_settings, counts["pages"])

    # On schedule, no source is due again yet: all are skipped, and counted. (dag.test() keeps the
    # last run_conf on the DAG object, hence the explicit default.)
    third = dag.test(run_conf={"all_sources": False})
    assert third.state == DagRunState.SUCCESS
    extra = _asset_extra(third)
    assert (extra["skipped"], extra["on_hold"], extra["discovered"], extra["not_modified"]) == (6, 0, 0, 0)


def assert_bodies_only_in_the_archive(settings, pages: int) -> None:
    """``pages`` holds pointers, no bodies; the archive holds WARC files plain warcio reads, with a
    response record for every page."""
    from pathlib import Path

    from warcio.archiveiterator import ArchiveIterator

    from mediamon import store

    with store.transaction(settings) as conn:
        columns = {r[0] for r in conn.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'pages'")}
        targets = {r[0] for r in conn.exec_driver_sql("SELECT final_url FROM pages WHERE warc_file IS NOT NULL")}
    assert "body_gzip" not in columns and "warc_file" in columns and len(targets) == pages
    files = sorted(Path(settings.archive_url).rglob("*.warc.gz"))
    assert files
    responses = set()
    for path in files:
        with open(path, "rb") as handle:
            responses |= {r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(handle)
                          if r.rec_type == "response"}
    assert targets <= responses


def _asset_extra(dag_run) -> dict:
    """The ``extra`` of the asset event this run emitted."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.query(AssetEvent).filter(AssetEvent.source_run_id == dag_run.run_id).all()
        assert len(events) == 1
        return dict(events[0].extra)


def test_reprocess_dag_re_extracts_stored_pages_without_fetching(airflow_home, demo_settings, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    from mediamon import pipeline, store
    from mediamon.topics import load_topic

    monkeypatch.setenv("MEDIAMON_DATABASE_URL", demo_settings.database_url)
    monkeypatch.setenv("MEDIAMON_SOURCES", str(demo_settings.sources_file))
    monkeypatch.setenv("MEDIAMON_ARCHIVE_URL", demo_settings.archive_url)
    pipeline.ingest(demo_settings)
    before = count_rows(demo_settings)
    with store.transaction(demo_settings) as conn:
        conn.exec_driver_sql("UPDATE pages SET extractor_version = 'old'")
        conn.exec_driver_sql("UPDATE articles SET text = 'stale', extractor_version = 'old'")
        # History classified by an older topic version is classified again by the current one.
        conn.exec_driver_sql("UPDATE article_topics SET topic_version = 'old'")
        fetched_at = conn.exec_driver_sql("SELECT max(fetched_at) FROM pages").scalar()

    dag = DagBag(dag_folder=str(DAGS)).get_dag("mediamon_reprocess")
    assert dag.test().state == DagRunState.SUCCESS

    assert count_rows(demo_settings) == before
    with store.transaction(demo_settings) as conn:
        versions = {r[0] for r in conn.exec_driver_sql("SELECT DISTINCT extractor_version FROM articles")}
        stale = conn.exec_driver_sql("SELECT count(*) FROM articles WHERE text = 'stale'").scalar()
        assert conn.exec_driver_sql("SELECT max(fetched_at) FROM pages").scalar() == fetched_at
        topic_versions = {r[0] for r in conn.exec_driver_sql("SELECT DISTINCT topic_version FROM article_topics")}
    assert versions == {demo_settings.extract.version} and stale == 0
    assert topic_versions == {load_topic(demo_settings.topics_dir / "regional_cooperation.yaml").version}


def test_import_dag_lands_warc_pages_once_and_maintenance_archives_them_out(airflow_home, settings, monkeypatch,
                                                                            tmp_path):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    from mediamon import archive, archive_db, store
    from test_archive_pipeline import own_page

    warc = tmp_path / "in" / "pages.warc.gz"
    warc.parent.mkdir()
    warc.write_bytes(b"".join(archive.record_bytes(own_page(i, host))[0]
                              for i, host in enumerate(["news.example.cn"] * 4 + ["other.example.com"] * 2)))
    monkeypatch.setenv("MEDIAMON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEDIAMON_ARCHIVE_URL", settings.archive_url)
    bag = DagBag(dag_folder=str(DAGS))
    conf = {"paths": [str(warc.parent / "*.warc.gz")], "hosts": ["news.example.cn"]}
    assert bag.get_dag("mediamon_import").test(run_conf=conf).state == DagRunState.SUCCESS
    assert count_rows(settings)["articles"] == 4
    assert bag.get_dag("mediamon_import").test(run_conf=conf).state == DagRunState.SUCCESS
    assert count_rows(settings)["articles"] == 4

    # The pages were captured in February 2026: a one-day retention removes every file.
    monkeypatch.setenv("MEDIAMON_ARCHIVE_RETENTION_DAYS", "1")
    assert bag.get_dag("mediamon_maintenance").test().state == DagRunState.SUCCESS
    with store.transaction(settings) as conn:
        left = conn.exec_driver_sql("SELECT count(*) FROM pages WHERE warc_file IS NOT NULL").scalar()
        out = conn.exec_driver_sql("SELECT count(*) FROM pages WHERE archived_out_at IS NOT NULL").scalar()
    assert (left, out) == (0, 4) and archive_db.reader(settings).files() == []
    assert count_rows(settings)["articles"] == 4


def test_maintenance_dag_drops_old_history_months_recomputes_health_and_polls_still_land(
        airflow_home, settings, monkeypatch, tmp_path):
    """A discover history with a month older than the pace window, a row no partition covers yet,
    a source without a health row and one whose backoff ran out: one maintenance run drops the old
    month, moves the stray row into a month of its own, fills and clears health, and analyzes the
    history; the next polls land in their month."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    from mediamon import pace_db, sources_db, store

    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n" + "".join(
        f'  - {{id: {name}, name: {name}, language: en, kind: rss, url: "http://127.0.0.1:9/{name}.xml", '
        f'allow_private: ["127.0.0.1:9"]}}\n' for name in ("steady", "resting")))
    monkeypatch.setenv("MEDIAMON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEDIAMON_SOURCES", str(sources))
    sources_db.sync_sources(replace(settings, sources_file=sources))
    with store.transaction(settings) as conn:
        conn.exec_driver_sql(
            "INSERT INTO discover_outcomes (source_id, discovered_at, answered, new_urls) "
            "SELECT 'steady', now() - make_interval(days => d), true, 1 "
            "FROM generate_series(0, 5) d UNION ALL SELECT 'steady', now() - interval '120 days', true, 1 "
            "UNION ALL SELECT 'steady', now() + interval '2 years', true, 0")
        conn.exec_driver_sql("INSERT INTO source_health (source_id, next_attempt_at) "
                             "VALUES ('resting', now() - interval '1 minute')")
        old = conn.exec_driver_sql(
            "SELECT 'discover_outcomes_' || to_char((now() - interval '120 days') AT TIME ZONE 'UTC', 'YYYY_MM')").scalar()

    run = DagBag(dag_folder=str(DAGS)).get_dag("mediamon_maintenance").test()
    assert run.state == DagRunState.SUCCESS
    pace_db.record_discover(settings, "resting", answered=True, links=2, new_urls=1)
    with store.transaction(settings) as conn:
        months = {r[0]: r[1] for r in conn.exec_driver_sql(
            "SELECT c.relname, (SELECT count(*) FROM discover_outcomes d WHERE d.tableoid = c.oid) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'discover_outcomes'::regclass")}
        history = conn.exec_driver_sql("SELECT source_id, count(*) FROM discover_outcomes GROUP BY 1").fetchall()
        health = conn.exec_driver_sql("SELECT source_id, next_attempt_at FROM source_health ORDER BY 1").fetchall()
        analyzed = conn.exec_driver_sql(
            "SELECT most_common_vals::text FROM pg_stats WHERE schemaname = current_schema() "
            "AND tablename = 'discover_outcomes' AND attname = 'source_id' AND inherited").scalar()
    assert old not in months and months["discover_outcomes_default"] == 0
    assert dict(history) == {"steady": 7, "resting": 1}  # six recent days and the one two years ahead
    assert [h.source_id for h in health] == ["resting", "steady"] and health[0].next_attempt_at is None
    assert "steady" in (analyzed or "")


def test_a_failed_fetch_batch_does_not_keep_the_others_from_stories_and_topics(airflow_home, demo_settings,
                                                                              monkeypatch):
    """One mapped fetch task fails (an error that escapes the glue: here, injected); the batches
    that succeeded are still extracted, clustered into stories and classified, the asset extra
    counts the failed task, and the run ends failed so the operator sees it."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    from mediamon import fetch_db, store

    monkeypatch.setenv("MEDIAMON_DATABASE_URL", demo_settings.database_url)
    monkeypatch.setenv("MEDIAMON_SOURCES", str(demo_settings.sources_file))
    fetch_batch = fetch_db.fetch_batch

    def poisoned_fetch_batch(settings, url_ids):
        with store.transaction(settings) as conn:
            first_url = conn.exec_driver_sql("SELECT min(url_id) FROM urls").scalar()
        if first_url in url_ids:  # the batch of the first URL discovered fails
            raise RuntimeError("a bug no check foresaw")
        return fetch_batch(settings, url_ids)

    monkeypatch.setattr(fetch_db, "fetch_batch", poisoned_fetch_batch)
    dag = DagBag(dag_folder=str(DAGS)).get_dag("mediamon_ingest")
    for task in dag.tasks:
        task.retries = 0  # the failure is for good; retries would only wait

    run = dag.test()

    assert run.state == DagRunState.FAILED
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert "failed" in {str(s) for (task_id, _), s in states.items() if task_id == "fetch"}
    assert str(states[("dedupe", -1)]) == "success" and str(states[("classify", -1)]) == "success"
    with store.transaction(demo_settings) as conn:
        healthy = conn.exec_driver_sql(
            "SELECT count(*), count(a.story_id), count(*) FILTER (WHERE EXISTS ("
            " SELECT FROM article_topics t WHERE t.article_id = a.article_id)) FROM analyst.articles a").one()
        poisoned = conn.exec_driver_sql("SELECT count(*) FROM urls WHERE status = 'pending'").scalar()
    assert healthy[0] >= 3 and healthy[0] == healthy[1] == healthy[2]
    assert poisoned >= 1  # left pending for the next run
    assert _asset_extra(run)["failed_tasks"] >= 1
