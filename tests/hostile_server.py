"""A hostile HTTP server for fault-injection tests, listening on loopback only.

Each path misbehaves in one way (hangs, drips, resets, lies about its type or charset, bombs,
loops ...); ``/ok/<name>`` and ``/item/<n>`` serve ordinary article pages. ``robots`` chooses
how ``/robots.txt`` behaves, so one server instance is one host with one robots policy.
``hits`` counts requests per path, so tests can assert what was (and was not) requested.

Handlers that stall wait on ``stopping``, so :meth:`HostileServer.stop` never waits for them.
"""
from __future__ import annotations

import gzip
import html
import os
import socket
import struct
import threading
import zlib
from collections import Counter
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
MB = 1024 * 1024
# Quotes, comment, statement break, and the placeholders of psycopg2 (%s, %(name)s) and
# SQLAlchemy text() (:name): harmless only if every value is bound, never formatted into SQL.
SQL_INJECTION = "Robert'); DROP TABLE articles; -- \" %s %(title)s :title $$ \\x00"
BOMB_BYTES = 200 * MB


@cache
def seed_paragraphs() -> tuple[str, ...]:
    """Paragraphs of the first seed document: realistic Chinese news text."""
    text = sorted(SEEDS.glob("*.txt"))[0].read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if len(line.strip()) > 40)


def article_html(name: str, extra: str = "", charset: str = "utf-8") -> str:
    """An article page whose title and first paragraph name ``name``, so every page is distinct."""
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in seed_paragraphs())
    return (f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{html.escape(name)} 城市管理协同发展</title>'
            f'</head><body><nav><a href="/">首页</a> <a href="/china/">国内</a></nav><article>'
            f'<h1>{html.escape(name)} 城市管理协同发展</h1><p>本文编号 {html.escape(name)}。{extra}</p>'
            f'{paragraphs}</article><footer>版权所有</footer></body></html>')


@cache
def gzip_bomb(inflated_bytes: int) -> bytes:
    """A gzip stream of ``inflated_bytes`` zero bytes (about 1000:1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MB)
    parts = [packer.compress(block) for _ in range(inflated_bytes // MB)]
    return b"".join(parts) + packer.flush()


class HostileServer:
    """A threaded HTTP/1.0 server on ``host`` (127.0.0.1 by default) with misbehaving paths.

    ``robots``: ``"allow"`` (allow all), ``"disallow"`` (Disallow: /), ``"error"`` (HTTP 500),
    ``"hang"`` (never answers) or ``"crawl-delay"`` (asks for a day between requests).
    """

    def __init__(self, robots: str = "allow", host: str = "127.0.0.1", port: int = 0):
        self.robots = robots
        self.hits: Counter = Counter()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(_Handler):
            hostile = server

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        httpd_class = type("HostileHTTPServer", (ThreadingHTTPServer,),
                           {"address_family": family, "daemon_threads": True})
        self.httpd = httpd_class((host, port), Handler)
        self.host, self.port = host, self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        gzip_bomb(BOMB_BYTES)  # built now (once per process): building it takes longer than a read timeout

    @property
    def authority(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.authority}"

    def count(self, path: str) -> int:
        with self._lock:
            self.hits[path] += 1
            return self.hits[path]

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    hostile: HostileServer

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.hostile.count(parts.path)
        route = ROUTES.get(parts.path) or next(
            (handler for prefix, handler in PREFIX_ROUTES if parts.path.startswith(prefix)), None)
        try:
            if route is None:
                self.send_bytes(404, b"not found", "text/plain")
            else:
                route(self, parts.path, parse_qs(parts.query))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    # -- building blocks ---------------------------------------------------------------------------

    def send_bytes(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
                   headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send_bytes(status, b"", "text/plain", {"Location": location})

    def stall(self) -> None:
        self.hostile.stopping.wait(120)

    def reset(self) -> None:
        """Close with an RST instead of a FIN."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


# -- routes ---------------------------------------------------------------------------------------

