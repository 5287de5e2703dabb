"""The report stage over the demo site's data: the watermark period (nothing lost, nothing twice),
empty and failed runs, spam copies, stories, escaping, the files, and the mediamon_report DAG."""
from __future__ import annotations

import csv
import json
import socketserver
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from mediamon import classify_db, pipeline, report, report_db, store

XSS_TITLE = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'


def sql(settings, statement: str, params: dict | None = None) -> list:
    with store.transaction(settings) as conn:
        result = conn.execute(sa.text(statement), params or {})
        return list(result) if result.returns_rows else []


def relevant_ids(settings) -> list[int]:
    """Relevant articles the report counts: spam copies are listed apart, never counted."""
    return [r.article_id for r in sql(settings, "SELECT article_id FROM article_topics JOIN analyst.articles USING (article_id)"
                                                " WHERE relevant AND NOT is_spam ORDER BY 1")]


def watermark(settings):
    rows = sql(settings, "SELECT reported_until, report_id FROM report_watermarks")
    return tuple(rows[0]) if rows else None


@pytest.fixture
def ingested(demo_settings):
    pipeline.ingest(demo_settings)
    return demo_settings


@pytest.fixture
def unclustered(ingested):
    """The demo data with every article its own story and no spam flags, for tests that build
    their own stories or need each article to count alone."""
    sql(ingested, "UPDATE article_stories SET story_id = NULL, is_spam = false, spam_evidence = NULL")
    sql(ingested, "DELETE FROM stories")
    return ingested


def test_first_report_covers_every_relevant_article_and_writes_all_files(ingested):
    relevant = relevant_ids(ingested)
    assert len(relevant) >= 5

    summary = report_db.build_report(ingested)

    stories = sql(ingested, "SELECT count(DISTINCT story_key) FROM analyst.articles WHERE article_id = ANY(:ids)",
                  {"ids": relevant})[0][0]
    assert summary["counts"]["articles"] == len(relevant)
    assert summary["counts"]["stories"] == summary["counts"]["new_stories"] == stories
    spam = sql(ingested, "SELECT count(*) FROM analyst.articles JOIN article_topics USING (article_id) WHERE relevant AND is_spam")[0][0]
    assert summary["counts"]["sites"] == 2 and summary["counts"]["spam_copies"] == spam == 1
    assert summary["period"]["start"] is None and summary["changes"] is None and not summary["empty"]
    assert watermark(ingested) == (datetime.fromisoformat(summary["period"]["end"]), summary["report_id"])

    html_path = Path(summary["paths"]["html"])
    # reports/<this database>/report-<id>/report.html: report ids are per database.
    assert html_path.parent.parent.parent == ingested.reports_dir
    page = html_path.read_text(encoding="utf-8")
    row = sql(ingested, "SELECT counts, files, html FROM reports WHERE report_id = :id", {"id": summary["report_id"]})[0]
    assert row.html == page and row.counts == summary["counts"]
    assert all(Path(p).exists() for p in row.files.values())

    data = json.loads(Path(summary["paths"]["json"]).read_text(encoding="utf-8"))
    assert data["counts"] == summary["counts"]
    # The first report's trend runs from the first to the last day of relevant coverage (the demo's
    # articles are old: a window ending today would be empty), each day normalized by all articles.
    days = sql(ingested, "SELECT min(published_date) AS first, max(published_date) AS last FROM analyst.topic_hits "
                         "WHERE relevant AND NOT is_spam")[0]
    assert (data["trend"][0]["day"], data["trend"][-1]["day"]) == (days.first.isoformat(), days.last.isoformat())
    assert len(data["trend"]) >= ingested.report.trend_days
    assert sum(d["stories"] for d in data["trend"]) >= summary["counts"]["new_stories"]
    assert all(0 < d["story_share"] <= 1 for d in data["trend"] if d["stories"])
    assert all(d["articles_collected"] >= d["stories"] for d in data["trend"])
    titles = sql(ingested, "SELECT title FROM articles WHERE article_id = ANY(:ids)", {"ids": relevant})
    assert {s["title"] for s in data["stories"]} <= {t.title for t in titles}
    assert any("北京市" in s["regions"] for s in data["stories"])
    assert any(s["agreements"] for s in data["stories"]) and all(s["cooperation_types"] for s in data["stories"])
    with open(row.files["stories.csv"], encoding="utf-8-sig") as f:
        assert [r["title"] for r in csv.DictReader(f)] == [s["title"] for s in data["stories"]]
    assert data["region_pairs"] and data["regions"][0]["stories"] >= data["regions"][-1]["stories"]

    # Self-contained: no external script, style, font or image.
    assert "<script" not in page and "src=" not in page and "@import" not in page and "url(" not in page
    assert 'id="trend-chart"' in page and 'id="network-chart"' in page


