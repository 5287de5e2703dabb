"""The offline demo site, served on ephemeral loopback ports."""
from __future__ import annotations

import http.client
import re
import urllib.robotparser
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import requests
import yaml

from mediamon.demo_site import DEMO_ROOT, DemoSite, sources_yaml

NS = {
    "rss_atom": "http://www.w3.org/2005/Atom",
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}
GBK_PAGE = "/youcheng/2024/0925/3021.html"
MISLABELLED_GBK_PAGE = "/beijingxinwen/2021/0623/2143.html"


@pytest.fixture(scope="module")
def site():
    with DemoSite() as running:
        yield running


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.canonical: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "link" and attrs.get("rel") == "canonical":
            self.canonical = attrs["href"]


def links_of(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=10, allow_redirects=False, **kwargs)


def get_xml(url: str) -> ET.Element:
    response = get(url)
    assert response.status_code == 200
    return ET.fromstring(response.content)


def test_rss_items_are_absolute_served_urls_with_dates(site):
    channel = get_xml(site.news_url + "/rss.xml").find("channel")
    items = channel.findall("item")
    assert len(items) >= 7
    for item in items:
        link = item.findtext("link")
        assert link.startswith(site.news_url + "/")
        assert item.findtext("pubDate").endswith("+0800")
        assert get(link).status_code == 200


def test_atom_entries_are_absolute_served_urls_with_dates(site):
    feed = get_xml(site.repost_url + "/atom.xml")
    entries = feed.findall("rss_atom:entry", NS)
    assert len(entries) == 5
    for entry in entries:
        link = entry.find("rss_atom:link[@rel='alternate']", NS).get("href")
        assert link.startswith(site.repost_url + "/")
        assert entry.findtext("rss_atom:updated", namespaces=NS)
        assert get(link).status_code == 200


def test_sitemap_index_leads_to_a_normal_and_a_news_sitemap(site):
    index = get_xml(site.news_url + "/sitemap.xml")
    assert index.tag == "{%s}sitemapindex" % NS["sm"]
    children = [loc.text for loc in index.findall("sm:sitemap/sm:loc", NS)]
    assert children == [site.news_url + "/sitemap-articles.xml", site.news_url + "/sitemap-news.xml"]

    articles = get_xml(children[0])
    locs = [loc.text for loc in articles.findall("sm:url/sm:loc", NS)]
    assert len(locs) >= 7 and all(loc.startswith(site.news_url + "/") for loc in locs)

    news = get_xml(children[1])
    urls = news.findall("sm:url", NS)
    assert urls
    for url in urls:
        assert url.findtext("sm:loc", namespaces=NS) in locs
        assert url.findtext("news:news/news:publication_date", namespaces=NS).endswith("+08:00")


def test_conditional_get_answers_304(site):
    url = site.news_url + "/rss.xml"
    first = get(url)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)

    by_etag = get(url, headers={"If-None-Match": etag})
    assert by_etag.status_code == 304 and by_etag.content == b""
    assert by_etag.headers["ETag"] == etag
    assert get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    # If-None-Match decides alone when present: a stale tag gets the page even with a fresh date.
    stale = get(url, headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified})
    assert stale.status_code == 200 and stale.content == first.content


def test_gbk_page_bytes_are_gbk_and_labelled_so(site):
    response = get(site.repost_url + GBK_PAGE)
    assert response.headers["Content-Type"] == "text/html; charset=gbk"
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    assert "上海国际友好城市合作论坛" in response.content.decode("gbk")


def test_mislabelled_page_declares_utf8_but_sends_gbk(site):
    response = get(site.repost_url + MISLABELLED_GBK_PAGE)
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    text = response.content.decode("gbk")
    assert "环淀山湖战略协同区" in text
    # Characters outside GB2312, so trusting the page's own <meta charset=gb2312> also fails.
    assert "筼筜" in text and "charset=gb2312" in text


def test_robots_disallows_admin_which_the_listing_links_to(site):
    robots = get(site.news_url + "/robots.txt")
    assert robots.headers["Content-Type"] == "text/plain; charset=utf-8"
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(robots.text.splitlines())
    assert not parser.can_fetch("mediamon", site.news_url + "/admin/")
    assert parser.can_fetch("mediamon", site.news_url + "/sh/2024/03-20/10183903.shtml")
    assert parser.site_maps() == [site.news_url + "/sitemap.xml"]
    assert "/admin/" in links_of(get(site.news_url + "/china/").text).hrefs


def test_listing_mixes_article_links_with_navigation(site):
    hrefs = links_of(get(site.news_url + "/china/").text).hrefs
    articles = {urlsplit(urljoin(site.news_url, h)).path for h in hrefs
                if re.search(r"/\d{4}/\d\d-\d\d/\d+\.shtml", h)}
    assert len(articles) >= 7
    assert {"/", "/china/", "/gj/", "/about/"} <= set(hrefs)
    tracked = [h for h in hrefs if "utm_source=" in h]
    assert tracked and all("#" in h for h in tracked)


def test_same_story_on_both_sites(site):
    original_url = site.news_url + "/sh/2024/03-20/10183903.shtml"
    original = get(original_url).text
    repost = get(site.repost_url + "/2024/03/21/quadripartite-urban-management-collaboration/").text
    sentence = "《四省四市毗邻区域共同管辖执法协作框架协议》正式签订"
    assert sentence in original and sentence in repost
    assert "英文翻译内容:" in repost and "英文翻译内容" not in original
    assert f"【来源】<a href=\"{original_url}\"" in repost
    assert "发表回复" in repost


def test_pages_carry_canonical_of_the_served_url(site):
    for url in (site.news_url + "/sh/2024/03-15/10181180.shtml", site.repost_url + GBK_PAGE):
        response = get(url + "?utm_source=test")
        assert links_of(response.content.decode("gbk" if "gbk" in response.headers["Content-Type"]
                                                 else "utf-8")).canonical == url


def test_redirects(site):
    short_link = get(site.repost_url + "/archives/1021")
    assert short_link.status_code == 301
    assert short_link.headers["Location"] == "/2024/03/21/quadripartite-urban-management-collaboration/"
    listing = get(site.news_url + "/china")
    assert listing.status_code == 301 and listing.headers["Location"] == "/china/"


def test_serves_every_site_file_and_nothing_outside(site):
    for name, base in (("news", site.news_url), ("repost", site.repost_url)):
        for file in (DEMO_ROOT / name).rglob("*"):
            if file.is_file():
                path = "/" + file.relative_to(DEMO_ROOT / name).as_posix()
                assert get(base + path.removesuffix("index.html")).status_code == 200, path
    host, port = urlsplit(site.news_url).netloc.split(":")
    for raw_path in ("/../site.yaml", "/%2e%2e/site.yaml", "/../../pyproject.toml", "/sh/"):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", raw_path)  # sent verbatim, unlike requests which drops dot segments
        assert connection.getresponse().status == 404, raw_path
        connection.close()


def test_sources_yaml_has_one_working_source_per_kind(site):
    sources = yaml.safe_load(sources_yaml(site))
    assert {s["kind"] for s in sources} == {"rss", "atom", "sitemap", "listing", "page"}
    assert len({s["id"] for s in sources}) == len(sources) == 6
    for source in sources:
        assert source["allow_private"] == [urlsplit(source["url"]).netloc]
        assert get(source["url"]).status_code == 200


def test_refuses_to_listen_beyond_loopback():
    with pytest.raises(ValueError):
        DemoSite(host="10.0.0.1")
