"""The offline demo news site: two small "sites" served on loopback from ``seeds/demo_site``.

Site ``news`` is an original outlet (articles, RSS 2.0, a sitemap index with a normal and a Google
news sitemap, a listing page, robots.txt). Site ``repost`` reposts the same stories in other chrome
(Atom feed, listing page, a GBK page and a GBK page whose header claims utf-8). Each site is one
directory: a URL path maps to the file at that path (a trailing ``/`` serves ``index.html``), and
``seeds/demo_site/site.yaml`` holds per-path overrides (redirects, media types, encodings).

Files are templates: ``{{news}}`` and ``{{repost}}`` become the base URL each site is actually
served at, so absolute links in feeds, sitemaps and canonicals work on ephemeral test ports.

Example::

    with DemoSite() as site:                     # ephemeral ports
        requests.get(site.news_url + "/rss.xml")
"""
from __future__ import annotations

import datetime
import email.utils
import hashlib
import ipaddress
import logging
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from mediamon.settings import PROJECT_ROOT

DEMO_ROOT = PROJECT_ROOT / "seeds" / "demo_site"
SITE_NAMES = ("news", "repost")

# Media types by file suffix; site.yaml overrides them per path (feeds get their own types).
MEDIA_TYPES = {
    ".html": "text/html",
    ".shtml": "text/html",
    ".xml": "application/xml",
    ".txt": "text/plain",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, headers and body (empty for 301 and 304)."""

    status: int
    headers: dict[str, str]
    body: bytes = b""


class SiteContent:
    """Answers GET requests for one site from the files under its directory.

    Args:
        directory: the site's directory, e.g. ``seeds/demo_site/news``. Nothing outside it is served.
        rules: this site's per-path overrides from ``site.yaml``.
        base_urls: site name -> base URL, substituted for ``{{name}}`` in every served file.
    """

    def __init__(self, directory: Path, rules: dict[str, dict], base_urls: dict[str, str]):
        self.directory = directory.resolve()
        self.rules = rules
        self.base_urls = base_urls

    def reply(self, raw_path: str, request_headers) -> Reply:
        """The answer to ``GET raw_path``; the query string and fragment do not change the page."""
        path = unquote(urlsplit(raw_path).path) or "/"
        rule = self.rules.get(path, {})
        if "redirect" in rule:
            return Reply(HTTPStatus.MOVED_PERMANENTLY, {"Location": rule["redirect"]})
        file = self._file_for(rule.get("file") or path.lstrip("/"))
        if file is None:
            if path.endswith("/") or self._file_for(path.lstrip("/") + "/") is None:
                return self._not_found()
            # Like most servers: a directory asked for without its slash is redirected to it.
            return Reply(HTTPStatus.MOVED_PERMANENTLY, {"Location": path + "/"})
        return self._page(file, rule, request_headers)

    def _file_for(self, relative: str) -> Path | None:
        if relative == "" or relative.endswith("/"):
            relative += "index.html"
        candidate = (self.directory / relative).resolve()
        if not candidate.is_relative_to(self.directory) or not candidate.is_file():
            return None
        return candidate

    def _page(self, file: Path, rule: dict, request_headers) -> Reply:
        text = file.read_text(encoding="utf-8")
        for name, url in self.base_urls.items():
            text = text.replace("{{" + name + "}}", url)
        encoding = rule.get("encoding", "utf-8")
        body = text.encode(encoding)
        media_type = rule.get("type") or MEDIA_TYPES.get(file.suffix, "application/octet-stream")
        charset = rule.get("declared_charset", encoding)
        modified = int(file.stat().st_mtime)
        headers = {
            "Content-Type": f"{media_type}; charset={charset}",
            "ETag": f'"{hashlib.sha256(body).hexdigest()[:32]}"',
            "Last-Modified": email.utils.formatdate(modified, usegmt=True),
        }
        if _not_modified(request_headers, headers["ETag"], modified):
            return Reply(HTTPStatus.NOT_MODIFIED, headers)
        return Reply(HTTPStatus.OK, headers, body)

    @staticmethod
    def _not_found() -> Reply:
        body = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>404</title></head>" \
               "<body><h1>404 页面不存在</h1></body></html>".encode()
        return Reply(HTTPStatus.NOT_FOUND, {"Content-Type": "text/html; charset=utf-8"}, body)


def _not_modified(request_headers, etag: str, modified: int) -> bool:
    """RFC 9110 evaluation: If-None-Match, when present, decides alone; else If-Modified-Since."""
    if_none_match = request_headers.get("If-None-Match")
    if if_none_match is not None:
        # Weak comparison, as the RFC prescribes for If-None-Match.
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = request_headers.get("If-Modified-Since")
    if if_modified_since:
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:  # "-0000" parses naive; HTTP dates are always UTC
            since = since.replace(tzinfo=datetime.UTC)
        return modified <= since.timestamp()
    return False


class _Handler(BaseHTTPRequestHandler):
    server: _SiteServer
    # A client that stalls cannot pin a handler thread for ever.
    timeout = 30

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        reply = self.server.content.reply(self.path, self.headers)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args) -> None:
        log.debug("%s %s", self.server.site_name, format % args)


class _SiteServer(ThreadingHTTPServer):
    site_name: str
    content: SiteContent

    def handle_error(self, request, client_address) -> None:
        # A page that cannot be served is a bug worth seeing, but through logging, not a stderr dump.
        log.exception("demo site %s failed to answer %s", self.site_name, client_address)


class DemoSite:
    """Serves the ``news`` and ``repost`` demo sites on two loopback ports, in background threads.

    Args:
        host: an IPv4 loopback address; anything else is refused, the demo never leaves the machine.
        news_port: port of site ``news``; 0 picks a free one (tests).
        repost_port: port of site ``repost``; 0 picks a free one.
        root: directory holding ``site.yaml`` and one subdirectory per site.

    Attributes:
        news_url, repost_url: base URLs such as ``http://127.0.0.1:8701``, set by :meth:`start`.
    """

    def __init__(self, host: str = "127.0.0.1", news_port: int = 0, repost_port: int = 0,
                 root: Path = DEMO_ROOT):
        address = ipaddress.ip_address(host)
        if address.version != 4 or not address.is_loopback:
            raise ValueError(f"demo site must listen on an IPv4 loopback address, not {host}")
        self.host = host
        self.ports = {"news": news_port, "repost": repost_port}
        self.root = root
        self.news_url: str | None = None
        self.repost_url: str | None = None
        self._servers: list[_SiteServer] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> DemoSite:
        """Binds both ports, then serves; returns self so ``DemoSite().start()`` reads well."""
        rules = yaml.safe_load((self.root / "site.yaml").read_text(encoding="utf-8")) or {}
        # Bind first: with port 0 the base URLs are only known after binding.
        servers = {name: _SiteServer((self.host, self.ports[name]), _Handler) for name in SITE_NAMES}
        base_urls = {name: f"http://{self.host}:{server.server_address[1]}"
                     for name, server in servers.items()}
        for name, server in servers.items():
            server.site_name = name
            server.content = SiteContent(self.root / name, rules.get(name) or {}, base_urls)
            thread = threading.Thread(target=server.serve_forever, name=f"demo-site-{name}", daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        self.news_url, self.repost_url = base_urls["news"], base_urls["repost"]
        log.debug("demo site serving news at %s, repost at %s", self.news_url, self.repost_url)
        return self

    def stop(self) -> None:
        """Stops serving and frees both ports."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def sources_yaml(site: DemoSite) -> str:
    """The source list (``seeds/sources.yaml`` format) for a running demo site: one source per kind."""
    news, repost = site.news_url, site.repost_url
    news_allow, repost_allow = urlsplit(news).netloc, urlsplit(repost).netloc
    sources = [
        ("demo-news-rss", "演示新闻网 RSS", "rss", f"{news}/rss.xml", news_allow),
        ("demo-news-sitemap", "演示新闻网 站点地图", "sitemap", f"{news}/sitemap.xml", news_allow),
        ("demo-news-listing", "演示新闻网 国内新闻", "listing", f"{news}/china/", news_allow),
        ("demo-news-page", "演示新闻网 单篇文章", "page", f"{news}/df/2024/07-29/10260417.shtml",
         news_allow),
        ("demo-repost-atom", "news papper Atom", "atom", f"{repost}/atom.xml", repost_allow),
        ("demo-repost-listing", "news papper 新闻分类", "listing", f"{repost}/category/news/",
         repost_allow),
    ]
    # The news site stands for a central outlet, the repost site for an aggregator blog.
    outlets = {news_allow: ({"tier": "central", "media_type": "news_site"}, ["demo", "originals"]),
               repost_allow: ({"tier": "portal", "province": "310000", "media_type": "blog"}, ["demo", "aggregators"])}
    entries = [
        {"id": id_, "name": name, "language": "zh", "kind": kind, "url": url,
         "crawl_delay_s": 0, "max_pages": 50, "allow_private": [allow],
         "outlet": outlets[allow][0], "collections": outlets[allow][1]}
        for id_, name, kind, url, allow in sources
    ]
    return yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, default_flow_style=None)