def test_next_report_with_nothing_new_is_a_valid_empty_report(ingested):
    first = report_db.build_report(ingested)
    second = report_db.build_report(ingested)

    assert second["empty"] and second["report_id"] > first["report_id"]
    assert second["counts"] == {k: 0 for k in report.COUNT_KEYS}
    assert second["changes"] == {k: -first["counts"][k] for k in report.COUNT_KEYS}
    assert second["period"]["start"] == first["period"]["end"]
    page = Path(second["paths"]["html"]).read_text(encoding="utf-8")
    assert 'id="no-new-coverage"' in page
    header = (Path(second["paths"]["dir"]) / "stories.csv").read_text(encoding="utf-8-sig").splitlines()
    assert header == [",".join(report.CSV_COLUMNS["stories"])]
    assert watermark(ingested)[1] == second["report_id"]


def test_reclassified_articles_are_not_reported_twice(ingested):
    report_db.build_report(ingested)
    # A new topic version makes the pipeline classify every article again.
    sql(ingested, "UPDATE article_topics SET topic_version = 'old'")
    assert classify_db.classify_articles(ingested).classified >= 10

    assert report_db.build_report(ingested)["counts"]["articles"] == 0


def test_article_whose_classification_committed_late_is_in_the_next_report(ingested):
    first = report_db.build_report(ingested)
    late = sql(ingested, "SELECT article_id FROM article_topics WHERE NOT relevant ORDER BY 1 LIMIT 1")[0][0]
    # Stamped before the first report's end (its transaction started then), visible only now.
    sql(ingested, "UPDATE article_topics SET relevant = true, relevant_since = :t WHERE article_id = :id",
        {"t": datetime.fromisoformat(first["period"]["end"]) - timedelta(minutes=5), "id": late})

    second = report_db.build_report(ingested)
    assert second["counts"]["articles"] == 1
    reported = sql(ingested, "SELECT article_id FROM report_articles WHERE report_id = :id", {"id": second["report_id"]})
    assert [r.article_id for r in reported] == [late]
    assert report_db.build_report(ingested)["counts"]["articles"] == 0


def test_failed_run_leaves_watermark_reports_and_files_unchanged(ingested):
    first = report_db.build_report(ingested)
    late = sql(ingested, "SELECT article_id FROM article_topics WHERE NOT relevant ORDER BY 1 LIMIT 1")[0][0]
    sql(ingested, "UPDATE article_topics SET relevant = true, relevant_since = now() WHERE article_id = :id",
        {"id": late})
    # The last write of the run fails, after the files are written and the reports row inserted.
    sql(ingested, """
        CREATE FUNCTION fail_report() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'disk full'; END $$;
        CREATE TRIGGER fail_report BEFORE UPDATE ON report_watermarks FOR EACH ROW EXECUTE FUNCTION fail_report();
    """)
    dirs_before = sorted(ingested.reports_dir.rglob("report-*"))

    with pytest.raises(sa.exc.DBAPIError, match="disk full"):
        report_db.build_report(ingested)

    assert watermark(ingested) == (datetime.fromisoformat(first["period"]["end"]), first["report_id"])
    assert sql(ingested, "SELECT count(*) FROM reports")[0][0] == 1
    assert sorted(ingested.reports_dir.rglob("report-*")) == dirs_before
    sql(ingested, "DROP TRIGGER fail_report ON report_watermarks; DROP FUNCTION fail_report()")
    retried = report_db.build_report(ingested)
    assert retried["counts"]["articles"] == 1 and retried["period"]["start"] == first["period"]["end"]


