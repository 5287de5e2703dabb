"""Bytes per article (migration 015): the LSH index inside article_fingerprints, one row version
per story assignment, header summaries, and the upgrade of an install that has lsh_bands."""
from __future__ import annotations

import json
from dataclasses import replace

import sqlalchemy as sa

from conftest import install_at_migration
from dedupe_helpers import add_article, later, seed_paragraphs, story_of
from mediamon import archive, dedupe, dedupe_db, store
from test_dedupe import spin

UPDATES_AUDIT = """
CREATE TABLE article_updates (article_id bigint NOT NULL);
CREATE FUNCTION count_article_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO article_updates VALUES (NEW.article_id); RETURN NEW; END $$;
CREATE TRIGGER count_article_update AFTER UPDATE ON articles FOR EACH ROW EXECUTE FUNCTION count_article_update();
"""
DROP_UPDATES_AUDIT = """
DROP TRIGGER count_article_update ON articles;
DROP FUNCTION count_article_update();
DROP TABLE article_updates;
"""


def test_assigning_stories_writes_each_article_once_with_its_flags(settings):
    """Story, page-rule spam and spun-copy evidence arrive in one UPDATE: every UPDATE leaves a dead
    row version with all its index entries until vacuum."""
    text = "\n".join(seed_paragraphs("002"))
    other = "\n".join(seed_paragraphs("004"))
    original = add_article(settings, "news.example:80", "o.html", text, published_at=later(0))
    repost = add_article(settings, "repost.example:80", "r.html", text + "\n责任编辑：张三", published_at=later(2))
    spun = add_article(settings, "spin.example:80", "s.html", spin(text), published_at=later(24))
    keyword = add_article(settings, "farm.example:80", "k.html", other, title="代孕服务 长三角合作")
    with store.transaction(settings) as conn:
        conn.exec_driver_sql(UPDATES_AUDIT)
    try:
        result = dedupe_db.assign_stories(settings)
        with store.transaction(settings) as conn:
            updates = dict(conn.exec_driver_sql(
                "SELECT article_id, count(*) FROM article_updates GROUP BY article_id").all())
            flags = {r.article_id: (r.is_spam, {e["rule"] for e in r.spam_evidence or []}) for r in conn.exec_driver_sql(
                "SELECT article_id, is_spam, spam_evidence FROM articles")}
    finally:
        with store.transaction(settings) as conn:
            conn.exec_driver_sql(DROP_UPDATES_AUDIT)
    assert updates == {original: 1, repost: 1, spun: 1, keyword: 1}
    stories = story_of(settings)
    assert stories[original] == stories[repost] and len({stories[original], stories[spun], stories[keyword]}) == 3
    assert flags == {original: (False, set()), repost: (False, set()), spun: (True, {"spun_copy"}),
                     keyword: (True, {"spam_keyword"})}
    assert result.spam == 2 and result.assigned == 4


