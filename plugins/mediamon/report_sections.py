"""The report's events, outlet tiers and normalized trend: shaping (pure) and HTML.

``mediamon.report`` reads the rows and calls these. Every scraped string is escaped with the same
helpers as the rest of the page.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from html import escape
from typing import Any
from urllib.parse import urlsplit

TIER_LABELS = {
    "central": "中央媒体 central", "provincial": "省级媒体 provincial", "municipal": "市级媒体 municipal",
    "county": "县级融媒 county", "government": "政府网站 government", "portal": "门户/聚合 portal",
    "other": "其他 other", "unknown": "未标注 unknown",
}
# A first report over years of history draws at most this many days (one bar per day).
MAX_TREND_DAYS = 366
DIMENSION_LABELS = {"region": "地区 Region", "pair": "地区组合 Pair", "cooperation_type": "合作类型 Type"}


def _e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def _link(url: str | None, text: str) -> str:
    if url and urlsplit(url).scheme in ("http", "https"):
        return f'<a href="{_e(url)}" rel="noopener noreferrer">{_e(text)}</a>'
    return _e(text)


# --- events --------------------------------------------------------------------------------------

def event_key(story_key: int, event_of: dict[int, Any]) -> str:
    """An event's key in the report: its id, or the story's own key when it has no event yet."""
    event = event_of.get(story_key)
    return f"e{event.event_id}" if event is not None else f"s{story_key}"


def event_rows(story_rows: list[dict], copies_of: dict[int, list], event_of: dict[int, Any]) -> list[dict]:
    """Group the report's stories (``story_rows``, all of them, ranked) by event. Each event lists
    its stories, each story its copies: event -> stories -> articles."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in story_rows:
        grouped[event_key(row["story_key"], event_of)].append(row)
    rows = []
    for key, stories in grouped.items():
        event = event_of.get(stories[0]["story_key"])
        copies = [c for s in stories for c in copies_of[s["story_key"]] if not c.is_spam]
        parties = list(event.party_names) if event is not None else stories[0]["regions"]
        rows.append({
            "event_key": key,
            "title": (event.title if event is not None else None) or stories[0]["title"],
            "date": event.event_date.isoformat() if event is not None else stories[0]["published"],
            "stories": len(stories),
            "articles": len(copies),
            "new_articles": sum(s["new_articles"] for s in stories),
            "sites": len({c.site for c in copies}),
            "parties": parties,
            "cooperation_types": (list(event.cooperation_types) if event is not None
                                  else stories[0]["cooperation_types"]),
            "agreements": list(event.agreements) if event is not None else stories[0]["agreements"],
            "linked_by": list(event.linked_by) if event is not None else [],
            "story_keys": [s["story_key"] for s in stories],
            "story_list": [{"title": s["title"], "url": s["url"], "site": s["site"], "published": s["published"],
                            "copies": [{"site": c.site, "url": c.canonical_url, "title": c.title or ""}
                                       for c in copies_of[s["story_key"]] if not c.is_spam]}
                           for s in stories],
        })
    rows.sort(key=lambda r: r["date"] or "", reverse=True)
    rows.sort(key=lambda r: (-r["stories"], -r["sites"], -r["new_articles"]))
    return rows


def events_html(events: list[dict]) -> str:
    if not events:
        return '<p class="muted">本期无事件 No events in this period.</p>'
    items = []
    for event in events:
        stories = "".join(
            f'<li>{_link(s["url"], s["title"] or s["url"] or "")} <span class="muted">{_e(s["site"])} · '
            f'{_e(s["published"] or "—")}</span><div class="copies">'
            + " ".join(_link(c["url"], c["site"]) for c in s["copies"]) + "</div></li>"
            for s in event["story_list"])
        tags = "".join(f'<span class="tag">{_e(v)}</span>'
                       for v in event["parties"] + event["cooperation_types"])
        agreements = "".join(f'<span class="tag agreement">《{_e(a)}》</span>' for a in event["agreements"])
        items.append(
            f'<li class="event"><div class="event-head"><strong>{_e(event["title"])}</strong> '
            f'<span class="muted">{_e(event["date"] or "—")} · {event["stories"]} 篇报道 stories · '
            f'{event["articles"]} 篇文章 articles · {event["sites"]} 个网站 sites</span></div>'
            f'<div>{tags}{agreements}</div><ol class="event-stories">{stories}</ol></li>')
    return f'<ol id="event-list">{"".join(items)}</ol>'