def test_spam_copies_are_listed_apart_and_copies_count_as_one_story(unclustered):
    ingested = unclustered
    # Two relevant copies of one news item on different sites, and a third copy on a spam site.
    copies = sql(ingested, """
        SELECT a.title, array_agg(a.article_id ORDER BY a.article_id) AS ids
        FROM articles a JOIN article_topics t USING (article_id) WHERE t.relevant
        GROUP BY a.title HAVING count(DISTINCT a.site) = 2 ORDER BY a.title LIMIT 2""")
    assert len(copies) == 2
    story_ids = []
    for title, ids in copies:
        story_ids.append(sql(ingested, """INSERT INTO stories (canonical_article_id, title, first_seen, last_seen)
                                          VALUES (:a, :t, now(), now()) RETURNING story_id""",
                             {"a": ids[0], "t": title})[0][0])
        sql(ingested, "INSERT INTO article_stories (article_id, story_id) SELECT unnest(CAST(:ids AS bigint[])), :s "
                      "ON CONFLICT (article_id) DO UPDATE SET story_id = EXCLUDED.story_id",
            {"s": story_ids[-1], "ids": ids})
    spam_id = copies[1].ids[1]
    sql(ingested, """UPDATE article_stories SET is_spam = true, spam_evidence = '{"rules": ["spun_text"]}'
                     WHERE article_id = :id""", {"id": spam_id})
    relevant = relevant_ids(ingested)  # without the spam copy

    summary = report_db.build_report(ingested)

    counts = summary["counts"]
    assert counts["articles"] == len(relevant) and counts["spam_copies"] == 1
    # The first pair counts once; the second pair's other copy is spam, so its story counts once anyway.
    assert counts["stories"] == len(relevant) - 1
    data = json.loads(Path(summary["paths"]["json"]).read_text(encoding="utf-8"))
    merged = next(s for s in data["stories"] if s["title"] == copies[0].title)
    assert merged["sites"] == 2 and merged["articles"] == 2
    assert data["stories"][0]["sites"] == 2
    assert [s["article_id"] for s in data["spam_copies"]] == [spam_id]
    assert data["spam_copies"][0]["story_title"] == copies[1].title
    assert sum(s["spam_copies"] for s in data["sources"]) == 1


def test_trend_counts_stories_per_publication_day(unclustered):
    ingested = unclustered
    now = datetime.now(UTC)
    # 03:00 UTC is 11:00 in Shanghai, the same calendar day.
    yesterday = (now - timedelta(days=1)).replace(hour=3, minute=0, second=0, microsecond=0)
    ids = relevant_ids(ingested)[:3]
    sql(ingested, "UPDATE articles SET published_at = :t WHERE article_id = ANY(:ids)", {"t": yesterday, "ids": ids})

    data = json.loads(Path(report_db.build_report(ingested)["paths"]["json"]).read_text(encoding="utf-8"))

    per_day = {d["day"]: d["stories"] for d in data["trend"]}
    assert per_day[yesterday.date().isoformat()] == 3
    assert sum(per_day.values()) == 3
    assert sum(d["undated"] for d in data["trend"]) == 0


def test_trend_says_which_stories_had_no_publication_date(unclustered):
    ingested = unclustered
    ids = relevant_ids(ingested)[:2]
    sql(ingested, "UPDATE articles SET published_at = NULL, published_at_source = 'none' WHERE article_id = ANY(:ids)",
        {"ids": ids})

    summary = report_db.build_report(ingested)
    data = json.loads(Path(summary["paths"]["json"]).read_text(encoding="utf-8"))

    today = datetime.now(ZoneInfo(ingested.report.timezone)).date().isoformat()
    by_day = {d["day"]: d for d in data["trend"]}
    assert by_day[today]["undated"] == 2 and by_day[today]["stories"] >= 2  # counted on the day first seen
    page = Path(summary["paths"]["html"]).read_text(encoding="utf-8")
    assert "2 stories without a publication date counted on the day first seen" in page


def test_scraped_strings_are_escaped_in_html_svg_and_csv(unclustered):
    ingested = unclustered
    ids = relevant_ids(ingested)
    sql(ingested, "UPDATE articles SET title = :t WHERE article_id = :id", {"t": XSS_TITLE, "id": ids[0]})
    sql(ingested, "UPDATE articles SET title = :t, canonical_url = 'javascript:alert(1)' WHERE article_id = :id",
        {"t": XSS_ATTR, "id": ids[1]})
    sql(ingested, "UPDATE articles SET title = '=HYPERLINK(\"http://evil.invalid\")' WHERE article_id = :id",
        {"id": ids[2]})
    sql(ingested, "UPDATE regions SET name = :n WHERE code = (SELECT min(region_a) FROM article_region_pairs)",
        {"n": "<b>" + XSS_ATTR})

    summary = report_db.build_report(ingested)

    page = Path(summary["paths"]["html"]).read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "javascript:" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    with open(Path(summary["paths"]["dir"]) / "stories.csv", encoding="utf-8-sig") as f:
        titles = [r["title"] for r in csv.DictReader(f)]
    assert "'=HYPERLINK(\"http://evil.invalid\")" in titles and XSS_TITLE in titles


