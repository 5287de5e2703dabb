"""Stories: near-duplicate fingerprints, clustering, canonical article, spam flags, evaluation."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import opencc
import pytest

from dedupe_helpers import FIXTURES, add_article, distinct_texts, later, seed_paragraphs, spam_flags, story_of
from mediamon import dedupe, dedupe_db, extract, pipeline, store
from mediamon.evaluation.dedupe import evaluate_dedupe, format_dedupe_report, pairwise_scores
from mediamon.settings import DedupeSettings

CFG = DedupeSettings()
GNE_ZH = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "gne-zh"


def shingle_set(text: str):
    return dedupe.shingles(dedupe.tokens(text), CFG)


# --- fingerprints --------------------------------------------------------------------------------

def test_traditional_full_width_and_punctuation_variants_fingerprint_alike():
    text = "\n".join(seed_paragraphs("001"))
    variant = opencc.OpenCC("s2t").convert(text).replace(",", "，").replace("2010", "２０１０") + "\n\n"
    assert dedupe.tokens(variant) == dedupe.tokens(text)
    variant_print, text_print = dedupe.fingerprint(variant, CFG), dedupe.fingerprint(text, CFG)
    assert variant_print.band_keys == text_print.band_keys
    assert list(variant_print.shingles) == list(text_print.shingles)


def test_a_leading_headline_line_is_not_part_of_the_fingerprint():
    body = "\n".join(seed_paragraphs("000"))
    assert dedupe.tokens("四地市签订协议\n" + body) == dedupe.tokens(body)
    # A first line that is a sentence stays.
    assert dedupe.tokens(body)[:5] != dedupe.tokens("\n".join(seed_paragraphs("000")[1:]))[:5]


def test_cjk_text_is_shingled_by_characters_and_other_scripts_by_words():
    def hashes(text):
        return set(shingle_set(text).tolist())

    # 6 characters: two 5-character shingles, the first shared with the 5-character text alone.
    assert len(hashes("长三角一体化")) == 2 and hashes("长三角一体") < hashes("长三角一体化")
    assert hashes("长三角一体") != hashes("三角一体化")
    english = hashes("The four cities will share resources.")
    assert len(english) == 4 and hashes("four cities will") < english
    assert hashes("The Four cities, will") == hashes("the four cities will")  # case and punctuation
    assert not hashes("four cities share") & english  # word order matters
    assert len(hashes("长三角")) == 1 and not len(shingle_set("，。"))


def test_containment_measures_the_shorter_text_inside_the_longer():
    text = "\n".join(seed_paragraphs("002"))
    padded = "来源：红网\n" + text + "\n声明：本站转载文章仅供参考。相关链接：长沙新闻、湖南新闻、更多新闻"
    truncated = text[: len(text) // 3] + "……点击阅读全文"
    assert dedupe.containment(shingle_set(text), shingle_set(padded))[0] == 1.0
    share, shared = dedupe.containment(shingle_set(truncated), shingle_set(text))
    assert share > 0.95 and shared > 100
    other = "\n".join(seed_paragraphs("004"))
    assert dedupe.containment(shingle_set(text), shingle_set(other))[0] < 0.1


def test_copies_share_lsh_bands_and_unrelated_texts_do_not():
    text = "\n".join(seed_paragraphs("002"))
    copy = dedupe.fingerprint("本报讯 " + text[40:] + "\n（来源：红网）", CFG)
    truncated = dedupe.fingerprint(text[: len(text) // 4] + "\n点击阅读全文", CFG)
    original = dedupe.fingerprint(text, CFG)
    assert set(copy.band_keys) & set(original.band_keys)
    assert set(truncated.band_keys[CFG.lsh_bands:]) & set(original.band_keys[CFG.lsh_bands:])
    unrelated = dedupe.fingerprint("\n".join(seed_paragraphs("004")), CFG)
    assert not set(unrelated.band_keys) & set(original.band_keys)
    assert len(original.band_keys) == CFG.lsh_bands + CFG.lead_lsh_bands
    assert dedupe.fingerprint("，。", CFG).band_keys == ()


# --- clustering ----------------------------------------------------------------------------------

def test_every_article_gets_one_story_and_copies_share_it(settings):
    text = "\n".join(seed_paragraphs("001"))
    original = add_article(settings, "news.example:80", "a.html", text, published_at=later(0))
    repost = add_article(settings, "repost.example:80", "b.html", "来源：中国新闻网\n" + text, published_at=later(20))
    traditional = add_article(settings, "tw.example:80", "c.html", opencc.OpenCC("s2t").convert(text),
                              published_at=later(30))
    other = add_article(settings, "news.example:80", "d.html", "\n".join(seed_paragraphs("002")), published_at=later(1))
    counts = dedupe_db.assign_stories(settings)
    assert counts.assigned == 4 and counts.new_stories == 2
    stories = story_of(settings)
    assert stories[original] == stories[repost] == stories[traditional] != stories[other]
    with store.transaction(settings) as conn:
        row = conn.exec_driver_sql("SELECT * FROM stories WHERE story_id = %s", (stories[original],)).one()
    assert (row.canonical_article_id, row.article_count, row.source_count) == (original, 3, 3)
    assert (row.first_seen, row.last_seen) == (later(0), later(30))
    # A second run finds nothing to do; a new copy joins the existing story.
    assert dedupe_db.assign_stories(settings).assigned == 0
    late = add_article(settings, "late.example:80", "e.html", text[: len(text) // 2] + "点击阅读全文", published_at=later(50))
    assert dedupe_db.assign_stories(settings).new_stories == 0
    assert story_of(settings)[late] == stories[original]


def test_same_site_template_boilerplate_does_not_join_different_articles(settings):
    boilerplate = ("\n免责声明：本站部分文章、图片来源于网络，版权归原作者所有，转载目的在于传递更多信息，并不代表本站赞同其观点"
                   "和对其真实性负责。如涉及作品内容、版权和其它问题，请在三十日内与本站联系，我们将在第一时间删除内容。"
                   "本站原创文章未经许可不得转载，违者本站将依法追究其法律责任。投稿邮箱：news@example.invalid。")
    texts = distinct_texts()[:3]
    ids = [add_article(settings, "template.example:80", f"{i}.html", t + boilerplate) for i, t in enumerate(texts)]
    copy = add_article(settings, "copy.example:80", "0.html", "转载：" + texts[0])
    dedupe_db.assign_stories(settings)
    stories = story_of(settings)
    assert len({stories[i] for i in ids}) == 3
    assert stories[copy] == stories[ids[0]]


def test_an_article_bridging_two_stories_merges_them_into_the_older(settings):
    first, second = distinct_texts()[0], distinct_texts()[5]
    a = add_article(settings, "a.example:80", "a.html", first)
    b = add_article(settings, "b.example:80", "b.html", second)
    dedupe_db.assign_stories(settings)
    before = story_of(settings)
    assert before[a] != before[b]
    digest = add_article(settings, "c.example:80", "c.html", first + "\n" + second)
    counts = dedupe_db.assign_stories(settings)
    after = story_of(settings)
    assert counts.merged_stories == 1
    assert after[a] == after[b] == after[digest] == min(before[a], before[b])
    assert dedupe_db.story_counts(settings)["stories"] == 1


def test_rebuild_gives_the_same_stories_with_the_same_ids(settings):
    texts = distinct_texts()[:4]
    for i, text in enumerate(texts * 2):
        add_article(settings, f"site{i}.example:80", f"{i}.html", ("来源：新华网\n" if i >= 4 else "") + text,
                    published_at=later(i))
    dedupe_db.assign_stories(settings)
    first = story_of(settings)
    counts = dedupe_db.rebuild_stories(settings)
    assert counts.assigned == 8 and counts.new_stories == 4
    assert story_of(settings) == first
    # A threshold no copy reaches splits every story: the rebuild follows the settings.
    strict = replace(settings, dedupe=replace(settings.dedupe, min_shared_shingles=10**6))
    assert dedupe_db.rebuild_stories(strict).new_stories == 8


def test_partial_copies_crawled_before_their_original_are_one_story_and_not_spam(settings):
    text = "\n".join(seed_paragraphs("002"))
    sentences = re.findall(r"[^。]+。?", text)
    half = len(sentences) // 2
    truncated_text = "".join(sentences[:half]) + "……点击阅读全文"
    dropped_text = "".join(sentences[:3] + sentences[half:])  # the rest of the first half dropped
    share = dedupe.containment(shingle_set(truncated_text), shingle_set(dropped_text))[0]
    assert CFG.spun_min_containment <= share < CFG.min_containment
    back = add_article(settings, "b.example:80", "d.html", dropped_text, published_at=later(2))
    truncated = add_article(settings, "a.example:80", "t.html", truncated_text, published_at=later(3))
    dedupe_db.assign_stories(settings)
    # Alone, the two look like a rewrite of one another: the later is flagged...
    assert spam_flags(settings) == {back: False, truncated: True}
    original = add_article(settings, "news.example:80", "o.html", text, published_at=later(0))
    dedupe_db.assign_stories(settings)
    stories = story_of(settings)
    assert stories[truncated] == stories[back] == stories[original]
    # ...until the original shows they are two partial copies of one text.
    assert not any(spam_flags(settings).values())


# --- canonical article ---------------------------------------------------------------------------

def test_canonical_is_the_article_an_attribution_points_at_even_if_published_later(settings):
    text = "\n".join(seed_paragraphs("000"))
    early_copy = add_article(settings, "copy.example:80", "x.html", text, published_at=later(0),
                             source_attribution="http://news.example:80/orig.html")
    original = add_article(settings, "news.example:80", "orig.html", text + "\n责任编辑：张三", published_at=later(5))
    by_name = add_article(settings, "other.example:80", "y.html", text, published_at=later(1), source_attribution="中国新闻网")
    dedupe_db.assign_stories(settings)
    with store.transaction(settings) as conn:
        canonical = conn.exec_driver_sql("SELECT canonical_article_id FROM stories").scalar_one()
    assert canonical == original and by_name != original and early_copy != original


def test_canonical_falls_back_to_site_name_then_date_then_trust(settings):
    text, second, third = distinct_texts()[:3]
    named = add_article(settings, "cn.example:80", "n.html", text, site_name="中国新闻网", published_at=later(9))
    add_article(settings, "r.example:80", "r.html", text, source_attribution="中国新闻网", published_at=later(1))
    earliest = add_article(settings, "e.example:80", "e.html", second, published_at=later(1))
    add_article(settings, "f.example:80", "f.html", second, published_at=later(2))
    add_article(settings, "low.example:80", "l.html", third, trust=0.1)
    trusted = add_article(settings, "high.example:80", "h.html", third, trust=0.9)
    dedupe_db.assign_stories(settings)
    with store.transaction(settings) as conn:
        canonicals = set(conn.exec_driver_sql("SELECT canonical_article_id FROM stories").scalars())
    assert canonicals == {named, earliest, trusted}


# --- the demo site, through the real pipeline ----------------------------------------------------

def test_demo_site_reposts_join_their_originals_and_the_spam_copy_is_flagged(demo_settings):
    run = pipeline.ingest(demo_settings)  # ingest assigns stories as one of its steps
    assert run.new_stories >= 8
    assert dedupe_db.assign_stories(demo_settings).assigned == 0
    with store.transaction(demo_settings) as conn:
        articles = {row.canonical_url.split("/", 3)[3]: row for row in conn.exec_driver_sql(
            "SELECT a.article_id, a.canonical_url, a.story_id, a.is_spam, a.spam_evidence, s.canonical_article_id,"
            " s.source_count FROM analyst.articles a JOIN stories s USING (story_id)")}
    for original, repost in (("sh/2024/03-20/10183903.shtml", "2024/03/21/quadripartite-urban-management-collaboration/"),
                             ("sh/2024/03-15/10181180.shtml", "2024/03/16/beijing-yushu-pair-up-assistance/")):
        assert articles[original].story_id == articles[repost].story_id
        assert articles[repost].canonical_article_id == articles[original].article_id
        assert articles[repost].source_count == 2
    spam = articles["beijingxinwen/2021/0623/2143.html"]
    assert spam.is_spam
    evidence = {(e["rule"], e.get("field"), e.get("keyword")) for e in spam.spam_evidence}
    assert ("spam_keyword", "breadcrumb", "代孕") in evidence and ("spam_keyword", "page_title", "代怀") in evidence
    assert any(e["rule"] == "reading_time_stamp" for e in spam.spam_evidence)
    assert sum(row.is_spam for row in articles.values()) == 1
    assert len({row.story_id for row in articles.values()}) == len(articles) - 2


def test_spam_rules_report_their_evidence():
    page = extract.extract("<html><head><title>北京代孕费用</title></head><body><div class='breadcrumb'>"
                           "首页 &gt; 博彩资讯</div><p>正文</p></body></html>".encode())
    assert page.page_fields["breadcrumb"] == "首页 > 博彩资讯"
    evidence = dedupe.spam_evidence("新闻", None, "本篇文章2413字,读完约6分钟\n正文", page.page_fields, CFG)
    assert {"rule": "spam_keyword", "field": "page_title", "keyword": "代孕"} in evidence
    assert {"rule": "spam_keyword", "field": "breadcrumb", "keyword": "博彩"} in evidence
    assert {"rule": "reading_time_stamp", "match": "本篇文章2413字,读完约6分钟"} in evidence
    assert dedupe.spam_evidence("四省四市签订协议", "中国新闻网", "正文", {"breadcrumb": "首页 > 新闻"}, CFG) == []
    assert dedupe.spam_evidence("四省四市签订协议", None, "正文", None, CFG) == []


def spin(text: str) -> str:
    """Every other sentence with every fourth character swapped, as a spinning tool's synonyms do."""
    sentences = re.findall(r"[^。]+。?", text)
    return "".join("".join(chr(ord(c) + 1) if j % 4 == 3 and "\u4e00" <= c <= "\u9fff" else c
                           for j, c in enumerate(s)) if i % 2 == 0 else s
                   for i, s in enumerate(sentences))


