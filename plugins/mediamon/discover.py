"""Discover article URLs from feeds, sitemaps and listing pages, and canonicalize them.

Parsing is pure: these functions take a document's bytes and return links. Feeds are parsed by
feedparser (RSS 0.9x-2.0, RDF, Atom, and the broken feeds it knows how to read); sitemaps and
listing pages by lxml. Network access and conditional GET belong to the pipeline, which hands the
bytes in. XML is parsed with entity resolution and network access off, and every document yields
at most ``max_links`` links.

trafilatura's own feed and sitemap helpers were tried first; they drop links whose host is an IP
literal (so they cannot crawl the local demo site) and they fetch by themselves, around the
address guard. courlan (trafilatura's URL library) still does the URL normalization.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import courlan
import feedparser
import lxml.etree
import lxml.html

from mediamon import safe

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"
_XML_PARSER = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
# Path shapes that mark an article rather than a section, tag or pager page.
_ARTICLE_PATH = re.compile(r"(\d{4}[-/]?\d{2}|\d{5,}|\.s?html?$|/(article|news|content|detail|a)/)", re.I)
_NAVIGATION_CONTAINERS = ("nav", "header", "footer", "aside")
# Anchor texts shorter than this are labels (section names, pager numbers), not headlines.
MIN_HEADLINE_CHARS = 6


@dataclass(frozen=True)
class Link:
    url: str
    title: str | None = None
    published_at: datetime | None = None


@dataclass(frozen=True)
class Discovery:
    """What one document yielded: article links and, for sitemap indexes, child sitemaps."""

    links: list[Link]
    sitemaps: list[str]


class NotAFeed(ValueError):
    """The document is not parseable as the kind of document expected."""


def canonical_url(url: str, base: str | None = None) -> str | None:
    """Normalize a URL for the frontier: absolute, lower-case host, no fragment, no tracking
    parameters, default port dropped. Returns None for URLs that cannot be crawled.

    Also None for URLs :func:`safe.url_problem` refuses (malformed host or port, too long);
    userinfo is removed. Never raises, whatever ``url`` and ``base`` hold."""
    try:
        url = url.strip()
        if base:
            url = urljoin(base, url)
        url = safe.strip_userinfo(url)
        if safe.url_problem(url):
            return None
        # Not strict: strict mode keeps only a short list of known parameters and would fold
        # show.aspx?newsid=55 and show.aspx?newsid=56 into one URL. Trackers still go.
        normalized = courlan.normalize_url(url, strict=False)
        normalized = safe.strip_userinfo(urlunsplit(urlsplit(normalized)._replace(fragment="")))
    except (ValueError, AttributeError, TypeError, UnicodeError):
        return None
    return None if safe.url_problem(normalized) else normalized


def parse_feed(body: bytes, base_url: str, max_links: int) -> Discovery:
    """Links from an RSS 0.9x/2.0, RSS 1.0/RDF or Atom feed, parsed by feedparser.

    feedparser gets a byte stream, never a string: a string naming a URL makes it fetch, around
    the address guard, and bytes naming a file make it read that file. Its SAX parser does not
    load external entities. It does expand internal ones, up to expat's amplification limit
    (8 MiB of text, 11 s of feedparser callbacks for a 600-byte "billion laughs"), so the
    DOCTYPE goes before parsing; a feed's own entities are then undefined and feedparser's
    lenient parser reads it. feedparser also builds every entry (~0.5 ms each): entries past
    ``max_links`` are cut from the bytes first (see :func:`_bounded_feed`). HTML sanitizing and
    relative URI resolution inside content are off: only links and titles are used, and links
    are resolved here, against the URL the feed was fetched from.
    """
    parsed = feedparser.parse(io.BytesIO(_bounded_feed(body, max_links)), sanitize_html=False,
                              resolve_relative_uris=False)
    links: list[Link] = []
    for entry in parsed.entries:
        if len(links) >= max_links:
            break
        href = entry.get("link") or _alternate_link(entry)
        url = canonical_url(href, base_url) if href else None
        if url:
            title = " ".join((entry.get("title") or "").split()) or None
            links.append(Link(url, title, _entry_date(entry)))
    if not parsed.version and not links:
        reason = parsed.get("bozo_exception")
        raise NotAFeed(f"not an RSS, RDF or Atom feed{f' ({reason})' if reason else ''}")
    return Discovery(links, [])


def feed_kind(body: bytes) -> str | None:
    """``rss`` or ``atom`` for a feed (RSS 1.0/RDF counts as rss), None for anything else."""
    version = feedparser.parse(io.BytesIO(_bounded_feed(body, 1)), sanitize_html=False,
                               resolve_relative_uris=False).version
    if not version:
        return None
    return "atom" if version.startswith("atom") else "rss"


_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(\[.*?\]\s*)?>", re.IGNORECASE | re.DOTALL)
_ENTRY_START = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s>/]")
_ENTRY_END = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")


def _bounded_feed(body: bytes, max_links: int) -> bytes:
    """``body`` without its DOCTYPE and without the entries after the first ``max_links``.

    Entries are siblings, so the document stays well-formed: what follows the last entry (the
    closing tags) is kept. Should the cut land badly anyway, feedparser's lenient parser copes.
    (UTF-16 feeds pass unchanged; expat's amplification limit still bounds them.)
    """
    body = _DOCTYPE.sub(b"", body, count=1)
    starts = _ENTRY_START.finditer(body)
    cut = next((m.start() for i, m in enumerate(starts) if i == max_links), None)
    if cut is None:
        return body
    ends = list(_ENTRY_END.finditer(body, cut))
    return body[:cut] + (body[ends[-1].end():] if ends else b"")


def _alternate_link(entry) -> str | None:
    for link in entry.get("links") or ():
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"]
    return None


def _entry_date(entry) -> datetime | None:
    # The raw string keeps the feed's own UTC offset; feedparser's *_parsed tuples are UTC.
    for key in ("published", "updated", "created"):
        parsed = _date(entry.get(key))
        if parsed is not None:
            return parsed
    for key in ("published_parsed", "updated_parsed"):
        if entry.get(key):
            return datetime(*entry[key][:6], tzinfo=UTC)
    return None


def parse_sitemap(body: bytes, base_url: str, max_links: int) -> Discovery:
    """Links from a sitemap, a news sitemap or a sitemap index (whose children are returned)."""
    root = _xml_root(body)
    local = root.tag.rsplit("}", 1)[-1]
    if local == "sitemapindex":
        children = [canonical_url(loc.text or "", base_url)
                    for loc in root.iter(f"{SITEMAP_NS}loc", "loc")][:max_links]
        return Discovery([], [c for c in children if c])
    if local != "urlset":
        raise NotAFeed(f"root element <{local}> is not a sitemap")
    links = []
    for entry in root.iter(f"{SITEMAP_NS}url", "url"):
        if len(links) >= max_links:
            break
        url = canonical_url(_text(entry, f"{SITEMAP_NS}loc", "loc") or "", base_url)
        if url:
            links.append(Link(url, _text(entry, f".//{NEWS_NS}title"),
                              _date(_text(entry, f".//{NEWS_NS}publication_date", f"{SITEMAP_NS}lastmod"))))
    return Discovery(links, [])


def parse_listing(html: str, base_url: str, max_links: int) -> Discovery:
    """Article links on a section page, without navigation.

    A link counts as an article when it stays on the listing's host, sits outside nav, header,
    footer and aside, has an article-shaped path (a date, a long id or a page extension) and an
    anchor text long enough to be a headline.
    """
    try:
        root = lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise NotAFeed(f"unparseable listing page: {exc}") from None
    host = urlsplit(base_url).netloc.lower()
    links, seen = [], set()
    for anchor in root.iter("a"):
        if len(links) >= max_links:
            break
        href = anchor.get("href")
        title = " ".join(anchor.text_content().split())
        if not href or len(title) < MIN_HEADLINE_CHARS or inside_navigation(anchor):
            continue
        url = canonical_url(href, base_url)
        if not url or urlsplit(url).netloc.lower() != host or url in seen:
            continue
        if not is_article_path(urlsplit(url).path) or courlan.is_navigation_page(url):
            continue
        seen.add(url)
        links.append(Link(url, title))
    return Discovery(links, [])


def is_article_path(path: str) -> bool:
    """Whether a URL path has an article's shape: a date, a long id or a page extension."""
    return bool(_ARTICLE_PATH.search(path))


def inside_navigation(element) -> bool:
    """Whether an element sits in nav, header, footer or aside, or in a block named like a menu."""
    for parent in element.iterancestors():
        if parent.tag in _NAVIGATION_CONTAINERS:
            return True
        marker = f"{parent.get('class', '')} {parent.get('id', '')}".lower()
        if any(word in marker for word in ("nav", "menu", "breadcrumb", "footer", "header")):
            return True
    return False


def _xml_root(body: bytes):
    try:
        root = lxml.etree.fromstring(body.lstrip(), _XML_PARSER)
    except lxml.etree.XMLSyntaxError as exc:
        raise NotAFeed(f"malformed XML: {exc}") from None
    if root is None:
        raise NotAFeed("malformed XML: no root element")
    return root


def _text(element, *paths: str) -> str | None:
    for path in paths:
        found = element.find(path)
        if found is not None and (text := safe.clean_text(found.text or "").strip()):
            return text
    return None


def _date(value: str | None) -> datetime | None:
    """A feed or sitemap date, or None when it is missing, malformed or out of the range Postgres
    stores (:func:`safe.safe_datetime`)."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except (ValueError, OverflowError):
            return None
    if parsed is None:
        return None
    return safe.safe_datetime(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
