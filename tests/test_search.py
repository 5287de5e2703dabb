"""Search: analyst.search() matches exactly what LIKE '%term%' matches, on real texts.

The texts are read in place from ``../shared`` (the topic dev set: Chinese news, traditional
Chinese, English; the GNE corpus's Chinese bodies) and skipped when it is absent. The dev set's
English ``reason`` of each article stands in for a machine translation, so terms in the
``translation`` field are checked too.
"""
from __future__ import annotations

import json
import logging
import os
import random
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import install_at_migration
from mediamon import store
from mediamon.settings import PROJECT_ROOT

SHARED = Path(os.environ.get("MEDIAMON_SHARED_DIR") or PROJECT_ROOT.parent / "shared")
DEV_SET = SHARED / "eval" / "topic-dev" / "dev.jsonl"
GNE_TRUTH = SHARED / "corpus" / "gne-zh" / "truth"
needs_shared = pytest.mark.skipif(not DEV_SET.exists(), reason="../shared/eval/topic-dev is not here")


def vector(conn, title: str | None, text: str | None = None, translation: str | None = None) -> set[str]:
    """The index tokens of one article, as migration 014's mediamon_search_vector makes them."""
    literal = conn.execute(sa.text("SELECT tsvector_to_array(mediamon_search_vector(:a, :b, :c))"),
                           {"a": title, "b": text, "c": translation}).scalar()
    return set(literal)


def test_tokens_are_the_windows_of_up_to_three_characters(settings):
    with store.transaction(settings) as conn:
        found = vector(conn, "上海市与浙江省签署《长三角合作协议》", None, "Shanghai-Zhejiang cooperation")
        assert {"上海市", "海市与", "省签署", "签署", "署", "长三角", "协议", "议", "sha", "ai", "i", "coo", "n"} <= found
        assert {"上", "上海", "沪", "署《", "》"} & found == set()     # no prefixes stored; punctuation splits
        assert "Sha" not in found                                        # A-Z folded
        assert all(len(t) <= 3 for t in found)
        assert vector(conn, None, "", "!!!") == set()
        assert vector(conn, "沪苏", None) == {"沪苏", "苏"}
        assert vector(conn, "A", "B", "c") == {"a", "b", "c"}              # fields never join into one run


def _texts() -> list[dict]:
    rows = []
    for line in DEV_SET.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        rows.append({"key": item["id"], "title": item["title"], "text": item["text"],
                     "translation": item["reason"] if not item["id"].startswith("bbc") else None})
    if GNE_TRUTH.is_dir():
        for path in sorted(GNE_TRUTH.glob("*.json")):
            truth = json.loads(path.read_text(encoding="utf-8"))
            if truth.get("body"):
                rows.append({"key": path.stem, "title": truth.get("title"), "text": truth["body"],
                             "translation": None})
    return rows


@pytest.fixture
def corpus(settings):
    """Every shared text as an article (the expression index follows every insert)."""
    rows = _texts()
    with store.transaction(settings) as conn:
        conn.execute(sa.text("INSERT INTO sources (source_id, name, language, kind, url) "
                             "VALUES ('shared', 'shared texts', 'zh', 'page', 'http://127.0.0.1/')"))
        for i, row in enumerate(rows):
            url_id = conn.execute(sa.text(
                "INSERT INTO urls (canonical_url, source_id, host, status) "
                "VALUES (:url, 'shared', '127.0.0.1', 'fetched') RETURNING url_id"),
                {"url": f"http://127.0.0.1/{row['key']}"}).scalar()
            conn.execute(sa.text(
                "INSERT INTO articles (url_id, canonical_url, source_id, site, title, text, translation, "
                "published_at, text_sha256, extractor_version) VALUES (:url_id, :url, 'shared', '127.0.0.1', "
                ":title, :text, :translation, now() - make_interval(hours => :i), :sha, 'test')"),
                {**row, "url_id": url_id, "url": f"http://127.0.0.1/{row['key']}", "i": i, "sha": str(i)})
    return settings


def like_ids(conn, condition: str, terms: list[str]) -> set[int]:
    """The articles LIKE finds: ``condition`` refers to the terms as :t0, :t1, …"""
    params = {f"t{i}": "%" + t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
              for i, t in enumerate(terms)}
    return {r[0] for r in conn.execute(sa.text(f"SELECT article_id FROM articles WHERE {condition}"), params)}


