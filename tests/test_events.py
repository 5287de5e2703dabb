"""Events: stories of one cooperation event linked, on the demo site and on labelled real texts.

``tests/fixtures/events.yaml`` labels articles of the topic dev set (``../shared``, read in
place; only ids, dates and labels are stored here) with the event they report. See that file for
how it was built.
"""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from mediamon import events, events_db, pipeline, store
from mediamon.evaluation import events as event_eval
from mediamon.settings import PROJECT_ROOT

SHARED = Path(os.environ.get("MEDIAMON_SHARED_DIR") or PROJECT_ROOT.parent / "shared")
DEV_SET = SHARED / "eval" / "topic-dev" / "dev.jsonl"
FIXTURE = event_eval.FIXTURE


def facts(story_id, day, title="", pairs=(), types=(), agreements=()):
    pairs = frozenset(tuple(sorted(p)) for p in pairs)
    return events.StoryFacts(story_id=story_id, day=date(2024, 3, day), title=title,
                             parties=frozenset(c for p in pairs for c in p), pairs=pairs,
                             cooperation_types=frozenset(types), agreements=frozenset(agreements))


def test_rules_link_and_keep_apart():
    qz_hs = [("330800", "341000")]
    a = facts(1, 20, "四省四市签订共同管辖执法协作框架协议", qz_hs, ["framework_agreement"], ["四省四市毗邻区域共同管辖执法协作框架协议"])
    b = facts(2, 21, "衢州黄山南平上饶城管首次联席会议", qz_hs, ["meeting"], ["四省四市毗邻区域共同管辖执法协作框架协议"])
    c = facts(3, 21, "衢州与黄山共建旅游联盟", qz_hs, ["framework_agreement"])
    d = facts(4, 28, "衢州与黄山共建旅游联盟", qz_hs, ["framework_agreement"])
    e = facts(5, 20, "第七届长三角一体化发展高层论坛举行")
    f = facts(6, 21, "第六届长三角一体化发展高层论坛举行")
    assert events.link_reasons(a, b) == ["agreement"]
    assert events.link_reasons(a, c) == ["parties"]
    assert events.link_reasons(c, d) == []                 # same parties and title, a week apart
    assert events.link_reasons(e, f) == []                 # one character apart: another forum
    assert events.link_reasons(facts(7, 1, "两地签署合作协议"), facts(8, 2, "两地签署合作协议")) == ["title"]
    assert events.link_reasons(a, facts(9, 20, agreements=["合作协议"])) == []   # too generic to link
    found = {e.event_id: sorted(s.story_id for s in e.stories) for e in events.link_events([a, b, c, d, e, f])}
    assert found == {1: [1, 2, 3], 4: [4], 5: [5], 6: [6]}


def test_links_chain_but_an_event_spans_at_most_event_days():
    # A plan cited day after day: every neighbour pair is linked, but the reports of day 1 and the
    # briefing of day 4 are two events of one component.
    plan = ["粤港澳大湾区发展规划纲要"]
    stories = [facts(1, 1, "纲要公布", agreements=plan), facts(2, 2, "港府回应", agreements=plan),
               facts(3, 3, "各界热议", agreements=plan), facts(4, 4, "纲要宣讲会举行", agreements=plan)]
    found = events.link_events(stories)
    assert [sorted(s.story_id for s in e.stories) for e in found] == [[1, 2, 3], [4]]
    assert {e.component_id for e in found} == {1}
    assert events.link_events(stories[3:])[0].component_id == 4
    assert events.link_reasons(stories[0], stories[3]) == []          # more than EVENT_DAYS apart


def test_agreement_names_are_folded_and_generic_ones_name_nothing():
    key = events.agreement_key
    assert key("粵港澳大灣區發展規劃綱要") == key("粤港澳大湾区发展规划纲要") != ""
    assert key("现代化首都都市圈空间协同规划（2023—2035年）") == key("现代化首都都市圈空间协同规划")
    assert key("深化粤港澳合作 推进大湾区建设框架协议") == key("深化粤港澳合作推进大湾区建设框架协议")
    assert key("战略合作框架协议") == key("关于深化合作的意见") == key("合作协议") == ""
    a, b = facts(1, 1, agreements=["战略合作框架协议"]), facts(2, 1, agreements=["战略合作框架协议"])
    assert events.link_reasons(a, b) == []


