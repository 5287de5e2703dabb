"""The archive's own figures: import rate on a large WARC file, and the move of an old install's blobs.

1. Import: builds a CC-NEWS-like WARC file of ``--records`` response records (with their request and
   metadata records, gzip per record) over ``--hosts`` hosts from the bench corpus's pages, one of
   them truncated in the middle, then runs ``pipeline.import_warc`` keeping one host (as a backfill
   of one outlet from CC-NEWS does), twice: the second run must add nothing.
2. Migration: a scratch database at migration 007 with ``--migrate-pages`` pages holding gzip
   bodies (the design before the archive), then ``db upgrade`` and ``archive migrate``: time,
   pages/s, bytes of ``pages`` before and after, archive bytes, digest comparisons.

    python bench/archive_bench.py [--records 20000] [--hosts 50] [--migrate-pages 2000]

Writes bench/archive_results.json. Run it on a quiet machine; it uses one core.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import shutil
import sys
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import corpus  # noqa: E402
from run import scratch_databases, server_admin_url  # noqa: E402

RESULTS_FILE = BENCH_DIR / "archive_results.json"
log = logging.getLogger("archive-bench")


def build_warc(path: Path, bodies: list[bytes], records: int, hosts: int) -> dict:
    from mediamon import archive

    start = datetime(2026, 1, 1, tzinfo=UTC)
    cut_at = records // 2
    with open(path, "wb") as out:
        for i in range(records):
            capture = archive.Capture(
                url=f"http://news{i % hosts}.example.cn/{i // hosts}.html", status=200,
                headers={"Content-Type": "text/html; charset=utf-8"}, body=bodies[(i // hosts) % len(bodies)],
                fetched_at=start + timedelta(seconds=i), source_id="cc-news", reason="crawl")
            data, response_length = archive.record_bytes(capture)
            out.write(data[: response_length // 2] if i == cut_at else data)
    return {"records": records, "hosts": hosts, "bytes": path.stat().st_size, "truncated_record": cut_at}


def run_import(settings, warc: Path) -> dict:
    from mediamon import pipeline

    kept_host = "news0.example.cn"
    first = pipeline.import_warc(settings, [str(warc)], hosts=[kept_host])
    second = pipeline.import_warc(settings, [str(warc)], hosts=[kept_host])
    return {"first": first.to_xcom() | {"records_per_s": first.records_per_s},
            "second": second.to_xcom() | {"records_per_s": second.records_per_s},
            "mb_per_s": warc.stat().st_size / 2**20 / first.seconds}


def run_migration(settings, bodies: list[bytes], pages: int, tmp: Path) -> dict:
    from mediamon import archive_db, pipeline, store

    old_schema = tmp / "migrations-007"
    old_schema.mkdir()
    for path in sorted(store.MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:3]) <= 7:
            shutil.copy(path, old_schema / path.name)
    store.upgrade(store.engine(settings), old_schema)
    with store.transaction(settings) as conn:
        conn.exec_driver_sql("INSERT INTO sources (source_id, name, language, kind, url) "
                             "VALUES ('old', 'old', 'zh', 'page', 'http://old.example.cn/')")
        rows = []
        for i in range(pages):
            body = bodies[i % len(bodies)] + f"<!-- {i} -->".encode()
            rows.append((i + 1, f"http://old.example.cn/{i}.html", gzip.compress(body, 1), len(body),
                         hashlib.sha256(body).hexdigest()))
        cursor = conn.connection.driver_connection.cursor()
        from psycopg2.extras import execute_values
        execute_values(cursor, "INSERT INTO urls (url_id, canonical_url, source_id, host, status) "
                       "SELECT v.i, v.u, 'old', 'old.example.cn', 'fetched' FROM (VALUES %s) AS v(i, u)",
                       [(r[0], r[1]) for r in rows])
        execute_values(cursor, "INSERT INTO pages (url_id, final_url, http_status, headers, content_type, body_gzip, "
                       "body_bytes, body_sha256) SELECT v.i, v.u, 200, '{\"content-type\": \"text/html\"}', "
                       "'text/html', v.b, v.n, v.s FROM (VALUES %s) AS v(i, u, b, n, s)", rows)
        cursor.close()
    with store.engine(settings).connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE pages")
        before = conn.exec_driver_sql("SELECT pg_total_relation_size('pages')").scalar()
    pipeline.migrate(settings)
    left_after_upgrade = archive_db.bodies_left(settings)
    moved = archive_db.migrate_blobs(settings).to_xcom()
    with store.engine(settings).connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM FULL pages")
        after = conn.exec_driver_sql("SELECT pg_total_relation_size('pages')").scalar()
    return {"pages": pages, "bodies_after_db_upgrade": left_after_upgrade, "migrate": moved,
            "pages_per_s": moved["moved"] / moved["seconds"] if moved["seconds"] else None,
            "pages_table_bytes_before": before, "pages_table_bytes_after_vacuum_full": after}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--migrate-pages", type=int, default=2000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s archive-bench: %(message)s", stream=sys.stderr)
    logging.getLogger("mediamon").setLevel(logging.WARNING)
    from mediamon.settings import ArchiveSettings, Settings

    workdir = PROJECT_ROOT / ".mediamon" / "archive-bench"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    manifest = corpus.build(workdir / "corpus", corpus.CorpusSpec(pages=200))
    bodies = [path.read_bytes() for _, path in corpus.page_files(workdir / "corpus")]
    log.info("corpus: %d pages", manifest["pages"])
    warc = workdir / "large.warc.gz"
    built = build_warc(warc, bodies, args.records, args.hosts)
    log.info("built %s: %s", warc, built)
    results = {"warc": built}
    with scratch_databases(server_admin_url()) as new_db:
        def settings_for(label: str):
            return replace(Settings.from_env({}), database_url=new_db(label), state_dir=workdir / label,
                           archive=ArchiveSettings(url=str(workdir / label / "archive")))

        results["import"] = run_import(settings_for("import"), warc)
        log.info("import: %s", results["import"])
        # The migration starts from an empty database (no migration applied yet).
        name = f"mediamon_archive_bench_{uuid.uuid4().hex[:8]}"
        from sqlalchemy.engine import make_url

        from mediamon import db, store
        admin = server_admin_url()
        db.ensure_database(admin, name)
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        try:
            old = replace(Settings.from_env({}), database_url=url, state_dir=workdir / "migrate",
                          archive=ArchiveSettings(url=str(workdir / "migrate" / "archive")))
            started = time.perf_counter()
            results["migration"] = run_migration(old, bodies, args.migrate_pages, workdir)
            results["migration"]["total_s"] = time.perf_counter() - started
        finally:
            store.engine_for(url).dispose()
            db.drop_database(admin, name)
        log.info("migration: %s", results["migration"])
    RESULTS_FILE.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    first = results["import"]["first"]
    print(f"import: {built['records']} records ({built['bytes'] / 2**20:.0f} MB) read in {first['seconds']:.1f} s: "
          f"{first['records_per_s']:.0f} records/s, {results['import']['mb_per_s']:.1f} MB/s; kept {first['kept']}, "
          f"skipped {first['skipped']}, corrupt {first['corrupt']}, new articles {first['articles_new']}; "
          f"second import: {results['import']['second']['pages_new']} new pages")
    m = results["migration"]
    print(f"migration: {m['migrate']['moved']} of {m['pages']} pages moved in {m['migrate']['seconds']:.1f} s "
          f"({m['pages_per_s']:.0f} pages/s), mismatched {m['migrate']['mismatched']}, column dropped "
          f"{m['migrate']['column_dropped']}; pages table {m['pages_table_bytes_before'] / 2**20:.1f} MB -> "
          f"{m['pages_table_bytes_after_vacuum_full'] / 2**20:.2f} MB; archive {m['migrate']['archive_bytes'] / 2**20:.1f} MB")
    print(f"written: {RESULTS_FILE.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
