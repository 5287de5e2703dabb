"""``make bench``: mediamon's throughput against bare trafilatura, on a synthetic corpus.

One run builds the corpus (bench/corpus.py), serves it on 127.0.0.1 in its own process and measures,
each in a fresh subprocess and a fresh scratch database:

a) bare ``trafilatura.extract`` over every page body as served: the baseline per page;
b) + c) ``pipeline.ingest`` end to end through the library, timed by stage (:class:`StageClock`:
   each stage's own time, exclusive of the stages it calls, so the stages sum to the total; a step
   added to ``ingest`` later shows up under its own name);
d) ``airflow dags test mediamon_ingest`` over the same sources, against the library time of the
   steps the DAG calls;
e) fetch + extract + load of the DAG's batches by one worker process, then by two taking batches
   from one queue; and bare ``trafilatura.extract`` split over two processes, which is what a
   second process can gain on this machine at best;
f) peak RSS per step (sampled), per worker (and of one worker on a 500-page batch), of the baseline
   and of the Airflow process tree.

It also COPYs the loaded article rows into a scratch table, for rows/s beside the upsert's, then
writes bench/results.json and prints a table of ratios against the targets::

    python bench/run.py [--pages 2000] [--skip-airflow]

``MEDIAMON_BENCH_PROFILE=FILE`` writes a cProfile (main thread) of the library run (b+c) to FILE;
the profiler inflates that run's ratios (the 1.57 of the 300-page run on main), and the table says so.
"""
from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import logging
import os
import re
import resource
import selectors
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import replace
from functools import wraps
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import corpus  # noqa: E402  (bench/ is a directory of scripts, not a package)

RESULTS_FILE = BENCH_DIR / "results.json"
DAG_FILE = PROJECT_ROOT / "dags" / "mediamon_ingest.py"
TARGETS = {"ratio_pipeline_vs_bare": 1.25, "ratio_pipeline_vs_bare_cpu": 1.25, "ratio_airflow_vs_library": 1.3, "speedup_2_workers": 1.7,
           "peak_rss_mb": 400, "database_bytes_after_vs_before": 0.25, "archive_write_share_of_pipeline": 0.05,
           "ratio_reprocess_vs_bare_pages_per_s": 0.8}
WORKER_BATCH_PAGES = 500
# What ``pipeline.ingest`` calls, by stage: (module, callable, stage). Each is timed exclusive of
# the others it calls (StageClock), so a stage nested in a step (extract in extract_pages, the
# archive writes in fetch_batch) is split out of it. The search index is Postgres's own work
# (a GIN expression index, migration 014): it is inside the statements that write articles.
TIMED_CALLABLES = [
    ("mediamon.pipeline", "migrate", "migrate"),
    ("mediamon.sources_db", "sync_sources", "discover"),
    ("mediamon.discover_db", "discover_source", "discover"),
    ("mediamon.fetch_db", "plan_fetch", "fetch"),
    ("mediamon.fetch_db", "fetch_batch", "fetch"),
    # Building the WARC records, appending them, the group fsyncs and closing the files.
    ("mediamon.archive", "ArchiveWriter.append", "archive_write"),
    ("mediamon.archive", "ArchiveWriter.durable", "archive_write"),
    ("mediamon.archive", "ArchiveWriter.close", "archive_write"),
    # extract_pages less what it calls below: the page rows, the multi-row upserts.
    ("mediamon.extract_db", "extract_pages", "load"),
    ("mediamon.archive", "ArchiveReader.read", "archive_read"),
    ("mediamon.extract", "extract", "extract"),
    ("mediamon.dedupe_db", "link_exact_duplicates", "dedupe"),
    ("mediamon.dedupe_db", "assign_stories", "stories"),
    ("mediamon.dedupe_db", "index_articles", "stories"),  # fingerprints and LSH bands, for the stories
    ("mediamon.classify_db", "classify_articles", "classify"),
    ("mediamon.events_db", "link_events", "events"),
]

DAG_STEP_PARTS = {"dedupe": ("link_exact_duplicates", "assign_stories", "index_articles")}

log = logging.getLogger("bench")


# --- measuring helpers ---------------------------------------------------------------------------

def _rss_mb(process=None) -> float:
    import psutil

    return (process or psutil.Process()).memory_info().rss / 2**20


def _max_rss_mb() -> float:
    """This process's peak RSS so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Samples this process's RSS every ``interval_s`` and keeps the peak per named stage."""

    def __init__(self, interval_s: float = 0.01):
        self.interval_s = interval_s
        self.stage: str | None = None
        self.peaks: dict[str, float] = defaultdict(float)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        import psutil

        self._process = psutil.Process()  # one object: a new one per sample costs the measured process CPU

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.note()

    def note(self) -> None:
        if self.stage:
            self.peaks[self.stage] = max(self.peaks[self.stage], _rss_mb(self._process))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _settings(database_url: str, sources_file: Path, state_dir: Path):
    from mediamon.settings import Settings

    return replace(Settings.from_env({}), database_url=database_url, sources_file=sources_file,
                   state_dir=state_dir)


