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

WRITES_AUDIT = """
CREATE TABLE row_writes (relation text NOT NULL, op text NOT NULL, article_id bigint NOT NULL);
CREATE FUNCTION count_row_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO row_writes VALUES (TG_TABLE_NAME, TG_OP, NEW.article_id); RETURN NEW; END $$;
CREATE TRIGGER count_row_write AFTER UPDATE ON articles FOR EACH ROW EXECUTE FUNCTION count_row_write();
CREATE TRIGGER count_row_write AFTER INSERT OR UPDATE ON article_stories FOR EACH ROW EXECUTE FUNCTION count_row_write();
"""
DROP_WRITES_AUDIT = """
DROP TRIGGER count_row_write ON articles;
DROP TRIGGER count_row_write ON article_stories;
DROP FUNCTION count_row_write();
DROP TABLE row_writes;
"""


def test_assigning_stories_leaves_articles_alone(settings):
    """Story, page-rule spam and spun-copy evidence go into article_stories: its narrow row is
    inserted when the article is fingerprinted and written once more with story and flags. articles
    rows are never updated (an UPDATE of articles would write a new version of the row and of its
    entries in every index, the search index among them, and leave the old ones dead)."""
    text = "\n".join(seed_paragraphs("002"))
    other = "\n".join(seed_paragraphs("004"))
    original = add_article(settings, "news.example:80", "o.html", text, published_at=later(0))
    repost = add_article(settings, "repost.example:80", "r.html", text + "\n责任编辑：张三", published_at=later(2))
    spun = add_article(settings, "spin.example:80", "s.html", spin(text), published_at=later(24))
    keyword = add_article(settings, "farm.example:80", "k.html", other, title="代孕服务 长三角合作")
    with store.transaction(settings) as conn:
        conn.exec_driver_sql(WRITES_AUDIT)
    try:
        result = dedupe_db.assign_stories(settings)
        with store.transaction(settings) as conn:
            writes = sorted(conn.exec_driver_sql("SELECT relation, op, article_id FROM row_writes").all())
            flags = {r.article_id: (r.is_spam, {e["rule"] for e in r.spam_evidence or []}) for r in conn.exec_driver_sql(
                "SELECT article_id, is_spam, spam_evidence FROM analyst.articles")}
    finally:
        with store.transaction(settings) as conn:
            conn.exec_driver_sql(DROP_WRITES_AUDIT)
    assert writes == sorted(("article_stories", op, a) for a in (original, repost, spun, keyword)
                            for op in ("INSERT", "UPDATE"))
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
    install_at_migration(old.database_url, 13)
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


def test_migration_017_moves_story_spam_and_duplicate_columns_to_article_stories(settings, other_database, tmp_path):
    """An install at migration 016 with a story of two copies, a spam flag and an exact duplicate:
    after the upgrade the analyst view shows the same values, articles has none of the columns,
    and dedupe goes on from the stored stories (a new copy joins its story; a rebuild keeps it)."""
    old = replace(settings, database_url=other_database)
    install_at_migration(old.database_url, 16)
    text = "\n".join(seed_paragraphs("002"))
    first = add_article(old, "news.example:80", "a.html", text)
    repost = add_article(old, "repost.example:80", "b.html", text + "\n责任编辑：张三")
    lone = add_article(old, "farm.example:80", "c.html", "\n".join(seed_paragraphs("004")))
    with store.transaction(old) as conn:  # as dedupe at migration 016 left them
        story = conn.exec_driver_sql("INSERT INTO stories (canonical_article_id, first_seen, last_seen) "
                                     f"VALUES ({first}, now(), now()) RETURNING story_id").scalar()
        conn.execute(sa.text("UPDATE articles SET story_id = :s WHERE article_id IN (:a, :b)"),
                     {"s": story, "a": first, "b": repost})
        conn.execute(sa.text("UPDATE articles SET is_spam = true, spam_evidence = CAST(:e AS jsonb), duplicate_of = :d "
                             "WHERE article_id = :a"), {"e": '[{"rule": "spam_keyword"}]', "d": first, "a": lone})
        columns = "article_id, story_key, story_id, duplicate_of, is_spam, spam_evidence"
        before = conn.exec_driver_sql(f"SELECT {columns} FROM analyst.articles ORDER BY article_id").all()
    assert "017_article_stories.sql" in store.upgrade(store.engine(old))
    with store.transaction(old) as conn:
        after = conn.exec_driver_sql(f"SELECT {columns} FROM analyst.articles ORDER BY article_id").all()
        left = conn.exec_driver_sql("SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                                    "AND table_name = 'articles' "
                                    "AND column_name IN ('story_id', 'duplicate_of', 'is_spam', 'spam_evidence')").all()
    assert after == before and not left
    assert before[0].story_id == before[1].story_id is not None and before[2].is_spam and before[2].duplicate_of == first
    copy = add_article(old, "copy.example:80", "d.html", text + "\n来源：新华网")
    dedupe_db.assign_stories(old)
    assert story_of(old)[copy] == story_of(old)[first] == story_of(old)[repost]
    dedupe_db.rebuild_stories(old)
    stories = story_of(old)
    assert stories[copy] == stories[first] == stories[repost] != stories[lone]
