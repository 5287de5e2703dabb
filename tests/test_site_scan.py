"""`mediamon sources add`: site scans of the demo site and of small sites with odd layouts, served
on 127.0.0.1 by the tests themselves."""
from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mediamon import site_scan
from mediamon.cli import main
from mediamon.demo_site import DemoSite
from mediamon.fetch import Fetcher
from mediamon.settings import PROJECT_ROOT, FetchSettings
from mediamon.sources import load_sources

FAST = replace(FetchSettings(), min_host_delay_s=0, max_retries=0)


def _articles(prefix: str, n: int) -> str:
    return "".join(f'<li><a href="{prefix}/2025/03-{i + 10:02d}/{1000 + i}.html">第{i}条 城市合作新闻标题</a></li>'
                   for i in range(n))


def _rss(base: str, n: int) -> str:
    items = "".join(f"<item><title>Item {i}</title><link>{base}/2025/03-{i + 10:02d}/{2000 + i}.html</link></item>"
                    for i in range(n))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Odd feed</title>{items}</channel></rss>'


def _page(title: str, head: str = "", body: str = "", lang: str = "en") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
            f'<body><nav><a href="/">Home</a></nav>{body}</body></html>')


# Each layout: path -> (content type, body); {base} is the server's URL. Anything else is a 404.
LAYOUTS = {
    # The feed is named only in robots.txt (as a Sitemap: line, which the sitemap protocol allows).
    "feed_only_in_robots": {
        "/": ("text/html", _page("Robots Only News")),
        "/robots.txt": ("text/plain", "User-agent: *\nDisallow: /private/\nSitemap: {base}/updates/latest.rss\n"),
        "/updates/latest.rss": ("application/rss+xml", _rss("{base}", 5)),
    },
    # The advertised feed is gone; the site still serves one at a common path.
    "dead_feed_link": {
        "/": ("text/html", _page("Dead Link Daily",
                                 '<link rel="alternate" type="application/rss+xml" href="/feeds/gone.xml">')),
        "/index.xml": ("application/rss+xml", _rss("{base}", 4)),
    },
    # A relative feed URL on a home page under /en/, and a news sitemap at /sitemap.xml.
    "relative_feed_url": {
        "/en/": ("text/html", _page("Relative Times",
                                    '<link rel="alternate" type="application/atom+xml" href="feeds/all.atom">')),
        "/en/feeds/all.atom": ("application/atom+xml",
                               '<feed xmlns="http://www.w3.org/2005/Atom"><title>All</title>'
                               + "".join(f'<entry><title>E{i}</title><link href="{{base}}/en/2025/{3000 + i}.html"/>'
                                         f'<updated>2025-03-0{i + 1}T08:00:00Z</updated></entry>' for i in range(3))
                               + "</feed>"),
        "/sitemap.xml": ("application/xml",
                         '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                         'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
                         + "".join(f"<url><loc>{{base}}/en/2025/{3000 + i}.html</loc><news:news><news:title>N{i}"
                                   "</news:title></news:news></url>" for i in range(6)) + "</urlset>"),
    },
    # The feed is only an "RSS" button in the page, served as application/x-rss+xml; the sitemap is
    # a WordPress-style index at /sitemap_index.xml.
    "feed_button_and_sitemap_index": {
        "/": ("text/html", _page("Button Post", body='<footer><a href="/news/feed/">RSS</a></footer>')),
        "/news/feed/": ("application/x-rss+xml", _rss("{base}", 7)),
        "/sitemap_index.xml": ("application/xml",
                               '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                               "<sitemap><loc>{base}/post-sitemap.xml</loc></sitemap></sitemapindex>"),
        "/post-sitemap.xml": ("application/xml",
                              '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                              + "".join(f"<url><loc>{{base}}/2025/03/{4000 + i}.html</loc></url>" for i in range(9))
                              + "</urlset>"),
    },
    # No feed and no sitemap: one section is a real listing, another is mostly links to elsewhere.
    "no_feed_at_all": {
        "/": ("text/html", _page("没有订阅源的网站", body='<a href="/local/">本地新闻</a> <a href="/links/">友情链接</a>',
                                 lang="zh-CN")),
        "/local/": ("text/html", _page("本地新闻 - 没有订阅源的网站", body=f"<ul>{_articles('/local', 6)}</ul>",
                                       lang="zh-CN")),
        "/links/": ("text/html", _page("友情链接", lang="zh-CN", body=_articles("/links", 1) + "".join(
            f'<a href="/partner{i}/">合作伙伴网站第{i}号</a>' for i in range(8)))),
    },
}


class _Site:
    def __init__(self, layout: dict):
        self.layout, self.hits = layout, []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.hits.append(self.path)
                found = site.layout.get(self.path.split("?")[0])
                if found is None:
                    self.send_response(404)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    self.wfile.write(b"<html><title>404</title></html>")
                    return
                body = found[1].replace("{base}", site.url).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", f"{found[0]}; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.authority = f"127.0.0.1:{self.server.server_port}"
        self.url = f"http://{self.authority}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site(request):
    served = _Site(LAYOUTS[request.param])
    yield served
    served.close()


def _scan(url: str, authority: str) -> site_scan.SiteScan:
    with Fetcher(FAST, allow_private=(authority,)) as fetcher:
        return site_scan.scan_site(url, fetcher)


def _working(scan: site_scan.SiteScan) -> dict[str, tuple[str, int]]:
    return {c.url.split("/", 3)[3]: (c.kind, c.articles) for c in scan.working}


@pytest.mark.parametrize("site", ["feed_only_in_robots"], indirect=True)
def test_a_feed_named_only_in_robots_txt_is_found(site):
    scan = _scan(site.url + "/", site.authority)
    assert _working(scan) == {"updates/latest.rss": ("rss", 5)}
    assert scan.working[0].found_via == "robots.txt Sitemap:"
    assert (scan.title, scan.language) == ("Robots Only News", "en")


@pytest.mark.parametrize("site", ["dead_feed_link"], indirect=True)
def test_a_feed_link_that_404s_is_reported_and_a_common_path_found(site):
    scan = _scan(site.url, site.authority)
    dead = [c for c in scan.candidates if c.url.endswith("/feeds/gone.xml")]
    assert [(c.works, c.problem, c.found_via) for c in dead] == [(False, "http_404", "<link rel=alternate>")]
    assert _working(scan) == {"index.xml": ("rss", 4)}


@pytest.mark.parametrize("site", ["relative_feed_url"], indirect=True)
def test_a_relative_feed_url_resolves_against_the_page(site):
    scan = _scan(site.url + "/en/", site.authority)
    assert _working(scan) == {"en/feeds/all.atom": ("atom", 3), "sitemap.xml": ("sitemap", 6)}
    # With a working feed linked, the common feed paths are not probed.
    assert not set(site.hits) & {"/feed", "/rss.xml", "/index.xml"}


@pytest.mark.parametrize("site", ["feed_button_and_sitemap_index"], indirect=True)
def test_a_feed_button_and_a_sitemap_index_at_a_common_path(site):
    scan = _scan(site.url, site.authority)
    assert _working(scan) == {"news/feed/": ("rss", 7), "sitemap_index.xml": ("sitemap", 9)}
    assert {c.found_via for c in scan.working} == {"feed-like <a> link", "common path /sitemap_index.xml (index of 1)"}


@pytest.mark.parametrize("site", ["no_feed_at_all"], indirect=True)
def test_a_site_without_feeds_gives_its_listing_section(site):
    scan = _scan(site.url, site.authority)
    assert _working(scan) == {"local/": ("listing", 6)}
    links = [c for c in scan.candidates if c.url.endswith("/links/")]
    assert links and not links[0].works
    [stanza] = site_scan.stanzas(scan, (site.authority,))
    assert stanza["name"] == "本地新闻 - 没有订阅源的网站 listing" and stanza["language"] == "zh"


@pytest.mark.parametrize("site", ["relative_feed_url"], indirect=True)
def test_cli_prints_and_writes_stanzas_that_sources_check_accepts(site, tmp_path, capsys):
    target = tmp_path / "sources.yaml"
    shutil.copy(PROJECT_ROOT / "seeds" / "sources.yaml", target)
    before = load_sources(target)
    args = ["sources", "add", site.url + "/en/", "--allow-private", site.authority, "--crawl-delay", "0"]
    assert main(args + ["--write", str(target)]) == 0
    printed = capsys.readouterr().out
    assert "kind: atom" in printed and "kind: sitemap" in printed
    after = load_sources(target)
    added = after[len(before):]
    assert [s.kind for s in added] == ["atom", "sitemap"]
    assert all(s.allow_private == (site.authority,) for s in added)
    assert after[:len(before)] == before
    assert main(["sources", "check", "--sources", str(target)]) == 0
    # A second run finds the same URLs already in the file and appends nothing.
    assert main(args + ["--write", str(target)]) == 1
    assert load_sources(target) == after


@pytest.mark.parametrize("site", ["dead_feed_link"], indirect=True)
def test_a_loopback_site_needs_allow_private(site, capsys):
    assert main(["sources", "add", site.url, "--crawl-delay", "0"]) == 1
    assert "blocked_address" in capsys.readouterr().err
    assert site.hits == []


def test_demo_site_feed_sitemap_and_listings():
    with DemoSite() as demo:
        news = _scan(demo.news_url + "/", demo.news_url.split("//")[1])
        repost = _scan(demo.repost_url + "/", demo.repost_url.split("//")[1])
    assert {path: kind for path, (kind, _) in _working(news).items()} == {
        "rss.xml": "rss", "sitemap.xml": "sitemap", "china/": "listing"}
    assert all(count > 0 for _, count in _working(news).values())
    assert {kind for kind, _ in _working(repost).values()} == {"atom", "listing"}
