"""Choosing the main text between trafilatura's two modes on evidence (extract/candidates.py): the
rule on candidates' lines, the doubt test that decides whether a second candidate is made, and the
whole stage on small pages written here where one mode fails."""
from __future__ import annotations

import json
from dataclasses import replace

from extract_fixtures import PARAGRAPHS
from mediamon.evaluation.extract import evaluate_extract, format_extract_report
from mediamon.extract import clean_lines, extract
from mediamon.extract.candidates import (
    Comparison,
    compare,
    doubtful,
    evidence,
    is_chrome,
    second_wins,
    with_interior_prose,
)
from mediamon.settings import ExtractSettings

SETTINGS = ExtractSettings()

TEASER = [
    "After six hours of debate the council said yes to the harbour plan, and the old docks may see "
    "container ships again within two years.",
    "Residents remain divided: the terminal brings jobs, but also night shifts, noise and a costly dredging "
    "of the old channel that opponents would rather spend on trams.",
    "The mayor hopes to break ground next spring, while environmental groups want a study of the estuary "
    "first and are ready to go to court for one.",
    "Read the full report on the vote, the funding and the court case environmental groups are preparing.",
]
ZH_PARAGRAPHS = [
    "长三角三省一市今天签署协议，共同建设跨省产业园区，首批项目总投资超过百亿元，涉及新能源和集成电路。",
    "两地合作始于二〇一八年，当年签署的框架协议确定了交通、产业和生态三个重点领域，此后每年召开联席会议。",
    "按照协议，园区将由两地共同管理，税收按比例分成，企业可以在两地同时享受人才和土地政策。",
    "专家认为，这种跨省共建模式有望在更多地区推广，为区域一体化提供新的经验，也为企业跨省经营减少了障碍。",
]
# A column of other stories with their dates and channels: longer than a link label, never a sentence.
ZH_HEADLINES = [f"第{n}期：沪苏同城化再提速，示范区建设取得新进展，两地签署人才协议 2024-03-{n:02d} 1{n % 10}:28 长三角"
                for n in range(1, 13)]
NAVIGATION = "".join(f'<li><a href="/section/{i}">Section number {i} of the site</a></li>' for i in range(60))


def english_page(body_html: str) -> bytes:
    return (f"<!DOCTYPE html><html><head><title>Harbour plan approved</title></head><body>"
            f"<ul class='menu'>{NAVIGATION}</ul><h1>Harbour plan approved</h1>{body_html}"
            "<footer><p>Contact the newsroom</p></footer></body></html>").encode()


def chinese_page(body_html: str) -> bytes:
    return ("<html><head><meta charset='utf-8'><title>跨省共建产业园</title></head><body>"
            f"<div class='main'><h1>跨省共建产业园</h1>{body_html}</div></body></html>").encode()


def paragraphs(lines: list[str]) -> str:
    return "".join(f"<p>{line}</p>" for line in lines)


# --- the rule --------------------------------------------------------------------------------------

def test_the_article_wins_over_a_reprint_notice_or_a_teaser_in_either_position():
    notice = ["This article is reprinted with permission; all rights remain with the publisher."]
    article = ["Harbour plan approved", *PARAGRAPHS, *notice]
    assert compare(notice, article, SETTINGS).second_chosen
    assert not compare(article, notice, SETTINGS).second_chosen
    teaser = PARAGRAPHS[:3]  # 60 % of the article: the rest adds two paragraphs
    comparison = compare(teaser, PARAGRAPHS, SETTINGS)
    assert comparison.second_chosen and comparison.second_added_prose_lines == 2
    assert comparison.first_added_prose_lines == 0


def test_when_neither_adds_prose_the_shorter_wins_as_the_rest_is_chrome():
    captions = [*PARAGRAPHS[:3], "Harbour plan approved", "The old docks in 2019. Photo: Archive",
                "2019-11-19T08:57:40+01:00", "https://example.org/images/docks.jpg"]
    assert compare(captions, PARAGRAPHS[:3], SETTINGS).second_chosen  # the first had the chrome
    assert not compare(PARAGRAPHS[:3], captions, SETTINGS).second_chosen
    assert compare(ZH_PARAGRAPHS + ZH_HEADLINES, ZH_PARAGRAPHS, SETTINGS).second_chosen
    # The same blocks three times over (a page rendering its teaser cards twice) add no new prose.
    assert not compare(PARAGRAPHS[:2], [*PARAGRAPHS[:2], *PARAGRAPHS[2:3] * 3], SETTINGS).second_chosen


def test_a_near_empty_candidate_never_wins_and_an_empty_first_loses():
    # Precision mode empties old table-layout pages: nothing of the first is lost by keeping it.
    assert not compare(ZH_PARAGRAPHS, ["跨省共建产业园"], SETTINGS).second_chosen
    assert compare([], ZH_PARAGRAPHS[:2], SETTINGS).second_chosen
    assert not compare([], ZH_PARAGRAPHS[0][:30], SETTINGS).second_chosen  # neither is an article


