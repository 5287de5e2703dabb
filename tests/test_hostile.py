"""Fault injection: the real pipeline against a hostile HTTP server on 127.0.0.1.

Every case is one source in one ``pipeline.ingest`` run, next to a healthy source. For each the
run finishes, the URL ends in a defined state with a recorded reason, the healthy source still
lands its article, and nothing waits past the (small) timeouts configured here: a dripping body
or header that would take minutes ends as ``timeout``. Memory is measured with tracemalloc for
the oversize and bomb cases. All traffic stays on loopback; the refused redirect targets
(127.0.0.2, [::1], 2130706433) are watched by decoy listeners that must see no connection.
"""
from __future__ import annotations

import socket
import tracemalloc
from dataclasses import replace

import pytest
import yaml

from hostile_server import Decoy, HostileServer
from mediamon import health_db, pipeline, sources_db, store
from mediamon.errors import UnknownSource
from mediamon.fetch import Fetcher, FetchError
from mediamon.settings import Settings

CAP = 2 * 1024 * 1024

# Source id -> (path on the server, expected URL status, expected reason).
PAGE_CASES = {
    "good": ("/ok/good", "fetched", None),
    "hang": ("/hang", "pending", "timeout"),
    "hang-headers": ("/hang/headers", "pending", "timeout"),
    "drip": ("/drip", "pending", "timeout"),
    "reset": ("/reset", "pending", "connection_error"),
    "http-500": ("/status/500", "pending", "http_500"),
    "http-502": ("/status/502", "pending", "http_502"),
    "http-503": ("/status/503", "pending", "http_503"),
    "http-404": ("/status/404", "failed", "http_404"),
    "429-retry-after-hour": ("/429/forever", "pending", "http_429"),
    "429-retry-after-1s": ("/429/once", "fetched", None),
    "redirect-loop": ("/loop/a", "failed", "redirect_loop"),
    "redirect-chain-20": ("/chain/20", "failed", "too_many_redirects"),
    "redirect-chain-3": ("/chain/3", "fetched", None),
    "redirect-127-0-0-2": ("/redirect/127.0.0.2", "blocked", "blocked_address"),
    "redirect-ipv6-loopback": ("/redirect/ipv6", "blocked", "blocked_address"),
    "redirect-decimal-ip": ("/redirect/decimal", "blocked", "blocked_address"),
    "redirect-hex-ip": ("/redirect/hex", "blocked", "blocked_address"),
    "oversize": ("/big", "failed", "too_large"),
    "oversize-no-length": ("/big/streamed", "failed", "too_large"),
    "gzip-bomb": ("/bomb", "failed", "too_large"),
    "gzip-bomb-nested": ("/bomb/nested", "failed", "content_encoding"),
    "gbk-declared-utf8": ("/gbk/lying", "fetched", None),
    "gbk-no-charset": ("/gbk/silent", "fetched", None),
    "binary-as-html": ("/binary", "failed", "binary_body"),
    "empty-200": ("/empty", "failed", "empty_body"),
    "nul-bytes": ("/nul", "fetched", None),
    "surrogates": ("/surrogates", "fetched", None),
}
# Pages whose text must come out as the seed article, whatever the bytes looked like.
ARTICLE_EXPECTED = ("good", "429-retry-after-1s", "redirect-chain-3", "gbk-declared-utf8", "gbk-no-charset",
                    "nul-bytes", "surrogates")
SEED_PHRASE = "长三角毗邻区"


def small_timeouts(settings):
    """FetchSettings small enough that every stall costs a second or two."""
    return replace(settings.fetch, connect_timeout_s=1.0, read_timeout_s=1.0, total_timeout_s=2.0,
                   max_retries=1, backoff_base_s=0.01, max_retry_after_s=2.0, max_body_bytes=CAP,
                   min_host_delay_s=0.0, robots_failure_ttl_s=60.0)


@pytest.fixture(scope="module")
def servers():
    with HostileServer() as main, HostileServer(robots="disallow") as disallow, \
            HostileServer(robots="error") as error, HostileServer(robots="hang") as hang:
        decoys = [Decoy("127.0.0.2", main.port)]
        if socket.has_ipv6:
            try:
                decoys.append(Decoy("::1", main.port))
            except OSError:
                pass  # no IPv6 loopback here; the redirect is still refused, just not watched
        yield {"main": main, "disallow": disallow, "error": error, "hang": hang, "decoys": decoys}
        for decoy in decoys:
            decoy.close()


