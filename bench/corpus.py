"""The benchmark corpus: synthetic Chinese news sites built at run time, served on 127.0.0.1.

Articles are recombined sentences of the seed documents (``seeds/*.txt``) and, when ``shared/`` is
there, of the Chinese texts of ``shared/corpus/gne-zh/truth`` and ``shared/eval/topic-dev``: some
2,700 sentences, so two unrelated articles share about as little text as two real ones do (the 76
seed sentences alone make every article share sentences with many others). Page chrome comes from
templates derived, at run time, from the *structure* of the pages in ``shared/corpus/gne-zh/html``:
every text node, script, style and link there is replaced by filler of the same length, and the
element holding the article paragraphs becomes the slot for ours. So the corpus has real-world
chrome weight and markup shape but none of those pages' text, and nothing of them enters the repo.
Without ``shared/`` the built-in templates below are used.

A corpus is a directory: ``manifest.json`` plus one subdirectory of page files per site. Each site is
served on its own port (one host:port per site, like real outlets) with ``robots.txt`` and either a
sitemap or an RSS feed, so the real discover and fetch code runs against it::

    python bench/corpus.py build DIR --pages 2000
    python bench/corpus.py serve DIR      # prints {"site-0": port, ...} on one line, serves until stdin closes
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import threading
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import lxml.etree
import lxml.html

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = PROJECT_ROOT / "seeds"
# A git worktree sits one level deeper than the main checkout: MEDIAMON_SHARED_DIR points it there.
SHARED_DIR = Path(os.environ.get("MEDIAMON_SHARED_DIR") or PROJECT_ROOT.parent / "shared")
GNE_HTML_DIR = SHARED_DIR / "corpus" / "gne-zh" / "html"

ARTICLE_SLOT, TITLE_SLOT, CHARSET_SLOT, URL_SLOT = "@@ARTICLE@@", "@@TITLE@@", "@@CHARSET@@", "@@URL@@"
# Attributes whose values are markup, not text, and keep their shape in a template.
_STRUCTURAL_ATTRIBUTES = {"class", "id", "style", "type", "rel", "name", "lang", "width", "height", "align",
                          "target", "role", "colspan", "rowspan", "cellpadding", "cellspacing", "border"}
_SENTENCE = re.compile(r"[^。！？\n]+[。！？]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class CorpusSpec:
    """How a corpus is built.

    Args:
        pages: pages in total, reposts included.
        sites: number of sites (one port, one source each).
        repost_share: share of pages that repost another site's article word for word.
        gbk_sites: how many of the sites serve GBK instead of UTF-8.
        seed: random seed; the same spec builds the same corpus.
    """

    pages: int = 2000
    sites: int = 8
    repost_share: float = 0.2
    gbk_sites: int = 1
    seed: int = 7


# --- text ----------------------------------------------------------------------------------------

def chinese_sentences(texts) -> list[str]:
    """The distinct Chinese sentences of ``texts``, in order (English ones and headers left out)."""
    sentences = {}
    for text in texts:
        for sentence in _SENTENCE.findall(text):
            sentence = sentence.strip()
            if len(sentence) >= 12 and len(_CJK.findall(sentence)) > len(sentence) / 2:
                sentences[sentence] = None
    return list(sentences)


def seed_sentences(seeds_dir: Path = SEEDS_DIR) -> list[str]:
    """The Chinese sentences of the seed documents."""
    sentences = chinese_sentences(path.read_text(encoding="utf-8") for path in sorted(seeds_dir.glob("*.txt")))
    if len(sentences) < 20:
        raise SystemExit(f"bench: too few seed sentences in {seeds_dir}")
    return sentences


def shared_texts(shared_dir: Path = SHARED_DIR):
    """The article texts of the gne-zh truth and the topic dev set, read where they are (never copied)."""
    for path in sorted((shared_dir / "corpus" / "gne-zh" / "truth").glob("*.json")):
        yield json.loads(path.read_text(encoding="utf-8")).get("body") or ""
    dev = shared_dir / "eval" / "topic-dev" / "dev.jsonl"
    if dev.is_file():
        for line in dev.read_text(encoding="utf-8").splitlines():
            yield json.loads(line).get("text") or ""


class Filler:
    """Endless Chinese filler text cycled from the seed sentences; keeps whitespace where it was."""

    def __init__(self, sentences: list[str]):
        self.stream = "".join(s for s in sentences)
        self.position = 0

    def take(self, length: int) -> str:
        out = []
        while length > 0:
            chunk = self.stream[self.position:self.position + length]
            self.position = (self.position + len(chunk)) % len(self.stream)
            out.append(chunk)
            length -= len(chunk)
        return "".join(out)

    def like(self, text: str | None) -> str | None:
        """Filler with the length and whitespace layout of ``text``."""
        if not text or not text.strip():
            return text
        return re.sub(r"\S+", lambda m: self.take(len(m.group())), text)


def article_paragraphs(rng: random.Random, sentences: list[str]) -> list[str]:
    """A new article: 3 to ~70 sentences (long-tailed, as news is), in 2-5 sentence paragraphs."""
    count = min(len(sentences), max(3, int(rng.lognormvariate(2.4, 0.6))))
    chosen = rng.sample(sentences, count)
    paragraphs, i = [], 0
    while i < len(chosen):
        step = rng.randint(2, 5)
        paragraphs.append("".join(chosen[i:i + step]))
        i += step
    return paragraphs


# --- templates -----------------------------------------------------------------------------------

def _article_container(tree) -> lxml.html.HtmlElement | None:
    """The element whose direct paragraph children hold the most text: the article body."""
    best, best_chars = None, 0
    for element in tree.iter("div", "article", "section", "td", "body"):
        chars = sum(len(child.text_content()) for child in element
                    if isinstance(child.tag, str) and child.tag in ("p", "section"))
        if chars > best_chars:
            best, best_chars = element, chars
    return best if best_chars >= 200 else None


def template_from_page(html_text: str, filler: Filler) -> str | None:
    """A page template with the structure of ``html_text`` and none of its text, or None when the
    page has no recognisable article body. Slots: title, charset, canonical URL, article HTML."""
    try:
        tree = lxml.html.document_fromstring(html_text)
    except (lxml.etree.ParserError, ValueError):
        return None
    container = _article_container(tree)
    if container is None:
        return None
    for node in tree.xpath("//comment() | //processing-instruction() | //base | //meta[@charset] | "
                           "//meta[@http-equiv] | //link[@rel='canonical'] | //title"):
        if node.getparent() is None:
            continue  # outside <html>: not serialized with the tree anyway
        if hasattr(node, "drop_tree"):
            node.drop_tree()  # keeps the node's tail text
        else:
            node.getparent().remove(node)
    for child in list(container):
        container.remove(child)
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag in ("script", "style"):
            # Same weight for the parser, none of the code.
            size = len(element.text or "")
            element.text = f"/*{'x' * max(0, size - 4)}*/" if size else element.text
        else:
            element.text = filler.like(element.text)
        element.tail = filler.like(element.tail)
        for name, value in list(element.attrib.items()):
            if name in _STRUCTURAL_ATTRIBUTES:
                continue
            if name in ("href", "action"):
                element.set(name, f"/c/{zlib.crc32(value.encode()) % 100000}.html")
            elif name == "src":
                element.set(name, f"/s/{zlib.crc32(value.encode()) % 100000}.{'js' if element.tag == 'script' else 'jpg'}")
            else:
                element.set(name, filler.like(value) or "")
    container.text = ARTICLE_SLOT
    headline = next(tree.iter("h1"), None)
    if headline is not None and container not in headline.iterancestors():
        for child in list(headline):
            headline.remove(child)
        headline.text = TITLE_SLOT
    head = tree.find("head")
    if head is None:
        head = lxml.html.Element("head")
        tree.insert(0, head)
    for tag in reversed((f'<meta charset="{CHARSET_SLOT}">', f"<title>{TITLE_SLOT}</title>",
                         f'<link rel="canonical" href="{URL_SLOT}">')):
        head.insert(0, lxml.html.fragment_fromstring(tag))
    return "<!DOCTYPE html>\n" + lxml.html.tostring(tree, encoding="unicode")


def builtin_templates() -> list[str]:
    """Hand-written portal chrome, for when the gne-zh pages are not there."""
    nav = "".join(f'<li><a href="/c/{i}.html">频道{i}</a></li>' for i in range(24))
    related = "".join(f'<li><a href="/r/{i}.html">相关新闻标题第{i}条内容摘要</a></li>' for i in range(12))
    footer = '<div class="footer"><p>关于我们 | 联系我们 | 广告服务</p><p>版权所有 © 示例网 ICP备00000000号</p></div>'
    script = f"<script>/*{'x' * 6000}*/</script>"
    head = f'<head><meta charset="{CHARSET_SLOT}"><title>{TITLE_SLOT}</title><link rel="canonical" href="{URL_SLOT}">{script}</head>'
    return [
        f'<!DOCTYPE html><html>{head}<body><div class="header"><ul class="nav">{nav}</ul></div>'
        f'<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/c/1.html">国内</a></div>'
        f'<div class="main"><h1>{TITLE_SLOT}</h1><div class="info">来源：示例网</div>'
        f'<div class="content" id="artibody">{ARTICLE_SLOT}</div><div class="related"><h3>相关阅读</h3><ul>{related}</ul></div></div>'
        f'<div class="side"><ul>{related}</ul></div>{footer}</body></html>',
        f'<!DOCTYPE html><html>{head}<body><table width="960"><tr><td><table><tr><td>{nav}</td></tr></table></td></tr>'
        f'<tr><td><h1>{TITLE_SLOT}</h1><div id="zoom">{ARTICLE_SLOT}</div></td></tr><tr><td>{footer}</td></tr></table>{script}</body></html>',
        f'<!DOCTYPE html><html>{head}<body><header><nav>{nav}</nav></header><article><h1>{TITLE_SLOT}</h1>'
        f'<section class="article-body">{ARTICLE_SLOT}</section></article><aside><ul>{related}</ul></aside>'
        f'<div class="comment"><h3>网友评论</h3><form><textarea></textarea></form></div>{footer}</body></html>',
    ]


def load_templates(sentences: list[str], html_dir: Path = GNE_HTML_DIR) -> tuple[list[str], str]:
    """Templates from the gne-zh page structures when present, else the built-in ones; and which."""
    filler = Filler(sentences)
    templates = []
    if html_dir.is_dir():
        for path in sorted(html_dir.glob("*.html")):
            template = template_from_page(path.read_text(encoding="utf-8", errors="replace"), filler)
            if template:
                templates.append(template)
    if templates:
        return templates, f"{len(templates)} templates from the structure of {html_dir}"
    return builtin_templates(), "built-in templates (gne-zh pages not found)"


# --- building ------------------------------------------------------------------------------------

def _article_html(rng: random.Random, paragraphs: list[str], published: datetime) -> str:
    lines = []
    if rng.random() < 0.5:
        lines.append(f"<p>{published:%Y-%m-%d %H:%M} 来源：示例通讯社</p>")
    lines += [f"<p>{escape(p)}</p>" for p in paragraphs]
    if rng.random() < 0.5:
        lines.append("<p>（责任编辑：王小明）</p>")
    return "\n".join(lines)


def build(directory: Path, spec: CorpusSpec = CorpusSpec(), seeds_dir: Path = SEEDS_DIR,
          html_dir: Path = GNE_HTML_DIR, shared_dir: Path = SHARED_DIR) -> dict:
    """Write a corpus to ``directory`` and return its manifest (also saved as manifest.json)."""
    rng = random.Random(spec.seed)
    sentences = seed_sentences(seeds_dir)
    templates, template_origin = load_templates(sentences, html_dir)
    sentences = chinese_sentences([*sentences, *shared_texts(shared_dir)])
    sites = []
    for number in range(spec.sites):
        # Each site has one or two page layouts, like a real outlet's channels.
        layouts = rng.sample(range(len(templates)), min(len(templates), rng.randint(1, 2)))
        sites.append({"name": f"site-{number}", "kind": "sitemap" if number % 2 else "rss",
                      "encoding": "gbk" if number >= spec.sites - spec.gbk_sites else "utf-8",
                      "layouts": layouts, "pages": []})
    reposts = int(spec.pages * spec.repost_share)
    originals = []
    start = datetime(2024, 1, 1, 8, 0)
    for number in range(spec.pages):
        is_repost = number >= spec.pages - reposts and originals
        if is_repost:
            original = rng.choice(originals)
            paragraphs, title = original["paragraphs"], original["title"]
            site = rng.choice([s for s in sites if s is not original["site"]])
        else:
            paragraphs = article_paragraphs(rng, sentences)
            title = f"{paragraphs[0][:rng.randint(12, 24)].rstrip('，,、')}（{number}）"
            site = sites[number % len(sites)]
        published = start + timedelta(minutes=37 * number)
        path = f"/news/{published:%Y/%m-%d}/{number:06d}.html"
        template = templates[rng.choice(site["layouts"])]
        page = (template.replace(ARTICLE_SLOT, _article_html(rng, paragraphs, published))
                .replace(TITLE_SLOT, escape(title)).replace(CHARSET_SLOT, site["encoding"])
                .replace(URL_SLOT, path))
        file = directory / site["name"] / path.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(page.encode(site["encoding"], errors="xmlcharrefreplace"))
        site["pages"].append({"path": path, "title": title, "published": published.isoformat(),
                              "repost": bool(is_repost)})
        if not is_repost:
            originals.append({"paragraphs": paragraphs, "title": title, "site": site})
    manifest = {"spec": spec.__dict__, "templates": template_origin, "sentences": len(sentences), "pages": spec.pages,
                "reposts": reposts, "gbk_pages": sum(len(s["pages"]) for s in sites if s["encoding"] == "gbk"),
                "sites": [{k: v for k, v in s.items() if k != "layouts"} for s in sites]}
    (directory / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return manifest


def page_files(directory: Path) -> list[tuple[str, Path]]:
    """(encoding, file) of every article page of a built corpus, in build order."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    return [(site["encoding"], directory / site["name"] / page["path"].lstrip("/"))
            for site in manifest["sites"] for page in site["pages"]]