def test_a_rewritten_copy_of_an_earlier_article_is_flagged_as_spun(settings):
    text = "\n".join(seed_paragraphs("002"))
    spun = spin(text)
    # The copy is crawled first; its later date still makes it the copy.
    copy = add_article(settings, "spam.example:80", "s.html", spun, published_at=later(24))
    original = add_article(settings, "news.example:80", "o.html", text, published_at=later(0))
    dedupe_db.assign_stories(settings)
    with store.transaction(settings) as conn:
        row = conn.exec_driver_sql("SELECT story_id, is_spam, spam_evidence FROM analyst.articles WHERE article_id = %s",
                                   (copy,)).one()
    share = dedupe.containment(shingle_set(text), shingle_set(spun))[0]
    assert CFG.spun_min_containment <= share < CFG.min_containment
    assert row.is_spam and row.spam_evidence[0]["rule"] == "spun_copy"
    assert row.spam_evidence[0]["of_article_id"] == original
    assert row.story_id != story_of(settings)[original]
    assert not spam_flags(settings)[original]


# --- evaluation ----------------------------------------------------------------------------------

def test_pairwise_scores_count_pairs():
    truth = [["a", "b", "c"], ["d"]]
    scores = pairwise_scores(truth, {"a": 1, "b": 1, "c": 2, "d": 2})
    assert (scores["precision"], scores["recall"]) == (0.5, round(1 / 3, 4))
    assert pairwise_scores(truth, {"a": 1, "b": 1, "c": 1, "d": None})["f1"] == 1.0


