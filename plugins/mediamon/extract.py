"""The extract stage: raw page bytes -> main text and metadata.

Pipeline for one page:

1. :func:`decode_html` picks a charset that really decodes the bytes (Chinese pages often lie).
2. lxml parses the text once; the tree feeds both trafilatura and the metadata readers.
3. trafilatura extracts the main text with settings suited to CJK (sizes count characters).
4. :func:`clean_lines` removes the Chinese page chrome trafilatura keeps (来源/责任编辑/声明 lines,
   related links, comment forms, "阅读下一篇" ...) and harvests the metadata those lines carry.
5. An appended translation (``英文翻译内容:`` ...) is split off with its own language.

``extract`` never raises on bad input: a page without an article comes back with an empty ``text``
and a machine-readable ``failure_reason``.
"""
from __future__ import annotations

import codecs
import json
import logging
import re
from configparser import ConfigParser
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import lxml.etree
import lxml.html
import trafilatura
from charset_normalizer import from_bytes
from trafilatura.settings import use_config

from mediamon.settings import ExtractSettings

LOGGER = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")

# ---------------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.I)
# Pages declare the narrow legacy charset but use characters of its superset (and browsers decode
# them with the superset too, as the WHATWG encoding standard prescribes).
_SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "hz": "gb18030",
    "big5": "big5hkscs", "cp950": "big5hkscs",
    "latin_1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252",
    "shift_jis": "cp932", "euc_kr": "cp949",
}
_MULTIBYTE_CJK = {"gb18030", "big5hkscs", "cp932", "cp949", "euc_jp", "iso2022_jp"}