def _quiet_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # The fetcher warns per failed URL; a benchmark reports counts instead.
    logging.getLogger("mediamon").setLevel(logging.ERROR)


# --- phases (each runs in its own process: ``run.py --phase NAME ARGS_JSON``) ----------------------

def phase_bare(args: dict) -> dict:
    """a) ``trafilatura.extract`` on each page's bytes, exactly as served, default options."""
    import trafilatura

    files = corpus.page_files(Path(args["corpus"]))
    empty, seconds, cpu = 0, 0.0, 0.0
    for _, path in files:
        body = path.read_bytes()  # one page in memory at a time, as a worker holds it
        start, cpu_start = time.perf_counter(), time.process_time()
        empty += not trafilatura.extract(body)
        seconds += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
    return {"pages": len(files), "seconds": seconds, "cpu_s": cpu, "empty": empty, "peak_rss_mb": _max_rss_mb()}


class StageClock:
    """Times ``pipeline.ingest`` by stage, every second once.

    Each timed callable (:data:`TIMED_CALLABLES`, plus any other step ``ingest`` names) counts its
    own time *exclusive* of the timed callables it calls: ``extract.extract`` inside
    ``extract_db.extract_pages`` is extract, the rest of that step is load; the archive writes inside
    ``fetch_batch`` are archive, the rest is fetch. What no timed callable covers (``ingest``'s own
    glue) is ``unattributed``, so the stages sum to the total. Wall and this process's CPU time;
    the RSS sampler follows the innermost running stage. Only calls made while :meth:`measure` runs
    count, and the originals are put back when it returns (the reprocess measurement after ingest
    calls ``extract_pages`` again and must not count as load).
    """

    def __init__(self, sampler: RssSampler):
        self.sampler = sampler
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.step_wall: dict[str, float] = defaultdict(float)  # per top-level step, inclusive
        self._stack: list[list] = []  # per running timed call: stage, wall and CPU at entry, children's
        self._patched: list[tuple[object, str, object]] = []

    def _timed(self, stage: str, function):
        @wraps(function)
        def wrapper(*args, **kwargs):
            frame = [stage, time.perf_counter(), time.process_time(), 0.0, 0.0]
            self._stack.append(frame)
            self.sampler.stage = stage
            try:
                return function(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - frame[1], time.process_time() - frame[2]
                self._stack.pop()
                self.wall[stage] += wall - frame[3]
                self.cpu[stage] += cpu - frame[4]
                self.calls[stage] += 1
                self.sampler.note()
                if self._stack:
                    self._stack[-1][3] += wall
                    self._stack[-1][4] += cpu
                else:
                    self.step_wall[function.__name__] += wall
                self.sampler.stage = self._stack[-1][0] if self._stack else "unattributed"
        return wrapper

    def _patch(self, owner, attribute: str, stage: str) -> None:
        original = owner.__dict__[attribute] if isinstance(owner, type) else getattr(owner, attribute)
        self._patched.append((owner, attribute, original))
        setattr(owner, attribute, self._timed(stage, original))

    def measure(self, pipeline, settings):
        """Run ``pipeline.ingest(settings)`` with every stage timed; returns its result, wall and CPU."""
        import importlib

        seen = set()
        for module_name, attribute, stage in TIMED_CALLABLES:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue  # a stage the pipeline no longer has
            owner_name, _, name = attribute.rpartition(".")
            owner = getattr(module, owner_name, None) if owner_name else module
            if owner is not None and callable(getattr(owner, name, None)):
                self._patch(owner, name, stage)
                seen.add((module_name, name))
        for module, name in _steps_named_by(pipeline.ingest, pipeline):
            if (module.__name__, name) not in seen:  # a step added since: timed under its own name
                self._patch(module, name, name)
                seen.add((module.__name__, name))
        self.sampler.stage = "unattributed"
        try:
            start, cpu_start = time.perf_counter(), time.process_time()
            result = pipeline.ingest(settings)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        finally:
            self.sampler.stage = None
            for owner, attribute, original in reversed(self._patched):
                setattr(owner, attribute, original)
            self._patched.clear()
        self.wall["unattributed"] = wall - sum(self.wall.values())
        self.cpu["unattributed"] = cpu - sum(self.cpu.values())
        return result, wall, cpu


def _steps_named_by(function, pipeline) -> list[tuple[object, str]]:
    """(module, function name) of each mediamon function ``function`` calls as ``module.name`` or
    as a name of ``pipeline``, including the calls inside its comprehensions (Python 3.11 compiles
    those to nested code objects whose names ``co_names`` of the outer code does not list)."""
    codes, names = [function.__code__], set()
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes += [const for const in code.co_consts if hasattr(const, "co_names")]
    found = []
    for name in names:
        target = getattr(pipeline, name, None)
        if callable(target) and getattr(target, "__module__", "") == pipeline.__name__ and name != function.__name__:
            found.append((pipeline, name))
        elif getattr(target, "__name__", "").startswith("mediamon.") and hasattr(target, "__file__"):
            found += [(target, attribute) for attribute in names
                      if callable(getattr(target, attribute, None))
                      and getattr(getattr(target, attribute), "__module__", "") == target.__name__]
    return found


def phase_library(args: dict) -> dict:
    """b) + c) ``pipeline.ingest`` end to end with every step timed; then the plain-COPY baseline."""
    _quiet_logging()
    from mediamon import pipeline, sources_db, store

    settings = _settings(args["database_url"], Path(args["sources"]), Path(args["state_dir"]))
    sampler = RssSampler()
    clock = StageClock(sampler)
    # Time the article upserts and keep their rows for the COPY comparison.
    upserts = {"rows": [], "seconds": 0.0}
    real_many = store.execute_many_values

    def timed_many(conn, name, tuples, **k):
        if name != "extract.upsert_articles":
            return real_many(conn, name, tuples, **k)
        tuples = list(tuples)
        start = time.perf_counter()
        try:
            return real_many(conn, name, tuples, **k)
        finally:
            upserts["seconds"] += time.perf_counter() - start
            upserts["rows"].extend(tuples)
    store.execute_many_values = timed_many
    profile_file = os.environ.get("MEDIAMON_BENCH_PROFILE")
    # The profiler slows Python code by a third or more: ratios of a profiled run are not figures.
    # (A CPU-time timer, time.process_time, is a system call per event: it doubled the run.)
    profiler = cProfile.Profile() if profile_file else None
    with sampler:
        if profiler:
            profiler.enable()
        result, wall, cpu_total = clock.measure(pipeline, settings)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile_file)
    store.execute_many_values = real_many
    counts = result.to_xcom()
    table_counts = sources_db.table_counts(settings)
    return {"archive_write_s": clock.wall["archive_write"], "database": _database_bytes(settings),
            # make bench-search counts the ingest's row writes afterwards: it asks for no re-extraction.
            "reprocess": None if args.get("skip_reprocess") else _reprocess_vs_bare(settings), "wall_s": wall, "cpu_s": cpu_total, "counts": counts,
            "table_counts": table_counts, "profiled": profiler is not None,
            "stage_s": dict(clock.wall), "stage_cpu_s": dict(clock.cpu),
            "stage_calls": dict(clock.calls), "step_s": dict(clock.step_wall), "stage_peak_rss_mb": dict(sampler.peaks),
            "upsert_rows": len(upserts["rows"]),
            "upsert_s": upserts["seconds"], "copy": _copy_rows(settings, upserts["rows"]),
            "peak_rss_mb": _max_rss_mb()}