def source(id_, kind, url, server, **extra):
    return {"id": id_, "name": id_, "language": "zh", "kind": kind, "url": url, "crawl_delay_s": 0,
            "allow_private": [server.authority], **extra}


def write_sources(tmp_path, entries):
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile_run(database_url, servers, tmp_path_factory):
    """One ingest over every case, shared by the tests that read its outcome (it takes a while).
    Returns the settings, servers, run counts and URL states."""
    tmp_path = tmp_path_factory.mktemp("hostile")
    engine = store.engine_for(database_url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")]
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    settings = replace(Settings.from_env({}), database_url=database_url, state_dir=tmp_path / "state")
    main = servers["main"]
    entries = [source(f"case-{id_}", "page", main.url + path, main) for id_, (path, _, _) in PAGE_CASES.items()]
    entries += [
        source("feed-malformed", "rss", main.url + "/feed/malformed.xml", main),
        source("feed-garbage", "rss", main.url + "/feed/garbage.xml", main),
        source("feed-10000-items", "rss", main.url + "/feed/huge.xml", main, max_pages=30),
        source("sitemap-recursive", "sitemap", main.url + "/sitemap/index.xml", main),
        source("robots-disallow", "page", servers["disallow"].url + "/ok/disallowed", servers["disallow"]),
        source("robots-error", "page", servers["error"].url + "/ok/robots-error", servers["error"]),
        source("robots-hang", "page", servers["hang"].url + "/ok/robots-hang", servers["hang"]),
        source("robots-hang-feed", "rss", servers["hang"].url + "/feed/huge.xml", servers["hang"]),
    ]
    run_settings = replace(settings, sources_file=write_sources(tmp_path, entries), fetch=small_timeouts(settings))
    counts = pipeline.ingest(run_settings)
    with store.transaction(run_settings) as conn:
        urls = {r.canonical_url: r for r in conn.exec_driver_sql(
            "SELECT u.canonical_url, u.source_id, u.status, u.reason, p.extract_status, p.extract_reason, "
            "a.text FROM urls u LEFT JOIN pages p USING (url_id) LEFT JOIN articles a USING (url_id)")}
    return run_settings, servers, counts, urls


def test_every_page_case_ends_in_its_defined_state(hostile_run):
    settings, servers, counts, urls = hostile_run
    main = servers["main"]
    wrong = {}
    for id_, (path, status, reason) in PAGE_CASES.items():
        row = urls[main.url + path]
        if (row.status, row.reason) != (status, reason):
            wrong[id_] = (row.status, row.reason)
    assert wrong == {}
    for id_ in ARTICLE_EXPECTED:
        row = urls[main.url + PAGE_CASES[id_][0]]
        assert row.extract_status == "article", id_
        assert SEED_PHRASE in row.text, id_
        assert "\x00" not in row.text and not any(0xD800 <= ord(c) <= 0xDFFF for c in row.text), id_
    assert counts.fetched >= len(ARTICLE_EXPECTED)


def test_every_url_and_page_has_a_recorded_outcome(hostile_run):
    settings, _, _, urls = hostile_run
    for url, row in urls.items():
        assert row.status in ("pending", "fetched", "failed", "blocked"), url
        if row.status in ("failed", "blocked"):
            assert row.reason, url
        if row.status == "fetched":
            assert row.reason is None, url
        if row.status == "fetched":
            assert row.extract_status in ("article", "no_article"), url
            assert (row.extract_reason is None) == (row.extract_status == "article"), url


def test_refused_redirect_targets_are_never_contacted(hostile_run):
    _, servers, _, _ = hostile_run
    assert all(decoy.connections == 0 for decoy in servers["decoys"])
    # 2130706433 and 0x7f000001 are 127.0.0.1 itself: the target path was never requested.
    assert servers["main"].hits["/ok/redirect-target"] == 0


def test_robots_cases(hostile_run):
    settings, servers, _, urls = hostile_run
    assert (urls[servers["disallow"].url + "/ok/disallowed"].status,
            urls[servers["disallow"].url + "/ok/disallowed"].reason) == ("blocked", "robots_disallowed")
    for name, path in (("error", "/ok/robots-error"), ("hang", "/ok/robots-hang")):
        row = urls[servers[name].url + path]
        assert (row.status, row.reason) == ("pending", "robots_unavailable"), name
        assert servers[name].hits[path] == 0, name
    with store.transaction(settings) as conn:
        status = conn.exec_driver_sql("SELECT last_status FROM discovery_documents WHERE url = %s",
                                      (servers["hang"].url + "/feed/huge.xml",)).scalar()
    assert status == "robots_unavailable"


def test_feed_and_sitemap_cases(hostile_run):
    settings, servers, _, urls = hostile_run
    main = servers["main"]
    with store.transaction(settings) as conn:
        documents = {r.url: r.last_status for r in conn.exec_driver_sql("SELECT url, last_status FROM discovery_documents")}
    assert documents[main.url + "/feed/garbage.xml"] == "unparseable"
    # lxml recovers what it can from broken XML: the first, complete item is kept.
    assert documents[main.url + "/feed/malformed.xml"] in ("ok", "unparseable")
    assert documents[main.url + "/feed/huge.xml"] == "ok"
    from_huge = [u for u, r in urls.items() if r.source_id == "feed-10000-items"]
    assert len(from_huge) == 30 and all(urls[u].status == "fetched" for u in from_huge)
    sitemaps = [u for u in documents if "/sitemap/" in u]
    assert len(sitemaps) <= Settings().discover.max_sitemap_documents
    assert urls[main.url + "/ok/from-sitemap"].status == "fetched"


def test_source_health_records_each_outcome(hostile_run):
    settings, _, _, _ = hostile_run
    rows = {r["source_id"]: r for r in health_db.health(settings)}
    assert rows["case-good"]["failure_score"] == 0 and rows["case-good"]["last_success_at"] is not None
    bomb, hang = rows["case-gzip-bomb"], rows["case-hang"]
    assert (bomb["last_error"], bomb["last_error_hard"], bomb["failure_score"]) == (
        "too_large", True, settings.health.hard_weight)
    assert (hang["last_error"], hang["last_error_hard"], hang["failure_score"]) == (
        "timeout", False, settings.health.temporary_weight)
    assert hang["backing_off"] and hang["next_attempt_at"] is not None
    assert rows["feed-garbage"]["last_error"] == "unparseable" and rows["feed-garbage"]["last_stage"] == "discover"
    with store.transaction(settings) as conn:
        conn.exec_driver_sql("SET LOCAL ROLE mediamon_analyst")
        readable = conn.exec_driver_sql("SELECT count(*) FROM analyst.source_health").scalar()
    assert readable == len(rows)


def test_rerun_touches_no_source_on_hold_and_changes_no_row(hostile_run):
    settings, servers, _, urls = hostile_run
    main = servers["main"]
    hits_before = main.hits["/hang"]
    pipeline.ingest(settings)
    assert main.hits["/hang"] == hits_before  # backing off: not asked again within the hour
    with store.transaction(settings) as conn:
        after = {r.canonical_url: r.status for r in conn.exec_driver_sql("SELECT canonical_url, status FROM urls")}
    assert after == {url: row.status for url, row in urls.items()}


# --- fetcher level: memory and timeouts ------------------------------------------------------------

@pytest.mark.parametrize("path, reason", [("/bomb", "too_large"), ("/big/streamed", "too_large"), ("/big", "too_large")])
def test_memory_stays_bounded_by_the_cap(settings, servers, path, reason):
    main = servers["main"]
    fetch_settings = replace(small_timeouts(settings), max_body_bytes=1024 * 1024)
    with Fetcher(fetch_settings, allow_private=[main.authority]) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError) as caught:
                fetcher.get(main.url + path, check_robots=False)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert caught.value.reason == reason
    # The bomb inflates to 200 MB and the bodies are 8 MB; a bounded reader stays near the 1 MB cap.
    assert peak < 4 * fetch_settings.max_body_bytes