def _codec_name(label: str | None) -> str | None:
    """Python codec name for a charset label, widened to its superset; None if unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in ("x-gbk", "gb_2312-80", "x-euc-cn", "euc-cn"):
        label = "gbk"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def _decode_cleanly(body: bytes, codec: str, tolerance: float) -> str | None:
    """``body`` decoded with ``codec`` if at most ``tolerance`` of the characters are undecodable.

    A small tolerance keeps pages with a few corrupt bytes or a body truncated mid-character.
    """
    try:
        return body.decode(codec)
    except UnicodeDecodeError:
        text = body.decode(codec, "replace")
    except LookupError:
        return None
    bad = text.count("\ufffd")
    return text if bad <= max(2, tolerance * len(text)) else None


def _is_utf8_with_multibyte(body: bytes, tolerance: float) -> bool:
    # Legacy CJK bytes almost never form valid UTF-8 sequences, so valid UTF-8 with non-ASCII
    # content is UTF-8 whatever the page declares.
    return not body.isascii() and _decode_cleanly(body, "utf-8", tolerance) is not None


def decode_html(body: bytes, declared_charset: str | None = None, tolerance: float = 0.001) -> tuple[str, str]:
    """Decode raw page bytes, trusting declarations only when they decode cleanly.

    A byte-order mark decides outright (it cannot be there by accident; WHATWG puts it first too).
    Otherwise the candidates are, in order: the HTTP header charset ``declared_charset``, the first
    ``<meta charset>`` / ``http-equiv`` declaration, then detection. A legacy declaration is
    widened to its superset (gb2312/gbk -> gb18030, big5 -> big5hkscs) and a UTF-16 one without a
    BOM read as UTF-8. A candidate is taken only if at most ``tolerance`` of the decoded characters
    are replacement characters, and a legacy candidate loses to UTF-8 when the bytes are valid
    UTF-8 with non-ASCII content. Detection tries UTF-8, then charset_normalizer's guess when it is
    a multi-byte CJK codec, then gb18030 (this is a Chinese-news pipeline), then the guess whatever
    it is, then UTF-8 with replacement characters.

    Returns ``(text, codec name)``; never raises.
    """
    if not body:
        return "", "utf-8"
    for mark, codec in _BOMS:
        if body.startswith(mark):
            return body[len(mark):].decode(codec, "replace"), codec
    meta = _META_CHARSET.search(body[:4096]) or _META_CHARSET.search(body[:65536])
    meta_label = meta.group(1).decode("ascii", "replace") if meta else None
    for codec in map(_codec_name, (declared_charset, meta_label)):
        if codec is None:
            continue
        if codec.startswith("utf-16"):
            codec = "utf-8"
        if codec != "utf-8" and _is_utf8_with_multibyte(body, tolerance):
            return body.decode("utf-8", "replace"), "utf-8"
        text = _decode_cleanly(body, codec, tolerance)
        if text is not None:
            return text, codec
    text = _decode_cleanly(body, "utf-8", tolerance)
    if text is not None:
        return text, "utf-8"
    guess = from_bytes(body).best()
    guessed = _codec_name(guess.encoding) if guess else None
    candidates = (guessed if guessed in _MULTIBYTE_CJK else None, "gb18030", guessed)
    for codec in dict.fromkeys(codec for codec in candidates if codec):
        text = _decode_cleanly(body, codec, tolerance)
        if text is not None:
            return text, codec
    return body.decode("utf-8", "replace"), "utf-8"


# ---------------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------------


@dataclass
class Extraction:
    """What the extract stage learnt about one page.

    ``text`` is the main text (paragraphs separated by newlines) in language ``lang``; an appended
    translation is kept apart in ``translation`` / ``translation_lang``. ``published_at`` is
    timezone-aware (naive Chinese dates are read as Asia/Shanghai). ``failure_reason`` is None when
    an article was found, else one of ``empty_body``, ``not_html``, ``no_main_text``, ``too_short``,
    ``error``.
    """

    title: str | None = None
    text: str = ""
    lang: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    editor: str | None = None
    site_name: str | None = None
    source_attribution: str | None = None
    original_title: str | None = None
    translation: str | None = None
    translation_lang: str | None = None
    canonical_url: str | None = None
    encoding: str | None = None
    # The page's <title>, meta keywords and breadcrumb trail (:func:`page_fields`).
    page_fields: dict[str, str] = field(default_factory=dict)
    extractor_version: str = ExtractSettings.version
    failure_reason: str | None = None

    def to_json_dict(self) -> dict:
        """Plain JSON-serialisable dict (``published_at`` as ISO 8601)."""
        data = asdict(self)
        data["published_at"] = self.published_at.isoformat() if self.published_at else None
        return data


# ---------------------------------------------------------------------------------------------------
# Parsing and main text
# ---------------------------------------------------------------------------------------------------

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_LOOKS_LIKE_MARKUP = re.compile(r"<\s*(?:html|head|body|div|p|table|meta|title|br|span|a|!doctype)\b", re.I)


def _html_parser(**options) -> lxml.html.HTMLParser:
    parser = lxml.html.HTMLParser(**options)
    # lxml.html picks each element's class (FormElement, InputElement ...) in a Python method for
    # every element object made, by us or by trafilatura on its copies of the tree: 5-8 % of the
    # extraction time. Neither uses those form classes; this lookup runs in C.
    parser.set_element_class_lookup(lxml.etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity,
    ))
    return parser


_PARSER = _html_parser()
_UTF8_PARSER = _html_parser(encoding="utf-8")


def _parse_html(text: str, utf8_body: bytes | None = None) -> lxml.html.HtmlElement | None:
    """Whole-document lxml tree, or None when ``text`` is not HTML.

    lxml rather than trafilatura's loader: the latter rejects pages that lack ``<html>`` (old
    portal pages, CleanEval-style dumps) which lxml parses fine. ``utf8_body``, the bytes ``text``
    was decoded from as UTF-8 without a replacement, is parsed instead when given: lxml hands a
    str with CJK characters to libxml2 as UTF-16, which then costs a quarter of the parse to
    convert back to UTF-8.
    """
    if not _LOOKS_LIKE_MARKUP.search(text[:65536]):
        return None
    try:
        if utf8_body is not None:
            tree = lxml.html.document_fromstring(utf8_body, parser=_UTF8_PARSER)
        else:
            tree = lxml.html.document_fromstring(_XML_DECLARATION.sub("", text, count=1), parser=_PARSER)
    except (lxml.etree.ParserError, ValueError):
        return None
    return tree if len(tree) else None


_TABLE_PARTS = ("table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption")


def unwrap_layout_tables(tree: lxml.html.HtmlElement, max_cell_chars: int) -> None:
    """Turn layout tables into plain ``div`` blocks, in place, keeping data tables.

    Old portals lay whole pages out in tables; trafilatura renders those as table rows and either
    keeps the navigation cells with the text or drops the text with the table. A table is layout
    when it nests another table or a cell holds a long text; data tables have neither.
    """
    for table in list(tree.iter("table")):
        if table.getparent() is None or table.tag != "table":
            continue  # already unwrapped as part of an enclosing layout table
        nested = next(table.iterdescendants("table"), None) is not None
        if nested or any(len(cell.text_content()) > max_cell_chars for cell in table.iter("td", "th")):
            for element in table.iter(*_TABLE_PARTS):
                element.tag = "div"


_INLINE_TAGS = frozenset({"span", "strong", "b", "em", "i", "u", "font", "a", "br", "img", "sup", "sub", "small"})


def paragraphs_from_inline_blocks(tree: lxml.html.HtmlElement, tags: tuple[str, ...]) -> None:
    """Rename, in place, ``tags`` elements that hold text and only inline children to ``p``.

    WeChat-style editors write each paragraph as ``<section><span>text</span></section>``;
    trafilatura looks for paragraphs in ``p`` elements and misses such articles entirely.
    """
    for element in tree.iter(*tags):
        children_inline = all(isinstance(child.tag, str) and child.tag in _INLINE_TAGS for child in element)
        if children_inline and element.text_content().strip():
            element.tag = "p"


def drop_code(tree: lxml.html.HtmlElement) -> None:
    """Remove, in place, the script and style elements but JSON-LD (trafilatura reads it), keeping
    their tails as trafilatura does when it deletes them.

    trafilatura deletes them only after copying the whole tree several times (its input, the raw
    tree for its fallback extractors): on portal pages they are most of the markup to copy.
    """
    for element in list(tree.iter("script", "style")):
        if element.get("type") != "application/ld+json":
            element.drop_tree()


@lru_cache(maxsize=8)
def _trafilatura_config(settings: ExtractSettings) -> ConfigParser:
    config = use_config()
    # trafilatura measures these sizes in characters; a Chinese character carries roughly what an
    # English word does, so the defaults (tuned for English) make it reject short Chinese articles.
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(settings.min_extracted_size))
    config.set("DEFAULT", "MIN_OUTPUT_SIZE", str(settings.min_output_size))
    return config


def _main_text(tree: lxml.html.HtmlElement, url: str | None, settings: ExtractSettings, cjk: bool) -> str:
    return trafilatura.extract(
        tree,
        url=url,
        config=_trafilatura_config(settings),
        include_comments=False,
        include_tables=settings.cjk_include_tables if cjk else settings.include_tables,
        favor_precision=settings.cjk_favor_precision if cjk else settings.favor_precision,
        deduplicate=False,
    ) or ""


# ---------------------------------------------------------------------------------------------------
# Chinese page chrome in the extracted lines
# ---------------------------------------------------------------------------------------------------

_CJK_CHARACTERS = "\u3400-\u9fff\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK_CHARACTERS}]")
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
_DISCLAIMER_LINE = re.compile(r"^[\s【\[(（]*(?:声明|免责声明|版权声明|特别声明|郑重声明|反侵权公告|版权所有)\s*[】\]:：)）]")
# A heading after which only related links, channel lists or comments follow.
_TAIL_HEADING = re.compile(
    r"^[\s【\[(（]*(?:相关链接|相关阅读|相关新闻|相关文章|相关报道|频道精选|热门推荐|推荐阅读|延伸阅读|猜你喜欢|"
    r"热点新闻|热门文章|精彩推荐|相关推荐|为您推荐|热门评论|网友评论|发表评论|发表回复|阅读下一篇|更多精彩)\s*[】\]:：)）>》]*\s*$"
)
_FIELD_SEPARATOR = re.compile(r"[|｜丨]")
_LABELLED_FIELD = re.compile(r"(?:发布|发表|时间|日期|来源|来自|作者|编辑|点击|浏览|阅读|字号)\s*[:：]")
_BREADCRUMB = re.compile(r"\S\s*(?:>|»|＞|->|→)\s*\S")
_SENTENCE_END = re.compile(r"[。！？!?…”」』；;.]\s*$")


@dataclass
class _Harvest:
    author: str | None = None
    editor: str | None = None
    source_attribution: str | None = None
    original_title: str | None = None
    # Header/footer lines dropped from the text that may carry the publication date.
    header_lines: list[str] = field(default_factory=list)


def _is_date_only(line: str) -> bool:
    return bool(line) and _DATE_ONLY.match(line) is not None


def _names(match: re.Match) -> str:
    # "余雅琴 实习生 梁典逸" -> "余雅琴": the names after another role word are not the author's.
    names = []
    for name in re.split(r"[ \u3000、，,/]+", match.group(1)):
        if name in _ROLE_WORDS:
            break
        names.append(name)
    return " ".join(names)


_ROLE_WORDS = frozenset({"通讯员", "实习生", "摄影", "摄像", "报道", "编辑", "责任编辑", "记者", "校对", "见习记者"})


def _harvest_names(line: str, harvest: _Harvest) -> None:
    if harvest.editor is None and (match := _EDITOR.search(line)):
        harvest.editor = _names(match)
    stripped = _EDITOR.sub("", line)
    if harvest.author is None and (match := _AUTHOR.search(stripped)):
        harvest.author = _names(match) or None


def clean_lines(text: str, settings: ExtractSettings) -> tuple[list[str], _Harvest]:
    """Drop the page chrome trafilatura keeps in Chinese pages and harvest the metadata it carries.

    Removes: source / author / editor / original-title lines (harvested), disclaimers, breadcrumbs,
    share/print/paging lines, header lines of several ``label:`` fields, date-only lines, and
    everything after a related-links / channel-list / comment heading in the latter part of the text.
    Returns the kept lines and the harvest.
    """
    harvest = _Harvest()
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    total = sum(len(line) for line in lines) or 1
    kept: list[str] = []
    seen = 0
    for line in lines:
        position = seen / total
        seen += len(line)
        short = len(line) <= settings.max_chrome_line_chars
        if position >= settings.tail_cut_from and _TAIL_HEADING.match(line):
            break
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
            if position >= settings.tail_cut_from and len(line) <= 12:
                break  # a bare disclaimer heading: its clauses follow as separate lines
            continue
        if short and _REPRINT_NOTICE.search(line):
            continue
        if short and _FOOTER_LINE.search(line):
            continue
        if short and _is_navigation_bar(line):
            continue
        if short and (_CHROME_LINE.match(line) or _is_date_only(line)):
            harvest.header_lines.append(line)
            continue
        if short and len(_LABELLED_FIELD.findall(line)) >= 2:
            harvest.header_lines.append(line)
            _harvest_names(line, harvest)
            continue
        if short and len(_BREADCRUMB.findall(line)) >= 2 and not _SENTENCE_END.search(line):
            continue  # "首页 > 新闻 > 正文"
        kept.append(line)
    return _drop_link_list_tail(_drop_menu_runs(kept, settings), settings), harvest


def _drop_menu_runs(lines: list[str], settings: ExtractSettings) -> list[str]:
    """Drop runs of at least ``min_menu_run`` consecutive very short lines without sentence
    punctuation ("首页", "新闻", "|", ...): navigation menus and forum chrome rendered one item a line."""
    kept: list[str] = []
    run: list[str] = []
    for line in lines + [""]:
        if line and len(line) <= settings.max_menu_item_chars and not _SENTENCE_END.search(line):
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
        and _CJK_CHAR.search(lines[start - 1])
        and not _SENTENCE_END.search(lines[start - 1])
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
        and not _SENTENCE_END.search(line)
    )


def _first_field(value: str) -> str:
    # "来源：红网 作者：张三 | 2024-03-20" -> "红网"
    return re.split(r"\s{1,}|[|｜丨]|(?:作者|编辑|记者|时间|日期|发布)\s*[:：]", value.strip(), maxsplit=1)[0].strip("】] ")


# ---------------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------------

_TIME = r"(?:\s*(?:T|\s)?\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?"
# These two are searched over whole pages. The "no digit before" lookbehind comes after the first
# digit(s) rather than first, so that the pattern starts with a digit and re skips in C to the
# candidate positions instead of trying the lookbehind at every character (3-4 times faster).
_FULL_DATE = re.compile(
    r"((?:19|20)\d{2})(?<!\d{5})\s*(?:年|-|/|\.)\s*(\d{1,2})\s*(?:月|-|/|\.)\s*(\d{1,2})(?!\d)\s*日?" + _TIME
)
_MONTH_DAY_TIME = re.compile(r"(\d(?<![\d\-/.]\d)\d?)\s*[-/月]\s*(\d{1,2})\s*日?\s+(\d{1,2})\s*:\s*(\d{2})(?!\d)")
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})日")
# Wire-style datelines open the first paragraph: "中新网北京3月15日电", "红网时刻新闻7月29日讯".
_DATELINE = re.compile(r"^[(（]?[\u4e00-\u9fff]{1,16}?(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日(?:电|讯|消息)")
_DATE_LABEL = re.compile(
    r"(?:发布时间|发表时间|发布日期|发表日期|更新时间|时间|日期|发布于?|发表于?|Published|Date)\s*[:：]?\s*$", re.I
)
_DATE_ONLY = re.compile(r"^[\s【\[(（]*" + _FULL_DATE.pattern + r"\s*[】\])）]*\s*$")
_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[/_-]?(0[1-9]|1[0-2])(?:[/_-]?(0[1-9]|[12]\d|3[01]))?(?!\d)")
_META_DATE_KEYS = (
    "article:published_time", "og:article:published_time", "og:published_time", "publishdate", "pubdate",
    "publish_date", "publishtime", "datepublished", "dc.date.issued", "dc.date", "date", "sailthru.date",
    "parsely-pub-date",
)


def _datetime(year: int, month: int, day: int, hour=None, minute=None, second=None) -> datetime | None:
    try:
        return datetime(year, month, day, int(hour or 0), int(minute or 0), int(second or 0), tzinfo=SHANGHAI)
    except ValueError:
        return None


def _infer_year(month: int, day: int, reference: datetime | None, now: datetime) -> int:
    """Year for a month-day date: the reference's year (URL or another date on the page), else the
    latest year that does not put the date in the future."""
    if reference is not None:
        return reference.year
    year = now.year
    candidate = _datetime(year, month, day)
    if candidate is not None and candidate > now + timedelta(days=1):
        year -= 1
    return year


def parse_date(text: str, reference: datetime | None = None, now: datetime | None = None) -> datetime | None:
    """First date in ``text``: ``2024年3月20日``, ``2021-06-23 05:52``, ``2024/3/20``, ``03-20 10:15``,
    ``3月20日``. Month-day dates take their year from ``reference`` or :func:`_infer_year`. The result
    is in Asia/Shanghai time."""
    now = now or datetime.now(SHANGHAI)
    if match := _FULL_DATE.search(text):
        return _datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), *match.group(4, 5, 6))
    if match := _MONTH_DAY_TIME.search(text):
        month, day = int(match.group(1)), int(match.group(2))
        return _datetime(_infer_year(month, day, reference, now), month, day, match.group(3), match.group(4))
    if match := _MONTH_DAY.search(text):
        month, day = int(match.group(1)), int(match.group(2))
        return _datetime(_infer_year(month, day, reference, now), month, day)
    return None


def _parse_iso(value: str) -> datetime | None:
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return parse_date(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


def _url_date(url: str | None) -> datetime | None:
    match = _URL_DATE.search(url or "")
    if not match:
        return None
    return _datetime(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1))


def _machine_dates(times: list[lxml.html.HtmlElement], meta: dict[str, str], linked: dict[str, str]) -> list[str]:
    """Machine-readable publication dates, most trusted first: meta tags, JSON-LD, the first
    ``<time datetime>`` of ``times``."""
    dates = [meta[key] for key in _META_DATE_KEYS if key in meta]
    if "datePublished" in linked:
        dates.append(linked["datePublished"])
    time = _first_attribute(times, "datetime")
    return dates if time is None else [*dates, time]


def _published_at(machine_dates: list[str], header_lines: list[str], lines: list[str], page_text: str,
                  url: str | None) -> datetime | None:
    """Publication time from, in order: machine-readable dates, labelled or date-only header lines,
    the dateline of the first paragraphs, the page's own date (:func:`_page_date`), a month-day
    date with a time. Month-day dates take their year from the URL or the page's date."""
    for value in machine_dates:
        if parsed := _parse_iso(value):
            return parsed
    page_date = _page_date(page_text)
    reference = _url_date(url) or page_date
    for line in header_lines:
        if parsed := parse_date(line, reference):
            return parsed
    for line in lines[:3]:
        if match := _DATELINE.match(line):
            year, month, day = match.group(1), int(match.group(2)), int(match.group(3))
            if page_date is not None and (page_date.month, page_date.day) == (month, day):
                return page_date  # the same day, with its time of day
            year = int(year) if year else _infer_year(month, day, reference, datetime.now(SHANGHAI))
            return _datetime(year, month, day)
    if page_date is not None:
        return page_date
    if match := _MONTH_DAY_TIME.search(page_text):
        return parse_date(match.group(0), reference)
    return None