def field_like(i: int, op: str = "LIKE") -> str:
    return "(" + " OR ".join(f"coalesce({f}, '') {op} :t{i}" for f in ("title", "text", "translation")) + ")"


def search_ids(conn, query: str) -> set[int]:
    return {r[0] for r in conn.execute(sa.text(
        "SELECT article_id FROM analyst.search(:q, 1000000)"), {"q": query})}


def sample_terms(rows: list[dict], count: int, seed: int = 13) -> list[str]:
    """Substrings of 1-8 characters of the Chinese texts, taken at random places."""
    rng = random.Random(seed)
    chinese = [r["text"] for r in rows if sum("\u4e00" <= c <= "\u9fff" for c in r["text"][:200]) > 50]
    terms = []
    while len(terms) < count:
        text = rng.choice(chinese)
        start = rng.randrange(len(text) - 8)
        term = text[start:start + rng.randint(1, 8)].strip()
        if term and '"' not in term and not term.startswith("-") and not any(c.isspace() for c in term) \
                and term != "OR":
            terms.append(term)
    return terms


@needs_shared
def test_search_equals_like_for_chinese_terms(corpus):
    fixed = ["沪", "苏", "浙", "皖", "长三角", "粤港澳大湾区", "京津冀", "对口支援", "一体化发展", "合作区",
             "深港", "大灣區", "協同發展", "《", "2024", "GDP", "5G"]
    with store.transaction(corpus) as conn:
        for term in fixed + sample_terms(_texts(), 120):
            expected = like_ids(conn, field_like(0), [term])
            if term.isascii():
                expected = like_ids(conn, field_like(0, "ILIKE"), [term])
            assert search_ids(conn, term) == expected, term
        assert like_ids(conn, field_like(0), ["沪"]), "the dev set names Shanghai by 沪"


@needs_shared
def test_search_equals_like_for_english_terms_in_text_and_translation(corpus):
    with store.transaction(corpus) as conn:
        for term in ["cooperation", "operation", "Shenzhen", "YRD", "pair-up", "health checks", "GBA plan",
                     "Hong Kong", "integration", "e", "xinjiang", "Jing-Jin-Ji"]:
            query = f'"{term}"' if " " in term else term
            assert search_ids(conn, query) == like_ids(conn, field_like(0, "ILIKE"), [term]), term
        in_translation = like_ids(conn, "translation ILIKE :t0 AND text NOT ILIKE :t0", ["pair-up"])
        assert in_translation and in_translation <= search_ids(conn, "pair-up")


@needs_shared
def test_query_syntax_and_or_not_phrase(corpus):
    cases = [
        ("长三角 一体化", f"{field_like(0)} AND {field_like(1)}", ["长三角", "一体化"]),
        ("京津冀 OR 长三角", f"({field_like(0)} OR {field_like(1)})", ["京津冀", "长三角"]),
        ("合作 -长三角", f"{field_like(0)} AND NOT {field_like(1)}", ["合作", "长三角"]),
        ("合作 -沪", f"{field_like(0)} AND NOT {field_like(1)}", ["合作", "沪"]),
        ('"对口 支援" 新疆', f"{field_like(0)} AND {field_like(1)}", ["对口 支援", "新疆"]),
        ('大湾区 OR 深港 -"香港特区政府"', f"({field_like(0)} OR {field_like(1)}) AND NOT {field_like(2)}",
         ["大湾区", "深港", "香港特区政府"]),
        ("-合作", f"NOT {field_like(0)}", ["合作"]),
    ]
    with store.transaction(corpus) as conn:
        for query, condition, terms in cases:
            expected = like_ids(conn, condition, terms)
            assert search_ids(conn, query) == expected, query
        assert search_ids(conn, "长三角 一体化") and search_ids(conn, "-合作")