def test_hanging_robots_costs_one_timeout_per_host(settings, servers):
    hang = servers["hang"]
    before = hang.hits["/robots.txt"]
    with Fetcher(small_timeouts(settings), allow_private=[hang.authority]) as fetcher:
        for n in range(3):
            with pytest.raises(FetchError) as caught:
                fetcher.get(f"{hang.url}/ok/robots-{n}")
            assert (caught.value.reason, caught.value.temporary) == ("robots_unavailable", True)
    assert hang.hits["/robots.txt"] - before == 1


def test_unavailable_robots_is_asked_again_after_its_ttl(settings, servers):
    error = servers["error"]
    before = error.hits["/robots.txt"]
    fetch_settings = replace(small_timeouts(settings), robots_failure_ttl_s=0.0)
    with Fetcher(fetch_settings, allow_private=[error.authority]) as fetcher:
        for n in range(2):
            with pytest.raises(FetchError) as caught:
                fetcher.get(f"{error.url}/ok/again-{n}")
            assert caught.value.reason == "robots_unavailable"
    assert error.hits["/robots.txt"] - before == 2


def test_a_robots_crawl_delay_of_a_day_is_capped(settings):
    slept = []
    with HostileServer(robots="crawl-delay") as slow:
        with Fetcher(small_timeouts(settings), allow_private=[slow.authority], sleep=slept.append) as fetcher:
            for n in range(3):
                assert fetcher.get(f"{slow.url}/ok/slow-{n}").status == 200
    assert slept and max(slept) <= settings.fetch.max_crawl_delay_s