def test_titles_compare_without_their_column_tag_and_across_scripts():
    assert events.title_bigrams("【新思想引领新征程】共下一盘棋") == events.title_bigrams("共下一盘棋")
    assert events.title_bigrams("林鄭談大灣區") == events.title_bigrams("林郑谈大湾区")
    series = [facts(1, 1, "【新思想引领新征程】长三角一体化谱新篇"), facts(2, 1, "【新思想引领新征程】成渝双城谱新篇")]
    assert events.link_reasons(*series) == []


def test_pair_scores():
    a, b, c = facts(1, 1), facts(2, 1), facts(3, 1)
    predicted = [events.Event(1, [a, b]), events.Event(3, [c])]
    assert events.pair_scores(predicted, {1: "x", 2: "x", 3: "x"}) == {
        "true_pairs": 3, "linked_pairs": 1, "correct_pairs": 1, "precision": 1.0, "recall": 0.333}
    assert events.pair_scores(predicted, {1: "x", 2: "y", 3: "z"})["precision"] == 0.0


needs_dev_set = pytest.mark.skipif(not DEV_SET.exists(), reason="../shared/eval/topic-dev is not here")


def test_fixture_holds_ids_labels_and_the_hash_split_only():
    items = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))["articles"]
    assert len(items) >= 60 and len({item["id"] for item in items}) == len(items)
    for item in items:
        assert set(item) <= {"id", "split", "event", "date", "estimated"}, item
        assert item["split"] == event_eval.split_of(item["id"]), item      # fixed by the id, not chosen
        assert isinstance(item["date"], date)


@needs_dev_set
@pytest.mark.parametrize("split, same_day, min_precision, min_recall, min_b3_precision", [
    ("develop", False, 0.9, 0.9, 0.95),
    ("develop", True, 0.5, 0.9, 0.85),        # no dates to help: content alone keeps events apart
    ("held_out", False, 0.0, 0.0, 0.95),      # one true pair only: B-cubed precision says most
])
def test_event_linking_on_labelled_real_texts(split, same_day, min_precision, min_recall, min_b3_precision):
    scores = event_eval.score(event_eval.labelled_stories(DEV_SET), split, same_day=same_day)
    print("event linking on", split, "same day" if same_day else "dated", scores)
    assert scores["precision"] >= min_precision and scores["recall"] >= min_recall
    assert scores["b3_precision"] >= min_b3_precision


def test_bcubed_counts_every_story_once():
    a, b, c, d = facts(1, 1), facts(2, 1), facts(3, 1), facts(4, 1)
    found = [events.Event(1, [a, b, c]), events.Event(4, [d])]
    # true events {1, 2} and {3, 4}: stories 1, 2 precision 2/3, story 3 1/3, story 4 1/1; recall 1, 1, 1/2, 1/2
    assert event_eval.bcubed(found, {1: "x", 2: "x", 3: "y", 4: "y"}) == {"b3_precision": 0.667, "b3_recall": 0.75}


def test_demo_meeting_reported_by_two_outlets_is_one_event_of_two_stories(demo_settings):
    pipeline.ingest(demo_settings)
    with store.transaction(demo_settings) as conn:
        conn.exec_driver_sql("SET LOCAL ROLE mediamon_analyst")
        rows = conn.execute(sa.text(
            "SELECT event_id, stories, sites, agreements, linked_by, party_names FROM analyst.events "
            "WHERE stories > 1")).fetchall()
        assert len(rows) == 1, rows
        event = rows[0]
        assert event.stories == 2 and event.sites == 2
        assert "四省四市毗邻区域共同管辖执法协作框架协议" in event.agreements
        titles = {r.title for r in conn.execute(sa.text(
            "SELECT DISTINCT ea.title FROM analyst.event_articles ea WHERE ea.event_id = :e"), {"e": event.event_id})}
        assert any("衢州黄山南平上饶" in t for t in titles) and any("四省四市" in t for t in titles)
        singles = conn.execute(sa.text("SELECT count(*) FROM analyst.events WHERE stories = 1")).scalar()
        assert singles >= 1
    # Linking again changes nothing: the ingest linked every story.
    again = events_db.link_events(demo_settings)
    assert again.relinked_stories == 0 and again.events >= 2


