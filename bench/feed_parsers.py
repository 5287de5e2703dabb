"""Feed parsing: feedparser (what discovery uses) against the lxml parser it replaced, on the demo
feeds and the hostile feeds of tests/hostile_server.py. Prints links found and time per parse, with
the ratio to lxml measured in the same run.

    .venv/bin/python bench/feed_parsers.py [--repeat 20]
"""
from __future__ import annotations

import argparse
import time

import lxml.etree

from mediamon.discover import Discovery, Link, NotAFeed, _date, canonical_url, parse_feed
from mediamon.settings import PROJECT_ROOT

BASE = "http://127.0.0.1:8701/"
ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
_PARSER = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)


def lxml_parse_feed(body: bytes, base_url: str, max_links: int) -> Discovery:
    """The lxml feed parser discovery used before feedparser (commit ef7472b), as the baseline."""
    try:
        root = lxml.etree.fromstring(body.lstrip(), _PARSER)
    except lxml.etree.XMLSyntaxError as exc:
        raise NotAFeed(str(exc)) from None
    if root is None:
        raise NotAFeed("no root")

    def text(element, *paths):
        for path in paths:
            found = element.find(path)
            if found is not None and (found.text or "").strip():
                return found.text.strip()
        return None

    links = []
    for item in root.iter("item", f"{RSS1}item", f"{ATOM}entry"):
        if len(links) >= max_links:
            break
        href = text(item, "link", f"{RSS1}link")
        if href is None:
            for node in item.iter(f"{ATOM}link"):
                if node.get("rel", "alternate") == "alternate" and node.get("href"):
                    href = node.get("href")
                    break
        url = canonical_url(href, base_url) if href else None
        if url:
            links.append(Link(url, text(item, "title", f"{ATOM}title"),
                              _date(text(item, "pubDate", f"{ATOM}published", f"{ATOM}updated",
                                         "{http://purl.org/dc/elements/1.1/}date"))))
    if not links and root.tag not in ("rss", f"{ATOM}feed") and not root.tag.endswith("RDF"):
        raise NotAFeed(f"root <{root.tag}>")
    return Discovery(links, [])


def feeds() -> dict[str, bytes]:
    demo = PROJECT_ROOT / "seeds" / "demo_site"
    out = {name: (demo / path).read_text(encoding="utf-8").replace("{{news}}", BASE.rstrip("/"))
           .replace("{{repost}}", "http://127.0.0.1:8702").encode("utf-8")
           for name, path in (("demo rss.xml", "news/rss.xml"), ("demo atom.xml", "repost/atom.xml"))}
    items = "".join(f"<item><title>item {n}</title><link>/item/{n}</link>"
                    f"<pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>" for n in range(10_000))
    out["hostile huge (10k items)"] = f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()
    out["hostile malformed"] = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>broken</title>'
                                b"<item><title>first</title><link>/item/malformed-1</link></item>"
                                b"<item><title>unclosed <link>/item/malformed-2</link></channel>&bogus; <<<>>>")
    out["hostile garbage"] = b"this is { not xml at all"
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    out["hostile billion laughs"] = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "ha">{laughs}]><rss><channel>'
                                     f"<item><title>&l9;</title><link>/b</link></item></channel></rss>").encode()
    out["hostile XXE"] = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
                          b"<rss><channel><item><title>&x;</title><link>/x</link></item></channel></rss>")
    return out


def measure(parse, body: bytes, repeat: int) -> tuple[str, float]:
    try:
        found = parse(body, BASE, 30)
        result = f"{len(found.links)} links" + (f", title {len(found.links[0].title or '')} chars" if found.links else "")
    except NotAFeed:
        result = "NotAFeed"
    started = time.perf_counter()
    for _ in range(repeat):
        try:
            parse(body, BASE, 30)
        except NotAFeed:
            pass
    return result, (time.perf_counter() - started) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"{'feed':26} {'lxml':>30} {'feedparser':>30} {'ms lxml':>9} {'ms fp':>9} {'ratio':>6}")
    for name, body in feeds().items():
        old, old_ms = measure(lxml_parse_feed, body, args.repeat)
        new, new_ms = measure(parse_feed, body, args.repeat)
        print(f"{name:26} {old:>30} {new:>30} {old_ms:9.2f} {new_ms:9.2f} {new_ms / old_ms:6.1f}")


if __name__ == "__main__":
    main()
