"""Each source's pace and silence in the database: discover history in, analyst.source_health out."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from conftest import install_at_migration
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


def _months(conn) -> dict[str, int]:
    """Each partition of discover_outcomes with its row count."""
    return {r.name: r.n for r in conn.exec_driver_sql(
        "SELECT c.relname AS name, (SELECT count(*) FROM discover_outcomes d WHERE d.tableoid = c.oid) AS n "
        "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'discover_outcomes'::regclass")}


def _month_of(conn, sql_instant: str) -> str:
    return conn.exec_driver_sql(
        f"SELECT 'discover_outcomes_' || to_char(({sql_instant}) AT TIME ZONE 'UTC', 'YYYY_MM')").scalar()


def test_history_months_older_than_the_window_are_dropped_and_a_poll_never_deletes(settings, tmp_path):
    settings = _sync(settings, tmp_path)
    with store.transaction(settings) as conn:
        # 100 days ago: a month wholly older than the 30-day window; 40 days ago: outside the window,
        # its month maybe not wholly; a year ahead: no partition yet, the DEFAULT takes it (so do the
        # old rows when their month was never created).
        _history(conn, "busy", [(100 * 24, 1), (40 * 24, 1), (2, 1)])
        conn.exec_driver_sql("INSERT INTO discover_outcomes (source_id, discovered_at, answered) "
                             "VALUES ('quiet', now() + interval '1 year', true)")
        old, outside, ahead = (_month_of(conn, f"now() {offset}") for offset in
                               ("- interval '100 days'", "- interval '40 days'", "+ interval '1 year'"))
        current, following = _month_of(conn, "now()"), _month_of(conn, "now() + interval '1 month'")
        assert ahead not in _months(conn) and _months(conn)["discover_outcomes_default"] >= 1
    pace_db.record_discover(settings, "busy", answered=True, links=3, new_urls=1)
    with store.transaction(settings) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM discover_outcomes WHERE source_id = 'busy'").scalar() == 4

    done = pace_db.keep_history_months(settings)
    assert old in done.months_dropped and ahead in done.months_created
    assert current not in done.months_dropped and following not in done.months_dropped
    with store.transaction(settings) as conn:
        months = _months(conn)
        kept = {r[0] for r in conn.exec_driver_sql("SELECT discovered_at < now() - interval '30 days' "
                                                   "FROM discover_outcomes WHERE source_id = 'busy'")}
    assert old not in months and months[ahead] == 1 and months["discover_outcomes_default"] == 0
    assert current in months and following in months
    # The 40-day-old row goes only with its whole month; the recent rows stay.
    assert (outside in months) == (True in kept)
    assert sum(months.values()) == (4 if outside in months else 3)
    # Nothing left to do: a second run changes nothing; new rows still land in their month.
    assert pace_db.keep_history_months(settings).to_xcom() == {"months_created": [], "months_dropped": []}
    pace_db.record_discover(settings, "quiet", answered=True, links=1, new_urls=0)
    with store.transaction(settings) as conn:
        assert _months(conn)[current] >= 2 and _months(conn)["discover_outcomes_default"] == 0


def test_migration_019_partitions_an_existing_history_with_every_row_kept(settings, other_database, tmp_path):
    """An install before 019 with two months of discover history: after the upgrade every row is
    in its month's partition with its id, new ids follow, and deleting a source still cascades."""
    old = replace(settings, database_url=other_database)
    install_at_migration(old.database_url, 18)
    old = _sync(old, tmp_path)
    with store.transaction(old) as conn:
        _history(conn, "busy", [(h, h % 3) for h in range(0, 50 * 24, 7)])
        _history(conn, "quiet", [(h, 1) for h in range(0, 20 * 24, 24)])
        before = conn.exec_driver_sql("SELECT * FROM discover_outcomes ORDER BY outcome_id").fetchall()
    assert "019_partition_discover_outcomes.sql" in store.upgrade(store.engine(old))
    with store.transaction(old) as conn:
        after = conn.exec_driver_sql("SELECT * FROM discover_outcomes ORDER BY outcome_id").fetchall()
        misplaced = conn.exec_driver_sql(
            "SELECT count(*) FROM discover_outcomes WHERE tableoid::regclass::text <> "
            "'discover_outcomes_' || to_char(discovered_at AT TIME ZONE 'UTC', 'YYYY_MM')").scalar()
        key = conn.exec_driver_sql("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                   "WHERE conrelid = 'discover_outcomes'::regclass AND contype = 'p'").scalar()
        months = _months(conn)
        following = _month_of(conn, "now() + interval '1 month'")
    assert after == before and misplaced == 0 and key == "PRIMARY KEY (outcome_id, discovered_at)"
    assert months[following] == 0 and months["discover_outcomes_default"] == 0
    pace_db.record_discover(old, "fresh", answered=True, links=1, new_urls=1)
    with store.transaction(old) as conn:
        newest = conn.exec_driver_sql("SELECT max(outcome_id) FROM discover_outcomes WHERE source_id = 'fresh'").scalar()
        assert newest > before[-1].outcome_id
        conn.exec_driver_sql("DELETE FROM sources WHERE source_id = 'busy'")
        assert conn.exec_driver_sql("SELECT count(*) FROM discover_outcomes WHERE source_id = 'busy'").scalar() == 0
