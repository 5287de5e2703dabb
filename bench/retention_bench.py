"""Retention of the discover history: a DELETE of old rows (before migration 019) against a DROP of
old month partitions (since 019), on the same synthetic rows.

Two scratch databases on the bench's server (``$MEDIAMON_DATABASE_URL``, else the embedded
pgserver, whose WAL no other process writes): one migrated up to 018 (``discover_outcomes`` whole,
as migration 010 made it), one to the head (partitioned by month). Both get the same ``--rows``
polls of ``--sources`` sources spread evenly over the four whole UTC months before the current one,
inserted in time order (as polls arrive), then ``VACUUM ANALYZE`` and a ``CHECKPOINT``. Then the
three oldest months go:

- before: ``DELETE FROM discover_outcomes WHERE discovered_at < <first day of last month>``, then
  ``VACUUM`` (what makes the space reusable; the file keeps its size);
- after: ``month_partitions_drop`` with the same bound (what ``pace_db.keep_history_months`` runs).

Reported for each: seconds, WAL bytes (``pg_current_wal_lsn()`` before and after, a ``CHECKPOINT``
before each step, so the DELETE's full-page images are counted as a real checkpoint cycle would),
and the table's bytes (heap + indexes, all partitions) before and after.

The upgrade of an existing install: a third database at 018 with the same rows is upgraded to the
head, timed (migration 019 copies the history into its months), and its rows counted again.

Then the hot path, paired: ``--polls`` polls alternating between the two databases, each the
statements ``pace_db.record_discover`` runs on the history (insert the poll, read the source's
window), plus, before 019, the per-poll ``DELETE`` of its source's rows past the window.

    python bench/retention_bench.py [--rows 1000000] [--sources 1000] [--polls 2000]

Writes bench/retention_results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent / "plugins"))

from run import server_admin_url  # noqa: E402

RESULTS_FILE = BENCH_DIR / "retention_results.json"
LAST_UNPARTITIONED = 18  # the migration before 019

_MONTHS = """
SELECT date_trunc('month', now() AT TIME ZONE 'UTC') - interval '4 months' AS first_month,
       date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month' AS cutoff_month,
       date_trunc('month', now() AT TIME ZONE 'UTC') AS end_month
"""

_SOURCES = """
INSERT INTO sources (source_id, name, language, kind, url)
SELECT 's' || i, 's' || i, 'en', 'rss', 'http://127.0.0.1/' || i || '.xml' FROM generate_series(1, %(sources)s) i
"""

# Evenly spread over [first, end), in time order; a poll's source cycles, as an hourly crawl's would.
_POLLS = """
INSERT INTO discover_outcomes (source_id, discovered_at, answered, links, new_urls)
SELECT 's' || (1 + i %% %(sources)s),
       (%(first)s::timestamp + (%(end)s::timestamp - %(first)s::timestamp) * (i::float8 / %(rows)s)) AT TIME ZONE 'UTC',
       i %% 17 <> 0, 20, i %% 3
FROM generate_series(0, %(rows)s - 1) i
"""

# Heap, TOAST and indexes; of every partition when partitioned (the parent itself holds none).
_TABLE_BYTES = """
SELECT CASE WHEN c.relkind = 'p'
            THEN (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree(c.oid) WHERE isleaf)
            ELSE pg_total_relation_size(c.oid) END::bigint