def test_dev_set_meets_the_targets(server_url):
    result = evaluate_dedupe(FIXTURES / "dedupe", server_url)
    report = format_dedupe_report(result)
    assert result["precision"] >= 0.98 and result["recall"] >= 0.95, report
    assert result["spam"] == [], report  # a truncated copy and one with sentences dropped are no spun copies
    clusters = json.loads((FIXTURES / "dedupe" / "clusters.json").read_text(encoding="utf-8"))
    assert result["clusters"] == len(clusters) and set(result["assignments"]) == {f for c in clusters for f in c}


@pytest.mark.skipif(not (GNE_ZH / "html").is_dir(), reason="../shared/corpus/gne-zh is not here")
def test_gne_zh_two_captures_of_one_article_are_one_story(server_url):
    result = evaluate_dedupe(GNE_ZH, server_url, clusters_path=FIXTURES / "dedupe_gne_zh_clusters.json")
    assert result["assignments"]["thepaper_2.html"] == result["assignments"]["thepaper_4.html"]
    assert result["precision"] == 1.0 and result["recall"] == 1.0, format_dedupe_report(result)


def test_a_late_copy_that_backdates_itself_does_not_become_canonical(settings):
    """The attacker's copy appears three days after the original with a JSON-LD date a year
    earlier. The date is the page's word only; when we first saw it is ours."""
    text = "\n".join(seed_paragraphs("001"))
    original = add_article(settings, "news.example:80", "o.html", text, published_at=later(0))
    backdated = add_article(settings, "evil.example:80", "e.html", text + "\n编辑：某", published_at=later(-24 * 365))
    with store.transaction(settings) as conn:
        conn.exec_driver_sql("UPDATE articles SET created_at = created_at + interval '3 days' WHERE article_id = %s",
                             (backdated,))
    dedupe_db.assign_stories(settings)
    stories = story_of(settings)
    assert stories[original] == stories[backdated]
    with store.transaction(settings) as conn:
        canonical = conn.exec_driver_sql("SELECT canonical_article_id FROM stories").scalar_one()
    assert canonical == original
