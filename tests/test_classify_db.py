"""Classification through the database: roles of regions, pairs from parties only, the analyst views,
and a new topic version re-classifying history."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediamon import classify_db, pipeline, store, topics
from mediamon.regions import gazetteer

VENUE_TEXT = ("长三角生态环境联防联治联席会议在浙江湖州召开。会上,上海市与江苏省签署跨界水体联保合作协议,"
              "两地将建立联合执法机制,共同推进太浦河水质协同治理,实现跨省数据共享。")
VENUE_TITLE = "沪苏签署跨界水体联保合作协议"


def sql(settings, statement: str, params: dict | None = None) -> list:
    with store.transaction(settings) as conn:
        result = conn.execute(sa.text(statement), params or {})
        return list(result) if result.returns_rows else []


@pytest.fixture
def ingested(demo_settings):
    pipeline.ingest(demo_settings)
    return demo_settings


def current_version(settings) -> str:
    return topics.load_topic(settings.topics_dir / "regional_cooperation.yaml").version


def test_new_topic_version_reclassifies_history_with_roles(ingested):
    # History classified by an older version: its pairs were built from every region named.
    article_id = sql(ingested, "SELECT min(article_id) FROM article_topics")[0][0]
    sql(ingested, "UPDATE articles SET title = :title, text = :text WHERE article_id = :id",
        {"title": VENUE_TITLE, "text": VENUE_TEXT, "id": article_id})
    sql(ingested, "UPDATE article_topics SET topic_version = '1'")
    sql(ingested, "UPDATE article_regions SET role = 'mentioned'")
    sql(ingested, "INSERT INTO article_region_pairs (article_id, topic_id, region_a, region_b) "
                  "VALUES (:id, 'regional_cooperation', '310000', '330500') ON CONFLICT DO NOTHING",
        {"id": article_id})

    assert classify_db.classify_articles(ingested).classified >= 10

    assert {r[0] for r in sql(ingested, "SELECT DISTINCT topic_version FROM article_topics")} == {
        current_version(ingested)}
    roles = dict(sql(ingested, "SELECT region_code, role FROM article_regions WHERE article_id = :id",
                     {"id": article_id}))
    assert roles == {"310000": "party", "320000": "party", "330000": "mentioned", "330500": "mentioned"}
    # The venue (湖州) made a pair before; now only the parties do, in the table and in the analyst view.
    pairs = sql(ingested, "SELECT region_a, region_b FROM article_region_pairs WHERE article_id = :id",
                {"id": article_id})
    assert [tuple(p) for p in pairs] == [("310000", "320000")]
    view = sql(ingested, "SELECT region_a, region_a_name, region_b_name FROM analyst.region_pairs "
                         "WHERE article_id = :id", {"id": article_id})
    assert [tuple(v) for v in view] == [("310000", "上海市", "江苏省")]
    hit = sql(ingested, "SELECT party_codes, region_codes, evidence FROM analyst.topic_hits "
                        "JOIN article_topics USING (article_id, topic_id) WHERE article_id = :id",
              {"id": article_id})[0]
    assert sorted(hit.party_codes) == ["310000", "320000"] and set(hit.region_codes) == set(roles)
    assert hit.evidence["features"]["term_weight"]["contribution"] > 0


def test_every_pair_is_made_of_parties_and_irrelevant_articles_have_none(ingested):
    regions = gazetteer()
    level = ingested.topics.pair_level
    parties: dict[int, set[str]] = {}
    for article_id, code in sql(ingested, "SELECT article_id, region_code FROM article_regions WHERE role = 'party'"):
        parties.setdefault(article_id, set()).add(regions.normalize_code(code, level))
    pairs = sql(ingested, "SELECT article_id, region_a, region_b FROM analyst.region_pairs")
    assert pairs, "the demo site has cooperation stories with two parties"
    for article_id, region_a, region_b in pairs:
        assert {region_a, region_b} <= parties[article_id]
    irrelevant_parties = sql(ingested, "SELECT count(*) FROM article_regions r JOIN article_topics t "
                                       "USING (article_id, topic_id) WHERE NOT t.relevant AND r.role = 'party'")
    assert irrelevant_parties[0][0] == 0
    mentioned = sql(ingested, "SELECT count(*) FROM article_regions r JOIN article_topics t USING (article_id, topic_id) "
                              "WHERE t.relevant AND r.role = 'mentioned'")
    assert mentioned[0][0] > 0, "relevant demo articles also mention places that take no part"
