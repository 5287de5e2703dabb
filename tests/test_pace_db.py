"""Each source's pace and silence in the database: discover history in, analyst.source_health out."""
from __future__ import annotations

from datetime import timedelta

from mediamon import pace_db, sources_db, store

SOURCES = """sources:
  - {id: busy, name: Busy, language: en, kind: rss, url: "http://127.0.0.1:9/busy.xml", allow_private: ["127.0.0.1:9"]}
  - {id: quiet, name: Quiet, language: en, kind: rss, url: "http://127.0.0.1:9/quiet.xml", allow_private: ["127.0.0.1:9"]}
  - {id: fresh, name: Fresh, language: en, kind: rss, url: "http://127.0.0.1:9/fresh.xml", allow_private: ["127.0.0.1:9"]}
"""


def _history(conn, source_id: str, hours_ago_and_new: list[tuple[float, int]]) -> None:
    for hours_ago, new in hours_ago_and_new:
        conn.exec_driver_sql(
            "INSERT INTO discover_outcomes (source_id, discovered_at, answered, links, new_urls) "
            "VALUES (%s, now() - %s * interval '1 hour', true, 20, %s)", (source_id, hours_ago, new))


def _sync(settings, tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES)
    settings = settings.__class__(**{**settings.__dict__, "sources_file": path})
    sources_db.sync_sources(settings)
    return settings


def test_a_source_that_stops_publishing_shows_silent_in_source_health(settings, tmp_path):
    settings = _sync(settings, tmp_path)
    with store.transaction(settings) as conn:
        # busy: a new URL every hour for two days, up to now; quiet: the same, then 13 hours of nothing (last new URL 13 h ago).
        _history(conn, "busy", [(48, 30)] + [(48 - h, 1) for h in range(1, 48)])
        _history(conn, "quiet", [(60, 30)] + [(60 - h, 1) for h in range(1, 48)] + [(12 - h, 0) for h in range(12)])
    for source_id in ("busy", "quiet"):
        pace_db.record_discover(settings, source_id, answered=True, links=20, new_urls=0)
    with store.transaction(settings) as conn:
        rows = {r.source_id: r for r in conn.exec_driver_sql(
            "SELECT source_id, state, silent, learned_interval, next_due_at - now() AS due_in, "
            "expected_gap, observed_gap FROM analyst.source_health")}
    assert (rows["busy"].state, rows["busy"].silent) == ("ok", False)
    quiet = rows["quiet"]
    assert (quiet.state, quiet.silent) == ("silent", True)
    assert timedelta(minutes=55) <= quiet.expected_gap <= timedelta(minutes=70)
    assert timedelta(hours=12.9) <= quiet.observed_gap <= timedelta(hours=13.1)
    # One URL an hour: the learned interval is about an hour, jittered by at most 10 %.
    assert timedelta(minutes=55) <= rows["busy"].learned_interval <= timedelta(minutes=65)
    assert timedelta(minutes=49) <= rows["busy"].due_in <= timedelta(minutes=72)
    assert rows["fresh"].learned_interval is None and rows["fresh"].state == "ok"


def test_only_due_sources_are_scheduled(settings, tmp_path):
    settings = _sync(settings, tmp_path)
    pace_db.record_discover(settings, "busy", answered=True, links=5, new_urls=5)
    with store.transaction(settings) as conn:
        conn.exec_driver_sql("INSERT INTO source_health (source_id, next_attempt_at) VALUES ('quiet', now() + interval '1 hour')")
    plan = pace_db.schedule(settings, ["busy", "quiet", "fresh"])
    assert (plan.due, plan.not_due, plan.on_hold) == (["fresh"], ["busy"], ["quiet"])
    with store.transaction(settings) as conn:
        conn.exec_driver_sql("UPDATE source_health SET next_due_at = now() - interval '1 minute' WHERE source_id = 'busy'")
    assert pace_db.schedule(settings, ["busy", "quiet", "fresh"]).due == ["busy", "fresh"]