def _database_bytes(settings) -> dict:
    """Bytes of the database's tables (heap, TOAST, indexes) now, and as they would be with the raw
    pages as gzip blobs in ``pages`` (the design before the archive): the same rows, their bodies
    read back from the archive and compressed as the old fetch did (gzip level 1)."""
    import gzip

    from mediamon import archive_db, store

    reader = archive_db.reader(settings)
    with store.transaction(settings) as conn:
        store.execute(conn, "bench.drop_pages_before")
        store.execute(conn, "bench.create_pages_before")
        rows = store.rows(conn, "bench.archived_pages")
        store.execute_many_values(conn, "bench.insert_pages_before", [
            (r.url_id, gzip.compress(reader.read(archive_db.pointer_of(r)).body, 1)) for r in rows])
    with store.transaction(settings) as conn:
        after = int(store.scalar(conn, "bench.public_table_bytes"))
        pages_now = int(store.scalar(conn, "bench.table_bytes", {"table_name": "pages"}))
        pages_before = int(store.scalar(conn, "bench.table_bytes", {"table_name": "bench_pages_before"}))
        articles = store.rows(conn, "sources.table_counts")[0].articles
        store.execute(conn, "bench.drop_pages_before")
        breakdown = _relation_bytes(conn)
        search = _search_bytes(conn)
    before = after - pages_now + pages_before
    archive_bytes = sum(p.stat().st_size for p in Path(settings.archive_url).rglob("*.warc.gz"))
    return {"articles": articles, "bytes_after": after, "bytes_before": before,
            "pages_table_bytes_after": pages_now, "pages_table_bytes_before": pages_before,
            "archive_bytes": archive_bytes, "breakdown": breakdown, "search_bytes": search}


def _relation_bytes(conn) -> dict[str, dict[str, int]]:
    """Bytes per table: heap, TOAST and each index (``index <name>``)."""
    from mediamon import store

    tables: dict[str, dict[str, int]] = defaultdict(dict)
    for row in store.rows(conn, "bench.relation_bytes"):
        tables[row.table_name][row.part] = int(row.bytes)
    return dict(tables)


def _search_bytes(conn) -> int:
    """What full-text search stores, reported apart (issue 13's, not this measure's to shrink): its
    indexes, and its vectors as stored (``pg_column_size``: inline or compressed in TOAST)."""
    from mediamon import store

    total = int(store.scalar(conn, "bench.search_bytes"))
    columns = conn.exec_driver_sql(
        "SELECT quote_ident(table_name), quote_ident(column_name) FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name LIKE 'search_vector%%'").all()
    for table, column in columns:  # identifiers from the catalog, quoted by the server
        total += int(conn.exec_driver_sql(f"SELECT coalesce(sum(pg_column_size({column})), 0) FROM {table}").scalar())
    return total