def test_the_lsh_index_is_a_gin_index_on_the_fingerprints_band_keys(settings):
    text = "\n".join(seed_paragraphs("002"))
    first = add_article(settings, "news.example:80", "a.html", text)
    dedupe_db.assign_stories(settings)
    copy = add_article(settings, "copy.example:80", "b.html", text + "\n来源：新华网")
    with store.transaction(settings) as conn:
        indexes = dict(conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'article_fingerprints'").all())
        assert "gin (band_keys)" in indexes["article_fingerprints_band_keys_idx"]
        assert conn.exec_driver_sql("SELECT to_regclass('lsh_bands')").scalar() is None
        keys = list(dedupe.fingerprint(text + "\n来源：新华网", settings.dedupe).band_keys)
        assert dedupe_db.band_pairs(conn, {copy: keys}) == {(copy, first)}
        params = conn.exec_driver_sql("SELECT DISTINCT params FROM article_fingerprints").scalars().all()
    assert params == [dedupe.params_key(settings.dedupe)] and len(params[0]) == 16
    dedupe_db.assign_stories(settings)
    assert story_of(settings)[copy] == story_of(settings)[first]


def test_pages_keep_a_summary_of_the_headers():
    headers = {"Content-Type": "text/html; charset=utf-8", "ETag": '"abc"', "Last-Modified": "Wed, 02 Dec 2026",
               "Set-Cookie": "session=1", "Server": "nginx", "Content-Length": "100", "Date": "Wed, 02 Dec 2026"}
    assert archive.header_summary(headers) == {"etag": '"abc"', "last-modified": "Wed, 02 Dec 2026", "server": "nginx"}


def test_migration_015_moves_an_existing_lsh_index_and_trims_archived_headers(settings, other_database, tmp_path):
    """An install at migration 013: fingerprints with the JSON params and lsh_bands rows, a page in
    the archive and one whose body is still in the database. After the upgrade the old fingerprints
    are found through the new index and count as made with the current settings."""
    old = replace(settings, database_url=other_database)
    install_at_migration(old.database_url, 13, tmp_path)
    text = "\n".join(seed_paragraphs("002"))
    stored = add_article(old, "news.example:80", "a.html", text)
    keys = list(dedupe.fingerprint(text, old.dedupe).band_keys)
    full = {"content-type": "text/html", "server": "nginx", "etag": '"e1"', "set-cookie": "a=b"}
    with store.transaction(old) as conn:
        conn.execute(sa.text("INSERT INTO article_fingerprints (article_id, params, shingle_count, band_keys) "
                             "VALUES (:a, :p, 100, :k)"), {"a": stored, "p": dedupe.params_json(old.dedupe), "k": keys})
        conn.execute(sa.text("INSERT INTO lsh_bands (band_key, article_id) SELECT unnest(CAST(:k AS bigint[])), :a"),
                     {"k": keys, "a": stored})
        conn.exec_driver_sql("ALTER TABLE pages ADD COLUMN body_gzip bytea")  # an install before the archive
        for url_id, pointer in ((stored, ("f.warc.gz", 0, 10)), (None, (None, None, None))):
            if url_id is None:
                url_id = conn.exec_driver_sql("INSERT INTO urls (canonical_url, source_id, host) VALUES "
                                              "('http://news.example:80/b.html', 'test-news.example:80', "
                                              "'news.example:80') RETURNING url_id").scalar()
            conn.execute(sa.text(
                "INSERT INTO pages (url_id, final_url, http_status, headers, body_bytes, body_sha256, warc_file, "
                "warc_offset, warc_length, body_gzip) VALUES (:u, 'http://x/', 200, CAST(:h AS jsonb), 1, 'd', "
                ":f, :o, :n, CASE WHEN :f IS NULL THEN '\\x00'::bytea END)"),
                {"u": url_id, "h": json.dumps(full), "f": pointer[0], "o": pointer[1], "n": pointer[2]})
    assert "015_compact_storage.sql" in store.upgrade(store.engine(old))
    with store.transaction(old) as conn:
        assert conn.exec_driver_sql("SELECT params FROM article_fingerprints").scalar() == dedupe.params_key(old.dedupe)
        headers = [r[0] for r in conn.exec_driver_sql("SELECT headers FROM pages ORDER BY warc_file NULLS LAST")]
    assert headers == [{"server": "nginx", "etag": '"e1"'}, full]  # the unmoved body's headers go to WARC first
    copy = add_article(old, "copy.example:80", "b.html", text + "\n来源：新华网")
    result = dedupe_db.assign_stories(old)
    assert result.fingerprinted == 1  # the stored article keeps its fingerprint
    assert story_of(old)[copy] == story_of(old)[stored] is not None


def test_a_batch_of_band_keys_is_looked_up_through_the_index(settings):
    """A batch's band keys (200 articles x 36) are probed one by one in the GIN index, never by
    scanning every fingerprint (the planner's pick for one `&&` with all the keys: 2 s a batch at
    2,000 fingerprints). 5,000 fingerprints with random keys, made in SQL."""
    add_article(settings, "news.example:80", "0.html", "正文")
    with store.transaction(settings) as conn:
        conn.exec_driver_sql(
            "INSERT INTO urls (canonical_url, source_id, host) SELECT 'http://news.example:80/' || i || '.htm', "
            "'test-news.example:80', 'news.example:80' FROM generate_series(1, 5000) i")
        conn.exec_driver_sql(
            "INSERT INTO articles (url_id, canonical_url, source_id, site, text, text_sha256, extractor_version) "
            "SELECT url_id, canonical_url, source_id, host, 'x', md5(canonical_url), 'test' FROM urls "
            "WHERE right(canonical_url, 4) = '.htm'")
        conn.exec_driver_sql(
            "INSERT INTO article_fingerprints (article_id, params, shingle_count, band_keys) "
            "SELECT article_id, 'p', 100, ARRAY(SELECT (random() * 9e18)::bigint + article_id * 0 "
            "FROM generate_series(1, 36)) FROM articles")
        conn.exec_driver_sql("ANALYZE article_fingerprints")
        rows = conn.exec_driver_sql("SELECT article_id, band_keys FROM article_fingerprints LIMIT 200").all()
        plan = "\n".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + store.sql("dedupe.band_matches")), {
            "article_ids": [r.article_id for r in rows for _ in r.band_keys],
            "band_keys": [k for r in rows for k in r.band_keys]}))
    assert "article_fingerprints_band_keys_idx" in plan and "Seq Scan on article_fingerprints" not in plan
