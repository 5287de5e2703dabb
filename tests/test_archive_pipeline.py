"""The archive in the pipeline, against real Postgres: fetch writes WARC, extraction reads it,
import and export of WARC files, the move of old blobs, retention."""
from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from conftest import count_rows, install_at_migration
from mediamon import archive, archive_db, extract_db, pipeline, sources_db, store
from mediamon.settings import ArchiveSettings
from test_dags import assert_bodies_only_in_the_archive

ARTICLE_COLUMNS = "canonical_url, source_id, title, text, lang, published_at, text_sha256"


def articles(settings) -> list[tuple]:
    with store.transaction(settings) as conn:
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY canonical_url")]


def query(settings, sql: str, params: dict | None = None):
    with store.transaction(settings) as conn:
        return conn.execute(sa.text(sql), params or {}).all()


def test_ingest_archives_pages_and_reextraction_reads_the_archive(demo_settings):
    pipeline.ingest(demo_settings)
    pages = count_rows(demo_settings)["pages"]
    assert_bodies_only_in_the_archive(demo_settings, pages)
    before = articles(demo_settings)
    with store.transaction(demo_settings) as conn:
        conn.exec_driver_sql("UPDATE articles SET text = 'stale'")
    assert extract_db.reextract_pages(demo_settings, force=True).pages == pages
    assert articles(demo_settings) == before
    # A page whose file is gone is recorded against that page; the others go on.
    [(victim,)] = query(demo_settings, "SELECT warc_file FROM pages ORDER BY url_id LIMIT 1")
    (Path(demo_settings.archive_url) / victim).unlink()
    with store.transaction(demo_settings) as conn:
        conn.exec_driver_sql("UPDATE pages SET extract_status = NULL")
    done = extract_db.extract_pages(demo_settings)
    lost = query(demo_settings, "SELECT count(*) FROM pages WHERE warc_file = :f", {"f": victim})[0][0]
    assert done.reasons["archive_unreadable"] == lost and done.pages == pages


def test_export_then_import_into_a_fresh_database_gives_the_same_articles(demo_settings, other_database, tmp_path):
    pipeline.ingest(demo_settings)
    out = tmp_path / "export.warc.gz"
    exported = archive_db.export_pages(demo_settings, str(out))
    assert exported.pages == count_rows(demo_settings)["pages"]

    fresh = replace(demo_settings, database_url=other_database,
                    archive=ArchiveSettings(url=str(tmp_path / "fresh-archive")))
    pipeline.migrate(fresh)
    sources_db.sync_sources(fresh)
    first = pipeline.import_warc(fresh, [str(out)])
    assert first.corrupt == 0 and first.pages_new == exported.pages
    assert articles(fresh) == articles(demo_settings)
    second = pipeline.import_warc(fresh, [str(out)])
    assert second.pages_new == 0 and second.articles_new == 0
    assert second.already_known == exported.pages
    assert articles(fresh) == articles(demo_settings)

    # By source: only that source's pages.
    one = tmp_path / "one-source.warc.gz"
    assert archive_db.export_pages(demo_settings, str(one), source_ids=["demo-news-rss"]).pages == (
        query(demo_settings, "SELECT count(*) FROM pages JOIN urls USING (url_id) WHERE source_id = 'demo-news-rss'")[0][0])


def own_page(i: int, host: str) -> archive.Capture:
    """A news page of our own, long enough to be an article."""
    paragraphs = "".join(f"<p>第{i}号新闻第{n}段：成都与重庆两地有关部门今天在成都签署了第{n}项区域合作协议，"
                         f"双方将在交通、产业和公共服务等领域深化合作，推动成渝地区双城经济圈建设。</p>" for n in range(8))
    body = (f"<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'><title>合作新闻{i}</title></head>"
            f"<body><article><h1>合作新闻{i}</h1>{paragraphs}</article></body></html>").encode()
    return archive.Capture(url=f"http://{host}/news/{i}.html", status=200,
                           headers={"Content-Type": "text/html; charset=utf-8"}, body=body,
                           fetched_at=datetime(2026, 2, 1, 8, tzinfo=UTC) + timedelta(days=i),
                           source_id="not-configured-here")