def robots(h: _Handler, path: str, query) -> None:
    mode = h.hostile.robots
    if mode == "disallow":
        h.send_bytes(200, b"User-agent: *\nDisallow: /\n", "text/plain")
    elif mode == "error":
        h.send_bytes(500, b"robots broke", "text/plain")
    elif mode == "hang":
        h.stall()
    elif mode == "crawl-delay":
        h.send_bytes(200, b"User-agent: *\nCrawl-delay: 86400\n", "text/plain")
    else:
        h.send_bytes(200, b"User-agent: *\nAllow: /\n", "text/plain")


def ok(h: _Handler, path: str, query) -> None:
    h.send_bytes(200, article_html(path.rsplit("/", 1)[-1]).encode("utf-8"))


def hang(h: _Handler, path: str, query) -> None:
    h.stall()


def hang_headers(h: _Handler, path: str, query) -> None:
    """Status line, then one header byte every 0.2 s, forever: only a wall-clock limit ends it."""
    h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
    while not h.hostile.stopping.wait(0.2):
        h.wfile.write(b"a")
        h.wfile.flush()


def drip(h: _Handler, path: str, query) -> None:
    """A 5,000-byte body at one byte per 50 ms: four minutes if the client waits."""
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", "5000")
    h.end_headers()
    for _ in range(5000):
        h.wfile.write(b"x")
        h.wfile.flush()
        if h.hostile.stopping.wait(0.05):
            return


def reset_mid_body(h: _Handler, path: str, query) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    h.wfile.write(article_html("reset").encode("utf-8")[:2000])
    h.reset()


def status(h: _Handler, path: str, query) -> None:
    h.send_bytes(int(path.rsplit("/", 1)[-1]), b"<html><body>server error</body></html>")


def too_many_requests(h: _Handler, path: str, query) -> None:
    """``/429/forever`` always asks for an hour; ``/429/once`` asks for one second, once."""
    if path.endswith("/once") and h.hostile.hits[path] > 1:
        ok(h, path, query)
    else:
        h.send_bytes(429, b"slow down", "text/plain", {"Retry-After": "1" if path.endswith("/once") else "3600"})


def loop(h: _Handler, path: str, query) -> None:
    h.redirect("/loop/b" if path.endswith("/a") else "/loop/a")


def chain(h: _Handler, path: str, query) -> None:
    n = int(path.rsplit("/", 1)[-1])
    if n == 0:
        ok(h, "/chain-end", query)
    else:
        h.redirect(f"/chain/{n - 1}")


def redirect_to(h: _Handler, path: str, query) -> None:
    """``/redirect/<form>``: a 302 to this server's port on a loopback address in another form:
    ``127.0.0.2``, ``ipv6`` ([::1]), ``decimal`` (2130706433), ``hex`` (0x7f000001)."""
    host = {"127.0.0.2": "127.0.0.2", "ipv6": "[::1]", "decimal": "2130706433",
            "hex": "0x7f000001"}[path.rsplit("/", 1)[-1]]
    h.redirect(f"http://{host}:{h.hostile.port}/ok/redirect-target")


def big(h: _Handler, path: str, query) -> None:
    """8 MB of HTML, with a Content-Length (``/big``) or without one (``/big/streamed``)."""
    chunk = b"<p>" + b"x" * 65530 + b"</p>"
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    if not path.endswith("/streamed"):
        h.send_header("Content-Length", str(len(chunk) * 128))
    h.end_headers()
    for _ in range(128):
        h.wfile.write(chunk)


def bomb(h: _Handler, path: str, query) -> None:
    """200 MB of zeros in about 200 KB of gzip, once (``/bomb``) or gzipped twice (``/bomb/nested``)."""
    body = gzip_bomb(BOMB_BYTES)
    encoding = "gzip"
    if path.endswith("/nested"):
        body, encoding = gzip.compress(body), "gzip, gzip"
    h.send_bytes(200, body, "text/html; charset=utf-8", {"Content-Encoding": encoding})


def gbk_page(h: _Handler, path: str, query) -> None:
    """GBK bytes declared as UTF-8 (``/gbk/lying``) or with no charset anywhere (``/gbk/silent``)."""
    page = article_html("gbk-" + path.rsplit("/", 1)[-1], charset="gbk")
    if path.endswith("/silent"):
        page = page.replace('<meta charset="gbk">', "")
    content_type = "text/html; charset=utf-8" if path.endswith("/lying") else "text/html"
    h.send_bytes(200, page.encode("gbk"), content_type)


