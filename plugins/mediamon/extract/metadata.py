"""Page metadata: what the page says about itself in meta tags, JSON-LD, ``<title>``/``<h1>``,
``<time>``, canonical links and breadcrumbs."""
from __future__ import annotations

import json
import re

import lxml.html

from mediamon import safe
from mediamon.outcomes import DateSource

# Meta tags carrying the publication date, most trusted first.
_META_DATE_KEYS = (
    "article:published_time", "og:article:published_time", "og:published_time", "publishdate", "pubdate",
    "publish_date", "publishtime", "datepublished", "dc.date.issued", "dc.date", "date", "sailthru.date",
    "parsely-pub-date",
)
# Meta tags naming the author, most trusted first.
META_AUTHOR_KEYS = ("author", "article:author", "byl", "dc.creator", "parsely-author", "sailthru.author")
_METADATA_TAGS = ("meta", "script", "title", "h1", "link", "time")


def metadata_elements(tree: lxml.html.HtmlElement) -> dict[str, list[lxml.html.HtmlElement]]:
    """The elements the metadata readers look at, by tag, in document order: one walk over the
    tree instead of one per reader."""
    elements: dict[str, list[lxml.html.HtmlElement]] = {tag: [] for tag in _METADATA_TAGS}
    for element in tree.iter(*_METADATA_TAGS):
        elements[element.tag].append(element)
    return elements


def first_attribute(elements: list[lxml.html.HtmlElement], name: str) -> str | None:
    """Attribute ``name`` of the first of ``elements`` that has it."""
    for element in elements:
        if (value := element.get(name)) is not None:
            return value
    return None


def page_meta(metas: list[lxml.html.HtmlElement]) -> dict[str, str]:
    """``<meta>`` name/property/itemprop (lower-cased) -> content, first occurrence wins."""
    meta: dict[str, str] = {}
    for element in metas:
        key = next(filter(None, map(element.get, ("property", "name", "itemprop", "http-equiv"))), None)
        content = element.get("content")
        if key and content and content.strip():
            meta.setdefault(key.strip().lower(), content.strip())
    return meta


_BREADCRUMB_CLASS = re.compile(r"bread|crumb|position|location|weizhi|dqwz", re.I)
_BREADCRUMB_TEXT = re.compile(r"^\s*(当前位置|您的位置|你的位置|您现在的位置|所在位置)\s*[:：]?")


def page_fields(tree: lxml.html.HtmlElement, meta: dict[str, str], page_title: str | None) -> dict[str, str]:
    """What a page says about itself outside the article: its ``page_title``, meta keywords and
    breadcrumb trail. Spam domains show there what they rank for (dedupe's spam rules read them)."""
    crumbs = [_short_text(element, _MAX_CRUMB_CHARS) for element in tree.iter("div", "nav", "p", "span", "ol", "ul")
              if _BREADCRUMB_CLASS.search(f"{element.get('class', '')} {element.get('id', '')}")
              or _BREADCRUMB_TEXT.match(element.text or "")]
    return {"page_title": page_title or "", "meta_keywords": meta.get("keywords", ""),
            "breadcrumb": " ".join(crumb for crumb in crumbs if crumb)}


_MAX_CRUMB_CHARS = 300  # a breadcrumb trail is short; a longer block is page content


def _short_text(element: lxml.html.HtmlElement, limit: int) -> str | None:
    """``element.text_content().strip()`` when it is shorter than ``limit``, else None.

    Reads the text pieces only until ``limit`` is passed: nested breadcrumb blocks around a huge
    text would otherwise build one copy of that text per nesting level (250 levels around
    4.8 MB took 1.15 GB)."""
    text = ""
    for piece in element.itertext():
        text = (text + piece) if text else piece.lstrip()
        if len(text) >= limit:
            text = text.rstrip()
            if len(text) >= limit:
                return None
    return text.rstrip()


# JSON-LD @types that describe the page's article (lower-cased).
_ARTICLE_TYPES = {"article", "newsarticle", "reportagenewsarticle", "blogposting", "analysisnewsarticle",
                  "opinionnewsarticle", "webpage", "liveblogposting", "report", "socialmediaposting"}


def linked_data(scripts: list[lxml.html.HtmlElement]) -> dict[str, str]:
    """``datePublished``, ``author`` and ``headline`` of the first article object in the page's
    JSON-LD blocks (empty dict when there is none or it does not parse)."""
    for script in scripts:
        if script.get("type") != "application/ld+json":
            continue
        try:
            found = _linked_article(json.loads(script.text or ""))
        except (ValueError, TypeError, AttributeError, RecursionError):
            continue  # a malformed block is skipped; the page and its other blocks still count
        if found is not None:
            return found
    return {}


def _linked_article(data: object) -> dict[str, str] | None:
    """The fields of the first article object in one parsed JSON-LD block, strings cleaned of NUL
    and lone surrogates; None when the block has none."""
    stack = data if isinstance(data, list) else [data]
    while stack:
        item = stack.pop(0)
        if not isinstance(item, dict):
            continue
        graph = item.get("@graph")
        stack.extend(graph if isinstance(graph, list) else [graph] if isinstance(graph, dict) else [])
        kinds = item.get("@type") or []
        kinds = {kind.lower() for kind in (kinds if isinstance(kinds, list) else [kinds])
                 if isinstance(kind, str)}
        if kinds & _ARTICLE_TYPES and (item.get("datePublished") or item.get("author")):
            fields = (("datePublished", item.get("datePublished")),
                      ("author", _person_names(item.get("author"))),
                      ("headline", item.get("headline")))
            return {key: cleaned for key, value in fields
                    if isinstance(value, str) and (cleaned := safe.clean_text(value).strip())}
    return None


def _person_names(author: object) -> str | None:
    """Names from a JSON-LD author value: a string, a Person object, or a list of them."""
    items = author if isinstance(author, list) else [author]
    values = [item.get("name") if isinstance(item, dict) else item for item in items]
    names = [value.strip() for value in values if isinstance(value, str) and value.strip()]
    return ", ".join(names) or None


def plausible_author(value: str | None) -> str | None:
    """``value`` unless it is a URL or a site/publisher blurb rather than a byline."""
    if not value or re.search(r"https?:|www\.|\.com|\.cn", value) or value.count(",") >= 3:
        return None
    return re.sub(r"^by\s+", "", value.strip(), flags=re.I)


# Site suffixes: "标题_红网", "标题 - 新华网", "标题|人民网", "新闻频道--标题", "博客 » 标题".
_TITLE_SEPARATOR = re.compile(r"\s*(?:_|\||｜|--|——|»|›)\s*|\s+[-–—]\s+")


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


def first_text(elements: list[lxml.html.HtmlElement]) -> str | None:
    """The whitespace-collapsed text of the first of ``elements`` that has any."""
    for element in elements:
        text = " ".join(element.text_content().split())
        if text:
            return text
    return None


def machine_dates(times: list[lxml.html.HtmlElement], meta: dict[str, str],
                  linked: dict[str, str]) -> list[tuple[DateSource, str]]:
    """Machine-readable publication dates with where each was found, most trusted first: meta
    tags, JSON-LD, the first ``<time datetime>`` of ``times``."""
    dates = [(DateSource.META, meta[key]) for key in _META_DATE_KEYS if key in meta]
    if "datePublished" in linked:
        dates.append((DateSource.JSON_LD, linked["datePublished"]))
    time = first_attribute(times, "datetime")
    return dates if time is None else [*dates, (DateSource.TIME_ELEMENT, time)]