def test_import_of_foreign_warc_files_filters_hosts_and_dates_and_survives_truncation(settings, tmp_path):
    """WARC files built with warcio: one whole, one cut in the middle of a record."""
    whole = b"".join(archive.record_bytes(own_page(i, "news.example.cn"))[0] for i in range(6))
    other = b"".join(archive.record_bytes(own_page(i, "other.example.com"))[0] for i in range(6, 9))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.warc.gz").write_bytes(whole + other)
    members = [archive.record_bytes(own_page(i, "news.example.cn")) for i in range(10, 15)]
    cut = b"".join(m for m, _ in members[:-1])
    last, last_response_length = members[-1]
    (tmp_path / "in" / "b.warc.gz").write_bytes(cut + last[: last_response_length // 2])

    pipeline.migrate(settings)
    first = pipeline.import_warc(settings, [str(tmp_path / "in" / "*.warc.gz")], hosts=["news.example.cn"],
                                 until=datetime(2026, 2, 14, tzinfo=UTC))
    # a: 6 kept, 3 of another host skipped; b: 10..12 kept, 13 past `until`, 14 cut in its middle.
    assert first.skipped_host == 3 and first.skipped_date == 1 and first.corrupt == 1
    assert first.pages_new == 9 == first.articles_new
    sources = query(settings, "SELECT DISTINCT source_id, enabled FROM urls JOIN sources USING (source_id)")
    assert sources == [("warc:news.example.cn", False)]
    assert query(settings, "SELECT count(*) FROM article_topics WHERE relevant")[0][0] >= 1
    second = pipeline.import_warc(settings, [str(tmp_path / "in")], hosts=["news.example.cn"],
                                  until=datetime(2026, 2, 14, tzinfo=UTC))
    assert second.pages_new == 0 and count_rows(settings)["articles"] == 9


def test_migrate_moves_old_blobs_into_the_archive_and_drops_them(settings, other_database, tmp_path):
    """An install at migration 007 with bodies in pages.body_gzip: `db upgrade` keeps them, the
    move writes, verifies and drops them, and extraction then reads the archive."""
    old = replace(settings, database_url=other_database, archive=ArchiveSettings(url=str(tmp_path / "archive")))
    install_at_migration(old.database_url, 7)
    bodies = {i: own_page(i, "news.example.cn").body for i in range(30)}
    with store.transaction(old) as conn:
        conn.exec_driver_sql("INSERT INTO sources (source_id, name, language, kind, url) "
                             "VALUES ('old', 'old', 'zh', 'page', 'http://news.example.cn/')")
        for i, body in bodies.items():
            conn.execute(sa.text(
                "INSERT INTO urls (url_id, canonical_url, source_id, host, status) "
                "VALUES (:i, :u, 'old', 'news.example.cn', 'fetched')"), {"i": i + 1, "u": f"http://news.example.cn/news/{i}.html"})
            conn.execute(sa.text(
                "INSERT INTO pages (url_id, final_url, http_status, headers, content_type, body_gzip, body_bytes, body_sha256)"
                " VALUES (:i, :u, 200, CAST(:h AS jsonb), 'text/html', :b, :n, :s)"),
                {"i": i + 1, "u": f"http://news.example.cn/news/{i}.html", "h": json.dumps({"content-type": "text/html"}),
                 "b": gzip.compress(body), "n": len(body), "s": hashlib.sha256(body).hexdigest()})
    assert pipeline.migrate(old) == [p.name for p in sorted(store.MIGRATIONS_DIR.glob("*.sql")) if int(p.name[:3]) > 7]
    assert archive_db.bodies_left(old) == 30
    moved = archive_db.migrate_blobs(old, batch_size=7)
    assert moved.moved == moved.with_body == moved.pages == 30 and moved.column_dropped
    assert archive_db.bodies_left(old) == 0
    reader = archive_db.reader(old)
    rows = query(old, "SELECT url_id, warc_file, warc_offset, warc_length, body_sha256 FROM pages ORDER BY url_id")
    assert [reader.read(archive_db.pointer_of(r)).body for r in rows] == [bodies[i] for i in range(30)]
    assert archive_db.migrate_blobs(old).moved == 0  # nothing left, nothing done twice
    assert extract_db.extract_pages(old).articles == 30


def test_retention_deletes_old_files_and_never_leaves_a_dangling_pointer(settings, tmp_path):
    pages = [own_page(i, "news.example.cn") for i in range(4)]
    (tmp_path / "a.warc.gz").write_bytes(b"".join(archive.record_bytes(p)[0] for p in pages))
    pipeline.migrate(settings)
    pipeline.import_warc(settings, [str(tmp_path / "a.warc.gz")])
    files = archive_db.reader(settings).files()
    assert len(files) == 4  # one per capture day
    today = pages[-1].fetched_at.date()
    # Global retention of 2 days removes the first two days; pages stay, marked archived-out.
    kept = replace(settings, archive=ArchiveSettings(retention_days=2))
    done = archive_db.apply_retention(kept, today=today)
    assert (done.files_deleted, done.pages_archived_out) == (1, 1)
    # A source's own retention wins over the global one.
    with store.transaction(settings) as conn:
        conn.exec_driver_sql("UPDATE sources SET settings = '{\"retention_days\": 1}'")
    assert archive_db.apply_retention(kept, today=today).files_deleted == 1
    rows = query(settings, "SELECT warc_file, warc_offset, warc_length, body_sha256, archived_out_at FROM pages")
    assert len(rows) == 4 and sum(r.archived_out_at is not None for r in rows) == 2
    reader = archive_db.reader(settings)
    assert all(reader.read(archive_db.pointer_of(r)) for r in rows if r.warc_file)
    assert {r.warc_file for r in rows if r.warc_file} == set(reader.files())
    assert count_rows(settings)["articles"] == 4  # articles outlive their raw pages