def _empty_database_bytes(settings) -> int:
    """The tables of a migrated database with its gazetteer loaded and no article: what every
    install holds whatever it ingested, subtracted before counting bytes per article."""
    from mediamon import classify_db, pipeline, store

    pipeline.migrate(settings)
    classify_db.load_regions(settings)
    with store.transaction(settings) as conn:
        return int(store.scalar(conn, "bench.public_table_bytes"))


def _reprocess_vs_bare(settings) -> dict:
    """Re-extraction of every page from the archive (``reextract_pages(force=True)``: read the
    record, extract, load) against bare ``trafilatura.extract`` over the same bodies in memory."""
    import trafilatura

    from mediamon import archive_db, extract_db, store

    reader = archive_db.reader(settings)
    with store.transaction(settings) as conn:
        bodies = [reader.read(archive_db.pointer_of(r)).body for r in store.rows(conn, "bench.archived_pages")]
    start = time.perf_counter()
    for body in bodies:
        trafilatura.extract(body)
    bare_s = time.perf_counter() - start
    start = time.perf_counter()
    done = extract_db.reextract_pages(settings, force=True)
    reprocess_s = time.perf_counter() - start
    return {"pages": len(bodies), "bare_s": bare_s, "reprocess_s": reprocess_s, "reprocessed": done.pages,
            "bare_pages_per_s": len(bodies) / bare_s, "reprocess_pages_per_s": done.pages / reprocess_s}


def _copy_rows(settings, rows: list[tuple]) -> dict:
    """COPY ``rows`` (as the article upsert received them) into an unindexed scratch table."""
    from mediamon import store

    with store.transaction(settings) as conn:
        store.execute(conn, "bench.drop_copy_target")
        store.execute(conn, "bench.create_copy_target")
    start = time.perf_counter()
    with store.transaction(settings) as conn:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        buffer.seek(0)
        cursor = conn.connection.driver_connection.cursor()
        cursor.copy_expert(store.sql("bench.copy_articles"), buffer)
        cursor.close()
    seconds = time.perf_counter() - start
    with store.transaction(settings) as conn:
        store.execute(conn, "bench.drop_copy_target")
    return {"rows": len(rows), "seconds": seconds}


def phase_worker(args: dict) -> dict:
    """e) One worker: fetch, extract and load batches, like a Celery worker running the mapped fetch
    task and the extract task of a batch. Starts when the parent writes a line, then asks for one
    batch at a time ("next"), as a Celery worker with prefetch 1 takes tasks from the queue."""
    _quiet_logging()
    from mediamon import extract_db, fetch_db

    settings = _settings(args["database_url"], Path(args["sources"]), Path(args["state_dir"]))
    print("ready", flush=True)
    sys.stdin.readline()
    start, cpu_start, articles, fetch_s, sizes = time.time(), time.process_time(), 0, 0.0, []
    while True:
        print("next", flush=True)
        line = sys.stdin.readline().strip()
        if not line or line == "done":
            break
        batch = json.loads(line)
        fetch_start = time.perf_counter()
        fetch_db.fetch_batch(settings, batch)
        fetch_s += time.perf_counter() - fetch_start
        articles += extract_db.extract_pages(settings, url_ids=batch).articles
        sizes.append(len(batch))
    return {"start": start, "end": time.time(), "cpu_s": time.process_time() - cpu_start, "fetch_s": fetch_s,
            "articles": articles, "peak_rss_mb": _max_rss_mb(), "batches": len(sizes),
            "largest_batch": max(sizes, default=0)}


def phase_bare_worker(args: dict) -> dict:
    """e) The machine's own scaling: bare ``trafilatura.extract`` over a share of the pages, started
    like a pipeline worker. Two of these against one is the speedup this machine gives pure
    extraction, the ceiling for the pipeline's."""
    import trafilatura

    bodies = [Path(path).read_bytes() for path in args["files"]]
    print("ready", flush=True)
    sys.stdin.readline()
    start, cpu_start = time.time(), time.process_time()
    for body in bodies:
        trafilatura.extract(body)
    return {"start": start, "end": time.time(), "cpu_s": time.process_time() - cpu_start,
            "articles": len(bodies), "peak_rss_mb": _max_rss_mb()}


PHASES = {"bare": phase_bare, "library": phase_library, "worker": phase_worker, "bare_worker": phase_bare_worker}


def _phase_command(name: str, args: dict) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--phase", name, json.dumps(args)]


