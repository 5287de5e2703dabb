"""The source list: load and validate ``seeds/sources.yaml`` (or ``$MEDIAMON_SOURCES``).

A source is where discovery starts: a feed, a sitemap, a listing page or one article page.
Validation happens on load and every problem is reported as a :class:`ConfigError` naming the
file, the line, the source and the field.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from mediamon import safe
from mediamon.errors import ConfigError

KINDS = ("rss", "atom", "sitemap", "listing", "page")
REQUIRED = ("id", "name", "language", "kind", "url")
OPTIONAL = ("crawl_delay_s", "max_pages", "allow_private", "retention_days", "enabled", "notes", "outlet",
            "collections")
# Who publishes: central media (人民网, 新华社), provincial and city papers and stations, county media
# centres, government sites, commercial portals (新浪, 网易). Media Cloud groups its sources the same way.
OUTLET_TIERS = ("central", "provincial", "municipal", "county", "government", "portal", "other")
OUTLET_FIELDS = ("tier", "province", "media_type")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Source:
    """One configured source.

    ``allow_private`` lists exact ``host:port`` pairs this source may reach even though they are
    private or loopback addresses. It exists for the offline demo site and tests; production
    sources leave it empty.
    """

    source_id: str
    name: str
    language: str
    kind: str
    url: str
    crawl_delay_s: float | None = None
    max_pages: int = 200
    allow_private: tuple[str, ...] = ()
    # Days its raw pages stay in the archive (mediamon_maintenance); None: the global setting.
    retention_days: int | None = None
    enabled: bool = True
    outlet_tier: str | None = None
    outlet_province: str | None = None     # GB/T 2260 code of a province-level division
    media_type: str | None = None
    collections: tuple[str, ...] = ()

    def settings_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: data[k] for k in ("crawl_delay_s", "max_pages", "allow_private", "retention_days")}

    @classmethod
    def from_stored(cls, source_id: str, name: str, language: str, kind: str, url: str,
                    settings: dict[str, Any] | None) -> Source:
        """A source as stored in the ``sources`` table (its options in the ``settings`` JSON)."""
        cfg = settings or {}
        return cls(source_id=source_id, name=name, language=language, kind=kind, url=url,
                   crawl_delay_s=cfg.get("crawl_delay_s"), max_pages=cfg.get("max_pages", 200),
                   allow_private=tuple(cfg.get("allow_private") or ()))


def load_sources(path: str | Path) -> list[Source]:
    """Parse and validate a source file. Raises :class:`ConfigError` on the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, f"cannot read the source list ({exc.strerror})") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        context = getattr(exc, "context_mark", None)
        opened = f" ({exc.context} on line {context.line + 1})" if context and exc.context else ""
        raise ConfigError(path, f"malformed YAML: {getattr(exc, 'problem', exc)}{opened}",
                          line=mark.line + 1 if mark else None) from None
    if isinstance(root, yaml.MappingNode):
        root = _mapping(path, root).get("sources", (None, None))[1]
    if not isinstance(root, yaml.SequenceNode):
        raise ConfigError(path, "expected a list of sources (or a mapping with a 'sources' list)",
                          line=root.start_mark.line + 1 if root is not None else None)
    sources, seen = [], {}
    for node in root.value:
        source = _source(path, node)
        if source.source_id in seen:
            raise ConfigError(path, f"duplicate id (first defined on line {seen[source.source_id]})",
                              line=node.start_mark.line + 1, item=f"source {source.source_id!r}",
                              field="id")
        seen[source.source_id] = node.start_mark.line + 1
        sources.append(source)
    return sources