def binary(h: _Handler, path: str, query) -> None:
    h.send_bytes(200, b"\x89PNG\r\n\x1a\n" + os.urandom(4096), "text/html")


def empty(h: _Handler, path: str, query) -> None:
    h.send_bytes(200, b"")


def nul_bytes(h: _Handler, path: str, query) -> None:
    """NUL bytes inside the article text, past the first kilobyte (the head is clean)."""
    page = article_html("nul").encode("utf-8")
    h.send_bytes(200, page[:1024] + page[1024:].replace("。".encode(), "。\x00".encode()))


def surrogates(h: _Handler, path: str, query) -> None:
    """Surrogate code points encoded as UTF-8 (invalid) and as character references."""
    page = article_html("surrogates", extra="坏字符&#xD800;与&#55296;结束").encode("utf-8")
    h.send_bytes(200, page.replace("。".encode(), "。".encode() + b"\xed\xa0\x80", 3))


def malformed_feed(h: _Handler, path: str, query) -> None:
    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>broken</title>'
            b"<item><title>first</title><link>/item/malformed-1</link></item>"
            b"<item><title>unclosed <link>/item/malformed-2</link></channel>&bogus; <<<>>>")
    h.send_bytes(200, body, "application/rss+xml")


def garbage_feed(h: _Handler, path: str, query) -> None:
    h.send_bytes(200, b"this is { not xml at all", "application/rss+xml")


def huge_feed(h: _Handler, path: str, query) -> None:
    items = "".join(f"<item><title>item {n}</title><link>/item/{n}</link>"
                    f"<pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>" for n in range(10_000))
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>huge</title>{items}</channel></rss>'
    h.send_bytes(200, body.encode("utf-8"), "application/rss+xml")


def injection_page(h: _Handler, path: str, query) -> None:
    h.send_bytes(200, article_html(SQL_INJECTION).encode("utf-8"))


def injection_feed(h: _Handler, path: str, query) -> None:
    """Items whose titles and link paths carry SQL injection strings."""
    links = ["/inject/page", "/ok/x';DROP TABLE urls;--", "/ok/1%27%20OR%20%271%27=%271"]
    items = "".join(f"<item><title>{html.escape(SQL_INJECTION)}</title><link>{html.escape(link)}</link></item>"
                    for link in links)
    h.send_bytes(200, f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode(),
                 "application/rss+xml")


def item(h: _Handler, path: str, query) -> None:
    ok(h, path, query)


def sitemap(h: _Handler, path: str, query) -> None:
    """An index that lists itself and an endless chain of child indexes, plus one real urlset."""
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    if path == "/sitemap/urls.xml":
        body = f'<urlset {ns}><url><loc>/ok/from-sitemap</loc></url></urlset>'
    else:
        n = int(path.rsplit("/", 1)[-1].split(".")[0]) if "/child/" in path else 0
        children = ["/sitemap/index.xml", f"/sitemap/child/{n + 1}.xml", "/sitemap/urls.xml"]
        body = f"<sitemapindex {ns}>" + "".join(f"<sitemap><loc>{c}</loc></sitemap>" for c in children) + "</sitemapindex>"
    h.send_bytes(200, f'<?xml version="1.0"?>{body}'.encode(), "application/xml")


ROUTES = {
    "/robots.txt": robots, "/hang": hang, "/hang/headers": hang_headers, "/drip": drip,
    "/reset": reset_mid_body, "/big": big, "/big/streamed": big,
    "/bomb": bomb, "/bomb/nested": bomb, "/binary": binary, "/empty": empty, "/nul": nul_bytes,
    "/surrogates": surrogates, "/feed/malformed.xml": malformed_feed, "/feed/garbage.xml": garbage_feed,
    "/feed/huge.xml": huge_feed, "/feed/inject.xml": injection_feed, "/inject/page": injection_page,
}
PREFIX_ROUTES = (
    ("/ok/", ok), ("/item/", item), ("/status/", status), ("/429/", too_many_requests), ("/loop/", loop),
    ("/chain/", chain), ("/gbk/", gbk_page), ("/sitemap/", sitemap), ("/redirect/", redirect_to),
)


class Decoy:
    """A listener that only counts connections: a refused address must never receive one."""

    def __init__(self, host: str, port: int):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()
