"""Publication dates in the database: where each came from, the feed date as the fallback, and the
analyst views saying which date they count by."""
from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from mediamon import archive, archive_db, extract_db, pipeline, store

PARAGRAPH = ("The two cities signed a cooperation agreement on the river port on Monday, the third such "
             "agreement this year, and promised a joint committee that meets every quarter. ")
UNDATED_PAGE = f"<html><head><title>Port deal</title></head><body><article><h1>Port deal</h1><p>{PARAGRAPH * 4}</p>" \
               "</article></body></html>"


def add_page(conn, settings, source_id: str, url: str, html: str, listed_at: datetime | None) -> int:
    """A fetched page of our own: its body in the settings' WARC archive, its row pointing there."""
    body = html.encode()
    url_id = conn.execute(sa.text(
        "INSERT INTO urls (canonical_url, source_id, host, status, listed_published_at) "
        "VALUES (:url, :source_id, 'news.example', 'fetched', :listed) RETURNING url_id"),
        {"url": url, "source_id": source_id, "listed": listed_at}).scalar_one()
    fetched_at = datetime.now(UTC)
    page = archive.ArchivedResponse(url=url, status=200, headers={"content-type": "text/html"}, body=body,
                                    captured_at=fetched_at)
    with archive_db.writer(settings) as out:
        out.append(archive.Capture(url=url, status=200, headers=page.headers, body=body, fetched_at=fetched_at,
                                   source_id=source_id), url_id)
    [(_, pointer)] = out.durable()
    archive_db.save_page(conn, url_id, page, pointer, fetched_at)
    return url_id


def test_published_at_source_feed_fallback_and_date_basis(demo_settings):
    pipeline.ingest(demo_settings)
    listed = datetime(2024, 3, 10, 7, 30, tzinfo=UTC)
    with store.transaction(demo_settings) as conn:
        # Every demo article says where its date came from, and only undated ones say "none".
        assert conn.execute(sa.text(
            "SELECT count(*) FROM articles WHERE published_at_source IS NULL "
            "OR (published_at_source = 'none') <> (published_at IS NULL)")).scalar_one() == 0
        source_id = conn.execute(sa.text("SELECT source_id FROM sources LIMIT 1")).scalar_one()
        listed_id = add_page(conn, demo_settings, source_id, "http://news.example/port-deal", UNDATED_PAGE, listed)
        undated_id = add_page(conn, demo_settings, source_id, "http://news.example/port-deal-2",
                              UNDATED_PAGE.replace("Monday", "Tuesday"), None)
    extract_db.extract_pages(demo_settings, url_ids=[listed_id, undated_id])
    with store.transaction(demo_settings) as conn:
        rows = {r.url_id: r for r in conn.execute(sa.text(
            "SELECT a.url_id, a.published_at, a.published_at_source, v.published_date, v.published_date_basis, "
            "(a.created_at AT TIME ZONE 'Asia/Shanghai')::date AS first_seen_day "
            "FROM articles a JOIN analyst.articles v USING (article_id) WHERE a.url_id IN (:a, :b)"),
            {"a": listed_id, "b": undated_id})}
    dated, undated = rows[listed_id], rows[undated_id]
    assert (dated.published_at, dated.published_at_source, dated.published_date_basis) == (listed, "feed", "published")
    assert str(dated.published_date) == "2024-03-10"
    assert (undated.published_at, undated.published_at_source, undated.published_date_basis) == (
        None, "none", "first_seen")
    assert undated.published_date == undated.first_seen_day