def _page_date(page_text: str) -> datetime | None:
    """The first full date of the page labelled as a publication date, else its first full date
    with a time of day (archive lists and copyright lines carry dates without one), else its first
    full date."""
    matches = list(_FULL_DATE.finditer(page_text))
    for match in matches:
        if _DATE_LABEL.search(page_text[max(0, match.start() - 12):match.start()]):
            return parse_date(match.group(0))
    timed = next((match for match in matches if match.group(4)), None)
    first = timed or (matches[0] if matches else None)
    return parse_date(first.group(0)) if first else None


# ---------------------------------------------------------------------------------------------------
# Page metadata, language, translation
# ---------------------------------------------------------------------------------------------------

# Site suffixes: "标题_红网", "标题 - 新华网", "标题|人民网", "新闻频道--标题".
_TITLE_SEPARATOR = re.compile(r"\s*(?:_|\||｜|--|——)\s*|\s+[-–—]\s+")


_METADATA_TAGS = ("meta", "script", "title", "h1", "link", "time")


def _metadata_elements(tree: lxml.html.HtmlElement) -> dict[str, list[lxml.html.HtmlElement]]:
    """The elements the metadata readers look at, by tag, in document order: one walk over the
    tree instead of one per reader."""
    elements: dict[str, list[lxml.html.HtmlElement]] = {tag: [] for tag in _METADATA_TAGS}
    for element in tree.iter(*_METADATA_TAGS):
        elements[element.tag].append(element)
    return elements