# --- health: disable, sync, re-enable ---------------------------------------------------------------

def test_hard_failures_disable_a_source_until_reenabled(settings, servers, tmp_path):
    main = servers["main"]
    path = write_sources(tmp_path, [source("dead-feed", "rss", main.url + "/status/410", main),
                                    source("live-page", "page", main.url + "/ok/live", main)])
    knobs = replace(settings.health, disable_score=2 * settings.health.hard_weight, backoff_base_s=0.0)
    run_settings = replace(settings, sources_file=path, fetch=small_timeouts(settings), health=knobs)

    pipeline.ingest(run_settings)
    pipeline.ingest(run_settings)
    row = {r["source_id"]: r for r in health_db.health(run_settings)}["dead-feed"]
    assert row["disabled_at"] is not None and "http_410" in row["disabled_reason"]
    assert row["enabled_in_config"] and not row["active"]
    assert main.hits["/status/410"] == 2

    pipeline.ingest(run_settings)  # syncs the YAML (enabled: true) again, and skips the source
    row = {r["source_id"]: r for r in health_db.health(run_settings)}["dead-feed"]
    assert not row["active"] and main.hits["/status/410"] == 2
    assert {r["source_id"]: r for r in health_db.health(run_settings)}["live-page"]["active"]

    health_db.reenable_source(run_settings, "dead-feed")
    row = {r["source_id"]: r for r in health_db.health(run_settings)}["dead-feed"]
    assert row["active"] and row["failure_score"] == 0
    pipeline.ingest(run_settings)
    assert main.hits["/status/410"] == 3
    with pytest.raises(UnknownSource):
        health_db.reenable_source(run_settings, "no-such-source")


def test_success_decays_the_score_and_ends_the_backoff(settings, servers, tmp_path):
    main = servers["main"]
    run_settings = replace(settings, sources_file=write_sources(tmp_path, [source("s", "page", main.url + "/ok/s", main)]))
    sources_db.sync_sources(run_settings)
    health_db.record_failure(run_settings, "s", "fetch", "http_500", hard=False)
    health_db.record_failure(run_settings, "s", "fetch", "http_404", hard=True)
    row = health_db.health(run_settings)[0]
    knobs = run_settings.health
    assert row["failure_score"] == knobs.temporary_weight + knobs.hard_weight
    assert row["consecutive_failures"] == 2 and row["backing_off"]
    health_db.record_success(run_settings, "s", "fetch")
    row = health_db.health(run_settings)[0]
    assert row["failure_score"] == (knobs.temporary_weight + knobs.hard_weight) * knobs.success_decay
    assert row["consecutive_failures"] == 0 and not row["backing_off"] and row["active"]


def test_a_url_that_keeps_failing_temporarily_is_given_up(settings, servers, tmp_path):
    main = servers["main"]
    path = write_sources(tmp_path, [source("flaky", "page", main.url + "/status/503", main)])
    run_settings = replace(settings, sources_file=path,
                           fetch=replace(small_timeouts(settings), max_retries=0, max_url_attempts=2),
                           health=replace(settings.health, backoff_base_s=0.0))
    states = []
    for _ in range(3):
        pipeline.ingest(run_settings)
        with store.transaction(run_settings) as conn:
            states.append(tuple(conn.exec_driver_sql("SELECT status, reason, attempts FROM urls").one()))
    assert states == [("pending", "http_503", 1), ("failed", "http_503", 2), ("failed", "http_503", 2)]
