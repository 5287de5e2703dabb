"""Line rules: the Chinese page chrome trafilatura keeps (来源/责任编辑/声明 lines, related links,
menus, comment forms, "阅读下一篇" ...) dropped from the extracted lines, and the metadata those lines
carry (source, author, editor, original title, header dates) harvested."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from mediamon.extract.dates import is_date_only
from mediamon.settings import ExtractSettings
from mediamon.text import HAN, LINE_ENDS_SENTENCE

_HAN_CHAR = re.compile(f"[{HAN}]")
# A Chinese personal name (a middle dot joins transliterated ones), and a list of them.
_NAME = r"[\u4e00-\u9fff·]{2,4}"
_NAMES = rf"{_NAME}(?:[ \u3000、，,/]+{_NAME})*"
# "label：value" lines of the article header/footer; the value is harvested as metadata.
_SOURCE_LINE = re.compile(r"^[【\[(（]?\s*(?:来源|稿源|出处|消息来源|文章来源|新闻来源)\s*[】\]:：)）]\s*(.+)$")
_SOURCE_EN_LINE = re.compile(r"^Source\s*:\s*(.+)$", re.I)
_ORIGINAL_TITLE_LINE = re.compile(r"^[【\[(（]?\s*(?:原标题|原题为?)\s*[】\]:：)）]?\s*《?(.+?)》?[】\])）]?$")
_EDITOR = re.compile(rf"(?:责任编辑|责编|编辑|主编|校对)\s*[:：]?\s*({_NAMES})")
_AUTHOR = re.compile(rf"(?:记者|作者|撰稿|撰文|通讯员|文)\s*[:：|丨]?\s*({_NAMES})")
_BYLINE_LINE = re.compile(
    rf"^[【\[(（]?[\u4e00-\u9fff]{{0,10}}(?:记者|作者|撰稿|撰文|通讯员|责任编辑|责编|编辑|主编|校对)\s*[:：|丨]?\s*"
    rf"(?:{_NAMES})?\s*(?:[\u4e00-\u9fff]{{0,8}}报道)?[】\])）]?$"
)
# Short lines that are chrome wherever they appear: navigation, sharing, printing, paging, forms.
# The word must end there or be followed by a delimiter, so "打印机..." or "收藏家..." stay.
_CHROME_LINE = re.compile(
    r"^[\s【\[(（|]*(?:当前位置|您的位置|您现在的位置|所在位置|分享到|分享至|扫一扫|打印本页|打印|关闭窗口|收藏|字号|"
    r"上一篇|下一篇|阅读下一篇|返回顶部|返回首页|发表评论|发表回复|我要评论|网友评论|点击数|阅读数|浏览次数|"
    r"本文链接|原文链接|转载请注明|点击查看|查看更多|更多精彩|举报|纠错|责任编辑|关键词|标签|Tags)"
    r"(?=$|[\s:：】\]|>）)》»\-—,，])"
)
# Site footer lines: copyright, licence numbers, complaint hotlines.
_FOOTER_LINE = re.compile(r"版权所有|Copyright|©|All Rights Reserved|ICP备|ICP证|举报电话|违法和不良信息", re.I)
# Reprint notices: "本文为原创文章，转载请注明出处", "未经授权禁止转载".
_REPRINT_NOTICE = re.compile(r"转载.{0,20}(?:注明|出处|声明|授权|许可)|(?:未经|禁止|严禁|不得).{0,12}转载")
# Disclaimer paragraphs can be long but always open with their label.
_DISCLAIMER_LINE = re.compile(
    r"^[\s【\[(（]*(?:声明|免责声明|版权声明|特别声明|郑重声明|反侵权公告|版权所有)\s*[】\]:：)）]"
)
# A heading after which only related links, channel lists or comments follow.
_TAIL_HEADING = re.compile(
    r"^[\s【\[(（]*(?:相关链接|相关阅读|相关新闻|相关文章|相关报道|频道精选|热门推荐|推荐阅读|延伸阅读|猜你喜欢|"
    r"热点新闻|热门文章|精彩推荐|相关推荐|为您推荐|热门评论|网友评论|发表评论|发表回复|阅读下一篇|更多精彩)\s*[】\]:：)）>》]*\s*$"
)
_FIELD_SEPARATOR = re.compile(r"[|｜丨]")
_LABELLED_FIELD = re.compile(r"(?:发布|发表|时间|日期|来源|来自|作者|编辑|点击|浏览|阅读|字号)\s*[:：]")
_BREADCRUMB = re.compile(r"\S\s*(?:>|»|＞|->|→)\s*\S")
# Role words in a byline: the names after one are not the author's.
_ROLE_WORDS = frozenset({"通讯员", "实习生", "摄影", "摄像", "报道", "编辑", "责任编辑", "记者", "校对", "见习记者"})


@dataclass
class Harvest:
    """Metadata found in the lines :func:`clean_lines` drops."""

    author: str | None = None
    editor: str | None = None
    source_attribution: str | None = None
    original_title: str | None = None
    # Header/footer lines dropped from the text that may carry the publication date.
    header_lines: list[str] = field(default_factory=list)


def _names(match: re.Match[str]) -> str:
    # "余雅琴 实习生 梁典逸" -> "余雅琴": the names after another role word are not the author's.
    names: list[str] = []
    for name in re.split(r"[ \u3000、，,/]+", match.group(1)):
        if name in _ROLE_WORDS:
            break
        names.append(name)
    return " ".join(names)


def _harvest_names(line: str, harvest: Harvest) -> None:
    if harvest.editor is None and (match := _EDITOR.search(line)):
        harvest.editor = _names(match)
    stripped = _EDITOR.sub("", line)
    if harvest.author is None and (match := _AUTHOR.search(stripped)):
        harvest.author = _names(match) or None


def clean_lines(text: str, settings: ExtractSettings) -> tuple[list[str], Harvest]:
    """Drop the page chrome trafilatura keeps in Chinese pages and harvest the metadata it carries.

    Removes: source / author / editor / original-title lines (harvested), disclaimers, breadcrumbs,
    share/print/paging lines, header lines of several ``label:`` fields, date-only lines, and
    everything after a related-links / channel-list / comment heading in the latter part of the text
    (from ``tail_cut_from``, when what follows is not mostly prose; else the heading alone), or after a bare disclaimer heading in the last ``max_disclaimer_share`` of it.
    Returns the kept lines and the harvest.
    """
    harvest = Harvest()
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    total = sum(len(line) for line in lines) or 1
    kept: list[str] = []
    seen = 0
    for index, line in enumerate(lines):
        position = seen / total
        seen += len(line)
        short = len(line) <= settings.max_chrome_line_chars
        if position >= settings.tail_cut_from and _TAIL_HEADING.match(line):
            # Mostly prose after the heading: a heading inside the article ("延伸阅读" before
            # background paragraphs), whose paragraphs must not go with it, wherever it stands.
            if not _mostly_prose(lines[index + 1:], settings):
                break
            continue
        if short and (match := _SOURCE_LINE.match(line)):
            harvest.source_attribution = harvest.source_attribution or _first_field(match.group(1))
            _harvest_names(line, harvest)
            harvest.header_lines.append(line)
            continue
        if short and (match := _SOURCE_EN_LINE.match(line)):
            harvest.source_attribution = harvest.source_attribution or match.group(1).strip()
            continue
        if short and (match := _ORIGINAL_TITLE_LINE.match(line)):
            harvest.original_title = harvest.original_title or match.group(1).strip()
            continue
        if short and _BYLINE_LINE.match(line):
            _harvest_names(line, harvest)
            continue
        if _DISCLAIMER_LINE.match(line):
            if len(line) <= 12 and 1 - seen / total <= settings.max_disclaimer_share:
                break  # a bare disclaimer heading: its clauses follow as separate lines
            continue
        if short and _REPRINT_NOTICE.search(line):
            continue
        if short and _FOOTER_LINE.search(line):
            continue
        if short and _is_navigation_bar(line):
            continue
        if short and (_CHROME_LINE.match(line) or is_date_only(line)):
            harvest.header_lines.append(line)
            continue
        if short and len(_LABELLED_FIELD.findall(line)) >= 2:
            harvest.header_lines.append(line)
            _harvest_names(line, harvest)
            continue
        if short and len(_BREADCRUMB.findall(line)) >= 2 and not LINE_ENDS_SENTENCE.search(line):
            continue  # "首页 > 新闻 > 正文"
        kept.append(line)
    return _drop_link_list_tail(_drop_menu_runs(kept, settings), settings), harvest


def _mostly_prose(lines: list[str], settings: ExtractSettings) -> bool:
    """Whether most of the text of ``lines`` is in paragraphs (longer than a headline, ending like a
    sentence): the lines after a "related news" heading are a list of headlines, not that."""
    total = sum(map(len, lines))
    prose = sum(len(line) for line in lines
                if len(line) > settings.max_link_line_chars and LINE_ENDS_SENTENCE.search(line))
    return prose > 0.5 * total


def _drop_menu_runs(lines: list[str], settings: ExtractSettings) -> list[str]:
    """Drop runs of at least ``min_menu_run`` consecutive very short lines without sentence
    punctuation ("首页", "新闻", "|", ...): navigation menus and forum chrome rendered one item a line."""
    kept: list[str] = []
    run: list[str] = []
    for line in lines + [""]:
        if line and len(line) <= settings.max_menu_item_chars and not LINE_ENDS_SENTENCE.search(line):
            run.append(line)
            continue
        if len(run) < settings.min_menu_run:
            kept.extend(run)
        run = []
        if line:
            kept.append(line)
    return kept


def _drop_link_list_tail(lines: list[str], settings: ExtractSettings) -> list[str]:
    """Drop a trailing run of short Chinese lines without sentence punctuation: the headline lists
    (related news, channel picks) that follow an article. Shorter runs are kept: a last byline or
    a closing caption looks the same; so are runs with a full stop inside a line."""
    start = len(lines)
    while (
        start > 0
        and len(lines[start - 1]) <= settings.max_link_line_chars
        and _HAN_CHAR.search(lines[start - 1])
        and not LINE_ENDS_SENTENCE.search(lines[start - 1])
    ):
        start -= 1
    tail = lines[start:]
    # A full stop inside the run means hard-wrapped prose (old pages break lines at a fixed width).
    if len(tail) >= settings.min_link_list_lines and start > 0 and not any("。" in line for line in tail):
        return lines[:start]
    return lines


def _is_navigation_bar(line: str) -> bool:
    # "首页|新闻|简体|繁体" is a menu; "| 2019 | 3.4 |" (trafilatura's rendering of a table row) is data.
    return (
        not line.startswith("|")
        and len(_FIELD_SEPARATOR.findall(line)) >= 3
        and not LINE_ENDS_SENTENCE.search(line)
    )


def _first_field(value: str) -> str:
    # "来源：红网 作者：张三 | 2024-03-20" -> "红网"
    first = re.split(r"\s{1,}|[|｜丨]|(?:作者|编辑|记者|时间|日期|发布)\s*[:：]", value.strip(), maxsplit=1)[0]
    return first.strip("】] ")


def harvest_names_from_page(page_text: str, harvest: Harvest) -> None:
    """Editor and author from labelled names anywhere on the page, where ``harvest`` has none."""
    # Only explicit labels count outside the main text: a bare "文" or "记者" in page chrome is noise.
    if harvest.editor is None and (match := re.search(rf"(?:责任编辑|责编)\s*[:：]\s*({_NAME})", page_text)):
        harvest.editor = match.group(1)
    if harvest.author is None and (match := re.search(rf"(?:作者|记者)\s*[:：]\s*({_NAMES})", page_text)):
        harvest.author = _names(match) or None
