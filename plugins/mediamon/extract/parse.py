"""Parsing and main text: one lxml tree per page, the layout rewrites that make it readable to
trafilatura, and the trafilatura call with settings suited to CJK."""
from __future__ import annotations

import re
from configparser import ConfigParser
from functools import lru_cache
from typing import Any

import lxml.etree
import lxml.html
import trafilatura
from trafilatura.settings import use_config

from mediamon.settings import ExtractSettings

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_LOOKS_LIKE_MARKUP = re.compile(r"<\s*(?:html|head|body|div|p|table|meta|title|br|span|a|!doctype)\b", re.I)


def _html_parser(**options: Any) -> lxml.html.HTMLParser:
    parser = lxml.html.HTMLParser(**options)
    # lxml.html picks each element's class (FormElement, InputElement ...) in a Python method for
    # every element object made, by us or by trafilatura on its copies of the tree: 5-8 % of the
    # extraction time. Neither uses those form classes; this lookup runs in C.
    parser.set_element_class_lookup(lxml.etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity,
    ))
    return parser


# Comments and processing instructions go at parse time, as in trafilatura's own loader: kept,
# they split a paragraph's text into the tails of comment nodes, which trafilatura then drops
# (one scrapinghub-aeb page lost half of each paragraph; an old Chinese portal a whole paragraph).
_PARSER = _html_parser(remove_comments=True, remove_pis=True)
_UTF8_PARSER = _html_parser(encoding="utf-8", remove_comments=True, remove_pis=True)
# C0 control characters but tab, newline and carriage return, and DEL: libxml2 stops at some of
# them (the page parses empty) and XML output cannot carry them.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_html(text: str, utf8_body: bytes | None = None) -> lxml.html.HtmlElement | None:
    """Whole-document lxml tree, or None when ``text`` is not HTML.

    lxml rather than trafilatura's loader: the latter rejects pages that lack ``<html>`` (old
    portal pages, CleanEval-style dumps) which lxml parses fine. ``utf8_body``, the bytes ``text``
    was decoded from as UTF-8 without a replacement, is parsed instead when given: lxml hands a
    str with CJK characters to libxml2 as UTF-16, which then costs a quarter of the parse to
    convert back to UTF-8. Control characters are stripped first; comments are not kept.
    """
    if not _LOOKS_LIKE_MARKUP.search(text[:65536]):
        return None
    if _CONTROL_CHARACTERS.search(text):
        text, utf8_body = _CONTROL_CHARACTERS.sub("", text), None
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


def paragraphs_from_loose_text(tree: lxml.html.HtmlElement) -> None:
    """Wrap, in place, text left loose between the blocks of a paragraph container in a ``p``.

    In ``<div><p>…</p><iframe/>，还在香港时……<p>…</p></div>`` (an ad slot dropped into an old
    portal's article) the paragraph is the iframe's tail; trafilatura deletes the iframe and then
    the block that inherited the tail, and the paragraph is lost. A browser shows such text as a
    block of its own; so does this. Only containers that hold paragraphs are looked at, and only
    text after a block-level element (text after inline markup belongs to the same paragraph).
    """
    for parent in {paragraph.getparent() for paragraph in tree.iter("p")}:
        if parent is None:
            continue
        for child in list(parent):
            tail = child.tail
            if tail and not tail.isspace() and isinstance(child.tag, str) and child.tag not in _INLINE_TAGS:
                paragraph = lxml.html.Element("p")
                paragraph.text, child.tail = tail, None
                child.addnext(paragraph)


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


def favors_precision(settings: ExtractSettings, cjk: bool) -> bool:
    """Whether the first main-text candidate of a page runs in trafilatura's precision mode."""
    return settings.cjk_favor_precision if cjk else settings.favor_precision


def main_text(tree: lxml.html.HtmlElement, url: str | None, settings: ExtractSettings, cjk: bool,
              favor_precision: bool | None = None, fast: bool = False) -> str:
    """The main text trafilatura finds in ``tree`` ("" when none); CJK pages get their own table and
    precision settings. ``favor_precision`` overrides the latter (the second candidate runs in the
    other mode); ``fast`` skips trafilatura's comparison with its readability/justext fallbacks.
    trafilatura works on its own copy: ``tree`` is left as it was."""
    if favor_precision is None:
        favor_precision = favors_precision(settings, cjk)
    return trafilatura.extract(
        tree,
        fast=fast,
        url=url,
        config=_trafilatura_config(settings),
        include_comments=False,
        include_tables=settings.cjk_include_tables if cjk else settings.include_tables,
        favor_precision=favor_precision,
        deduplicate=False,
    ) or ""


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


def visible_text(tree: lxml.html.HtmlElement) -> str:
    """The page's human-visible text on one line (no script or style code)."""
    return " ".join(str(_VISIBLE_TEXT(tree)).split())


def html_lang(tree: lxml.html.HtmlElement) -> str | None:
    """The language the page declares on its root element (``zh-CN`` -> ``zh``)."""
    lang = tree.get("lang") or tree.get("xml:lang")
    return lang.split("-")[0].lower() if lang else None