def _mapping(path: Path, node: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(path, "expected a mapping", line=node.start_mark.line + 1)
    return {key.value: (key, value) for key, value in node.value}


def _source(path: Path, node: yaml.Node) -> Source:
    fields = _mapping(path, node)
    line = node.start_mark.line + 1
    source_id = fields["id"][1].value if "id" in fields and isinstance(fields["id"][1], yaml.ScalarNode) else None
    item = f"source {source_id!r}" if source_id else "a source"

    def fail(field: str, message: str) -> ConfigError:
        at = fields[field][1].start_mark.line + 1 if field in fields else line
        return ConfigError(path, message, line=at, item=item, field=field)

    for key in fields:
        if key not in REQUIRED + OPTIONAL:
            raise fail(key, f"unknown field (known: {', '.join(REQUIRED + OPTIONAL)})")
    for key in REQUIRED:
        if key not in fields:
            raise fail(key, "missing required field")
    values = {key: yaml.safe_load(yaml.serialize(value)) for key, (_, value) in fields.items()}
    for key in REQUIRED:
        if not isinstance(values[key], str) or not values[key].strip():
            raise fail(key, "must be a non-empty string")
        if any(not char.isprintable() and char != " " for char in values[key]):
            raise fail(key, "must not contain control characters (NUL, newlines, ...)")
    if values["kind"] not in KINDS:
        raise fail("kind", f"unknown kind {values['kind']!r} (expected one of {', '.join(KINDS)})")
    problem = url_problem(values["url"])
    if problem:
        raise fail("url", problem)
    delay = values.get("crawl_delay_s")
    if delay is not None and (not safe.finite_number(delay) or delay < 0):
        raise fail("crawl_delay_s", "must be a finite number of seconds >= 0 (not .nan or .inf)")
    max_pages = values.get("max_pages", Source.max_pages)
    if not isinstance(max_pages, int) or isinstance(max_pages, bool) or max_pages < 1:
        raise fail("max_pages", "must be a whole number >= 1")
    allow = values.get("allow_private") or []
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        raise fail("allow_private", "must be a list of 'host:port' strings")
    for entry in allow:
        host, sep, port = entry.rpartition(":")
        if (not sep or not host or not re.fullmatch(r"[0-9]{1,5}", port) or not 0 < int(port) < 65536
                or "*" in host or not entry.isprintable()):
            raise fail("allow_private", f"{entry!r} is not an exact 'host:port' pair")
    retention = values.get("retention_days")
    if retention is not None and (not isinstance(retention, int) or isinstance(retention, bool) or retention < 1):
        raise fail("retention_days", "must be a whole number of days >= 1")
    enabled = values.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("enabled", "must be true or false")
    outlet = _outlet(values.get("outlet"), fail)
    collections = values.get("collections") or []
    if not isinstance(collections, list) or not all(isinstance(c, str) and _NAME.match(c) for c in collections):
        raise fail("collections", "must be a list of names (lower-case letters, digits, '-' and '_')")
    return Source(source_id=values["id"].strip(), name=values["name"].strip(),
                  language=values["language"].strip(), kind=values["kind"], url=values["url"].strip(),
                  crawl_delay_s=float(delay) if delay is not None else None, max_pages=max_pages,
                  allow_private=tuple(a.lower() for a in allow), retention_days=retention, enabled=enabled,
                  outlet_tier=outlet.get("tier"), outlet_province=outlet.get("province"),
                  media_type=outlet.get("media_type"), collections=tuple(dict.fromkeys(collections)))


def _outlet(outlet: Any, fail) -> dict[str, str]:
    """Validate ``outlet: {tier, province, media_type}``; errors name the sub-field."""
    if outlet is None:
        return {}
    if not isinstance(outlet, dict):
        raise fail("outlet", "must be a mapping with tier, province and media_type")
    for key in outlet:
        if key not in OUTLET_FIELDS:
            raise fail("outlet", f"unknown field outlet.{key} (known: {', '.join(OUTLET_FIELDS)})")
    tier = outlet.get("tier")
    if tier not in OUTLET_TIERS:
        raise fail("outlet", f"outlet.tier must be one of {', '.join(OUTLET_TIERS)}, not {tier!r}")
    province = outlet.get("province")
    if province is not None:
        province = str(province)
        if province not in _province_codes():
            raise fail("outlet", f"outlet.province {province!r} is not a province-level GB/T 2260 code "
                                 "(e.g. 310000 for Shanghai)")
    media_type = outlet.get("media_type")
    if media_type is not None and (not isinstance(media_type, str) or not media_type.strip()):
        raise fail("outlet", "outlet.media_type must be a non-empty string")
    return {"tier": tier, "province": province, "media_type": media_type.strip() if media_type else None}


@cache
def _province_codes() -> frozenset[str]:
    # The gazetteer's table, read directly: building the region matcher is not needed here.
    from mediamon.regions import GAZETTEER_FILE

    with GAZETTEER_FILE.open(encoding="utf-8") as table:
        return frozenset(row[0] for row in (line.split("\t") for line in table)
                         if len(row) > 2 and row[2] == "province")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be crawled, or None if it can."""
    if problem := safe.url_problem(url.strip()):
        return f"invalid URL {url[:200]!r}: {problem}"
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"invalid URL {url!r}: {exc}"
    if parts.scheme not in ("http", "https"):
        return f"invalid URL {url!r}: only http and https are supported"
    if not parts.hostname:
        return f"invalid URL {url!r}: no host"
    if parts.username or parts.password:
        # The URL would travel into logs and stored rows; secrets belong in the environment.
        return "credentials in URLs are not supported"
    return None


def format_summary(rows: list[dict[str, Any]]) -> str:
    header = ("source", "kind", "discovered", "fetched", "failed", "articles", "duplicates")
    table = [header] + [tuple(str(r[k if k != "source" else "source_id"]) for k in header) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def append_sources(path: str | Path, stanzas: list[dict[str, Any]]) -> list[Source]:
    """Append source stanzas to the list in ``path`` (created when missing) and return the new list.

    The result is validated with :func:`load_sources` before the file is replaced, so a stanza
    that would break the file (or a file whose list cannot be appended to) raises
    :class:`ConfigError` and leaves the file as it was.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else "sources:\n"
    before = len(load_sources(path)) if path.exists() else 0
    indent = _item_indent(path, text)
    block = yaml.safe_dump(stanzas, allow_unicode=True, sort_keys=False, width=1000)
    block = "".join(" " * indent + line if line.strip() else line for line in block.splitlines(keepends=True))
    merged = text + ("" if text.endswith("\n") else "\n") + block
    staged = path.with_name(f".{path.name}.new")
    staged.write_text(merged, encoding="utf-8")
    try:
        sources = load_sources(staged)
        if len(sources) != before + len(stanzas):
            raise ConfigError(path, "the source list is not the last thing in the file; append by hand")
        staged.replace(path)
    finally:
        staged.unlink(missing_ok=True)
    return sources


def _item_indent(path: Path, text: str) -> int:
    """The column the existing list items start at (2 under ``sources:``, 0 for a bare list)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return 2
    if isinstance(root, yaml.MappingNode):
        root = _mapping(path, root).get("sources", (None, None))[1]
    if isinstance(root, yaml.SequenceNode) and root.value:
        return root.value[0].start_mark.column - 2 if root.value[0].start_mark.column >= 2 else 0
    return 0 if isinstance(root, yaml.SequenceNode) else 2
