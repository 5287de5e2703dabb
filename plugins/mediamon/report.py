"""The report on new regional-cooperation coverage: HTML, CSV and JSON of the same data.

This module assembles and renders; :mod:`mediamon.report_db` reads the period and records the report.

A report covers the articles of one topic that became relevant since the last successful report.
The watermark (``report_watermarks``) and the ledger of reported articles (``report_articles``)
define that period, so an article is reported exactly once even when its classification commits
late or is re-run. One transaction reads the period, writes the files, records the ``reports`` row,
the ledger and the new watermark; if anything fails the files are removed and the watermark stays.

The HTML page is self-contained (inline CSS, charts as inline SVG, no script, no external font)
and every string that came from a scraped page is escaped for the context it lands in.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from math import cos, pi, sin
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from mediamon import report_sections as sections
from mediamon.settings import ReportSettings

log = logging.getLogger(__name__)

COUNT_KEYS = ("events", "new_stories", "stories", "articles", "sites", "spam_copies")
COUNT_LABELS = {
    "events": ("合作事件", "events"),
    "new_stories": ("新增报道", "new stories"),
    "stories": ("涉及报道", "stories with new copies"),
    "articles": ("文章（转载）", "articles (copies)"),
    "sites": ("网站", "distinct sites"),
    "spam_copies": ("垃圾转载", "spam copies (not counted)"),
}
# The tables written as CSV and their columns (a row with another key is an error, not dropped).
CSV_COLUMNS = {
    "stories": ("story_key", "title", "published", "url", "site", "sites", "articles", "new_articles", "is_new",
                "regions", "cooperation_types", "agreements"),
    "spam_copies": ("article_id", "title", "site", "url", "story_title", "evidence"),
    "regions": ("code", "name", "stories", "articles"),
    "region_pairs": ("region_a", "region_a_name", "region_b", "region_b_name", "stories", "articles"),
    "trend": ("day", "stories", "undated", "articles_collected", "story_share"),
    "sources": ("site", "source", "articles", "stories", "spam_copies"),
    "events": ("event_key", "title", "date", "stories", "articles", "new_articles", "sites", "parties",
               "cooperation_types", "agreements", "linked_by", "story_keys", "story_list"),
    "outlet_tiers": ("tier", "stories", "articles", "sites"),
    "trend_by_dimension": ("dimension", "key", "name", "stories", "story_share", "per_day"),
}


# --- assembling ------------------------------------------------------------------------------

@dataclass
class _Story:
    key: int
    copies: list

    def nonspam(self, period_only: bool = False) -> list:
        return [c for c in self.copies if not c.is_spam and (c.in_period or not period_only)]

    def canonical(self):
        chosen = [c for c in self.copies if c.article_id == c.canonical_article_id]
        ranked = sorted(self.nonspam() or self.copies,
                        key=lambda c: (c.published_at is None, c.published_at or datetime.min, c.article_id))
        return (chosen or ranked)[0]


def assemble(cfg: ReportSettings, report_id: int, period_start: datetime | None, period_end: datetime,
             copies: list[Any], regions: list[Any], pairs: list[Any], previous: Any, *,
             trend_window: tuple[date, date], trend_stories: list[Any], collected: dict[date, int],
             story_events: list[Any], collection: str | None = None) -> dict[str, Any]:
    """The report's data (plain, JSON-ready) from the rows :mod:`mediamon.report_db` read: the
    stories' ``copies``, the ``regions`` named by relevant copies, the period's region ``pairs``,
    the ``previous`` report (or None); the trend window's relevant stories per day and dimension
    (``trend_stories``, with ``undated`` among them) and articles ``collected`` per day; the event
    of each story (``story_events``)."""
    zone = ZoneInfo(cfg.timezone)
    copies_of = defaultdict(list)
    for copy in copies:
        copies_of[copy.story_key].append(copy)
    stories = {key: _Story(key, group) for key, group in copies_of.items()}
    regions_of = defaultdict(list)
    for row in regions:
        regions_of[row.article_id].append(row)
    period_copies = [c for c in copies if c.in_period and not c.is_spam]

    reported = [s for s in stories.values() if s.nonspam(period_only=True)]
    # A story's key is its story_id once dedupe has assigned one; only those can be in an event.
    event_of_id = {r.story_id: r for r in story_events}
    event_of = {s.key: event_of_id.get(s.key) for s in reported}
    counts = {
        "events": len({sections.event_key(s.key, event_of) for s in reported}),
        "new_stories": sum(not any(c.reported_before for c in s.copies) for s in reported),
        "stories": len(reported),
        "articles": len(period_copies),
        "sites": len({c.site for c in period_copies}),
        "spam_copies": sum(c.in_period and c.is_spam for c in copies),
    }
    previous_counts = previous.counts if previous else None
    changes = ({k: counts[k] - previous_counts.get(k, 0) for k in COUNT_KEYS} if previous_counts else None)

    first_day, last_day = trend_window
    trend, trend_by_dimension = sections.trend_rows(first_day, (last_day - first_day).days + 1, trend_stories,
                                                    collected)
    story_rows = _story_rows(reported, regions_of, zone)

    return {
        "report_id": report_id,
        "topic_id": cfg.topic_id,
        "collection": collection,
        "period": {"start": _iso(period_start), "end": _iso(period_end), "timezone": cfg.timezone},
        "counts": counts,
        "previous": ({"report_id": previous.report_id, "counts": previous_counts} if previous else None),
        "changes": changes,
        "events": sections.event_rows(story_rows, copies_of, event_of)[: cfg.top_stories],
        "stories": story_rows[: cfg.top_stories],
        "spam_copies": [_spam_row(c, stories) for c in copies if c.in_period and c.is_spam],
        "regions": _region_rows(period_copies, regions_of)[: cfg.top_regions],
        "region_pairs": _pair_rows(pairs, period_copies)[: cfg.top_pairs],
        # "undated": stories without any publication date, counted on the day first seen.
        "trend": trend,
        "trend_by_dimension": trend_by_dimension,
        "outlet_tiers": sections.tier_rows(period_copies),
        "sources": _source_rows(copies)[: cfg.top_sites],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _ranked(counter: Counter, limit: int | None = None) -> list[str]:
    return [item for item, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def _story_rows(stories: list[_Story], regions_of: dict, zone: ZoneInfo) -> list[dict]:
    rows = []
    for story in stories:
        canonical = story.canonical()
        nonspam = story.nonspam()
        relevant = [c for c in nonspam if c.relevant]
        regions, types, agreements = Counter(), Counter(), Counter()
        for copy in relevant:
            regions.update(r.name for r in regions_of[copy.article_id])
            types.update(copy.cooperation_types)
            agreements.update(copy.agreements)
        published = canonical.published_at or min((c.published_at for c in nonspam if c.published_at), default=None)
        rows.append({
            "story_key": story.key,
            "title": canonical.story_title or canonical.title or "",
            "published": published.astimezone(zone).date().isoformat() if published else None,
            "url": canonical.canonical_url,
            "site": canonical.site,
            "sites": len({c.site for c in nonspam}),
            "articles": len(nonspam),
            "new_articles": len(story.nonspam(period_only=True)),
            "is_new": not any(c.reported_before for c in story.copies),
            "regions": _ranked(regions, 8),
            "cooperation_types": _ranked(types),
            "agreements": _ranked(agreements),
        })
    # Widest-carried first; among equals, the most recent.
    rows.sort(key=lambda r: r["published"] or "", reverse=True)
    rows.sort(key=lambda r: (-r["sites"], -r["new_articles"]))
    return rows


def _spam_row(copy, stories: dict[int, _Story]) -> dict:
    canonical = stories[copy.story_key].canonical()
    return {"article_id": copy.article_id, "title": copy.title or "", "site": copy.site,
            "url": copy.canonical_url, "story_title": canonical.story_title or canonical.title or "",
            "evidence": copy.spam_evidence}


def _region_rows(period_copies: list, regions_of: dict) -> list[dict]:
    stories, articles, names = defaultdict(set), Counter(), {}
    for copy in period_copies:
        for region in regions_of.get(copy.article_id, ()):
            stories[region.code].add(copy.story_key)
            articles[region.code] += 1
            names[region.code] = region.name
    rows = [{"code": code, "name": names[code], "stories": len(stories[code]), "articles": articles[code]}
            for code in names]
    return sorted(rows, key=lambda r: (-r["stories"], -r["articles"], r["code"]))


def _pair_rows(pairs: list, period_copies: list) -> list[dict]:
    story_of = {c.article_id: c.story_key for c in period_copies}
    stories, articles, names = defaultdict(set), Counter(), {}
    for pair in pairs:
        key = (pair.region_a, pair.region_b)
        stories[key].add(story_of[pair.article_id])
        articles[key] += 1
        names[key] = (pair.region_a_name, pair.region_b_name)
    rows = [{"region_a": a, "region_a_name": names[(a, b)][0], "region_b": b, "region_b_name": names[(a, b)][1],
             "stories": len(stories[(a, b)]), "articles": articles[(a, b)]} for a, b in names]
    return sorted(rows, key=lambda r: (-r["stories"], -r["articles"], r["region_a"], r["region_b"]))


def _source_rows(copies: list) -> list[dict]:
    by_site = defaultdict(list)
    for copy in copies:
        if copy.in_period:
            by_site[copy.site].append(copy)
    rows = [{"site": site, "source": group[0].source_name,
             "articles": sum(not c.is_spam for c in group),
             "stories": len({c.story_key for c in group if not c.is_spam}),
             "spam_copies": sum(c.is_spam for c in group)} for site, group in by_site.items()]
    return sorted(rows, key=lambda r: (-r["articles"], -r["spam_copies"], r["site"]))


# --- files ---------------------------------------------------------------------------------------

def report_directory(reports_dir: Path, database_key: str, report_id: int) -> Path:
    """A new folder for report ``report_id``: ``<reports_dir>/<database_key>/report-<id>``.

    Report ids are per database, so each database writes under its own key (its name and oid):
    a run against another database never meets this one's folders. A folder that exists all the
    same (a second server with the same name and oid) is left alone; the report takes the
    next free name ``report-<id>-2``, ``-3``... Nothing is ever overwritten or removed."""
    parent = reports_dir / (re.sub(r"[^A-Za-z0-9._-]+", "_", database_key).strip("._") or "database")
    directory, copy = parent / f"report-{report_id:06d}", 1
    while directory.exists():
        copy += 1
        directory = parent / f"report-{report_id:06d}-{copy}"
    return directory


def write_files(directory: Path, data: dict, page: str) -> dict[str, str]:
    """Write ``page`` as ``report.html``, ``data`` as ``report.json`` and one CSV per table into a
    new ``directory``. Returns kind (``html``, ``json``, ``<table>.csv``) -> path."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    directory.mkdir(exist_ok=False)
    files = {"html": directory / "report.html", "json": directory / "report.json"}
    files["html"].write_text(page, encoding="utf-8")
    files["json"].write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    for table, columns in CSV_COLUMNS.items():
        files[f"{table}.csv"] = directory / f"{table}.csv"
        files[f"{table}.csv"].write_text(render_csv(data[table], columns), encoding="utf-8-sig")
    return {kind: str(path) for kind, path in files.items()}