def test_a_little_added_prose_keeps_the_first_and_the_gain_decides_the_middle():
    # Two related-story blurbs (prose) after a long article: not enough to trade the first for them.
    related = [*PARAGRAPHS, *TEASER[:2]]
    comparison = compare(PARAGRAPHS, related, SETTINGS)
    assert not comparison.second_chosen
    assert comparison.second_added_prose_lines == 2
    # The same comparison under a gain low enough to take it (the leave-one-set-out view re-runs this).
    assert second_wins(comparison, gain=0.1, min_added_lines=2, min_text_chars=50)
    assert not second_wins(comparison, gain=0.5, min_added_lines=3, min_text_chars=50)


def test_comparisons_are_plain_numbers():
    comparison = compare(PARAGRAPHS[:3], PARAGRAPHS, SETTINGS)
    assert Comparison(**vars(comparison)) == comparison
    assert comparison.first_chars == sum(map(len, PARAGRAPHS[:3]))


# --- the doubt test --------------------------------------------------------------------------------

def test_a_precision_text_is_doubted_when_short_or_with_few_paragraphs():
    article = evidence(PARAGRAPHS, page_chars=2000, settings=SETTINGS)
    assert article.prose_lines == 5 and article.chrome_share == 0.0
    assert not doubtful(article, True, SETTINGS)
    assert doubtful(evidence(PARAGRAPHS, page_chars=10_000, settings=SETTINGS), True, SETTINGS)  # < 20 % of the page
    assert not doubtful(evidence(PARAGRAPHS * 5, page_chars=50_000, settings=SETTINGS), True, SETTINGS)  # long enough
    assert doubtful(evidence(PARAGRAPHS[:2], page_chars=800, settings=SETTINGS), True, SETTINGS)  # two paragraphs


def test_a_balanced_text_is_doubted_for_chrome_or_the_whole_page_not_for_its_length():
    # Balanced mode already ran trafilatura's recall retry: shortness is no reason to look again.
    assert not doubtful(evidence(PARAGRAPHS[:2], page_chars=10_000, settings=SETTINGS), False, SETTINGS)
    with_chrome = evidence(ZH_PARAGRAPHS + ZH_HEADLINES, page_chars=3000, settings=SETTINGS)
    assert with_chrome.chrome_share > 0.5 and doubtful(with_chrome, False, SETTINGS)
    assert doubtful(evidence(PARAGRAPHS, page_chars=800, settings=SETTINGS), False, SETTINGS)  # 95 % of the page


def test_hard_wrapped_text_is_not_chrome_and_never_loses_to_a_shorter_candidate():
    # Old portals break paragraphs at a fixed width: short lines, most with a stop inside.
    text = "".join(ZH_PARAGRAPHS)
    wrapped = [text[i:i + 30] for i in range(0, len(text), 30)]
    assert not any(is_chrome(line, SETTINGS) for line in wrapped if "。" in line)
    assert evidence(wrapped, page_chars=1000, settings=SETTINGS).chrome_share < 0.5
    assert not compare(wrapped, wrapped[:2], SETTINGS).second_chosen
    assert all(is_chrome(headline, SETTINGS) for headline in ZH_HEADLINES)
    run = " ".join(ZH_HEADLINES[:3]) + "？" + " ".join(ZH_HEADLINES[3:6])
    assert is_chrome(run, SETTINGS)  # one stop in 300 characters of headlines


def test_prose_the_second_has_inside_the_shared_text_is_added_to_the_first():
    heading, caption = "Harbour plan approved", "Photo: the old docks"
    footer = "Sign up for our newsletter to get every story of the harbour debate in your inbox."
    first = [heading, PARAGRAPHS[0], PARAGRAPHS[2], PARAGRAPHS[3]]
    second = [heading, PARAGRAPHS[0], PARAGRAPHS[1], caption, PARAGRAPHS[2], PARAGRAPHS[4], PARAGRAPHS[3], footer]
    # Inside: the prose lines, in the second's order (not the caption); outside (the footer): no.
    assert with_interior_prose(first, second, SETTINGS) == [
        heading, PARAGRAPHS[0], PARAGRAPHS[1], PARAGRAPHS[2], PARAGRAPHS[4], PARAGRAPHS[3]]
    # When the first has a line the second lacks, the two took different parts of the page.
    assert with_interior_prose([*first, "Another story entirely."], second, SETTINGS) == [
        *first, "Another story entirely."]
    assert with_interior_prose(first, first, SETTINGS) == first


# --- the stage -------------------------------------------------------------------------------------

