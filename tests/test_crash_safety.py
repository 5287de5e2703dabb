"""Crash safety: a fetch worker and an extract worker are SIGKILLed mid-batch, then re-run.

Real subprocesses, real Postgres, a real HTTP server on 127.0.0.1. Afterwards every URL is
fetched exactly once (one attempt, one stored page), every page has exactly one article, and a
second whole ingest run changes no row count.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import sqlalchemy as sa
import yaml

from hostile_server import HostileServer
from mediamon import archive_db, discover_db, fetch_db, pipeline, sources_db, store

URLS = 40
WORKER = """
import sys
from mediamon import extract_db, fetch_db
from mediamon.settings import Settings
settings = Settings.from_env()
if sys.argv[1] == "fetch":
    fetch_db.fetch_batch(settings, [int(i) for i in sys.argv[2:]])
else:
    extract_db.extract_pages(settings)
"""
TABLES = ("sources", "discovery_documents", "urls", "url_sources", "pages", "articles", "article_topics",
          "article_regions", "article_region_pairs", "source_health")


def counts(settings) -> dict[str, int]:
    with store.transaction(settings) as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}


def scalar(settings, query: str):
    with store.transaction(settings) as conn:
        return conn.exec_driver_sql(query).scalar()


def start_worker(settings, *args: str) -> subprocess.Popen:
    env = dict(os.environ, MEDIAMON_DATABASE_URL=settings.database_url, MEDIAMON_SOURCES=str(settings.sources_file),
               MEDIAMON_ARCHIVE_URL=settings.archive_url)
    return subprocess.Popen([sys.executable, "-c", WORKER, *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until(condition, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


@pytest.fixture
def server():
    with HostileServer() as main:
        yield main


@pytest.fixture
def crash_settings(settings, server, tmp_path):
    path = tmp_path / "sources.yaml"
    # A crawl delay makes the batch slow enough to be killed in the middle.
    path.write_text(yaml.safe_dump([{
        "id": "feed", "name": "feed", "language": "zh", "kind": "rss", "url": server.url + "/feed/huge.xml",
        "max_pages": URLS, "crawl_delay_s": 0.1, "allow_private": [server.authority]}]), encoding="utf-8")
    return replace(settings, sources_file=path)


def test_killed_fetch_and_extract_workers_lose_and_duplicate_nothing(crash_settings, server):
    settings = crash_settings
    sources_db.sync_sources(settings)
    assert discover_db.discover_source(settings, "feed").new_urls == URLS
    [batch] = fetch_db.plan_fetch(settings)

    worker = start_worker(settings, "fetch", *map(str, batch))
    wait_until(lambda: scalar(settings, "SELECT count(*) FROM pages") >= 5)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert worker.returncode == -signal.SIGKILL
    fetched_before = scalar(settings, "SELECT count(*) FROM urls WHERE status = 'fetched'")
    assert 5 <= fetched_before < URLS  # killed in the middle of the batch

    # The re-run plans only what is still pending and fetches it.
    rerun = fetch_db.plan_fetch(settings)
    assert sum(map(len, rerun)) == URLS - fetched_before
    for ids in rerun:
        worker = start_worker(settings, "fetch", *map(str, ids))
        assert worker.wait(timeout=120) == 0
    with store.transaction(settings) as conn:
        urls = conn.exec_driver_sql("SELECT status, attempts, count(*) FROM urls GROUP BY 1, 2").all()
    assert urls == [("fetched", 1, URLS)]
    assert counts(settings)["pages"] == URLS
    item_hits = [n for path, n in server.hits.items() if path.startswith("/item/")]
    # Each URL was requested once, except the one in flight when the worker died and those whose
    # archive records were not fsynced yet (at most one group of the archive's group commit).
    assert len(item_hits) == URLS and sum(item_hits) <= URLS + 1 + settings.archive.sync_every_records
    # Every pointer, including those written just before the kill, reads its own record back.
    reader = archive_db.reader(settings)
    with store.transaction(settings) as conn:
        pointers = conn.exec_driver_sql("SELECT warc_file, warc_offset, warc_length, body_sha256 FROM pages").all()
    assert len(pointers) == URLS and all(reader.read(archive_db.pointer_of(p)).status == 200 for p in pointers)

    # Extraction commits all of a batch or none of it: kill it, re-run it.
    worker = start_worker(settings, "extract")
    time.sleep(0.5)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert start_worker(settings, "extract").wait(timeout=300) == 0
    assert scalar(settings, "SELECT count(*) FROM pages WHERE extract_status IS NULL") == 0
    assert scalar(settings, "SELECT count(*) FROM articles") == URLS
    assert scalar(settings, "SELECT count(DISTINCT url_id) FROM articles") == URLS


def test_rerunning_the_whole_ingest_gives_identical_row_counts(crash_settings):
    pipeline.ingest(crash_settings)
    first = counts(crash_settings)
    assert first["articles"] == URLS and first["article_topics"] >= URLS
    pipeline.ingest(crash_settings)
    assert counts(crash_settings) == first