# --- incremental linking ------------------------------------------------------------------------
# Our own short reports (not third-party texts): three outlets on one signing, one other event.
SIGNING = "《衢黄两地文旅协同发展合作协议》"
REPORTS = {
    "signing": ("2024-03-05", "衢州黄山签署文旅协同发展合作协议",
                f"3月5日，衢州市与黄山市在衢州召开两地文旅合作联席会议，双方签署{SIGNING}。根据协议，衢州与黄山将共同"
                "打造跨省旅游线路，互送客源，联合开展市场监管，推动两地文旅一体化发展。衢州市和黄山市有关负责人出席会议"
                "并讲话，表示两市将以协议签署为契机，深化合作。"),
    "second_outlet": ("2024-03-06", "两市携手共推跨省旅游一体化",
                      f"记者从黄山市文旅局获悉，黄山市与衢州市日前签订{SIGNING}，两地将在景区互惠、线路共建、宣传推介等"
                      "方面加强合作。黄山与衢州山水相连，此次签约标志着两市文旅合作进入新阶段，双方还商定建立联席会议制度，"
                      "每年轮流召开。"),
    "other_event": ("2024-03-25", "北京玉树对口支援工作对接会召开",
                    "3月25日，北京·玉树对口支援工作对接会在北京召开。北京市与玉树州双方表示，将进一步深化对口支援合作，"
                    "在产业、教育、医疗等领域加强协作。北京市有关负责人表示，北京将继续做好对口支援玉树工作，推动两地交流"
                    "交往。玉树州有关负责人介绍了对口支援工作情况。"),
    "third_outlet": ("2024-03-07", "衢黄文旅合作协议落地首批项目",
                     f"衢州市与黄山市签署{SIGNING}后，两地首批合作项目启动。衢州与黄山联合推出跨省精品旅游线路三条，并建立"
                     "客源互送机制。两市文旅部门负责人表示，将按照协议要求，深化两地合作，共同推动浙皖毗邻地区文旅一体化。"),
    "follow_up": ("2024-03-08", "浙皖两市文旅合作再添新举措",
                  f"据衢州日报报道，为落实{SIGNING}，衢州市文旅局与黄山市文旅局近日商定互认景区年卡，推出两市居民游览"
                  "对方景区优惠政策。衢州与黄山还将联合举办旅游推介活动，共同开拓长三角客源市场。"),
}


def add_reports(settings, *keys, days=None):
    """Load reports as fetched articles (dated as ``days`` says, else as written), then run the
    stages after loading (stories, classification)."""
    from mediamon import classify_db, dedupe_db

    with store.transaction(settings) as conn:
        conn.execute(sa.text("INSERT INTO sources (source_id, name, language, kind, url) VALUES "
                             "('own', 'own reports', 'zh', 'page', 'http://127.0.0.1/') ON CONFLICT DO NOTHING"))
        for key in keys:
            day, title, text = REPORTS[key]
            day = (days or {}).get(key, day)
            url = f"http://127.0.0.1/{key}"
            url_id = conn.execute(sa.text("INSERT INTO urls (canonical_url, source_id, host, status) "
                                          "VALUES (:url, 'own', '127.0.0.1', 'fetched') RETURNING url_id"),
                                  {"url": url}).scalar()
            conn.execute(sa.text(
                "INSERT INTO articles (url_id, canonical_url, source_id, site, title, text, published_at, "
                "text_sha256, extractor_version) VALUES (:url_id, :url, 'own', :site, :title, :text, "
                "CAST(:day AS date) + time '10:00' AT TIME ZONE 'Asia/Shanghai', :sha, 'test')"),
                {"url_id": url_id, "url": url, "site": f"{key}.example", "title": title, "text": text, "day": day,
                 "sha": key})
    dedupe_db.link_exact_duplicates(settings)
    dedupe_db.assign_stories(settings)
    classify_db.classify_articles(settings)


def event_rows(settings) -> list[tuple]:
    with store.transaction(settings) as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT e.*, array_agg(es.story_id ORDER BY es.story_id) FROM events e "
            "JOIN event_stories es USING (topic_id, event_id) GROUP BY e.topic_id, e.event_id ORDER BY e.event_id"))]


def story_of(settings, key) -> int:
    with store.transaction(settings) as conn:
        return conn.execute(sa.text("SELECT story_id FROM analyst.articles WHERE canonical_url = :u"),
                            {"u": f"http://127.0.0.1/{key}"}).scalar()


