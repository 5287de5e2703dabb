"""Discovery parsing and URL canonicalization (pure functions, no network)."""
from __future__ import annotations

import pytest

from mediamon.discover import NotAFeed, canonical_url, feed_kind, parse_feed, parse_listing, parse_sitemap

BASE = "http://news.example.cn/"


@pytest.mark.parametrize("raw, expected", [
    ("HTTP://News.Example.CN:80/a/b.shtml?utm_source=rss&id=7#comments", "http://news.example.cn/a/b.shtml?id=7"),
    ("/sh/2024/03-20/1.shtml?utm_medium=x&utm_campaign=y", "http://news.example.cn/sh/2024/03-20/1.shtml"),
    ("https://news.example.cn/a.html?fbclid=abc", "https://news.example.cn/a.html"),
    # Article ids in the query are part of the identity: they must survive.
    ("http://news.example.cn/show.aspx?newsid=55&utm_source=wx", "http://news.example.cn/show.aspx?newsid=55"),
    ("http://news.example.cn/detail?docid=1&from=timeline", "http://news.example.cn/detail?docid=1&from=timeline"),
    ("javascript:void(0)", None),
    ("mailto:editor@example.cn", None),
])
def test_canonical_url(raw, expected):
    assert canonical_url(raw, BASE) == expected


def test_rss_and_atom_feeds():
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
      <item><title>A</title><link>http://news.example.cn/a/1.shtml?utm_source=rss</link>
            <pubDate>Wed, 20 Mar 2024 10:15:00 +0800</pubDate></item>
      <item><title>B</title><link>/a/2.shtml</link></item></channel></rss>"""
    found = parse_feed(rss, BASE, max_links=10)
    assert [l.url for l in found.links] == ["http://news.example.cn/a/1.shtml", "http://news.example.cn/a/2.shtml"]
    assert found.links[0].published_at.isoformat() == "2024-03-20T10:15:00+08:00"
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <entry><title>C</title><link rel="alternate" href="http://news.example.cn/c.html"/>
             <link rel="edit" href="http://news.example.cn/edit/c"/><updated>2024-03-21T08:00:00Z</updated></entry></feed>"""
    found = parse_feed(atom, BASE, max_links=10)
    assert [(l.url, l.title) for l in found.links] == [("http://news.example.cn/c.html", "C")]


def test_feed_link_cap_and_malformed_xml():
    items = "".join(f"<item><link>http://news.example.cn/{i}.html</link></item>" for i in range(100))
    assert len(parse_feed(f"<rss><channel>{items}</channel></rss>".encode(), BASE, max_links=7).links) == 7
    with pytest.raises(NotAFeed):
        parse_feed(b"<html><body>not a feed</body></html>", BASE, max_links=10)


def test_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe = f"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>
      <rss><channel><item><title>&x;</title><link>http://news.example.cn/x.html</link></item></channel></rss>"""
    found = parse_feed(xxe.encode(), BASE, max_links=10)
    assert all("TOPSECRET" not in (l.title or "") for l in found.links)


def test_sitemap_index_and_news_sitemap():
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>http://news.example.cn/sitemap-news.xml</loc></sitemap></sitemapindex>"""
    assert parse_sitemap(index, BASE, 10).sitemaps == ["http://news.example.cn/sitemap-news.xml"]
    news = b"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
                       xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
      <url><loc>http://news.example.cn/a/1.shtml</loc><news:news><news:title>Hello</news:title>
           <news:publication_date>2024-03-20T10:15:00+08:00</news:publication_date></news:news></url></urlset>"""
    link = parse_sitemap(news, BASE, 10).links[0]
    assert (link.url, link.title, link.published_at.isoformat()) == (
        "http://news.example.cn/a/1.shtml", "Hello", "2024-03-20T10:15:00+08:00")


def test_listing_keeps_articles_and_drops_navigation():
    html = """<html><body>
      <nav><a href="/china/2024/03-20/999.shtml">导航里的一篇很长的文章标题</a><a href="/">首页</a></nav>
      <div class="breadcrumb"><a href="/china/">国内新闻频道首页链接</a></div>
      <ul class="list">
        <li><a href="/china/2024/03-20/10183903.shtml">长三角毗邻区四省四市签订共同管辖执法协作框架协议</a></li>
        <li><a href="/china/2024/03-15/10181180.shtml?utm_source=home#top">北京·玉树深入推进对口支援工作对接会在京召开</a></li>
        <li><a href="http://other.example.com/2024/03-15/1.shtml">别的网站上的一篇文章标题很长</a></li>
        <li><a href="/china/list_2.shtml">下一页</a></li>
      </ul>
      <footer><a href="/about/2024/01-01/1.shtml">关于我们以及网站声明的页面</a></footer></body></html>"""
    urls = [l.url for l in parse_listing(html, "http://news.example.cn/china/", 50).links]
    assert urls == ["http://news.example.cn/china/2024/03-20/10183903.shtml",
                    "http://news.example.cn/china/2024/03-15/10181180.shtml"]


def test_feed_parser_never_fetches_or_opens_files(tmp_path):
    """feedparser opens files and fetches URLs named by its argument; parse_feed must never let it."""
    import http.server
    import threading

    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<rss><channel><item><link>http://evil.example/x</link></item></channel></rss>")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        local = tmp_path / "feed.xml"
        local.write_bytes(b"<rss><channel><item><link>http://file.example/leak</link></item></channel></rss>")
        for body in (f"http://127.0.0.1:{server.server_port}/feed".encode(), str(local).encode()):
            with pytest.raises(NotAFeed):
                parse_feed(body, BASE, max_links=10)
        dtd = f"""<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://127.0.0.1:{server.server_port}/dtd">
          <rss><channel><item><link>http://news.example.cn/d.html</link></item></channel></rss>"""
        assert [l.url for l in parse_feed(dtd.encode(), BASE, 10).links] == ["http://news.example.cn/d.html"]
    finally:
        server.shutdown()
    assert hits == []


def test_entity_expansion_is_not_performed():
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = f"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "ha">{laughs}]>
      <rss><channel><item><title>&l9;</title><link>http://news.example.cn/b.html</link></item></channel></rss>"""
    links = parse_feed(bomb.encode(), BASE, max_links=10).links
    assert all(len(l.title or "") < 1000 for l in links)


def test_rdf_feed_and_feed_kind():
    rdf = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
      xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
      <channel rdf:about="http://news.example.cn/"><title>t</title><link>http://news.example.cn/</link></channel>
      <item rdf:about="http://news.example.cn/r/1.html"><title>R</title><link>http://news.example.cn/r/1.html</link>
            <dc:date>2024-03-22T09:00:00+08:00</dc:date></item></rdf:RDF>"""
    link = parse_feed(rdf, BASE, 10).links[0]
    assert (link.url, link.title, link.published_at.isoformat()) == (
        "http://news.example.cn/r/1.html", "R", "2024-03-22T09:00:00+08:00")
    assert feed_kind(rdf) == "rss"
    assert feed_kind(b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>') == "atom"
    assert feed_kind(b"<html><body><p>hello</p></body></html>") is None
