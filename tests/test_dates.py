"""Choosing a page's publication date among its candidates (issue 12, part 2): each mechanism on a
small page or page text written here."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mediamon.extract import SHANGHAI, extract, parse_date
from mediamon.extract.dates import date_candidates, page_dates, published_at
from mediamon.extract.metadata import clean_title
from mediamon.outcomes import DateSource

FETCHED = datetime(2024, 3, 21, 12, 0, tzinfo=SHANGHAI)
HEADLINE = "长三角三省一市签署跨省产业园区合作协议"
LEAD = "长三角三省一市今天签署协议，共同建设跨省产业园区，首批项目总投资超过百亿元。" * 3
RELATED = " ".join(f"相关新闻第{n}条标题 2024-03-0{n} 10:0{n}" for n in range(1, 6))


def chosen(page_text="", machine=(), header=(), lines=(), url=None, headlines=(HEADLINE,)):
    return published_at(date_candidates(list(machine), list(header), list(lines), page_text, url,
                                        headlines=headlines), FETCHED)


def day(result):
    value, _source = result
    return value.date().isoformat() if value else None


# --- labels ----------------------------------------------------------------------------------------

def test_a_bare_release_verb_is_no_label_but_a_labelled_date_is():
    # A headline ending in 发布 ("released") before its date in a list is not a publication label.
    text = f"{HEADLINE} 分享到 2024-03-15 15:10:53 {LEAD} 推荐 华为新品发布 2024-03-05 16:41"
    assert day(chosen(text)) == "2024-03-15"
    assert page_dates(text, [HEADLINE]).labelled is None
    labelled = page_dates(f"首页 {LEAD} 发布：2024-03-12 09:00 评论 2024-03-19 11:00")
    assert labelled.labelled == datetime(2024, 3, 12, 9, tzinfo=SHANGHAI)
    # 日期 ending a headline in a list ("...质询日期 2012年12月6日") is no label either.
    assert page_dates("梁振英定下出席质询日期 2024年3月6日 ，香港").labelled is None


def test_a_modification_date_counts_only_when_the_page_shows_no_other_date():
    both = f"{HEADLINE} 2024-03-15 15:10:53 来源：本网 最后更新: 2024-03-16 08:00:00 {LEAD}"
    assert chosen(both) == (datetime(2024, 3, 15, 15, 10, 53, tzinfo=SHANGHAI), DateSource.LABELLED)
    alone = f"{HEADLINE} 更新时间 2024年3月16日 {LEAD}"
    assert day(chosen(alone, headlines=())) == "2024-03-16"  # some sites label their only date so
    # Behind the URL's date, though, when there is one and no other.
    assert day(chosen(f"发布时间：2024-03-14 {LEAD} 更新时间：2024-03-18")) == "2024-03-14"


# --- numeric formats -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("9/17/2004 5:54:13 AM", datetime(2004, 9, 17, 5, 54, 13)),  # month first with a 12-hour clock
    ("7/5/2005 9:23:57 PM", datetime(2005, 7, 5, 21, 23, 57)),
    ("17/9/2004", datetime(2004, 9, 17)),  # 17 cannot be a month
    ("9/17/2004", datetime(2004, 9, 17)),
])
def test_slash_dates_are_read_only_when_day_and_month_can_be_told_apart(text, expected):
    assert parse_date(text) == expected.replace(tzinfo=SHANGHAI)


def test_an_ambiguous_slash_date_is_not_guessed():
    assert parse_date("7/5/2005") is None
    assert page_dates("posted 7/5/2005 by the editor").first is None


# --- the date by the headline ----------------------------------------------------------------------

def test_the_date_by_the_headline_beats_the_dateline_and_the_first_date_of_the_page():
    text = (f"热帖 旧闻一则 2023-03-02 08:58:39 正文 {HEADLINE} 2024-03-10 07:57:40 来源：新华网 "
            f"新华社上海3月9日电 {LEAD}")
    lines = ["新华社上海3月9日电 " + LEAD]
    assert chosen(text, lines=lines) == (datetime(2024, 3, 10, 7, 57, 40, tzinfo=SHANGHAI), DateSource.LABELLED)
    # Without the headline to go by, the dateline comes before the page's first plain date.
    assert chosen(text, lines=lines, headlines=())[1] == DateSource.DATELINE


def test_a_date_in_the_lead_sentence_is_not_the_header_date():
    text = f"{HEADLINE} 2024年3月5日，{LEAD}"
    assert page_dates(text, [HEADLINE]).by_headline is None
    assert page_dates(f"{HEADLINE} 2024年3月5日 {LEAD}", [HEADLINE]).by_headline == datetime(
        2024, 3, 5, tzinfo=SHANGHAI)


def test_a_date_line_above_the_headline_counts_and_english_dates_are_found_there():
    text = f"博客 Saturday, March 9th, 2024 10:56 am {HEADLINE} {LEAD} 评论 (2024-03-18 03:45:27) 好文 " \
           "(2024-03-18 03:40:22) 顶 (2024-03-17 23:00:16)"
    assert day(chosen(text)) == "2024-03-09"


def test_a_site_name_written_all_over_the_page_is_no_headline():
    site = "松花江网新闻中心"
    text = " ".join([f"{site} 2024-03-01"] + [site] * 4 + [f"{LEAD} 2024-03-12 09:57"])
    assert page_dates(text, [site]).by_headline is None
    assert day(chosen(text, headlines=[site])) == "2024-03-12"


def test_the_blog_title_loses_its_site_name():
    assert clean_title("多维博客 » 跨省产业园区合作迈出新步伐") == "跨省产业园区合作迈出新步伐"


# --- page chrome: lists, banners, header lines ----------------------------------------------------

def test_dates_of_a_list_come_after_the_page_date():
    text = f"{RELATED} {LEAD * 2} 2024-03-14 {LEAD}"
    found = page_dates(text)
    assert found.first == datetime(2024, 3, 14, tzinfo=SHANGHAI)
    assert len(found.discounted) == 5
    # A list is all a page has: its dates are still better than none.
    assert day(chosen(RELATED, headlines=())) == "2024-03-01"


def test_a_todays_date_banner_comes_last():
    text = f"今天是2024年3月20日 星期三 首页 {LEAD} 2024年3月14日 {LEAD}"
    assert day(chosen(text, headlines=())) == "2024-03-14"
    banner = "2024年3月20日（北京时间） 首页 " + LEAD
    assert page_dates(banner).first is None
    assert day(chosen(banner, url="https://example.cn/news/2024/03/12/a.html", headlines=())) == "2024-03-12"
    # A weekday followed by a time of day is an article's date line, not a banner.
    assert page_dates(f"2024年3月14日 星期四 10:30 {LEAD}").first is not None


def test_date_only_header_lines_naming_several_days_are_a_list():
    header = ["2023-03-02 08:58:39", "2023-03-02 08:58:39", "2023-03-01 14:40:53"]
    assert chosen(f"{LEAD} 2024-03-10 07:57:40", header=header, headlines=())[0] == datetime(
        2024, 3, 10, 7, 57, 40, tzinfo=SHANGHAI)
    assert chosen(LEAD, header=["2024-03-10"], headlines=())[1] == DateSource.LABELLED


# --- time zones ------------------------------------------------------------------------------------

def test_a_utc_machine_date_takes_the_offset_of_the_time_the_page_shows():
    # 16:30 UTC is 00:30 the next day in Beijing, which the page shows by its headline.
    value, source = chosen(f"{HEADLINE} 2024-03-15 00:30 来源：本网 {LEAD}",
                           machine=[(DateSource.META, "2024-03-14T16:30:00Z")])
    assert source == DateSource.META
    assert value == datetime(2024, 3, 14, 16, 30, tzinfo=UTC) and value.date().isoformat() == "2024-03-15"
    assert value.utcoffset() == timedelta(hours=8)


def test_a_utc_machine_date_takes_the_offset_of_the_same_instant_written_locally():
    machine = [(DateSource.META, "2024-03-15T02:00:00Z"), (DateSource.JSON_LD, "2024-03-14T21:00:00-05:00")]
    value, _ = chosen(LEAD, machine=machine, headlines=())
    assert value.utcoffset() == timedelta(hours=-5) and day((value, None)) == "2024-03-14"


def test_a_machine_date_is_left_alone_when_nothing_shows_the_local_time():
    value, _ = chosen(f"{HEADLINE} 来源：本网 {LEAD}", machine=[(DateSource.META, "2024-03-14T16:30:00Z")])
    assert value.utcoffset() == timedelta(0)
    naive, _ = chosen(f"{HEADLINE} 2024-03-15 09:30 {LEAD}", machine=[(DateSource.META, "2024-03-15 01:30:00")])
    assert naive.tzinfo is SHANGHAI  # naive dates are read as Shanghai time, whatever the page shows


# --- the whole stage -------------------------------------------------------------------------------

def test_extract_takes_the_header_date_over_related_lists_and_a_banner():
    related = "".join(f"<li><a href='/n/{n}.html'>相关新闻第{n}条</a> 2024-03-1{n} 09:0{n}</li>" for n in range(5))
    html = (f"<html><head><title>{HEADLINE}_示例新闻网</title></head><body>"
            "<div class='top'>今天是2024年3月20日 星期三</div>"
            f"<h1>{HEADLINE}</h1><div class='info'>2024-03-08 10:15 来源：示例新闻网</div>"
            + "".join(f"<p>{LEAD}</p>" for _ in range(3))
            + f"<ul class='related'>{related}</ul></body></html>")
    result = extract(html.encode(), fetched_at=FETCHED)
    assert result.published_at == datetime(2024, 3, 8, 10, 15, tzinfo=SHANGHAI)
    assert result.published_at_source == DateSource.LABELLED


def test_extract_writes_a_utc_meta_date_in_the_local_time_the_page_shows():
    html = (f"<html><head><title>{HEADLINE}</title>"
            "<meta property='article:published_time' content='2024-03-14T23:10:00+00:00'></head><body>"
            f"<h1>{HEADLINE}</h1><p>By the newsroom 2024-03-14 19:10</p>"
            + "".join(f"<p>{LEAD}</p>" for _ in range(3)) + "</body></html>")
    result = extract(html.encode(), fetched_at=FETCHED)
    assert result.published_at_source == DateSource.META
    assert result.published_at.utcoffset() == timedelta(hours=-4)
    assert result.published_at.date().isoformat() == "2024-03-14"
    assert result.published_at == datetime(2024, 3, 14, 23, 10, tzinfo=UTC)


def test_a_utc_machine_date_moves_to_the_day_the_page_shows_without_a_time():
    # 04:50 UTC is the evening before in the Americas; the byline shows that day.
    text = f"{HEADLINE} by the newsroom — November 18, 2019 {LEAD}"
    value, _ = chosen(text, machine=[(DateSource.META, "2019-11-19T04:50:22+00:00")])
    assert value == datetime(2019, 11, 19, 4, 50, 22, tzinfo=UTC)
    assert day((value, None)) == "2019-11-18" and value.utcoffset() == timedelta(hours=-5)
    # A shown day that no nearby time zone reaches is another date (the site's today), not this instant.
    far, _ = chosen(f"{HEADLINE} November 20, 2019 {LEAD}",
                    machine=[(DateSource.META, "2019-11-19T06:30:42-05:00")])
    assert day((far, None)) == "2019-11-19"


def test_a_placeholder_machine_date_is_passed_over_without_harm():
    result = chosen(f"{HEADLINE} November 18, 2019 {LEAD}", machine=[(DateSource.META, "0001-01-01T00:00:00Z")])
    assert result == (datetime(2019, 11, 18, tzinfo=SHANGHAI), DateSource.LABELLED)


def test_english_labels_and_times():
    text = f"{HEADLINE} By Jane Doe on Monday, November 18th, 2019 at 11:08 a.m. {LEAD} Air Date: November 19, 2019"
    found = page_dates(text, [HEADLINE])
    assert found.by_headline == datetime(2019, 11, 18, 11, 8, tzinfo=SHANGHAI)
    assert found.labelled is None  # "Air Date" labels a video's date, not the page's
    labelled = page_dates(f"{LEAD} Published Monday, November 18, 2019 8:22PM EST {LEAD}")
    assert labelled.labelled == datetime(2019, 11, 18, 20, 22, tzinfo=SHANGHAI)


def test_a_quoted_headline_is_not_the_header():
    text = f"{LEAD} 《{HEADLINE}》已有1件评论 读者 的评论 2024-03-19 19:32 {LEAD}"
    assert page_dates(text, [HEADLINE]).by_headline is None


# --- European forms --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Stand: 25.09.2018, 14:30 Uhr", datetime(2018, 9, 25, 14, 30)),  # day first with dots
    ("am 5. 9. 2018 um 8:05", datetime(2018, 9, 5, 8, 5)),
    ("Dienstag, 25. September 2018", datetime(2018, 9, 25)),
    ("3. März 2019", datetime(2019, 3, 3)),
    ("1er mars 2019 à 14h30", datetime(2019, 3, 1, 14, 30)),
    ("3 de marzo de 2019", datetime(2019, 3, 3)),
    ("12 settembre 2019", datetime(2019, 9, 12)),
    ("September 25, 2018", datetime(2018, 9, 25)),
    ("19 Nov 2019 07:09 GMT", datetime(2019, 11, 19, 7, 9)),
])
def test_european_date_forms_are_read(text, expected):
    assert parse_date(text) == expected.replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize("text", ["Version 1.25.09.2018", "IP 10.9.20181", "Seite 3 von 2018 Treffern"])
def test_numbers_that_only_look_like_european_dates_are_not_read(text):
    assert parse_date(text) is None


GERMAN_HEADLINE = "Stadtrat genehmigt den Ausbau des Hafens"
GERMAN_LEAD = ("Der Stadtrat hat am Dienstagabend den Ausbau des Hafens genehmigt. Bis zum 01.01.2020 sollen "
               "die ersten Liegeplätze fertig sein, die Kosten trägt zum größten Teil das Land. ")


def test_a_german_publication_label_beats_an_earlier_date_in_the_text():
    # "publiziert am" labels the page's date; the 01.01.2020 of the lead comes first in the text but
    # is an event date, and the lead's numeric date must not hide a date written with a month name.
    text = f"Startseite Blog {GERMAN_LEAD} Von Erika Muster publiziert am 25. September 2018 {GERMAN_LEAD}"
    assert chosen(text, headlines=()) == (datetime(2018, 9, 25, tzinfo=SHANGHAI), DateSource.LABELLED)
    # A German modification label is discounted behind the publication date, as an English one is.
    text = f"{GERMAN_HEADLINE} Aktualisiert am 27.09.2018 Veröffentlicht am 26.09.2018 {GERMAN_LEAD}"
    assert day(chosen(text, headlines=[GERMAN_HEADLINE])) == "2018-09-26"


def test_a_german_date_line_by_the_headline_is_the_header_date():
    text = (f"Aktuelles 24.12.2017 Weihnachtsgruß {GERMAN_HEADLINE} Dienstag, 25. September 2018, 14:30 Uhr "
            f"{GERMAN_LEAD}")
    found = page_dates(text, [GERMAN_HEADLINE])
    assert found.by_headline == datetime(2018, 9, 25, 14, 30, tzinfo=SHANGHAI)
    assert day(chosen(text, headlines=[GERMAN_HEADLINE])) == "2018-09-25"


def test_extract_reads_a_german_page_date():
    paragraphs = "".join(f"<p>{GERMAN_LEAD}{n}</p>" for n in range(4))
    html = (f"<html><head><meta charset='utf-8'><title>{GERMAN_HEADLINE}</title></head><body>"
            f"<article><h1>{GERMAN_HEADLINE}</h1><p class='meta'>Von Erika Muster | 25.09.2018</p>{paragraphs}"
            "</article></body></html>")
    result = extract(html.encode(), fetched_at=FETCHED)
    assert (day((result.published_at, result.published_at_source)), result.published_at_source) == (
        "2018-09-25", DateSource.LABELLED)