def _first_attribute(elements: list[lxml.html.HtmlElement], name: str) -> str | None:
    """Attribute ``name`` of the first of ``elements`` that has it."""
    for element in elements:
        if (value := element.get(name)) is not None:
            return value
    return None


def _page_meta(metas: list[lxml.html.HtmlElement]) -> dict[str, str]:
    """``<meta>`` name/property/itemprop (lower-cased) -> content, first occurrence wins."""
    meta: dict[str, str] = {}
    for element in metas:
        key = next(filter(None, map(element.get, ("property", "name", "itemprop", "http-equiv"))), None)
        content = element.get("content")
        if key and content and content.strip():
            meta.setdefault(key.strip().lower(), content.strip())
    return meta


_ARTICLE_TYPES = {"article", "newsarticle", "reportagenewsarticle", "blogposting", "analysisnewsarticle",
                  "opinionnewsarticle", "webpage", "liveblogposting", "report", "socialmediaposting"}


_BREADCRUMB_CLASS = re.compile(r"bread|crumb|position|location|weizhi|dqwz", re.I)
_BREADCRUMB_TEXT = re.compile(r"^\s*(当前位置|您的位置|你的位置|您现在的位置|所在位置)\s*[:：]?")


def page_fields(tree: lxml.html.HtmlElement, meta: dict[str, str], page_title: str | None) -> dict[str, str]:
    """What a page says about itself outside the article: its ``page_title``, meta keywords and
    breadcrumb trail. Spam domains show there what they rank for (dedupe's spam rules read them)."""
    crumbs = [element.text_content().strip() for element in tree.iter("div", "nav", "p", "span", "ol", "ul")
              if _BREADCRUMB_CLASS.search(f"{element.get('class', '')} {element.get('id', '')}")
              or _BREADCRUMB_TEXT.match(element.text or "")]
    return {"page_title": page_title or "", "meta_keywords": meta.get("keywords", ""),
            "breadcrumb": " ".join(crumb for crumb in crumbs if len(crumb) < 300)}