def render_csv(rows: list[dict], columns: tuple[str, ...]) -> str:
    """Rows as CSV with a header of ``columns``. Lists join with ``;``; a cell that a spreadsheet
    would run as a formula is prefixed with ``'`` (scraped titles can start with ``=`` or ``@``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return out.getvalue()


def _csv_cell(value):
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], dict):
        value = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, (list, tuple)):
        value = ";".join(map(str, value))
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --- HTML ----------------------------------------------------------------------------------------

_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
"WenQuanYi Micro Hei",sans-serif;margin:0 auto;max-width:1200px;padding:24px;color:#1f2933;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 10px;border-bottom:2px solid #d9e2ec;padding-bottom:4px}
.period{color:#52606d;margin:0 0 16px}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #d9e2ec;border-radius:8px;padding:12px 16px;min-width:150px}
.card .n{font-size:28px;font-weight:700}.card .l{color:#52606d;font-size:13px}
.up{color:#2f8132}.down{color:#b3261e}.same{color:#7b8794}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{border-bottom:1px solid #e4e7eb;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f5f7fa}td.num,th.num{text-align:right}.tag{display:inline-block;background:#e6f0ff;border-radius:4px;padding:0 6px;margin:1px 2px;font-size:12px}
.new{background:#fff3c4}.empty{padding:16px;background:#f5f7fa;border-radius:8px}.muted{color:#7b8794}
#stories td:first-child{min-width:320px}#event-list{padding-left:22px}.event{margin:0 0 14px}
.event-stories{margin:4px 0;padding-left:22px;font-size:14px}.copies{font-size:12px}.copies a{margin-right:8px;color:#52606d}
.agreement{background:#fdebd3}.bar{display:inline-block;height:10px;background:#3e7bfa;vertical-align:middle}.charts{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}svg text{font-family:inherit}
"""


