"""The report's analyst sections on the demo site: events before stories before articles, coverage
by outlet tier, the normalized trend, and reports on one collection of sources."""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from mediamon import pipeline, report, report_db, report_sections, store


@pytest.fixture
def demo(demo_settings):
    pipeline.ingest(demo_settings)
    return demo_settings


def read(summary: dict) -> tuple[dict, str]:
    data = json.loads(Path(summary["paths"]["json"]).read_text(encoding="utf-8"))
    return data, Path(summary["paths"]["html"]).read_text(encoding="utf-8")


def test_headline_counts_events_then_stories_then_articles(demo):
    summary = report_db.build_report(demo)
    data, page = read(summary)
    counts = summary["counts"]
    assert list(counts)[:4] == ["events", "new_stories", "stories", "articles"]
    # The Quzhou meeting: two outlets' own stories, one event.
    assert counts["events"] == counts["stories"] - 1 and counts["stories"] < counts["articles"]
    top = data["events"][0]
    assert top["stories"] == 2 and top["sites"] == 2 and top["linked_by"] == ["agreement", "parties"]
    assert {len(s["copies"]) for s in top["story_list"]} == {1, 2}
    assert sum(e["stories"] for e in data["events"]) == counts["stories"]
    # event -> stories -> articles, linked in that order in the page
    section = re.search(r'<section id="events">(.*?)</section>', page, re.S).group(1)
    first = section.split('<li class="event">')[1]
    assert first.count('<ol class="event-stories">') == 1
    for story in top["story_list"]:
        assert f'href="{story["url"]}"' in first
        assert all(f'href="{c["url"]}"' in first for c in story["copies"])
    assert page.index('id="events"') < page.index('id="stories"')
    with open(Path(summary["paths"]["dir"]) / "events.csv", encoding="utf-8-sig") as f:
        assert f.readline().strip() == ",".join(report.CSV_COLUMNS["events"])


def test_coverage_by_outlet_tier_adds_up(demo):
    data, page = read(report_db.build_report(demo))
    tiers = {t["tier"]: t for t in data["outlet_tiers"]}
    assert set(tiers) == {"central", "portal"}          # the demo sources' outlet metadata
    assert sum(t["articles"] for t in tiers.values()) == data["counts"]["articles"]
    assert 'id="outlets"' in page and "中央媒体 central" in page


def test_trend_is_normalized_and_broken_down(demo):
    data, page = read(report_db.build_report(demo))
    days = [d for d in data["trend"] if d["stories"]]
    assert days and all(d["story_share"] == round(d["stories"] / d["articles_collected"], 4) for d in days)
    dimensions = {r["dimension"] for r in data["trend_by_dimension"]}
    assert dimensions == {"region", "pair", "cooperation_type"}
    assert all(len(r["per_day"]) == len(data["trend"]) and sum(r["per_day"]) == r["stories"]
               for r in data["trend_by_dimension"])
    assert 'id="share-chart"' in page and 'id="trend-by-dimension"' in page


def test_trend_window_follows_the_data():
    end = date(2026, 12, 2)
    assert report_sections.trend_window(None, None, end, 30) == (date(2026, 11, 3), end)
    assert report_sections.trend_window(date(2024, 3, 1), date(2024, 9, 25), end, 30) == \
        (date(2024, 8, 27), date(2024, 9, 25))
    assert report_sections.trend_window(date(2024, 3, 1), date(2024, 9, 25), end, 30, whole_history=True) == \
        (date(2024, 3, 1), date(2024, 9, 25))
    first, last = report_sections.trend_window(date(2010, 1, 1), date(2024, 9, 25), end, 30, whole_history=True)
    assert (last - first).days + 1 == report_sections.MAX_TREND_DAYS


def test_collection_report_has_its_own_scope_and_watermark(demo):
    aggregators = report_db.build_report(demo, collection="aggregators")
    data, page = read(aggregators)
    with store.transaction(demo) as conn:
        repost_sites = {r[0] for r in conn.exec_driver_sql(
            "SELECT DISTINCT site FROM analyst.articles WHERE 'aggregators' = ANY(collections)")}
    assert {s["site"] for s in data["sources"]} == repost_sites
    assert [t["tier"] for t in data["outlet_tiers"]] == ["portal"]
    assert "来源集合 Collection: <strong>aggregators</strong>" in page
    # The main report still covers everything: the collection report took nothing from it.
    main = report_db.build_report(demo)
    assert main["counts"]["articles"] > aggregators["counts"]["articles"] > 0
    assert report_db.build_report(demo, collection="aggregators")["counts"]["articles"] == 0
    assert report_db.build_report(demo, collection="no-such-collection")["empty"]


def test_cli_report_for_one_collection(demo, capsys, monkeypatch):
    from mediamon import cli

    monkeypatch.setenv("MEDIAMON_DATABASE_URL", demo.database_url)
    assert cli.main(["report", "--collection", "originals", "--out", str(demo.reports_dir)]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[: out.rindex("}") + 1])
    assert summary["collection"] == "originals" and summary["counts"]["articles"] > 0