@needs_shared
def test_results_are_newest_first_and_page(corpus):
    with store.transaction(corpus) as conn:
        everything = [r.article_id for r in conn.execute(sa.text(
            "SELECT * FROM analyst.search('合作', 1000)"))]
        dates = [r.published_at for r in conn.execute(sa.text("SELECT * FROM analyst.search('合作', 1000)"))]
        assert dates == sorted(dates, reverse=True) and len(everything) > 20
        pages = [r.article_id for skip in (0, 10, 20) for r in conn.execute(sa.text(
            "SELECT * FROM analyst.search('合作', 10, :skip)"), {"skip": skip})]
        assert pages == everything[:30]
        ranked = [r.rank for r in conn.execute(sa.text(
            "SELECT * FROM analyst.search('合作 OR 发展', 1000, order_by => 'rank')"))]
        assert ranked == sorted(ranked, reverse=True) and ranked[0] > 0
        with pytest.raises(sa.exc.DBAPIError, match="order_by"):
            conn.execute(sa.text("SELECT * FROM analyst.search('合作', order_by => 'oldest')")).fetchall()


def test_the_index_decides_and_follows_every_write(demo_settings):
    from mediamon import pipeline

    pipeline.ingest(demo_settings)
    with store.transaction(demo_settings) as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM articles")).scalar() > 0
        plan = "\n".join(r[0] for r in conn.execute(sa.text(
            "EXPLAIN SELECT article_id FROM analyst.articles WHERE search_vector @@ '长三角:*'")))
        assert "articles_search_idx" in plan or "Seq Scan" in plan      # a tiny table may be read whole
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        assert "articles_search_idx" in "\n".join(r[0] for r in conn.execute(sa.text(
            "EXPLAIN SELECT article_id FROM analyst.articles WHERE search_vector @@ '长三角:*'")))
        conn.exec_driver_sql("SET LOCAL ROLE mediamon_analyst")
        hits = {r.article_id for r in conn.execute(sa.text("SELECT article_id FROM analyst.search('长三角', 1000)"))}
        assert hits and hits == {r[0] for r in conn.execute(sa.text(
            "SELECT article_id FROM analyst.articles WHERE title LIKE '%长三角%' OR text LIKE '%长三角%' "
            "OR translation LIKE '%长三角%'"))}
        terms = conn.execute(sa.text("SELECT * FROM analyst.search_terms('沪 OR 长三角 -\"浙 江\" 对口支援')")).fetchall()
        assert [(t.clause, t.negated, t.term, t.exact) for t in terms] == [
            (1, False, "沪", True), (1, False, "长三角", True), (2, True, "浙 江", False), (3, False, "对口支援", False)]
    # Re-extraction rewrites an article: the index follows (no search stage, no backfill).
    with store.transaction(demo_settings) as conn:
        changed = min(hits)
        conn.execute(sa.text("UPDATE articles SET title = '皖北新闻', text = '合肥与芜湖签署协议', translation = NULL "
                             "WHERE article_id = :id"), {"id": changed})
    with store.transaction(demo_settings) as conn:
        conn.exec_driver_sql("SET LOCAL ROLE mediamon_analyst")
        assert changed not in {r[0] for r in conn.execute(sa.text("SELECT article_id FROM analyst.search('长三角', 1000)"))}
        assert [r[0] for r in conn.execute(sa.text("SELECT article_id FROM analyst.search('皖 芜湖签署')"))] == [changed]


@needs_shared
def test_keyset_paging_and_rank(corpus):
    with store.transaction(corpus) as conn:
        everything = [r.article_id for r in conn.execute(sa.text("SELECT * FROM analyst.search('发展', 1000)"))]
        pages, after = [], None
        while True:
            page = [r.article_id for r in conn.execute(sa.text(
                "SELECT * FROM analyst.search('发展', 7, after => :after)"), {"after": after})]
            if not page:
                break
            pages += page
            after = page[-1]
        assert pages == everything and len(everything) > 14
        ranked = conn.execute(sa.text(
            "SELECT article_id, title, rank FROM analyst.search('合作 发展', 1000, order_by => 'rank')")).fetchall()
        assert all(r.rank == ("合作" in (r.title or "")) + ("发展" in (r.title or "")) for r in ranked)
        assert [r.rank for r in ranked] == sorted((r.rank for r in ranked), reverse=True) and ranked[0].rank == 2
        # A page (up to 1,000 rows) and a larger result are planned differently and agree row for row.
        for order in ("newest", "rank"):
            small, large = (conn.execute(sa.text("SELECT * FROM analyst.search('合作 OR 发展', :n, order_by => :o)"),
                                         {"n": n, "o": order}).fetchall() for n in (1000, 100000))
            assert small == large and 30 < len(small) < 1000, order
        newest = conn.execute(sa.text("SELECT article_id, rank FROM analyst.search('合作 发展', 1000)")).fetchall()
        assert {r.article_id: r.rank for r in newest} == {r.article_id: r.rank for r in ranked}
        with pytest.raises(sa.exc.DBAPIError, match="after"):
            conn.execute(sa.text("SELECT * FROM analyst.search('发展', after => -1)")).fetchall()