# --- outlet tiers --------------------------------------------------------------------------------

def tier_rows(period_copies: list) -> list[dict]:
    """Coverage of the period per outlet tier (sources without outlet metadata: ``unknown``)."""
    stories: dict[str, set] = defaultdict(set)
    articles: Counter[str] = Counter()
    sites: dict[str, set] = defaultdict(set)
    for copy in period_copies:
        tier = copy.outlet_tier
        stories[tier].add(copy.story_key)
        articles[tier] += 1
        sites[tier].add(copy.site)
    order = list(TIER_LABELS)
    rows = [{"tier": t, "stories": len(stories[t]), "articles": articles[t], "sites": len(sites[t])} for t in articles]
    return sorted(rows, key=lambda r: (-r["articles"], order.index(r["tier"]) if r["tier"] in order else 99))


def tiers_html(tiers: list[dict]) -> str:
    if not tiers:
        return '<p class="muted">本期无报道 No coverage in this period.</p>'
    total = sum(t["articles"] for t in tiers) or 1
    rows = "".join(
        f'<tr><td>{_e(TIER_LABELS.get(t["tier"], t["tier"]))}</td><td class="num">{t["stories"]}</td>'
        f'<td class="num">{t["articles"]}</td><td class="num">{t["sites"]}</td>'
        f'<td><div class="bar" style="width:{200 * t["articles"] / total:.0f}px"></div> '
        f'{100 * t["articles"] / total:.0f}%</td></tr>' for t in tiers)
    return ('<table><thead><tr><th>媒体层级 Outlet tier</th><th class="num">报道 Stories</th>'
            '<th class="num">文章 Articles</th><th class="num">网站 Sites</th><th>占比 Share of articles</th></tr>'
            f'</thead><tbody>{rows}</tbody></table>')


# --- normalized trend ----------------------------------------------------------------------------

def trend_window(first_story_day: date | None, last_story_day: date | None, period_end_day: date, days: int,
                 *, whole_history: bool = False) -> tuple[date, date]:
    """The trend's first and last day. The window ends on the last day with a relevant story (not
    after the period's end), so a report on old coverage shows that coverage, not an empty month.
    It spans ``days`` days, or for the first report (all history) from the first relevant story,
    up to :data:`MAX_TREND_DAYS`."""
    last = min(last_story_day, period_end_day) if last_story_day else period_end_day
    if whole_history and first_story_day:
        days = min(max(days, (last - first_story_day).days + 1), MAX_TREND_DAYS)
    return last - timedelta(days=days - 1), last


def trend_rows(first_day: date, days: int, stories: list, collected: dict[date, int],
               top: int = 5) -> tuple[list, list]:
    """Per day: relevant stories, all articles collected that day and the share; and per region,
    pair and cooperation type (the ``top`` of each by stories) the same over the window."""
    window = [first_day + timedelta(days=i) for i in range(days)]
    series: dict[tuple[str, str, str], dict[date, int]] = defaultdict(dict)
    for row in stories:
        series[(row.dimension, row.key, row.name)][row.day] = row.stories
    overall = series.get(("all", "", ""), {})
    undated = {row.day: row.undated for row in stories if row.dimension == "all"}
    trend = [{"day": d.isoformat(), "stories": overall.get(d, 0), "undated": undated.get(d, 0),
              "articles_collected": collected.get(d, 0),
              "story_share": round(overall.get(d, 0) / collected[d], 4) if collected.get(d) else 0.0} for d in window]
    all_collected = sum(collected.values())
    by_dimension = []
    for dimension in DIMENSION_LABELS:
        ranked = sorted(((key, name, per_day) for (dim, key, name), per_day in series.items() if dim == dimension),
                        key=lambda item: (-sum(item[2].values()), item[0]))
        for key, name, per_day in ranked[:top]:
            total = sum(per_day.values())
            by_dimension.append({"dimension": dimension, "key": key, "name": name, "stories": total,
                                 "story_share": round(total / all_collected, 4) if all_collected else 0.0,
                                 "per_day": [per_day.get(d, 0) for d in window]})
    return trend, by_dimension