def _linked_data(scripts: list[lxml.html.HtmlElement]) -> dict[str, str]:
    """``datePublished``, ``author`` and ``headline`` of the first article object in the page's
    JSON-LD blocks (empty dict when there is none or it does not parse)."""
    for script in scripts:
        if script.get("type") != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if not isinstance(item, dict):
                continue
            stack.extend(item.get("@graph") or [])
            kinds = item.get("@type") or []
            kinds = {kind.lower() for kind in (kinds if isinstance(kinds, list) else [kinds])
                     if isinstance(kind, str)}
            if kinds & _ARTICLE_TYPES and (item.get("datePublished") or item.get("author")):
                return {
                    key: value
                    for key, value in (
                        ("datePublished", item.get("datePublished")),
                        ("author", _person_names(item.get("author"))),
                        ("headline", item.get("headline")),
                    )
                    if isinstance(value, str) and value.strip()
                }
    return {}


def _person_names(author) -> str | None:
    """Names from a JSON-LD author value: a string, a Person object, or a list of them."""
    items = author if isinstance(author, list) else [author]
    names = [item.get("name") if isinstance(item, dict) else item for item in items]
    names = [name.strip() for name in names if isinstance(name, str) and name.strip()]
    return ", ".join(names) or None


def _plausible_author(value: str | None) -> str | None:
    """``value`` unless it is a URL or a site/publisher blurb rather than a byline."""
    if not value or re.search(r"https?:|www\.|\.com|\.cn", value) or value.count(",") >= 3:
        return None
    return re.sub(r"^by\s+", "", value.strip(), flags=re.I)