def run_phase(name: str, args: dict) -> dict:
    completed = subprocess.run(_phase_command(name, args), stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    if completed.returncode != 0:
        raise SystemExit(f"bench: phase {name} failed (exit {completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- orchestration -------------------------------------------------------------------------------

def server_admin_url() -> str:
    """The maintenance database of $MEDIAMON_DATABASE_URL's server, else of the embedded pgserver."""
    from sqlalchemy.engine import make_url

    from mediamon import db
    from mediamon.settings import Settings

    configured = os.environ.get("MEDIAMON_DATABASE_URL")
    url = db.to_sqlalchemy_url(configured) if configured else db.database_url(Settings(state_dir=PROJECT_ROOT / ".mediamon"))
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


@contextmanager
def scratch_databases(admin_url: str):
    """Yields ``new(label[, last]) -> url`` creating migrated scratch databases (all migrations, or
    those up to version ``last``), all dropped at exit
    (with the ``<name>_airflow`` metadata databases Airflow runs create next to them)."""
    from sqlalchemy.engine import make_url

    from mediamon import db, store

    run_id, created = uuid.uuid4().hex[:8], {}

    def new(label: str, last: int | None = None) -> str:
        name = f"mediamon_bench_{run_id}_{label}"
        db.ensure_database(admin_url, name)
        created[name] = url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        store.upgrade(store.engine_for(url), last=last)
        return url

    try:
        yield new
    finally:
        for name, url in created.items():
            store.engine_for(url).dispose()
            db.drop_database(admin_url, name)
            db.drop_database(admin_url, f"{name}_airflow")


@contextmanager
def served_corpus(directory: Path):
    """Serve the corpus from its own process (its threads must not compete with the measured code
    for this process's GIL); yields the site -> port map."""
    server = subprocess.Popen([sys.executable, str(BENCH_DIR / "corpus.py"), "serve", str(directory)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if not line:
            raise SystemExit("bench: the corpus server did not start")
        yield json.loads(line)
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_airflow(settings, database_url: str) -> dict:
    """d) ``airflow dags test mediamon_ingest``, timed without the metadata migration; peak RSS is
    the largest of any process of the command's tree, sampled."""
    import psutil

    from mediamon import runner

    env = runner.prepare_airflow(settings, database_url)
    binary = runner.airflow_binary()
    log_file = settings.state_dir / "airflow-dags-test.log"
    with open(log_file, "w") as out:
        start = time.perf_counter()
        process = subprocess.Popen([binary, "dags", "test", "mediamon_ingest"], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
        peak, watched = 0.0, psutil.Process(process.pid)
        while process.poll() is None:
            try:
                for proc in [watched, *watched.children(recursive=True)]:
                    peak = max(peak, _rss_mb(proc))
            except psutil.Error:
                pass
            time.sleep(0.05)
        wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"bench: airflow dags test failed (exit {process.returncode}); see {log_file}")
    failed = re.findall(r"Marking task as FAILED|state=failed|TaskInstanceState.FAILED", log_file.read_text(errors="replace"))
    return {"wall_s": wall, "peak_rss_mb": peak, "failed_markers": len(failed), "log": str(log_file)}


def run_workers(new_db, settings_for, pages: int, repeats: int = 2) -> dict:
    """e) The same fetch+extract+load work by one worker process, then by two taking the batches
    from one queue (the DAG's batches: ``fetch.batch_pages`` URLs of one host); ``repeats`` times,
    alternating, each in a fresh database. The fastest run of each counts: other tenants of the
    machine (or Postgres catching up after the Airflow run) slow one run, never speed one up.
    Then f) one worker on one batch of ``WORKER_BATCH_PAGES`` pages, for its peak RSS."""
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for repeat in range(repeats):
        for workers in (1, 2):
            settings, batches = _frontier(settings_for(new_db(f"workers{workers}_{repeat}")))
            runs[workers].append(_run_together("worker", [_worker_args(settings)] * workers, queue=batches))
    results = {workers: _fastest(done) for workers, done in runs.items()}
    settings, batches = _frontier(settings_for(new_db("rss")))
    url_ids = sorted(i for batch in batches for i in batch)[:min(pages, WORKER_BATCH_PAGES)]
    results["rss"] = _run_together("worker", [_worker_args(settings)], queue=[url_ids])
    return results


def _frontier(settings):
    """Sources synced and discovered in a fresh database: the settings and the fetch batches."""
    from mediamon import discover_db, fetch_db, sources_db

    for source_id in sources_db.sync_sources(settings).source_ids:
        discover_db.discover_source(settings, source_id)
    return settings, fetch_db.plan_fetch(settings)


def _worker_args(settings) -> dict:
    return {"database_url": settings.database_url, "sources": str(settings.sources_file),
            "state_dir": str(settings.state_dir)}


def run_bare_workers(corpus_dir: Path, pages: int, repeats: int = 2) -> dict:
    """e) Bare trafilatura over the same ``pages`` pages by one process, then split over two
    (repeated and counted like :func:`run_workers`)."""
    files = [str(path) for _, path in corpus.page_files(corpus_dir)[:pages]]
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for _ in range(repeats):
        for workers in (1, 2):
            runs[workers].append(_run_together("bare_worker", [{"files": files[w::workers]} for w in range(workers)]))
    return {workers: _fastest(done) for workers, done in runs.items()}


def _fastest(runs: list[dict]) -> dict:
    return min(runs, key=lambda run: run["wall_s"]) | {"runs_wall_s": [run["wall_s"] for run in runs]}


def _run_together(phase: str, shares: list[dict], queue: list | None = None) -> dict:
    """Run one ``phase`` process per share, started together once all have imported everything;
    their wall time from the first start to the last end, busy share and peak RSS. With ``queue``,
    the processes take its items one at a time as they ask for them (:func:`phase_worker`)."""
    procs = [subprocess.Popen(_phase_command(phase, share), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=PROJECT_ROOT) for share in shares]
    try:
        for proc in procs:
            if proc.stdout.readline().strip() != "ready":
                raise SystemExit(f"bench: a {phase} process did not start")
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        if queue is not None:
            _serve_queue(procs, list(queue))
        outputs = [json.loads(proc.communicate()[0].strip().splitlines()[-1]) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return {
        "wall_s": max(o["end"] for o in outputs) - min(o["start"] for o in outputs),
        "articles": sum(o["articles"] for o in outputs),
        "fetch_s": [o.get("fetch_s") for o in outputs],
        "batches": sum(o.get("batches", 0) for o in outputs),
        "largest_batch": max(o.get("largest_batch", 0) for o in outputs),
        # Busy share of the processes' time: below 1, they waited (for a core, the server, Postgres).
        "cpu_per_wall": sum(o["cpu_s"] for o in outputs) / (len(procs) * max(o["end"] - o["start"] for o in outputs)),
        "peak_rss_mb": [o["peak_rss_mb"] for o in outputs]}


def _serve_queue(procs: list[subprocess.Popen], items: list) -> None:
    """Answer each process's "next" with the next item, then with "done" once the queue is empty."""
    with selectors.DefaultSelector() as selector:
        for proc in procs:
            selector.register(proc.stdout, selectors.EVENT_READ, proc)
        while selector.get_map():
            for key, _ in selector.select():
                proc = key.data
                if proc.stdout.readline().strip() != "next":  # it died; communicate() reports it
                    selector.unregister(proc.stdout)
                    continue
                if items:
                    proc.stdin.write(json.dumps(items.pop(0)) + "\n")
                else:  # what it prints next is its result, for communicate()
                    proc.stdin.write("done\n")
                    selector.unregister(proc.stdout)
                proc.stdin.flush()


def dag_steps() -> set[str]:
    """Names of the library functions the ingest DAG's tasks call (``module.function(settings()``)."""
    return set(re.findall(r"\b\w+\.(\w+)\(settings\(\)", DAG_FILE.read_text(encoding="utf-8")))


def summarize(pages: int, bare: dict, library: dict, airflow: dict | None, workers: dict) -> dict:
    per_page = lambda seconds: seconds / pages  # noqa: E731
    steps = library["step_s"]
    stages = library["stage_s"]
    bare_per_page = per_page(bare["seconds"])
    pipeline_per_page = per_page(library["wall_s"])
    # The DAG's dedupe task (pipeline.dedupe) runs steps that ingest calls one by one.
    dag_parts = {part for step in dag_steps() for part in DAG_STEP_PARTS.get(step, (step,))}
    dag_library_s = sum(s for step, s in steps.items() if step in dag_parts)
    copy = library["copy"]
    database = library["database"]
    per_1000 = lambda size: size * 1000 / database["articles"] if database["articles"] else None  # noqa: E731
    return {
        "pages": pages,
        "bare_extract_s_per_page": bare_per_page,
        "pipeline_s_per_page": pipeline_per_page,
        "ratio_pipeline_vs_bare": pipeline_per_page / bare_per_page,
        # CPU time of the measuring process only (Postgres and the corpus server excluded): what the
        # wall-clock ratio is when other processes on the machine compete for the cores.
        "ratio_pipeline_vs_bare_cpu": library["cpu_s"] / bare["cpu_s"],
        "airflow_s_per_page": per_page(airflow["wall_s"]) if airflow else None,
        "library_dag_steps_s_per_page": per_page(dag_library_s),
        "ratio_airflow_vs_library": airflow["wall_s"] / dag_library_s if airflow else None,
        "speedup_2_workers": workers[1]["wall_s"] / workers[2]["wall_s"],
        "worker_batches": workers[1]["batches"],
        # The same split for bare trafilatura alone: how much two processes gain on this machine.
        "speedup_2_workers_bare": workers["bare"][1]["wall_s"] / workers["bare"][2]["wall_s"],
        "worker_batch_pages": workers["rss"]["largest_batch"],
        # The larger of f) (one batch of WORKER_BATCH_PAGES) and every worker of e).
        "peak_rss_mb": max(workers[1]["peak_rss_mb"] + workers[2]["peak_rss_mb"] + workers["rss"]["peak_rss_mb"]),
        "peak_rss_mb_by_stage": {**library["stage_peak_rss_mb"], "bare_extract": bare["peak_rss_mb"],
                                 "library_process": library["peak_rss_mb"],
                                 "airflow_process": airflow["peak_rss_mb"] if airflow else None},
        # Issue 14: the raw pages in WARC files instead of Postgres.
        # Bytes the ingest added to the database (tables, TOAST, indexes; an empty install's subtracted).
        "database_bytes_per_1000_articles": per_1000(database["bytes_after"] - database["bytes_empty"]),
        "database_bytes_per_1000_articles_before": per_1000(database["bytes_before"] - database["bytes_empty"]),
        "database_bytes_after_vs_before": ((database["bytes_after"] - database["bytes_empty"])
                                           / (database["bytes_before"] - database["bytes_empty"])),
        # Full-text search's own bytes (issue 13), and the ratio without them on both sides: "before"
        # holds the same search data, so it weighs on the ratio although no archive change moves it.
        "database_search_bytes_per_1000_articles": per_1000(database["search_bytes"]),
        "database_bytes_after_vs_before_without_search": (
            (database["bytes_after"] - database["bytes_empty"] - database["search_bytes"])
            / (database["bytes_before"] - database["bytes_empty"] - database["search_bytes"])),
        "archive_write_share_of_pipeline": library["archive_write_s"] / library["wall_s"],
        "ratio_reprocess_vs_bare_pages_per_s": (library["reprocess"]["reprocess_pages_per_s"]
                                                / library["reprocess"]["bare_pages_per_s"]),
        "archive": {"database": library["database"], "reprocess": library["reprocess"],
                    "archive_write_s": library["archive_write_s"]},
        "load_rows_per_s": library["upsert_rows"] / library["upsert_s"] if library["upsert_s"] else None,
        "copy_rows_per_s": copy["rows"] / copy["seconds"] if copy["seconds"] else None,
        # Seconds per page by stage (exclusive: they sum to pipeline_s_per_page), and CPU seconds.
        "stages": {stage: per_page(seconds) for stage, seconds in stages.items()},
        "stages_cpu": {stage: per_page(seconds) for stage, seconds in library["stage_cpu_s"].items()},
        # Stage time per page over bare trafilatura's: what each stage adds to the ratio.
        "stages_vs_bare": {stage: seconds / bare["seconds"] for stage, seconds in stages.items()},
        "stages_cpu_vs_bare": {stage: seconds / bare["cpu_s"] for stage, seconds in library["stage_cpu_s"].items()},
        "profiled": library["profiled"],
        "counts": {"library": library["table_counts"], "airflow": airflow["table_counts"] if airflow else None,
                   "workers_1_articles": workers[1]["articles"],
                   "workers_2_articles": workers[2]["articles"], "bare_empty": bare["empty"]},
        "raw": {"bare_s": bare["seconds"], "bare_runs_s": bare["runs_s"], "bare_cpu_s": bare["cpu_s"], "library_wall_s": library["wall_s"],
                "library_cpu_s": library["cpu_s"], "library_step_s": steps, "library_stage_s": stages,
                "library_stage_cpu_s": library["stage_cpu_s"], "library_stage_calls": library["stage_calls"],
                "airflow": airflow,
                "workers": {str(k): v for k, v in workers.items() if k != "bare"},
                "bare_workers": {str(k): v for k, v in workers["bare"].items()}},
    }


def format_table(results: dict) -> str:
    def fmt(value, unit=""):
        return "n/a" if value is None else f"{value:.3f}{unit}" if value < 10 else f"{value:,.0f}{unit}"

    lines = [f"mediamon bench: {results['pages']} pages, {results['machine']['cpus']} CPUs, 1-min load average "
             f"{' / '.join(f'{x:.1f}' for x in results['machine']['load_average_1min'])} (start / end / after)", "",
             f"{'measure':32} {'value':>12} {'target':>8}  ok"]
    rows = [("pipeline / bare trafilatura", "ratio_pipeline_vs_bare", "<="),
            ("  the same in CPU time", "ratio_pipeline_vs_bare_cpu", "<="),
            ("airflow / library (DAG steps)", "ratio_airflow_vs_library", "<="),
            ("speedup, 2 workers vs 1", "speedup_2_workers", ">="),
            ("  the same, bare trafilatura", "speedup_2_workers_bare", "~"),
            (f"peak RSS per worker, MB ({results['worker_batch_pages']}/batch)", "peak_rss_mb", "<="),
            ("database bytes, after / before", "database_bytes_after_vs_before", "<="),
            ("  the same without search's", "database_bytes_after_vs_before_without_search", "~"),
            ("archive write / pipeline time", "archive_write_share_of_pipeline", "<="),
            ("reprocess / bare pages/s", "ratio_reprocess_vs_bare_pages_per_s", ">=")]
    for label, key, sense in rows:
        value, target = results[key], TARGETS.get(key)
        if target is None:  # a reference figure, no target
            lines.append(f"{label:32} {fmt(value):>12}")
            continue
        ok = "-" if value is None else "yes" if (value <= target if sense == "<=" else value >= target) else "NO"
        lines.append(f"{label:32} {fmt(value):>12} {sense}{target:>6}  {ok}")
    lines += ["", f"{'per page':32} {'ms':>12}",
              f"{'bare trafilatura.extract':32} {results['bare_extract_s_per_page'] * 1000:>12.2f}",
              f"{'pipeline (library, end to end)':32} {results['pipeline_s_per_page'] * 1000:>12.2f}"]
    if results["airflow_s_per_page"] is not None:
        lines.append(f"{'airflow dags test':32} {results['airflow_s_per_page'] * 1000:>12.2f}")
    lines.append(f"{'  by stage (exclusive)':32} {'':>12} {'CPU ms':>8} {'CPU/bare':>9}")
    for stage, seconds in results["stages"].items():
        rss = results["peak_rss_mb_by_stage"].get(stage)
        lines.append(f"{'  stage ' + stage:32} {seconds * 1000:>12.2f} {results['stages_cpu'][stage] * 1000:>8.2f}"
                     f" {results['stages_cpu_vs_bare'][stage]:>9.3f}   peak RSS {fmt(rss, ' MB')}")
    if results["profiled"]:
        lines.append("  (cProfile was on during the library run: its ratios are inflated)")
    lines += ["", f"{'database bytes / 1,000 articles':32} {fmt(results['database_bytes_per_1000_articles']):>12}"
                  f"   before: {fmt(results['database_bytes_per_1000_articles_before'])}"
                  f"   of which search: {fmt(results['database_search_bytes_per_1000_articles'])}",
              f"{'archive (WARC) bytes':32} {fmt(results['archive']['database']['archive_bytes']):>12}"]
    lines += ["", f"{'load (multi-row upsert), rows/s':32} {fmt(results['load_rows_per_s']):>12}",
              f"{'plain COPY, rows/s':32} {fmt(results['copy_rows_per_s']):>12}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=corpus.CorpusSpec.pages)
    parser.add_argument("--skip-airflow", action="store_true", help="leave out d) (Airflow's migration takes a minute)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("phase_args", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps(PHASES[args.phase](json.loads(args.phase_args)), default=str))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench: %(message)s", stream=sys.stderr)
    logging.getLogger("mediamon").setLevel(logging.WARNING)
    workdir = PROJECT_ROOT / ".mediamon" / "bench"
    shutil.rmtree(workdir, ignore_errors=True)
    corpus_dir, state_dir = workdir / "corpus", workdir / "state"
    state_dir.mkdir(parents=True)
    manifest = corpus.build(corpus_dir, corpus.CorpusSpec(pages=args.pages))
    log.info("corpus: %d pages, %d reposts, %d GBK, texts from %d sentences; %s", manifest["pages"],
             manifest["reposts"], manifest["gbk_pages"], manifest["sentences"], manifest["templates"])
    log.info("a) bare trafilatura.extract (first of two runs)")
    bare_runs = [run_phase("bare", {"corpus": str(corpus_dir)})]
    load_averages = [os.getloadavg()[0]]
    with served_corpus(corpus_dir) as ports, scratch_databases(server_admin_url()) as new_db:
        sources = workdir / "sources.yaml"
        sources.write_text(corpus.sources_yaml(manifest, ports), encoding="utf-8")
        settings_for = lambda url: _settings(url, sources, state_dir)  # noqa: E731
        empty_bytes = _empty_database_bytes(settings_for(new_db("empty")))
        log.info("b+c) pipeline.ingest through the library")
        library = run_phase("library", {"database_url": new_db("library"), "sources": str(sources),
                                        "state_dir": str(state_dir)})
        airflow = None
        if not args.skip_airflow:
            log.info("d) airflow dags test mediamon_ingest (after airflow db migrate)")
            url = new_db("airflow")
            airflow = run_airflow(settings_for(url), url)
            from mediamon import sources_db
            airflow["table_counts"] = sources_db.table_counts(settings_for(url))
        log.info("e) 1 worker, then 2")
        workers = run_workers(new_db, settings_for, args.pages)
        log.info("e) bare trafilatura, 1 process, then 2 (the machine's own scaling)")
        workers["bare"] = run_bare_workers(corpus_dir, min(args.pages, WORKER_BATCH_PAGES))
        load_averages.append(os.getloadavg()[0])
    # The baseline runs again last and counts as the mean of both runs, so that load from other
    # processes during the run weighs on the baseline as on the pipeline.
    log.info("a) bare trafilatura.extract (second run)")
    bare_runs.append(run_phase("bare", {"corpus": str(corpus_dir)}))
    load_averages.append(os.getloadavg()[0])
    bare = {key: (sum(r[key] for r in bare_runs) / 2 if key in ("seconds", "cpu_s") else bare_runs[-1][key])
            for key in bare_runs[0]} | {"runs_s": [r["seconds"] for r in bare_runs]}
    library["database"]["bytes_empty"] = empty_bytes
    results = summarize(args.pages, bare, library, airflow, workers)
    results["corpus"] = {k: manifest[k] for k in ("pages", "reposts", "gbk_pages", "sentences", "templates")}
    results["machine"] = {"cpus": os.cpu_count(), "load_average_1min": load_averages}
    RESULTS_FILE.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    print(format_table(results))
    print(f"\nwritten: {RESULTS_FILE.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