def test_a_teaser_kept_by_precision_mode_loses_to_the_article_on_the_page():
    # Precision mode drops blocks drawn with a border, and trafilatura's readability fallback
    # passes over an "extra" block: the standfirst above the article is then "the text".
    body = (f"<div class='standfirst'>{paragraphs(TEASER)}</div>"
            f"<div class='story-extra' style='border-top: 1px solid #ddd'>{paragraphs(PARAGRAPHS)}</div>")
    first_only = extract(english_page(body), settings=replace(SETTINGS, second_candidate="never"))
    assert PARAGRAPHS[0] not in first_only.text and TEASER[0] in first_only.text
    result = extract(english_page(body))
    assert result.main_text_candidate == "second"
    assert all(paragraph in result.text for paragraph in PARAGRAPHS)
    assert result.other_candidate == first_only.text


def test_a_paragraph_precision_mode_drops_inside_the_article_is_restored():
    # Precision mode deletes a short block holding a link (its link-density backtracking); a
    # single added paragraph is too little for the balanced text to win, but it sits between
    # paragraphs both texts have.
    linked = ("<div class='note'><p>The mayor's <a href='/statement'>full statement</a> on the vote was "
              "published the same night.</p></div>")
    body = "".join(f"<div><p>{p}</p></div>" for p in PARAGRAPHS[:2]) + linked + "".join(
        f"<div><p>{p}</p></div>" for p in PARAGRAPHS[2:])
    # Short next to the page's menus: doubtful (english_page has one menu, this page three).
    page = english_page(f"<ul>{NAVIGATION}</ul><ul>{NAVIGATION}</ul><article>{body}</article>")
    first_only = extract(page, settings=replace(SETTINGS, second_candidate="never"))
    assert "full statement" not in first_only.text
    result = extract(page)
    assert result.main_text_candidate == "first" and result.candidate_comparison is not None
    lines = result.text.split("\n")
    at = lines.index(PARAGRAPHS[1])
    assert lines[at:at + 3] == [
        PARAGRAPHS[1], "The mayor's full statement on the vote was published the same night.", PARAGRAPHS[2]]
    assert "Contact the newsroom" not in result.text


def test_a_column_of_other_stories_kept_by_balanced_mode_loses_to_the_article_alone():
    body = (f"<div class='content'>{paragraphs(ZH_PARAGRAPHS)}</div>"
            f"<div class='article-bottom'>{paragraphs(ZH_HEADLINES)}</div>")
    first_only = extract(chinese_page(body), settings=replace(SETTINGS, second_candidate="never"))
    assert ZH_HEADLINES[0] in first_only.text
    result = extract(chinese_page(body))
    assert result.main_text_candidate == "second" and result.lang == "zh"
    assert all(line in result.text for line in ZH_PARAGRAPHS)
    assert not any(headline in result.text for headline in ZH_HEADLINES)


def test_a_plain_article_pays_for_no_second_candidate_unless_told():
    page = english_page(f"<article>{paragraphs(PARAGRAPHS * 4)}</article>")
    result = extract(page)
    assert result.candidate_comparison is None and result.other_candidate is None
    always = extract(page, settings=replace(SETTINGS, second_candidate="always"))
    assert always.candidate_comparison is not None and always.main_text_candidate == "first"
    assert always.text == result.text


def test_eval_scores_both_candidates_for_the_leave_one_set_out_view(tmp_path):
    teaser_page = english_page(f"<div class='standfirst'>{paragraphs(TEASER)}</div><div class='story-extra' "
                               f"style='border-top: 1px solid #ddd'>{paragraphs(PARAGRAPHS)}</div>")
    for name in ("set-a", "set-b"):
        (tmp_path / name / "html").mkdir(parents=True)
        (tmp_path / name / "truth").mkdir()
        (tmp_path / name / "html" / "p1.html").write_bytes(teaser_page)
        (tmp_path / name / "truth" / "p1.json").write_text(json.dumps({"body": "\n".join(PARAGRAPHS)}))
    result = evaluate_extract(tmp_path)
    for scored in result["sets"]:
        assert scored["switched"] == 1 and scored["second_candidates"] == 1
        candidates = scored["pages"][0]["candidates"]
        assert candidates["second_f1"] > 0.7 > candidates["first_f1"]
        assert scored["loso"]["f1"] == candidates["second_f1"]  # every gain in the grid takes the article
    assert "1/1" in format_extract_report(result)


# --- cleanup that cuts ------------------------------------------------------------------------------

def test_a_related_heading_past_the_middle_cuts_headlines_but_not_paragraphs():
    lead = ZH_PARAGRAPHS * 2  # the heading stands at two thirds of the text
    background = ZH_PARAGRAPHS[:2]
    kept, _ = clean_lines("\n".join([*lead, "相关报道", *background]), SETTINGS)
    assert kept == [*lead, *background]  # only the heading went
    kept, _ = clean_lines("\n".join([*lead, "相关报道", *(h[:20] for h in ZH_HEADLINES[:4])]), SETTINGS)
    assert kept == lead