def _e(value) -> str:
    """Escape for HTML text and double-quoted attributes (also valid inside inline SVG)."""
    return escape("" if value is None else str(value), quote=True)


def _link(url: str | None, text: str) -> str:
    """A link to a scraped URL; only http(s) URLs become links (no javascript: or data:)."""
    if url and urlsplit(url).scheme in ("http", "https"):
        return f'<a href="{_e(url)}" rel="noopener noreferrer">{_e(text)}</a>'
    return _e(text)


def _tags(values: list[str]) -> str:
    return "".join(f'<span class="tag">{_e(v)}</span>' for v in values) or '<span class="muted">—</span>'


def _delta(change: int | None) -> str:
    if change is None:
        return '<span class="same">首期 first report</span>'
    css = "up" if change > 0 else "down" if change < 0 else "same"
    return f'<span class="{css}">{change:+d} 较上期 vs previous</span>'


def _local(iso: str | None, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M") if iso else "—"


def render_html(data: dict) -> str:
    """The report page: headline numbers, top stories, spam copies, regions, trend, sources."""
    zone = ZoneInfo(data["period"]["timezone"])
    period = data["period"]
    start = _local(period["start"], zone) if period["start"] else "开始 (all history)"
    counts, changes = data["counts"], data["changes"]
    cards = "".join(
        f'<div class="card"><div class="n">{counts[k]}</div><div class="l">{_e(zh)} · {_e(en)}</div>'
        f'<div>{_delta(changes[k] if changes else None)}</div></div>'
        for k, (zh, en) in COUNT_LABELS.items())
    empty = ('<p class="empty" id="no-new-coverage">本期没有新的区域合作报道。No new coverage in this period.</p>'
             if not counts["articles"] and not counts["spam_copies"] else "")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        # No script, style or font from anywhere but this page.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        f"<title>区域合作报道简报 · mediamon report {data['report_id']}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>区域合作报道简报 <span class=\"muted\">Regional cooperation coverage</span></h1>",
        f'<p class="period">报告 Report #{data["report_id"]} · 时段 Period: {_e(start)} → '
        f'{_e(_local(period["end"], zone))} ({_e(period["timezone"])})'
        + (f' · 来源集合 Collection: <strong>{_e(data["collection"])}</strong>' if data.get("collection") else "") + "</p>",
        '<section id="headline"><h2>概览 Headline numbers</h2>', f'<div class="cards">{cards}</div>', empty,
        "</section>",
        '<section id="events"><h2>合作事件 Top events (event → stories → articles)</h2>',
        sections.events_html(data["events"]), "</section>",
        '<section id="stories"><h2>重点报道 Top stories</h2>', _stories_table(data["stories"]), "</section>",
        '<section id="spam"><h2>垃圾转载 Spam copies (left out of the counts)</h2>',
        _spam_table(data["spam_copies"]), "</section>",
        '<section id="regions"><h2>地区 Regions</h2><div class="charts"><div>',
        "<h3>最活跃地区 Most active regions</h3>", _regions_table(data["regions"]),
        "</div><div><h3>合作网络 Cooperation network</h3>", network_svg(data["region_pairs"]), "</div></div>",
        "<h3>地区组合 Region pairs</h3>", _pairs_table(data["region_pairs"]), "</section>",
        f'<section id="trend"><h2>趋势 Trend: relevant stories per day, {len(data["trend"])} days to '
        f'{_e(data["trend"][-1]["day"] if data["trend"] else "—")}</h2>',
        trend_svg(data["trend"]), _trend_basis(data["trend"]), sections.share_svg(data["trend"]),
        "<h3>按地区、组合与类型 By region, pair and cooperation type</h3>",
        sections.dimension_trend_html(data["trend_by_dimension"]), "</section>",
        '<section id="outlets"><h2>媒体层级 Coverage by outlet tier</h2>', sections.tiers_html(data["outlet_tiers"]),
        "</section>",
        '<section id="sources"><h2>来源 Sources</h2>', _sources_table(data["sources"]), "</section>",
        '<p class="muted">mediamon · CSV and JSON files with the same data sit next to this page.</p>',
        "</body></html>",
    ]
    return "\n".join(parts)