def share_svg(trend: list[dict], width: int = 760, height: int = 160) -> str:
    """Per day, the share of all collected articles that were relevant stories: a stem and a dot
    for each day that collected anything (a day without articles has no share, not a zero)."""
    left, bottom, top = 36, 28, 16
    peak = max((d["story_share"] for d in trend), default=0) or 1
    step = (width - left) / max(len(trend), 1)
    every = max(5, -(-len(trend) // 12))
    marks, labels = [], []
    for i, d in enumerate(trend):
        x = left + (i + 0.5) * step
        if d["articles_collected"]:
            y = height - bottom - d["story_share"] / peak * (height - bottom - top)
            marks.append(f'<line x1="{x:.1f}" y1="{height - bottom}" x2="{x:.1f}" y2="{y:.1f}" stroke="#c2410c"/>'
                         f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#c2410c"><title>{_e(d["day"])}: '
                         f'{d["stories"]} / {d["articles_collected"]} = {100 * d["story_share"]:.1f}%</title></circle>')
        if i % every == 0 and len(trend) - 1 - i >= every / 2 or i == len(trend) - 1:
            anchor = "end" if i == len(trend) - 1 else "middle"
            labels.append(f'<text x="{x + (step / 2 if anchor == "end" else 0):.1f}" y="{height - 10}" font-size="11" '
                          f'text-anchor="{anchor}">{_e(d["day"][5:])}</text>')
    return (f'<svg id="share-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="share of collected articles">'
            f'<text x="{width}" y="{top - 4}" font-size="12" fill="#52606d" text-anchor="end">'
            f'占当日采集文章比例 share of the day\'s articles (stories / articles collected)</text>'
            f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#9aa5b1"/>'
            f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end">{100 * peak:.0f}%</text>'
            f'<text x="{left - 6}" y="{height - bottom}" font-size="11" text-anchor="end">0</text>'
            f'{"".join(marks)}{"".join(labels)}</svg>')


def _sparkline(values: list[int], width: int = 150, height: int = 24) -> str:
    peak = max(values, default=0) or 1
    step = width / max(len(values), 1)
    bars = "".join(f'<rect x="{i * step:.1f}" y="{height - v / peak * height:.1f}" width="{max(step - 1, 1):.1f}" '
                   f'height="{v / peak * height:.1f}" fill="#3e7bfa"/>' for i, v in enumerate(values) if v)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="per day">'
            f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#cbd2d9"/>{bars}</svg>')


def dimension_trend_html(rows: list[dict]) -> str:
    if not rows:
        return '<p class="muted">窗口内无数据 No relevant stories in the window.</p>'
    body = "".join(
        f'<tr><td>{_e(DIMENSION_LABELS[r["dimension"]])}</td><td>{_e(r["name"])}</td>'
        f'<td class="num">{r["stories"]}</td><td class="num">{100 * r["story_share"]:.2f}%</td>'
        f'<td>{_sparkline(r["per_day"])}</td></tr>' for r in rows)
    return ('<table id="trend-by-dimension"><thead><tr><th>维度 Dimension</th><th>名称 Name</th>'
            '<th class="num">报道 Stories</th><th class="num">占采集文章 Share of articles</th>'
            f'<th>每日 Per day</th></tr></thead><tbody>{body}</tbody></table>')