def test_a_report_folder_left_by_another_database_is_neither_reused_nor_overwritten(ingested):
    """`make run` against one database, then against another: both number their first report 1.
    Each database writes under its own folder; and should one exist all the same (a second server
    with a database of the same name and oid), the old report stays and the new one goes beside."""
    with store.transaction(ingested) as conn:
        key = store.scalar(conn, "report.database_key")
    other = report.report_directory(ingested.reports_dir, "another_db-16384", 1)
    theirs = ingested.reports_dir / key / "report-000001"
    theirs.mkdir(parents=True)
    (theirs / "report.html").write_text("the other database's report", encoding="utf-8")

    summary = report_db.build_report(ingested)

    assert summary["report_id"] == 1 and other.parent != theirs.parent
    assert (theirs / "report.html").read_text(encoding="utf-8") == "the other database's report"
    assert Path(summary["paths"]["dir"]) == ingested.reports_dir / key / "report-000001-2"
    assert Path(summary["paths"]["html"]).read_text(encoding="utf-8").lower().startswith("<!doctype html>")


def test_reports_dir_is_configurable(ingested, tmp_path):
    elsewhere = replace(ingested, reports_dir=tmp_path / "elsewhere")
    summary = report_db.build_report(elsewhere)
    assert Path(summary["paths"]["html"]).is_relative_to(tmp_path / "elsewhere")


# --- the DAG ---------------------------------------------------------------------------------------

from conftest import DAGS  # noqa: E402


def _report_dag(monkeypatch, settings):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("MEDIAMON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEDIAMON_REPORTS_DIR", str(settings.reports_dir))
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag.get_dag("mediamon_report")


def test_report_dag_schedule_is_the_configured_cron_and_optionally_the_ingest_asset(airflow_home, monkeypatch, settings):
    dag = _report_dag(monkeypatch, settings)
    assert dag.timetable.summary == "0 8 * * *"
    assert str(dag.timetable._timezone.name) == "Asia/Shanghai"
    assert [t.task_id for t in dag.topological_sort()] == ["build", "email"]

    monkeypatch.setenv("MEDIAMON_REPORT_ON_INGEST", "true")
    monkeypatch.setenv("MEDIAMON_REPORT_CRON", "30 7 * * 1-5")
    dag = _report_dag(monkeypatch, settings)
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    assert dag.timetable.timetable.summary == "30 7 * * 1-5"
    assert "mediamon_articles" in str(dag.timetable.asset_condition)


def test_report_dag_run_publishes_summary_on_xcom_and_asset(airflow_home, ingested, monkeypatch):
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    run = _report_dag(monkeypatch, ingested).test()

    assert run.state == DagRunState.SUCCESS
    with create_session() as session:
        events = session.query(AssetEvent).filter(AssetEvent.source_run_id == run.run_id).all()
        extra = dict(events[0].extra)
    assert extra["counts"]["articles"] == len(relevant_ids(ingested))
    assert Path(extra["paths"]["html"]).is_file()
    assert watermark(ingested)[1] == extra["report_id"]


class _SmtpSink(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message and keep its text in ``server.messages``."""

    def handle(self):
        self.wfile.write(b"220 sink\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                body = b"".join(iter(self.rfile.readline, b".\r\n"))
                self.server.messages.append(body.decode("utf-8", "replace"))
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_sink():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpSink)
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_report_dag_emails_the_report_only_when_configured(airflow_home, ingested, monkeypatch, smtp_sink):
    from airflow.utils.state import DagRunState

    port = smtp_sink.server_address[1]
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT",
                       f"smtp://127.0.0.1:{port}?disable_ssl=true&disable_tls=true&from_email=mediamon%40localhost")
    dag = _report_dag(monkeypatch, ingested)
    assert dag.test().state == DagRunState.SUCCESS
    assert smtp_sink.messages == []

    monkeypatch.setenv("MEDIAMON_REPORT_EMAIL_TO", "analyst@localhost")
    assert dag.test().state == DagRunState.SUCCESS
    assert len(smtp_sink.messages) == 1
    assert "Subject: mediamon report #2: 0 new stories" in smtp_sink.messages[0]