def _trend_basis(trend: list[dict]) -> str:
    """Which date the trend counts by, and how many stories had none."""
    undated = sum(day.get("undated", 0) for day in trend)
    return (f'<p class="muted">按首发日期统计 Counted by the publication day of each story\'s first copy; '
            f'{undated} {"story" if undated == 1 else "stories"} without a publication date counted on the '
            f'day first seen.</p>')


def _table(headers: list[tuple[str, bool]], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{_e(empty)}</p>'
    head = "".join(f'<th{" class=num" if num else ""}>{_e(h)}</th>' for h, num in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _stories_table(stories: list[dict]) -> str:
    rows = [
        f'<tr{" class=new" if s["is_new"] else ""}><td>{_link(s["url"], s["title"] or s["url"] or "")}'
        f'<div class="muted">{_e(s["site"])}{" · 新 new" if s["is_new"] else " · 后续 follow-up"}</div></td>'
        f'<td>{_e(s["published"] or "—")}</td><td class="num">{s["sites"]}</td>'
        f'<td class="num">{s["new_articles"]}</td><td>{_tags(s["regions"])}</td>'
        f'<td>{_tags(s["cooperation_types"])}</td><td>{_tags(s["agreements"])}</td></tr>'
        for s in stories]
    return _table([("标题 Title", False), ("日期 Date", False), ("网站 Sites", True), ("新转载 New copies", True),
                   ("地区 Regions", False), ("合作类型 Cooperation type", False), ("协议 Agreements", False)],
                  rows, "本期无报道 No stories in this period.")


def _spam_table(spam: list[dict]) -> str:
    rows = [f'<tr><td>{_link(s["url"], s["title"] or s["url"] or "")}</td><td>{_e(s["site"])}</td>'
            f'<td>{_e(s["story_title"])}</td></tr>' for s in spam]
    return _table([("标题 Title", False), ("网站 Site", False), ("原报道 Story", False)], rows,
                  "本期无垃圾转载 No spam copies in this period.")


def _regions_table(regions: list[dict]) -> str:
    rows = [f'<tr><td>{_e(r["name"])} <span class="muted">{_e(r["code"])}</span></td>'
            f'<td class="num">{r["stories"]}</td><td class="num">{r["articles"]}</td></tr>' for r in regions]
    return _table([("地区 Region", False), ("报道 Stories", True), ("文章 Articles", True)], rows,
                  "本期无地区 No regions in this period.")


def _pairs_table(pairs: list[dict]) -> str:
    rows = [f'<tr><td>{_e(p["region_a_name"])}</td><td>{_e(p["region_b_name"])}</td>'
            f'<td class="num">{p["stories"]}</td><td class="num">{p["articles"]}</td></tr>' for p in pairs]
    return _table([("地区 A", False), ("地区 B", False), ("报道 Stories", True), ("文章 Articles", True)], rows,
                  "本期无地区组合 No region pairs in this period.")


def _sources_table(sources: list[dict]) -> str:
    rows = [f'<tr><td>{_e(s["site"])}</td><td>{_e(s["source"])}</td><td class="num">{s["articles"]}</td>'
            f'<td class="num">{s["stories"]}</td><td class="num">{s["spam_copies"]}</td></tr>' for s in sources]
    return _table([("网站 Site", False), ("来源 Source", False), ("文章 Articles", True), ("报道 Stories", True),
                   ("垃圾转载 Spam", True)], rows, "本期无来源 No sources in this period.")


# --- charts (inline SVG) -------------------------------------------------------------------------

def trend_svg(trend: list[dict], width: int = 760, height: int = 240) -> str:
    """A bar chart of stories per day, with a date label every fifth day (or sparser: at most 13)."""
    left, bottom, top = 36, 28, 16
    peak = max((d["stories"] for d in trend), default=0)
    scale = (height - bottom - top) / max(peak, 1)
    step = (width - left) / max(len(trend), 1)
    bars, labels = [], []
    every = max(5, -(-len(trend) // 12))
    for i, day in enumerate(trend):
        h = day["stories"] * scale
        x = left + i * step
        bars.append(f'<rect x="{x + 1:.1f}" y="{height - bottom - h:.1f}" width="{step - 2:.1f}" height="{h:.1f}" '
                    f'fill="#3e7bfa"><title>{_e(day["day"])}: {day["stories"]}</title></rect>')
        if i % every == 0 and len(trend) - 1 - i >= every / 2 or i == len(trend) - 1:
            # The last label ends at the chart's edge instead of being cut by it.
            anchor, at = ("end", x + step) if i == len(trend) - 1 else ("middle", x + step / 2)
            labels.append(f'<text x="{at:.1f}" y="{height - 10}" font-size="11" text-anchor="{anchor}">'
                          f'{_e(day["day"][5:])}</text>')
    axis = (f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#9aa5b1"/>'
            f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end">{peak}</text>'
            f'<text x="{left - 6}" y="{height - bottom}" font-size="11" text-anchor="end">0</text>')
    caption = f'<text x="{left + 6}" y="{top + 4}" font-size="12" fill="#52606d">每日报道数 stories per day</text>'
    return (f'<svg id="trend-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="trend">{caption}{axis}{"".join(bars)}{"".join(labels)}</svg>')


def network_svg(pairs: list[dict], size: int = 460) -> str:
    """Regions on a circle, joined by lines as thick as the number of stories naming the pair."""
    names, degree = {}, Counter()
    for p in pairs:
        for code, name in ((p["region_a"], p["region_a_name"]), (p["region_b"], p["region_b_name"])):
            names[code] = name
            degree[code] += p["stories"]
    if not names:
        return '<p class="muted">本期无地区组合 No region pairs to draw.</p>'
    codes = sorted(names, key=lambda c: (-degree[c], c))
    centre, radius = size / 2, size / 2 - 70
    position = {code: (centre + radius * cos(2 * pi * i / len(codes) - pi / 2),
                       centre + radius * sin(2 * pi * i / len(codes) - pi / 2)) for i, code in enumerate(codes)}
    widest = max(p["stories"] for p in pairs)
    edges = "".join(
        f'<line x1="{position[p["region_a"]][0]:.1f}" y1="{position[p["region_a"]][1]:.1f}" '
        f'x2="{position[p["region_b"]][0]:.1f}" y2="{position[p["region_b"]][1]:.1f}" stroke="#3e7bfa" '
        f'stroke-opacity="0.6" stroke-width="{1 + 5 * p["stories"] / widest:.1f}">'
        f'<title>{_e(p["region_a_name"])} — {_e(p["region_b_name"])}: {p["stories"]}</title></line>'
        for p in pairs)
    nodes = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{4 + min(degree[code], 10):.0f}" fill="#f0b429"/>'
        f'<text x="{x:.1f}" y="{y - 10 - min(degree[code], 10):.1f}" font-size="13" text-anchor="middle">'
        f'{_e(names[code])}</text>' for code, (x, y) in position.items())
    return (f'<svg id="network-chart" xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'role="img" aria-label="network">{edges}{nodes}</svg>')