def sources_yaml(manifest: dict, ports: dict[str, int]) -> str:
    """The source file (``seeds/sources.yaml`` format) for a served corpus: one source per site."""
    import yaml

    entries = []
    for site in manifest["sites"]:
        authority = f"127.0.0.1:{ports[site['name']]}"
        feed = "/sitemap.xml" if site["kind"] == "sitemap" else "/rss.xml"
        entries.append({"id": f"bench-{site['name']}", "name": f"基准站点 {site['name']}", "language": "zh",
                        "kind": site["kind"], "url": f"http://{authority}{feed}", "crawl_delay_s": 0,
                        "max_pages": len(site["pages"]) + 1, "allow_private": [authority]})
    return yaml.safe_dump({"sources": entries}, allow_unicode=True, sort_keys=False)


# --- serving -------------------------------------------------------------------------------------

def _feed(site: dict, base: str) -> bytes:
    if site["kind"] == "sitemap":
        urls = "".join(f"<url><loc>{base}{p['path']}</loc><lastmod>{p['published'][:10]}</lastmod></url>"
                       for p in site["pages"])
        return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/'
                f'sitemap/0.9">{urls}</urlset>').encode()
    items = "".join(
        f"<item><title>{escape(p['title'])}</title><link>{base}{p['path']}</link>"
        f"<pubDate>{format_datetime(datetime.fromisoformat(p['published']))}</pubDate></item>"
        for p in site["pages"])
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{site["name"]}</title>'
            f"<link>{base}/</link>{items}</channel></rss>").encode()


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as real servers do: the fetcher reuses its connection.
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as real servers set it (nginx's tcp_nodelay): the headers and the body go out in
    # two writes, and with Nagle's algorithm the body's tail waits for the client's delayed ACK,
    # which made every fetch wait 5-25 ms on nothing.
    disable_nagle_algorithm = True
    server: _SiteServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        found = self.server.files.get(path)
        if found is None:
            body, media_type, status = b"not found", "text/plain; charset=utf-8", 404
        else:
            body, media_type = found
            status = 200
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    files: dict[str, tuple[bytes, str]]


def serve(directory: Path) -> None:
    """Serve every site of the corpus on its own ephemeral 127.0.0.1 port until stdin closes."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    servers, ports = [], {}
    for site in manifest["sites"]:
        server = _SiteServer(("127.0.0.1", 0), _Handler)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        files = {p["path"]: ((directory / site["name"] / p["path"].lstrip("/")).read_bytes(),
                             f"text/html; charset={site['encoding']}") for p in site["pages"]}
        feed_path = "/sitemap.xml" if site["kind"] == "sitemap" else "/rss.xml"
        feed_type = "application/xml" if site["kind"] == "sitemap" else "application/rss+xml"
        files[feed_path] = (_feed(site, base), f"{feed_type}; charset=utf-8")
        files["/robots.txt"] = (f"User-agent: *\nAllow: /\nSitemap: {base}{feed_path}\n".encode(),
                                "text/plain; charset=utf-8")
        server.files = files
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        ports[site["name"]] = server.server_address[1]
    print(json.dumps(ports), flush=True)
    try:
        sys.stdin.read()  # the parent closes our stdin (or dies) to stop us
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="write a corpus to DIR")
    build_cmd.add_argument("directory", type=Path)
    build_cmd.add_argument("--pages", type=int, default=CorpusSpec.pages)
    serve_cmd = commands.add_parser("serve", help="serve the corpus in DIR on 127.0.0.1")
    serve_cmd.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if args.command == "build":
        manifest = build(args.directory, CorpusSpec(pages=args.pages))
        print(f"{manifest['pages']} pages ({manifest['reposts']} reposts, {manifest['gbk_pages']} GBK) "
              f"in {args.directory}; {manifest['templates']}")
    else:
        serve(args.directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