def rebuilt_from_scratch(settings) -> list[list[int]]:
    """What linking every relevant story at once makes of the database's facts now."""
    with store.transaction(settings) as conn:
        facts = events_db.story_facts(conn, "regional_cooperation", set(), date(1900, 1, 1), date(2100, 1, 1))
    return sorted(sorted(s.story_id for s in e.stories) for e in events.link_events([f for f, _ in facts.values()]))


def test_linking_is_incremental_and_agrees_with_a_rebuild(settings):
    pipeline.migrate(settings)
    add_reports(settings, "signing", "second_outlet", "other_event")
    first = events_db.link_events(settings)
    assert (first.stories, first.events, first.linked_events, first.relinked_stories) == (3, 2, 1, 3)
    signing, second, other = (story_of(settings, k) for k in ("signing", "second_outlet", "other_event"))
    before = event_rows(settings)
    assert [row[-1] for row in before] == sorted([sorted([signing, second]), [other]])

    # A second run with no new story reads the fingerprints and writes nothing.
    again = events_db.link_events(settings)
    assert again.relinked_stories == 0 and again.events == first.events
    assert event_rows(settings) == before                 # same rows, same updated_at

    # A third outlet's report joins the event; the other event is not touched.
    add_reports(settings, "third_outlet")
    grown = events_db.link_events(settings)
    third = story_of(settings, "third_outlet")
    assert grown.relinked_stories == 3 and (grown.events, grown.linked_events, grown.stories) == (2, 1, 4)
    after = {row[-1][0]: row for row in event_rows(settings)}
    assert after[min(signing, second)][-1] == sorted([signing, second, third])
    assert after[other] == next(row for row in before if row[-1] == [other])
    assert sorted(row[-1] for row in after.values()) == rebuilt_from_scratch(settings)

    # A story that stops being relevant leaves its event; the event keeps its id.
    with store.transaction(settings) as conn:
        conn.execute(sa.text("UPDATE article_topics SET relevant = false WHERE article_id = "
                             "(SELECT article_id FROM article_stories WHERE story_id = :s)"), {"s": second})
    shrunk = events_db.link_events(settings)
    assert shrunk.stories == 3 and shrunk.relinked_stories == 2
    assert sorted(row[-1] for row in event_rows(settings)) == rebuilt_from_scratch(settings)
    assert sorted([signing, third]) in [row[-1] for row in event_rows(settings)]


def test_a_new_story_that_shifts_a_chain_relinks_the_whole_component(settings):
    # One agreement reported on days 3, 5 and 6: links 3-5 and 5-6, events {3, 5} and {6} (the span
    # guard). A report of day 2 takes day 3's story into its event, which frees day 5's for day 6's:
    # events {2, 3} and {5, 6}. Only the widening window reaches day 6 from day 2.
    pipeline.migrate(settings)
    dated = {"signing": "2024-03-03", "second_outlet": "2024-03-05", "third_outlet": "2024-03-06",
             "follow_up": "2024-03-02"}
    add_reports(settings, "signing", "second_outlet", "third_outlet", days=dated)
    events_db.link_events(settings)
    d3, d5, d6 = (story_of(settings, k) for k in ("signing", "second_outlet", "third_outlet"))
    assert sorted(row[-1] for row in event_rows(settings)) == sorted([sorted([d3, d5]), [d6]])
    add_reports(settings, "follow_up", days=dated)
    assert events_db.link_events(settings).relinked_stories == 4
    d2 = story_of(settings, "follow_up")
    assert sorted(row[-1] for row in event_rows(settings)) == sorted([sorted([d2, d3]), sorted([d5, d6])])
    assert sorted(row[-1] for row in event_rows(settings)) == rebuilt_from_scratch(settings)


def test_events_linked_before_migration_016_are_relinked_once(settings):
    pipeline.migrate(settings)
    add_reports(settings, "signing", "second_outlet", "other_event")
    events_db.link_events(settings)
    linked = sorted(row[-1] for row in event_rows(settings))
    with store.transaction(settings) as conn:       # what rows of migration 011 look like
        conn.execute(sa.text("UPDATE event_stories SET facts_md5 = NULL, component_id = NULL"))
        conn.execute(sa.text("UPDATE events SET story_count = NULL"))
    assert events_db.link_events(settings).relinked_stories == 3
    assert sorted(row[-1] for row in event_rows(settings)) == linked
    assert events_db.link_events(settings).relinked_stories == 0