def clean_title(raw: str | None, headline: str | None = None) -> str | None:
    """Title without the site-name part. A headline (og:title or the page's h1) found among the
    separated parts wins; else the longest part, as site names are short."""
    if not raw:
        return headline or None
    raw = " ".join(raw.split())
    parts = [part for part in _TITLE_SEPARATOR.split(raw) if part]
    if headline:
        headline = " ".join(headline.split())
        if headline in parts or (headline in raw and len(headline) >= 4):
            return headline
    return max(parts, key=len) if parts else raw


def _first_text(elements: list[lxml.html.HtmlElement]) -> str | None:
    for element in elements:
        text = " ".join(element.text_content().split())
        if text:
            return text
    return None


# Language by script: (language, its characters as a regex class, share of the letters needed), in
# the order they are tried.
_SCRIPTS = (("ja", "\u3040-\u30ff", 0.05), ("ko", "\uac00-\ud7af", 0.2), ("zh", _CJK_CHARACTERS, 0.2),
            ("ru", "\u0400-\u04ff", 0.3))
_ANY_SCRIPT_CHAR = re.compile("[" + "".join(characters for _, characters, _ in _SCRIPTS) + "]")


def detect_lang(text: str) -> str | None:
    """Language of ``text`` by script: zh, ja (kana), ko (hangul), ru (Cyrillic), en (Latin with
    English function words), else None."""
    sample = text[:3000]
    letters = sum(map(str.isalpha, sample))
    if not letters:
        return None
    # One scan spares a Latin-script sample the four counts, all zero.
    if _ANY_SCRIPT_CHAR.search(sample):
        for lang, characters, share in _SCRIPTS:
            # Runs, not characters: findall then builds one string per run instead of per character.
            if sum(map(len, re.findall(f"[{characters}]+", sample))) > share * letters:
                return lang
    words = re.findall(r"[a-z]+", sample.lower())
    function_words = sum(1 for word in words if word in _ENGLISH_FUNCTION_WORDS)
    return "en" if words and function_words >= 0.15 * len(words) else None


