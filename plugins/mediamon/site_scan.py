"""Scan a site for sources: what ``mediamon sources add URL`` prints.

From the home page (fetched through the guarded :class:`~mediamon.fetch.Fetcher`, so robots.txt,
the address guard and the size and time limits hold) it collects candidates:

1. feeds: ``<link rel=alternate>`` RSS/Atom/RDF links; without a working one, feed-like ``<a>``
   links (an "RSS" button, ``/feed/``, ``*.xml``), then the common feed paths;
2. sitemaps: ``Sitemap:`` lines of robots.txt, then ``/sitemap.xml``, then a few common index and
   news sitemap paths (robots.txt may list a feed too: the sitemap protocol allows it, so every
   document is judged by what it parses as);
3. listings: the home page and the same-site section pages it links to whose links are mostly
   article-shaped.

Each candidate is fetched and parsed with the parsers discovery uses, and its article links are
counted; a candidate that fails says why. Working ones become source stanzas (:func:`stanzas`)
that :func:`mediamon.sources.load_sources` accepts.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.html

from mediamon import discover, extract
from mediamon.fetch import Fetcher, FetchError, FetchResult

# Where feeds live when a page does not link them; WordPress, Hugo, Jekyll and most CMSs use these.
COMMON_FEED_PATHS = ("/feed", "/rss", "/rss.xml", "/atom.xml", "/index.xml", "/feed.xml")
# Tried when neither robots.txt nor /sitemap.xml gives a working sitemap (WordPress/Yoast, news plugins).
COMMON_SITEMAP_PATHS = ("/sitemap_index.xml", "/sitemap-index.xml", "/sitemap-news.xml", "/news-sitemap.xml")
# Page links (not <link> tags) that look like feeds: "RSS" buttons, /feed/ paths, .rss/.atom/.xml files.
_FEED_HREF = re.compile(r"(\.(rss|atom|xml)$|/(rss|feed|atom)s?(/|\.|$))", re.IGNORECASE)
MAX_FEED_ANCHORS = 5
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json")
# Counts stop here: enough to tell a working source from a dead one.
MAX_LINKS = 500
# Bounds on requests per scan, so a site with hundreds of sections costs seconds, not minutes.
MAX_SECTIONS = 8
MAX_SITEMAP_CHILDREN = 3
# A listing works when it shows at least this many article links, and they are at least this
# share of its same-site headline links (a page of sections, ads and about links is not a listing).
MIN_LISTING_ARTICLES = 3
MIN_LISTING_SHARE = 0.5
# A section link: a short same-site path of at most two segments, no article shape, no query.
_SECTION_PATH = re.compile(r"^/[\w\-]+(/[\w\-]+)?/?$")


@dataclass(frozen=True)
class Candidate:
    """One document that might be a source. ``problem`` is None when it works."""

    kind: str                 # rss | atom | sitemap | listing
    url: str
    found_via: str            # e.g. "<link rel=alternate>", "robots.txt", "common path /feed"
    articles: int = 0         # article links it yields (a sitemap index: those of its first children)
    title: str | None = None
    problem: str | None = None

    @property
    def works(self) -> bool:
        return self.problem is None and self.articles > 0


@dataclass(frozen=True)
class SiteScan:
    home_url: str
    title: str
    language: str
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def working(self) -> list[Candidate]:
        return [c for c in self.candidates if c.works]


class ScanError(Exception):
    """The home page could not be read, so there is nothing to scan."""


def scan_site(url: str, fetcher: Fetcher) -> SiteScan:
    """Fetch ``url`` (a home page) and check every feed, sitemap and listing candidate it leads to."""
    home_url = discover.canonical_url(url)
    if home_url is None:
        raise ScanError(f"not an http(s) URL: {url}")
    try:
        home = fetcher.get(home_url)
    except FetchError as exc:
        raise ScanError(f"cannot read {home_url}: {exc}") from None
    html, _ = extract.decode_html(home.body, home.charset)
    root = _html_root(html)
    base = home.final_url
    title = _page_title(root) or urlsplit(base).netloc
    language = _language(root, title)
    checked: dict[str, Candidate] = {}

    def check(candidate_url: str | None, via: str, expect: str) -> None:
        if candidate_url and candidate_url not in checked:
            checked[candidate_url] = _check(fetcher, candidate_url, via, expect)

    for href in _feed_links(root):
        check(discover.canonical_url(href, base), "<link rel=alternate>", "feed")
    origin = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}"
    for sitemap_url in _robots_sitemaps(fetcher, origin):
        check(sitemap_url, "robots.txt Sitemap:", "any")
    check(discover.canonical_url(origin + "/sitemap.xml"), "common path /sitemap.xml", "sitemap")

    def found(*kinds: str) -> bool:
        return any(c.works and c.kind in kinds for c in checked.values())

    if not found("sitemap"):
        for path in COMMON_SITEMAP_PATHS:
            check(discover.canonical_url(origin + path), f"common path {path}", "sitemap")
    if not found("rss", "atom"):
        for href in _feed_anchors(root)[:MAX_FEED_ANCHORS]:
            check(discover.canonical_url(href, base), "feed-like <a> link", "any")
    if not found("rss", "atom"):
        for path in COMMON_FEED_PATHS:
            check(discover.canonical_url(origin + path), f"common path {path}", "feed")
    listing = _listing(base, html, "home page", title)
    if listing.works:
        checked.setdefault(base, listing)
    for section_url in _section_links(root, base)[:MAX_SECTIONS]:
        check(section_url, "section linked from the home page", "listing")
    # Redirects can make two candidates one document; keep the first.
    return SiteScan(home_url=base, title=title, language=language, candidates=list(checked.values()))


def _check(fetcher: Fetcher, url: str, via: str, expect: str) -> Candidate:
    """Fetch and parse one candidate. ``expect`` is feed, sitemap, listing or any (XML of either kind)."""
    try:
        result = fetcher.get(url)
    except FetchError as exc:
        return Candidate("listing" if expect == "listing" else expect, url, via, problem=exc.reason)
    if expect == "listing":
        html, _ = extract.decode_html(result.body, result.charset)
        return _listing(result.final_url, html, via)
    kind = discover.feed_kind(result.body)
    if kind is not None:
        try:
            found = discover.parse_feed(result.body, result.final_url, MAX_LINKS)
        except discover.NotAFeed as exc:
            return Candidate(kind, url, via, problem=str(exc))
        return Candidate(kind, url, via, articles=len(found.links), title=_feed_title(result.body))
    if expect == "feed":
        return Candidate("rss", url, via, problem="not a feed")
    return _sitemap(fetcher, url, result, via)


def _sitemap(fetcher: Fetcher, url: str, result: FetchResult, via: str) -> Candidate:
    try:
        found = discover.parse_sitemap(result.body, result.final_url, MAX_LINKS)
    except discover.NotAFeed as exc:
        return Candidate("sitemap", url, via, problem=str(exc))
    articles = len(found.links)
    # An index yields no links itself: count those of its first children, as discovery follows them.
    for child in found.sitemaps[:MAX_SITEMAP_CHILDREN]:
        try:
            child_result = fetcher.get(child)
            articles += len(discover.parse_sitemap(child_result.body, child_result.final_url, MAX_LINKS).links)
        except (FetchError, discover.NotAFeed):
            continue
    return Candidate("sitemap", url, f"{via} (index of {len(found.sitemaps)})" if found.sitemaps else via,
                     articles=articles)


def _listing(url: str, html: str, via: str, title: str | None = None) -> Candidate:
    try:
        root = _html_root(html)
        found = discover.parse_listing(html, url, MAX_LINKS)
    except discover.NotAFeed as exc:
        return Candidate("listing", url, via, problem=str(exc))
    title = title or _page_title(root)
    articles = len(found.links)
    content = _content_link_count(root, url)
    if articles < MIN_LISTING_ARTICLES:
        return Candidate("listing", url, via, articles, title, problem=f"only {articles} article links")
    if articles < MIN_LISTING_SHARE * content:
        return Candidate("listing", url, via, articles, title,
                         problem=f"{articles} of {content} links are articles (not mostly)")
    return Candidate("listing", url, via, articles, title)


def _html_root(html: str):
    try:
        return lxml.html.fromstring(html or "<html></html>")
    except (lxml.etree.ParserError, ValueError):
        return lxml.html.fromstring("<html></html>")


def _page_title(root) -> str | None:
    node = root.find(".//title")
    text = " ".join((node.text_content() if node is not None else "").split())
    return text or None


def _feed_title(body: bytes) -> str | None:
    title = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False).feed.get("title")
    return " ".join(title.split()) if title else None


def _language(root, title: str) -> str:
    """The page's language code (``zh-CN`` -> ``zh``); without ``<html lang>``, zh when the title
    is written in CJK characters, else en."""
    lang = (root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or "").strip()
    if lang:
        return lang.split("-")[0].split("_")[0].lower()
    return "zh" if re.search(r"[\u4e00-\u9fff]", title) else "en"


def _feed_links(root) -> list[str]:
    return [link.get("href") for link in root.iter("link")
            if "alternate" in (link.get("rel") or "").lower().split()
            and (link.get("type") or "").split(";")[0].strip().lower() in FEED_TYPES and link.get("href")]


def _feed_anchors(root) -> list[str]:
    hrefs = [a.get("href") or "" for a in root.iter("a")]
    return list(dict.fromkeys(h for h in hrefs if _FEED_HREF.search(urlsplit(h.strip()).path)))


def _robots_sitemaps(fetcher: Fetcher, origin: str) -> list[str]:
    """The ``Sitemap:`` URLs of robots.txt (absent or unreadable: none)."""
    try:
        result = fetcher.get(origin + "/robots.txt", check_robots=False)
    except FetchError:
        return []
    found = []
    for line in result.body.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "sitemap" and value.strip():
            url = discover.canonical_url(urljoin(origin + "/", value.strip()))
            if url:
                found.append(url)
    return list(dict.fromkeys(found))


def _section_links(root, base: str) -> list[str]:
    """Same-site links to section-like paths (``/china/``, ``/category/news/``), in page order."""
    host = urlsplit(base).netloc.lower()
    found = []
    for anchor in root.iter("a"):
        url = discover.canonical_url(anchor.get("href") or "", base)
        if not url:
            continue
        parts = urlsplit(url)
        if parts.netloc.lower() != host or parts.query or parts.path in ("", "/"):
            continue
        if _SECTION_PATH.match(parts.path) and not discover.is_article_path(parts.path):
            found.append(url)
    return list(dict.fromkeys(found))


def _content_link_count(root, base: str) -> int:
    """Same-site links outside navigation whose text is long enough to be a headline."""
    host = urlsplit(base).netloc.lower()
    urls = set()
    for anchor in root.iter("a"):
        if len(" ".join(anchor.text_content().split())) < discover.MIN_HEADLINE_CHARS or \
                discover.inside_navigation(anchor):
            continue
        url = discover.canonical_url(anchor.get("href") or "", base)
        if url and urlsplit(url).netloc.lower() == host:
            urls.add(url)
    return len(urls)


# --- stanzas -------------------------------------------------------------------------------------

_KIND_LABEL = {"rss": "RSS", "atom": "Atom", "sitemap": "sitemap", "listing": "listing"}


def stanzas(scan: SiteScan, allow_private: tuple[str, ...] = (), taken: frozenset[str] | set[str] = frozenset(),
            today: date | None = None) -> list[dict]:
    """One source stanza per working candidate, with an id not in ``taken``."""
    ids = set(taken)
    out = []
    for candidate in scan.working:
        source_id = _unique(_source_id(candidate), ids)
        ids.add(source_id)
        name = candidate.title if candidate.kind == "listing" and candidate.title else scan.title
        stanza: dict = {
            "id": source_id,
            "name": f"{name} {_KIND_LABEL[candidate.kind]}",
            "language": scan.language,
            "kind": candidate.kind,
            "url": candidate.url,
            "notes": (f"found by `mediamon sources add` via {candidate.found_via}: "
                      f"{candidate.articles} article links on {(today or date.today()).isoformat()}"),
        }
        if allow_private:
            stanza["allow_private"] = list(allow_private)
        out.append(stanza)
    return out


def _source_id(candidate: Candidate) -> str:
    parts = urlsplit(candidate.url)
    host = (parts.hostname or "site").removeprefix("www.")
    slug = "-".join(filter(None, [host, str(parts.port or ""), candidate.kind]))
    path = re.sub(r"\.(xml|rss|atom|html?)$", "", parts.path.strip("/"))
    if candidate.kind == "listing" and path:
        slug += "-" + path
    return re.sub(r"[^a-z0-9]+", "-", slug.lower()).strip("-")


def _unique(source_id: str, taken: set[str]) -> str:
    candidate, n = source_id, 2
    while candidate in taken:
        candidate, n = f"{source_id}-{n}", n + 1
    return candidate
