"""The extract stage on hand-built Chinese news pages (tests/fixtures/extract/, built around seeds/*.txt)."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from mediamon.evaluation.extract import evaluate_extract, format_extract_report, precision_recall_f1
from mediamon.extract import SHANGHAI, clean_lines, clean_title, decode_html, extract, parse_date
from mediamon.settings import PROJECT_ROOT, ExtractSettings

FIXTURES = Path(__file__).parent / "fixtures" / "extract"


def page(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- decoding ---------------------------------------------------------------------------------------

def test_gbk_page_served_as_utf8_is_decoded_as_gb18030():
    text, encoding = decode_html(page("friendship_gbk.html"), declared_charset="utf-8")
    assert encoding == "gb18030"
    assert "来自13个友好城市的代表" in text


def test_utf8_bytes_win_over_a_legacy_declaration():
    body = '<html><head><meta charset="gb2312"></head><body><p>长三角一体化发展</p></body></html>'.encode()
    assert decode_html(body, declared_charset="gbk") == (body.decode(), "utf-8")


def test_gb2312_declaration_is_widened_to_gb18030_for_gbk_only_characters():
    body = '<meta charset="gb2312"><p>镕基与喆</p>'.encode("gbk")  # 镕 and 喆 are outside GB2312
    text, encoding = decode_html(body)
    assert encoding == "gb18030" and "镕基与喆" in text


def test_byte_order_mark_and_undeclared_gbk():
    assert decode_html(b"\xef\xbb\xbf<p>\xe4\xb8\xad</p>", declared_charset="gbk") == ("<p>中</p>", "utf-8")
    assert decode_html("\ufeff<p>中</p>".encode("utf-16-le"), declared_charset="utf-8") == ("<p>中</p>", "utf-16-le")
    assert decode_html('<meta charset="utf-16"><p>中</p>'.encode()) == ('<meta charset="utf-16"><p>中</p>', "utf-8")
    undeclared = ("<p>" + "城市群合作框架协议正式签订。" * 5 + "</p>").encode("gbk")
    assert decode_html(undeclared)[0].startswith("<p>城市群合作")


def test_decoding_never_raises_on_garbage():
    text, encoding = decode_html(bytes(range(256)) * 3, declared_charset="no-such-charset")
    assert isinstance(text, str) and encoding


# --- main text -------------------------------------------------------------------------------------

def test_rednet_page_keeps_the_body_and_drops_the_chrome():
    result = extract(page("rednet_utf8.html"), url="https://cs.rednet.cn/content/646841/63/14141790.html")
    assert result.failure_reason is None
    assert "长江中游城市群省会城市第十届会商会在长沙召开" in result.text
    assert result.text.rstrip().endswith("以实干实绩书写区域协同发展的新篇章。")
    for chrome in ("当前位置", "分享到", "来源：红网", "编辑：韩阳", "本声明", "本文链接", "相关链接",
                   "频道精选", "税务", "版权所有"):
        assert chrome not in result.text, chrome


def test_gbk_page_drops_disclaimer_comment_form_and_next_article():
    result = extract(page("friendship_gbk.html"), declared_charset="utf-8")
    assert result.encoding == "gb18030"
    assert result.text.startswith("近日,来自13个友好城市的代表")
    assert "上海市副市长华源出席" in result.text
    for chrome in ("声明", "发表回复", "评论内容", "阅读下一篇", "热门推荐", "沪苏浙皖", "责任编辑"):
        assert chrome not in result.text, chrome


def test_breadcrumb_header_fields_and_paging_links_are_dropped():
    result = extract(page("spam_repost.html"))
    assert result.text.startswith("为进一步落实嘉兴市青浦区与苏州市的全面战略合作框架协议")
    for chrome in ("当前位置", "点击数", "发表日期", "上一篇", "下一篇"):
        assert chrome not in result.text, chrome


def test_empty_and_non_html_bodies_fail_with_a_reason():
    assert extract(b"").failure_reason == "empty_body"
    assert extract(b"   \n").failure_reason == "empty_body"
    assert extract(b"just some plain words, no markup at all").failure_reason == "not_html"
    assert extract("<html><body><div><a href='/'>首页</a></div></body></html>").failure_reason in (
        "no_main_text", "too_short")


def test_extract_never_raises_on_broken_markup():
    result = extract(b"<html><body><p>\xff\xfe\x00<<<</p><div" * 50)
    assert result.failure_reason is not None and isinstance(result.text, str)


# --- metadata --------------------------------------------------------------------------------------

def test_rednet_metadata():
    result = extract(page("rednet_utf8.html"), url="https://cs.rednet.cn/content/646841/63/14141790.html")
    assert result.title == "十度聚首 长江中游城市群携手向“新”而行"
    assert result.published_at == datetime(2024, 7, 29, 21, 38, 4, tzinfo=SHANGHAI)
    assert (result.author, result.editor) == ("余雅琴 梁典逸", "韩阳")
    assert result.source_attribution == "红网"
    assert result.canonical_url == "https://cs.rednet.cn/content/646841/63/14141790.html"
    assert result.lang == "zh" and result.encoding == "utf-8"
    assert result.extractor_version == ExtractSettings().version


def test_wire_story_dateline_original_title_and_bracketed_editor():
    result = extract(page("dateline_wire.html"), url="http://www.example.cn/local/2024/0315/c1-1.html")
    assert result.title == "北京·玉树深入推进对口支援工作对接会在京召开"  # "- 新华网" removed
    assert result.published_at == datetime(2024, 3, 15, tzinfo=SHANGHAI)  # year from the URL
    assert result.original_title == "京玉对口支援对接会召开"
    assert (result.author, result.editor) == ("李明", "赵丽")
    assert "原标题" not in result.text and "责任编辑" not in result.text
    assert result.text.startswith("中新网北京3月15日电")


def test_labelled_publication_date_with_pipes():
    result = extract(page("spam_repost.html"))
    assert result.published_at == datetime(2021, 6, 23, 5, 52, tzinfo=SHANGHAI)
    assert result.title == '北京新闻--青浦昆山吴江嘉善签约建设"环淀山湖战略协同区"'


@pytest.mark.parametrize(("text", "expected"), [
    ("2024年3月20日", datetime(2024, 3, 20)),
    ("发表日期:2021-06-23 05:52", datetime(2021, 6, 23, 5, 52)),
    ("2024/3/5 8:07:09", datetime(2024, 3, 5, 8, 7, 9)),
    ("03-20 10:15", datetime(2024, 3, 20, 10, 15)),
    ("中新网北京3月15日电", datetime(2024, 3, 15)),
])
def test_parse_date_formats(text, expected):
    now = datetime(2024, 6, 1, tzinfo=SHANGHAI)
    assert parse_date(text, now=now) == expected.replace(tzinfo=SHANGHAI)


def test_month_day_dates_never_land_in_the_future():
    now = datetime(2024, 1, 10, tzinfo=SHANGHAI)
    assert parse_date("12-28 09:00", now=now) == datetime(2023, 12, 28, 9, 0, tzinfo=SHANGHAI)
    assert parse_date("12-28 09:00", reference=datetime(2021, 5, 1), now=now).year == 2021


@pytest.mark.parametrize(("raw", "headline", "expected"), [
    ("十度聚首 长江中游城市群携手向“新”而行_红网", None, "十度聚首 长江中游城市群携手向“新”而行"),
    ("京津冀协同发展十周年成效显著 - 新华网", None, "京津冀协同发展十周年成效显著"),
    ("北京新闻--青浦昆山吴江嘉善签约建设", None, "青浦昆山吴江嘉善签约建设"),
    ("图说洛阳| 剪“廉洁窗花”_河南频道", "图说洛阳| 剪“廉洁窗花”", "图说洛阳| 剪“廉洁窗花”"),
])
def test_clean_title(raw, headline, expected):
    assert clean_title(raw, headline) == expected


def test_english_article_mentioning_translation_is_not_split():
    html = ("<html><head><title>Interpreters</title></head><body><article>"
            + "<p>Interpreters at the forum worked in six languages for three days in a row.</p>" * 3
            + "<p>Translation services were provided by the host city free of charge to all guests.</p>"
            + "<p>Organisers said the next forum would be held in the spring in another city.</p>"
            + "</article></body></html>")
    result = extract(html)
    assert result.translation is None and "Translation services" in result.text


def test_source_line_in_english():
    html = ("<html><head><title>Cities sign pact</title></head><body><article>"
            + "<p>Four cities signed a framework agreement on joint enforcement of urban rules.</p>" * 6
            + "<p>Source: Xinhua</p></article></body></html>")
    result = extract(html)
    assert result.source_attribution == "Xinhua"
    assert "Source:" not in result.text and result.lang == "en"


# --- bilingual pages -------------------------------------------------------------------------------

def test_appended_translation_is_split_off_with_its_language():
    result = extract(page("bilingual_translation.html"))
    assert result.lang == "zh" and result.translation_lang == "en"
    assert result.text.startswith("中新网衢州3月20日电")
    assert "Quzhou" not in result.text and "英文翻译内容" not in result.text
    assert result.translation.startswith("Title: Quadripartite Collaboration")
    assert "联席会议" not in result.translation
    assert result.source_attribution.startswith("http://www.chinanews.com/")
    assert "发表回复" not in result.text and "阅读下一篇" not in result.text
    assert result.published_at.month == 3 and result.published_at.day == 20


def test_unmarked_english_tail_is_split_off():
    html = ("<html><head><title>城市合作</title></head><body><article>"
            + "<p>长三角四地签署城市管理协作框架协议，推进联合执法与信息共享。</p>" * 4
            + "<p>The four cities signed a framework agreement on joint urban management enforcement.</p>"
            + "<p>The agreement covers information sharing, joint inspections and the training of staff.</p>"
            + "<p>Officials said the framework would make the adjacent region easier to govern as one.</p>"
            + "</article></body></html>")
    result = extract(html)
    assert "framework" not in result.text and result.translation.count("framework") == 2
    assert (result.lang, result.translation_lang) == ("zh", "en")


def test_to_json_dict_is_serialisable():
    data = extract(page("rednet_utf8.html")).to_json_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False))["published_at"] == "2024-07-29T21:38:04+08:00"


# --- evaluation ------------------------------------------------------------------------------------

def test_metric_counts_cjk_characters_and_words():
    assert precision_recall_f1("长三角 Delta", "长三角 delta") == (1.0, 1.0, 1.0)
    precision, recall, _ = precision_recall_f1("长三角城市群", "长三角")
    assert (round(precision, 3), recall) == (0.5, 1.0)
    assert precision_recall_f1("", "长三角") == (0.0, 0.0, 0.0)


def test_evaluate_extract_on_a_small_directory(tmp_path):
    (tmp_path / "html").mkdir()
    (tmp_path / "truth").mkdir()
    (tmp_path / "html" / "a.html").write_bytes(page("friendship_gbk.html"))
    gold = extract(page("friendship_gbk.html")).text
    (tmp_path / "truth" / "a.json").write_text(json.dumps({"body": gold}), encoding="utf-8")
    (tmp_path / "html" / "b.html").write_bytes(b"<html></html>")
    (tmp_path / "truth" / "b.json").write_text(json.dumps({"body": ""}), encoding="utf-8")  # skipped
    result = evaluate_extract(tmp_path)
    assert [p["id"] for p in result["pages"]] == ["a"]
    assert result["macro"]["mediamon"]["f1"] == 1.0
    assert result["macro"]["trafilatura"]["f1"] < 1.0  # bare trafilatura keeps chrome on this page
    report = format_extract_report(result)
    assert "a " in report and "mediamon" in report and "trafilatura" in report


def test_clean_lines_drops_site_chrome_but_keeps_table_rows_and_sentences():
    text = "\n".join([
        "国家发改委|中国浙江|浙江政务服务网 简体|繁体",
        "两地签署合作框架协议，共建产业园区。",
        "收藏家捐出百件藏品",
        "| 2023 | 246.79亿元 | 15.3% |",
        "（原题为《两地共建产业园》）",
        "关键词 >> 产业园",
        "违法和不良信息举报电话：010-00000000",
        "Copyright © 1996-2019 Example Corporation",
    ])
    kept, harvest = clean_lines(text, ExtractSettings())
    assert kept == ["两地签署合作框架协议，共建产业园区。", "收藏家捐出百件藏品", "| 2023 | 246.79亿元 | 15.3% |"]
    assert harvest.original_title == "两地共建产业园"


def test_wechat_style_section_paragraphs_are_extracted():
    seed = next((PROJECT_ROOT / "seeds").glob("001_*.txt")).read_text(encoding="utf-8")
    paragraphs = [line for line in seed.splitlines() if line.strip()][:4]
    sections = "".join(
        f'<section style="margin-bottom: 15px;"><span style="font-size: 15px;">{text}</span></section>'
        for text in paragraphs
    )
    html = ('<html><head><title>北京玉树对口支援对接会</title></head><body><div id="js_article">'
            '<h1>北京玉树对口支援对接会</h1><div class="profile">微信号 example 功能介绍 地方新闻</div>'
            f'<div id="js_content">{sections}</div></div></body></html>')
    result = extract(html)
    assert result.failure_reason is None
    assert result.text.splitlines() == paragraphs  # without the profile chrome around them


def test_trailing_headline_list_is_dropped_but_hard_wrapped_prose_is_kept():
    article = "长三角四地签署城市管理协作框架协议，推进联合执法与信息共享。"
    headlines = ["长沙市举办夏季人才招聘会", "湘江新区再添一条城市快速路", "沪苏浙皖签署新一轮合作协议"]
    kept, _ = clean_lines("\n".join([article, *headlines]), ExtractSettings())
    assert kept == [article]
    wrapped = ["会议指出，四地将围绕城市管理中的难点问题开展联合执法。此外，通过", "建立健全协同机制，四地将更好地应对区域发展中的挑战，为市民提供更加",
               "高效、便捷的服务，推动整个长三角地区的城市发展"]
    kept, _ = clean_lines("\n".join([article, *wrapped]), ExtractSettings())
    assert kept == [article, *wrapped]


def test_visible_text_skips_script_style_and_noscript_but_keeps_their_tails():
    from mediamon.extract.parse import parse_html, visible_text

    tree = parse_html(
        "<html><head><title>标题</title></head><body><p>正文<script>var a = 1;</script>下文</p>"
        "<style>p {}</style><noscript><div>请启用脚本</div></noscript><div>2024-03-20</div><div>10:15</div>"
        "<!-- 注释 --></body></html>"
    )
    assert visible_text(tree) == "正文 下文 2024-03-20 10:15"


def test_utf8_page_parsed_from_bytes_ignores_its_legacy_declarations():
    article = "<p>" + "长江中游城市群省会城市第十届会商会在长沙召开，四省会城市签署合作协议。" * 4 + "</p>"
    body = ('<?xml version="1.0" encoding="gbk"?><html><head><meta charset="gb2312"><title>会商会召开_红网</title>'
            f"</head><body><article>{article}</article></body></html>").encode()
    result = extract(body, declared_charset="gbk")
    assert (result.encoding, result.title) == ("utf-8", "会商会召开")
    assert result.text.startswith("长江中游城市群省会城市第十届会商会")


def test_drop_code_keeps_tails_and_json_ld():
    from mediamon.extract.parse import drop_code, parse_html

    tree = parse_html('<html><head><script type="application/ld+json">{}</script><style>p {}</style></head>'
                       "<body><p>前文<script>track()</script>后文</p></body></html>")
    drop_code(tree)
    assert [script.get("type") for script in tree.iter("script")] == ["application/ld+json"]
    assert not list(tree.iter("style"))
    assert tree.find(".//p").text_content() == "前文后文"