_CJK_LANGS = frozenset({"zh", "ja", "ko"})
_ENGLISH_FUNCTION_WORDS = frozenset(
    "the of and to in a is that for on with as was by at it from be are this an has have will its".split()
)
# A marker line is the marker alone, or the marker, a colon and the translation's first words.
_TRANSLATION_MARKER = re.compile(
    r"^(?:英文翻译内容|英文翻译|英文版|英译|English translation|English version|Translation)\s*(?:$|[:：]\s*(.*)$)",
    re.I,
)


def _is_latin_script(line: str) -> bool:
    letters = [char for char in line if char.isalpha()]
    return bool(letters) and sum(1 for char in letters if char.isascii()) >= 0.9 * len(letters)


def split_translation(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split an appended translation off the main text: at a marker line (``英文翻译内容:``), or
    where a trailing run of lines switches to another language than the opening lines'. Returns
    ``(main lines, translation lines)``."""
    for index, line in enumerate(lines):
        if index and (match := _TRANSLATION_MARKER.match(line)):
            rest = [match.group(1)] if match.group(1) else []
            return lines[:index], rest + lines[index + 1:]
    main_lang = detect_lang("\n".join(lines[:5]))
    if main_lang != "zh":
        return lines, []
    # Walk back over the trailing lines that are written in Latin script.
    start = len(lines)
    while start > 1 and _is_latin_script(lines[start - 1]):
        start -= 1
    tail = lines[start:]
    if len(tail) >= 2 and sum(map(len, tail)) >= 200:
        return lines[:start], tail
    return lines, []


# ---------------------------------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------------------------------


def extract(
    body: bytes | str,
    url: str | None = None,
    declared_charset: str | None = None,
    settings: ExtractSettings | None = None,
) -> Extraction:
    """Extract the main text and metadata of one page.

    Args:
        body: the raw response body (bytes, decoded here) or already decoded text.
        url: the page URL; helps trafilatura and dates without a year.
        declared_charset: the charset of the HTTP Content-Type header, if any.
        settings: tunables; defaults to :class:`ExtractSettings`.

    Returns:
        An :class:`Extraction`. Never raises on bad input: failures are reported in
        ``failure_reason`` with whatever metadata could be read.
    """
    settings = settings or ExtractSettings()
    result = Extraction(extractor_version=settings.version)
    try:
        _extract_into(result, body, url, declared_charset, settings)
    except Exception:  # a broken page must not stop a batch; the reason is recorded on the row
        LOGGER.exception("extraction failed for %s", url)
        result.text, result.failure_reason = "", "error"
    return result


def _extract_into(result: Extraction, body: bytes | str, url: str | None, declared_charset: str | None,
                  settings: ExtractSettings) -> None:
    if isinstance(body, bytes):
        if not body.strip():
            result.failure_reason = "empty_body"
            return
        text, result.encoding = decode_html(body, declared_charset, settings.decode_error_tolerance)
        # Without a replacement character, the UTF-8 text is exactly the body's bytes.
        utf8_body = body if result.encoding == "utf-8" and "\ufffd" not in text else None
    else:
        text, utf8_body = body, None
    if not text.strip():
        result.failure_reason = "empty_body"
        return
    tree = _parse_html(text, utf8_body)
    if tree is None:
        result.failure_reason = "not_html"
        return

    elements = _metadata_elements(tree)
    meta = _page_meta(elements["meta"])
    linked = _linked_data(elements["script"])
    headline = meta.get("og:title") or linked.get("headline") or _first_text(elements["h1"])
    page_title = _first_text(elements["title"])
    result.title = clean_title(page_title or headline, headline)
    # Before the layout rewrites below rename elements.
    result.page_fields = page_fields(tree, meta, page_title)
    result.site_name = meta.get("og:site_name") or meta.get("application-name")
    canonical_links = [link for link in elements["link"] if link.get("rel") == "canonical"]
    canonical = (_first_attribute(canonical_links, "href") or "").strip()
    result.canonical_url = urljoin(url or "", canonical) if canonical else None

    page_text = _visible_text(tree)
    cjk = detect_lang(page_text) in _CJK_LANGS
    if settings.unwrap_layout_tables:
        unwrap_layout_tables(tree, settings.max_data_cell_chars)
    paragraphs_from_inline_blocks(tree, settings.inline_block_tags)
    drop_code(tree)  # last before trafilatura: the readers above see the page as served
    lines, harvest = clean_lines(_main_text(tree, url, settings, cjk), settings)
    main_lines, translation_lines = split_translation(lines)
    result.text = "\n".join(main_lines)
    result.lang = detect_lang(result.text) or _html_lang(tree)
    if translation_lines:
        result.translation = "\n".join(translation_lines)
        result.translation_lang = detect_lang(result.translation)

    _harvest_names_from_page(page_text, harvest)
    declared_authors = (linked.get("author"), *(meta.get(key) for key in _META_AUTHOR_KEYS))
    result.author = harvest.author or next(filter(None, map(_plausible_author, declared_authors)), None)
    result.editor = harvest.editor
    result.source_attribution = harvest.source_attribution
    result.original_title = harvest.original_title
    result.published_at = _published_at(
        _machine_dates(elements["time"], meta, linked), harvest.header_lines, main_lines, page_text, url
    )

    if not result.text:
        result.failure_reason = "no_main_text"
    elif len(result.text) < settings.min_text_chars:
        result.failure_reason = "too_short"


# One pass in C over the tree that skips script/style/noscript subtrees: an XPath with an
# ``ancestor::`` test walks up from every text node and wraps each result in a Python object,
# which made this function several times slower. Each text node is followed by a space, as if
# the text nodes were joined with spaces.
_VISIBLE_TEXT = lxml.etree.XSLT(lxml.etree.XML("""\
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text" encoding="utf-8"/>
  <xsl:template match="/"><xsl:apply-templates select="//body[not(ancestor::body)]"/></xsl:template>
  <xsl:template match="script|style|noscript"/>
  <xsl:template match="text()"><xsl:value-of select="."/><xsl:text> </xsl:text></xsl:template>
</xsl:stylesheet>"""))


def _visible_text(tree: lxml.html.HtmlElement) -> str:
    """The page's human-visible text on one line (no script or style code)."""
    return " ".join(str(_VISIBLE_TEXT(tree)).split())


_META_AUTHOR_KEYS = ("author", "article:author", "byl", "dc.creator", "parsely-author", "sailthru.author")


def _harvest_names_from_page(page_text: str, harvest: _Harvest) -> None:
    # Only explicit labels count outside the main text: a bare "文" or "记者" in page chrome is noise.
    if harvest.editor is None and (match := re.search(rf"(?:责任编辑|责编)\s*[:：]\s*({_NAME})", page_text)):
        harvest.editor = match.group(1)
    if harvest.author is None and (match := re.search(rf"(?:作者|记者)\s*[:：]\s*({_NAMES})", page_text)):
        harvest.author = _names(match) or None


def _html_lang(tree: lxml.html.HtmlElement) -> str | None:
    lang = tree.get("lang") or tree.get("xml:lang")
    return lang.split("-")[0].lower() if lang else None


if __name__ == "__main__":
    import argparse
    import sys
    from pathlib import Path

    parser = argparse.ArgumentParser(description="Extract one saved page and print the result as JSON.")
    parser.add_argument("path", type=Path)
    parser.add_argument("--url")
    parser.add_argument("--charset", help="charset of the HTTP Content-Type header")
    parser.add_argument("--json", action="store_true", help="accepted for parity with `mediamon extract`")
    arguments = parser.parse_args()
    extraction = extract(arguments.path.read_bytes(), url=arguments.url, declared_charset=arguments.charset)
    json.dump(extraction.to_json_dict(), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