FROM pg_class c WHERE c.oid = CAST('discover_outcomes' AS regclass)
"""

_POLL_INSERT = "INSERT INTO discover_outcomes (source_id, answered, links, new_urls) VALUES (%s, true, 20, 1)"
_POLL_FORGET = ("DELETE FROM discover_outcomes WHERE source_id = %s "
                "AND discovered_at < now() - make_interval(days => 30)")
_POLL_WINDOW = ("SELECT discovered_at, answered, new_urls FROM discover_outcomes "
                "WHERE source_id = %s AND discovered_at >= now() - make_interval(days => 30) ORDER BY discovered_at")


def _migrated(admin_url: str, name: str, last: int | None) -> str:
    from sqlalchemy.engine import make_url

    from mediamon import db, store

    db.ensure_database(admin_url, name)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    store.upgrade(store.engine_for(url), last=last)
    return url


def _connect(url: str):
    """A psycopg2 connection in autocommit (VACUUM and CHECKPOINT run outside a transaction)."""
    from mediamon import store

    conn = store.engine_for(url).raw_connection().driver_connection
    conn.autocommit = True
    return conn


def _one(cur, sql: str, params=None):
    cur.execute(sql, params)
    return cur.fetchone()[0]


def _measured(cur, statements: list[str], params=None) -> dict:
    cur.execute("CHECKPOINT")
    lsn = _one(cur, "SELECT pg_current_wal_lsn()")
    started = time.perf_counter()
    for sql in statements:
        cur.execute(sql, params)
    seconds = time.perf_counter() - started
    wal = _one(cur, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint", (lsn,))
    return {"seconds": round(seconds, 3), "wal_bytes": int(wal)}


def _load(cur, rows: int, sources: int, months, partitioned: bool) -> dict:
    first, cutoff, end = months
    cur.execute(_SOURCES, {"sources": sources})
    if partitioned:  # the months maintenance would have created as they came
        cur.execute("SELECT count(*) FROM month_partitions_ensure('discover_outcomes', "
                    "%s AT TIME ZONE 'UTC', %s AT TIME ZONE 'UTC')", (first, cutoff))
    started = time.perf_counter()
    cur.execute(_POLLS, {"sources": sources, "rows": rows, "first": first, "end": end})
    load_s = time.perf_counter() - started
    cur.execute("VACUUM ANALYZE discover_outcomes")
    if partitioned:
        default_rows = _one(cur, "SELECT count(*) FROM discover_outcomes_default")
        assert default_rows == 0, f"{default_rows} rows in the DEFAULT partition: months missing"
    return {"load_seconds": round(load_s, 2), "bytes_before": _one(cur, _TABLE_BYTES)}


def _retention(cur, cutoff, partitioned: bool) -> dict:
    old = _one(cur, "SELECT count(*) FROM discover_outcomes WHERE discovered_at < %s AT TIME ZONE 'UTC'", (cutoff,))
    if partitioned:
        step = _measured(cur, ["SELECT count(*) FROM month_partitions_drop('discover_outcomes', %(c)s AT TIME ZONE 'UTC')"],
                         {"c": cutoff})
        result = {"rows_removed": old, "drop": step, "bytes_after": _one(cur, _TABLE_BYTES)}
    else:
        step = _measured(cur, ["DELETE FROM discover_outcomes WHERE discovered_at < %(c)s AT TIME ZONE 'UTC'"],
                         {"c": cutoff})
        bytes_after_delete = _one(cur, _TABLE_BYTES)
        vacuum = _measured(cur, ["VACUUM discover_outcomes"])
        result = {"rows_removed": old, "delete": step, "vacuum": vacuum,
                  "bytes_after_delete": bytes_after_delete, "bytes_after": _one(cur, _TABLE_BYTES)}
    result["rows_left"] = _one(cur, "SELECT count(*) FROM discover_outcomes")
    return result


def _polls(before_cur, after_cur, sources: int, polls: int) -> dict:
    """Alternating polls, each on a random source: the same work on both sides but the DELETE."""
    rng = random.Random(7)
    times: dict[str, list[float]] = {"before": [], "after": []}
    for n in range(polls):
        source = f"s{rng.randint(1, sources)}"
        order = [("before", before_cur), ("after", after_cur)]
        if n % 2:
            order.reverse()
        for label, cur in order:
            started = time.perf_counter()
            cur.execute("BEGIN")
            cur.execute(_POLL_INSERT, (source,))
            if label == "before":
                cur.execute(_POLL_FORGET, (source,))
            cur.execute(_POLL_WINDOW, (source,))
            cur.fetchall()
            cur.execute("COMMIT")
            times[label].append(time.perf_counter() - started)
    before_ms, after_ms = (statistics.median(times[k]) * 1000 for k in ("before", "after"))
    return {"polls": polls, "before_median_ms": round(before_ms, 3), "after_median_ms": round(after_ms, 3),
            "after_vs_before": round(after_ms / before_ms, 3)}


def _upgrade(admin: str, name: str, urls: dict[str, str], rows: int, sources: int, months) -> dict:
    from mediamon import store

    urls["upgrade"] = _migrated(admin, name, LAST_UNPARTITIONED)
    conn = _connect(urls["upgrade"])
    cur = conn.cursor()
    _load(cur, rows, sources, months, partitioned=False)
    before = _one(cur, "SELECT count(*) FROM discover_outcomes")
    started = time.perf_counter()
    applied = store.upgrade(store.engine_for(urls["upgrade"]))
    seconds = time.perf_counter() - started
    after = _one(cur, "SELECT count(*) FROM discover_outcomes")
    in_default = _one(cur, "SELECT count(*) FROM discover_outcomes_default")
    conn.close()
    assert after == before and in_default == 0, (before, after, in_default)
    return {"migrations": applied, "rows": after, "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--polls", type=int, default=2000)
    args = parser.parse_args()

    from mediamon import db, store

    admin = server_admin_url()
    run_id = uuid.uuid4().hex[:8]
    names = {label: f"mediamon_bench_{run_id}_{label}" for label in ("before", "after", "upgrade")}
    urls: dict[str, str] = {}
    try:
        urls["before"] = _migrated(admin, names["before"], LAST_UNPARTITIONED)
        urls["after"] = _migrated(admin, names["after"], None)
        conns = {label: _connect(url) for label, url in urls.items()}
        curs = {label: conn.cursor() for label, conn in conns.items()}
        curs["after"].execute(_MONTHS)
        months = curs["after"].fetchone()
        results: dict = {"rows": args.rows, "sources": args.sources,
                         "server": _one(curs["after"], "SHOW server_version"),
                         "load_average": list(os.getloadavg()),
                         "first_month": months[0].strftime("%Y-%m"), "kept_month": months[1].strftime("%Y-%m")}
        for label in ("before", "after"):
            results[label] = _load(curs[label], args.rows, args.sources, months, label == "after")
        for label in ("before", "after"):
            results[label] |= _retention(curs[label], months[1], label == "after")
        results["poll_path"] = _polls(curs["before"], curs["after"], args.sources, args.polls)
        results["upgrade"] = _upgrade(admin, names["upgrade"], urls, args.rows, args.sources, months)
        results["load_average_end"] = list(os.getloadavg())
        for conn in conns.values():
            conn.close()
    finally:
        for label, name in names.items():
            if label in urls:
                store.engine_for(urls[label]).dispose()
            db.drop_database(admin, name)

    before, after = results["before"], results["after"]
    removed = before["delete"]["wal_bytes"] + before["vacuum"]["wal_bytes"]
    results["ratios"] = {
        "seconds_drop_vs_delete_and_vacuum": round(after["drop"]["seconds"] /
                                                   (before["delete"]["seconds"] + before["vacuum"]["seconds"]), 4),
        "wal_drop_vs_delete_and_vacuum": round(after["drop"]["wal_bytes"] / removed, 5),
        "bytes_after_drop_vs_after_delete": round(after["bytes_after"] / before["bytes_after"], 3),
    }
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