def test_upgrade_from_stored_vectors_drops_them_and_indexes_existing_articles(settings, other_database, tmp_path):
    """An install at migration 013 (a stored search_vector per article, filled by the old search
    stage): 014 drops the column and its indexes, and the articles already there are found."""
    old = replace(settings, database_url=other_database)
    install_at_migration(old.database_url, 13)
    texts = ["上海与江苏、浙江、安徽共同推进长三角一体化", "沪苏浙皖四地合作", "粤港澳大湾区 Greater Bay Area"]
    with store.transaction(old) as conn:
        conn.exec_driver_sql("INSERT INTO sources (source_id, name, language, kind, url) "
                             "VALUES ('old', 'old', 'zh', 'page', 'http://127.0.0.1/')")
        for i, text in enumerate(texts):
            conn.execute(sa.text(
                "INSERT INTO urls (url_id, canonical_url, source_id, host, status) "
                "VALUES (:i, :u, 'old', '127.0.0.1', 'fetched')"), {"i": i + 1, "u": f"http://127.0.0.1/{i}"})
            conn.execute(sa.text(
                "INSERT INTO articles (url_id, canonical_url, source_id, site, title, text, text_sha256, "
                "extractor_version, search_vector) VALUES (:i, :u, 'old', '127.0.0.1', 't', :text, :i, 'old', "
                "to_tsvector('simple', :text))"), {"i": i + 1, "u": f"http://127.0.0.1/{i}", "text": text})
    assert store.upgrade(store.engine(old)) == [p.name for p in sorted(store.MIGRATIONS_DIR.glob("*.sql"))
                                                 if int(p.name[:3]) > 13]
    with store.transaction(old) as conn:
        columns = {r[0] for r in conn.execute(sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'articles'"))}
        assert "search_vector" not in columns
        conn.exec_driver_sql("SET LOCAL ROLE mediamon_analyst")
        for query, expected in [("皖", {2}), ("长三角", {1}), ("合作 -上海", {2}), ("bay area", {3}),
                                ('"Greater Bay"', {3}), ("浙 OR 湾区", {1, 2, 3})]:
            assert {r[0] for r in conn.execute(sa.text("SELECT article_id FROM analyst.search(:q)"),
                                               {"q": query})} == expected, query


@needs_shared
def test_first_page_of_a_frequent_query_walks_newest_first_and_equals_the_bitmap(corpus, caplog):
    """Migration 018: the first pages of a frequent query come from a walk in date order, with the
    same rows as the GIN bitmap plan (which a result over 1,000 rows always takes). The plan taken
    is the function's DEBUG message, which SQLAlchemy's psycopg2 dialect logs."""
    with store.transaction(corpus) as conn:
        # Four copies of every text, a quarter of them undated (the order puts those last, by id):
        # enough rows for the planner's estimate to make the walk the cheaper plan.
        conn.execute(sa.text(
            "INSERT INTO urls (canonical_url, source_id, host, status) "
            "SELECT canonical_url || '#' || k, 'shared', '127.0.0.1', 'fetched' FROM urls, generate_series(1, 3) k"))
        conn.execute(sa.text(
            "INSERT INTO articles (url_id, canonical_url, source_id, site, title, text, translation, published_at, "
            "                      text_sha256, extractor_version) "
            "SELECT u.url_id, u.canonical_url, 'shared', '127.0.0.1', a.title, a.text, a.translation, "
            "       CASE WHEN u.url_id % 4 <> 0 THEN a.published_at - (u.url_id % 97) * interval '1 day' END, "
            "       a.text_sha256, 'test' "
            "FROM urls u JOIN articles a ON a.canonical_url = split_part(u.canonical_url, '#', 1) "
            "WHERE u.canonical_url LIKE '%#%'"))
    with store.engine(corpus).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE articles")
    with store.transaction(corpus) as conn:
        conn.exec_driver_sql("SET LOCAL ROLE mediamon_analyst")
        conn.exec_driver_sql("SET LOCAL client_min_messages = debug1")
        caplog.set_level(logging.INFO, logger="sqlalchemy.dialects.postgresql")
        for query in ("的", "在 OR 发展", "的 -合作"):
            everything = [r.article_id for r in conn.execute(sa.text(
                "SELECT article_id FROM analyst.search(:q, 100000)"), {"q": query})]
            assert "GIN bitmap" in caplog.text, query
            caplog.clear()
            pages, after = [], None
            for _ in range(4):
                page = [r.article_id for r in conn.execute(sa.text(
                    "SELECT article_id FROM analyst.search(:q, 5, after => :after)"), {"q": query, "after": after})]
                pages += page
                after = page[-1]
            assert pages == everything[:20] and len(everything) > 20, query
            # The walk gives up (and the bitmap plan answers) when the estimate was too high.
            assert "newest-first walk" in caplog.text, query
            skipped = [r.article_id for r in conn.execute(sa.text(
                "SELECT article_id FROM analyst.search(:q, 5, 10)"), {"q": query})]   # walks or not: 15 rows
            assert skipped == everything[10:15], query
            caplog.clear()
        # The undated articles come last: paging reaches them through the walk too.
        undated = [r.article_id for r in conn.execute(sa.text(
            "SELECT article_id FROM analyst.search('的', 100000) WHERE published_at IS NULL"))]
        everything = [r.article_id for r in conn.execute(sa.text("SELECT article_id FROM analyst.search('的', 100000)"))]
        assert undated and everything[-len(undated):] == undated
        last_dated = everything[-len(undated) - 1]
        assert [r.article_id for r in conn.execute(sa.text(
            "SELECT article_id FROM analyst.search('的', 5, after => :a)"), {"a": last_dated})] == undated[:5]
        assert [r.article_id for r in conn.execute(sa.text(
            "SELECT article_id FROM analyst.search('的', 5, after => :a)"), {"a": undated[0]})] == undated[1:6]


def test_upgrade_restates_search_and_keeps_its_grants(settings, other_database, tmp_path):
    """An install at migration 016 upgrades to 018's analyst.search: still callable by the analyst
    role only, with the same signature and output."""
    old = replace(settings, database_url=other_database)
    install_at_migration(old.database_url, 16)
    with store.transaction(old) as conn:
        conn.exec_driver_sql("INSERT INTO sources (source_id, name, language, kind, url) "
                             "VALUES ('old', 'old', 'zh', 'page', 'http://127.0.0.1/')")
        conn.exec_driver_sql("INSERT INTO urls (url_id, canonical_url, source_id, host, status) "
                             "VALUES (1, 'http://127.0.0.1/1', 'old', '127.0.0.1', 'fetched')")
        conn.exec_driver_sql("INSERT INTO articles (url_id, canonical_url, source_id, site, title, text, "
                             "text_sha256, extractor_version) VALUES (1, 'http://127.0.0.1/1', 'old', '127.0.0.1', "
                             "'沪苏合作', '上海与江苏签署长三角一体化协议', '1', 'old')")
    store.upgrade(store.engine(old))
    with store.transaction(old) as conn:
        assert conn.execute(sa.text(
            "SELECT has_function_privilege('mediamon_analyst', 'analyst.search(text, integer, integer, text, bigint)', "
            "'EXECUTE'), has_function_privilege('public', 'analyst.search(text, integer, integer, text, bigint)', "
            "'EXECUTE')")).one() == (True, False)
        conn.exec_driver_sql("SET LOCAL ROLE mediamon_analyst")
        rows = conn.execute(sa.text("SELECT * FROM analyst.search('长三角 沪', 10)")).fetchall()
        assert [(r.title, r.rank) for r in rows] == [("沪苏合作", 1.0)]
        assert list(rows[0]._mapping) == ["article_id", "story_key", "story_id", "title", "site", "published_at",
                                          "published_date", "rank"]
