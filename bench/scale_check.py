"""``make scale-check``: the docker-compose topology without Docker, on 127.0.0.1.

Starts an Airflow api-server, scheduler, dag-processor and two ``airflow celery worker`` processes
(CeleryExecutor, the machine's Redis as broker, metadata in a scratch database on the machine's
Postgres), triggers ``mediamon_ingest`` over the demo site, waits for the run, then asserts that

* the run succeeded and its tasks ran on both workers: each worker logs the Celery task ids it
  received, which Airflow stores on the task instances (``external_executor_id``); the task
  instances' ``hostname`` names the worker too (this module's :func:`worker_hostname`);
* the row counts equal those of a single-worker run: ``pipeline.ingest`` in-process over the same
  demo site, in a second scratch database.

Every process started is stopped (its whole process group) and every scratch database dropped,
whatever happens. Needs ``apache-airflow-providers-celery`` and Redis on 127.0.0.1:6379::

    python bench/scale_check.py [--timeout 600]
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
DAG_ID = "mediamon_ingest"
WORKERS = ("worker1", "worker2")
REDIS = ("127.0.0.1", 6379)
# Celery logs "Task <name>[<celery task id>] received" for every task a worker takes.
_RECEIVED = re.compile(r"Task [\w.]+\[([0-9a-f-]{36})\] received")

log = logging.getLogger("scale-check")


def worker_hostname() -> str:
    """Airflow's ``[core] hostname_callable`` for the workers started here: both run on one
    machine, so the task instances' hostname column would not tell them apart otherwise."""
    return os.environ["MEDIAMON_WORKER_NAME"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"scale-check: process {process.args[:3]} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise SystemExit(f"scale-check: nothing listens on 127.0.0.1:{port} after {timeout_s:.0f} s")


class Processes:
    """Starts commands in their own process groups and stops every group on exit."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        out = open(self.log_dir / f"{name}.log", "w")
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
                                   start_new_session=True)
        out.close()  # the child holds its own descriptor
        self.started.append((name, process))
        log.info("started %s (pid %d)", name, process.pid)
        return process

    def log_text(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for _name, process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for name, process in reversed(self.started):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop on SIGTERM; killing its process group", name)
            try:
                os.killpg(process.pid, signal.SIGKILL)  # leftover grandchildren (task runners, log servers)
            except ProcessLookupError:
                pass
            process.wait()
        self.started.clear()


@contextmanager
def scratch_database(admin_url: str, name: str):
    """A migrated scratch mediamon database, dropped (with its ``_airflow`` sibling) at exit."""
    from sqlalchemy.engine import make_url

    from mediamon import db, store

    db.ensure_database(admin_url, name)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        store.upgrade(store.engine_for(url))
        yield url
    finally:
        store.engine_for(url).dispose()
        db.drop_database(admin_url, name)
        db.drop_database(admin_url, f"{name}_airflow")


def _celery_environment(base: dict[str, str], queue: str, api_port: int, redis_db: int) -> dict[str, str]:
    """The CeleryExecutor settings docker-compose.yml sets, for processes on 127.0.0.1."""
    metadata_url = base["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    env = dict(base)
    env.update({
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/{redis_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url.replace("+psycopg2", ""),
        # A queue of our own: another Celery setup on the same Redis never takes our tasks.
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        # One task at a time per worker, none prefetched: parallel tasks must use both workers.
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        # Only the triggered run: no scheduled run appears when the DAG is unpaused.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__API__WORKERS": "1",
        # Log servers on free ports: other Airflow processes on this machine hold the defaults.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH_DIR), base.get("PYTHONPATH")])),
    })
    return env


def run_celery(settings, database_url: str, state_dir: Path, timeout_s: float) -> dict:
    """Run the DAG on the Celery topology; returns the task instances and who ran them."""
    import sqlalchemy as sa

    from mediamon import runner, store

    base = runner.prepare_airflow(settings, database_url)
    api_port = _free_port()
    queue = f"mediamon_scale_{uuid.uuid4().hex[:8]}"
    env = _celery_environment(base, queue, api_port, redis_db=secrets.randbelow(15) + 1)
    airflow = runner.airflow_binary()
    subprocess.run([airflow, "dags", "reserialize"], env=env, check=True, capture_output=True)
    processes = Processes(state_dir)
    try:
        api = processes.start("api-server", [airflow, "api-server", "--host", "127.0.0.1", "--port", str(api_port)], env)
        processes.start("scheduler", [airflow, "scheduler"], env)
        processes.start("dag-processor", [airflow, "dag-processor"], env)
        for name in WORKERS:
            worker_env = env | {"MEDIAMON_WORKER_NAME": name,
                                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "scale_check.worker_hostname"}
            processes.start(name, [airflow, "celery", "worker", "--celery-hostname", f"{name}@%h",
                                   "--queues", queue, "--concurrency", "1", "--skip-serve-logs",
                                   "--without-gossip", "--without-mingle"], worker_env)
        _wait_for_port(api_port, api, timeout_s=120)
        run_id = f"scale_check_{uuid.uuid4().hex[:8]}"
        subprocess.run([airflow, "dags", "unpause", DAG_ID], env=env, check=True, capture_output=True)
        subprocess.run([airflow, "dags", "trigger", DAG_ID, "--run-id", run_id], env=env, check=True,
                       capture_output=True)
        log.info("triggered %s run %s; waiting for it", DAG_ID, run_id)
        metadata = sa.create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        try:
            state, seconds, deadline = None, None, time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                with metadata.connect() as conn:
                    found = store.rows(conn, "bench.dag_run_state", {"dag_id": DAG_ID, "run_id": run_id})
                state, seconds = found[0] if found else (None, None)
                if state in ("success", "failed"):
                    break
                for name, process in processes.started:
                    if process.poll() is not None:
                        raise SystemExit(f"scale-check: {name} exited early; see {state_dir / name}.log")
                time.sleep(2)
            with metadata.connect() as conn:
                tasks = [dict(row._mapping) for row in store.rows(
                    conn, "bench.task_instances_of_run", {"dag_id": DAG_ID, "run_id": run_id})]
        finally:
            metadata.dispose()
        received = {name: set(_RECEIVED.findall(processes.log_text(name))) for name in WORKERS}
    finally:
        processes.stop_all()
    return {"state": state, "seconds": seconds, "tasks": tasks, "received": received}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the DAG run")
    parser.add_argument("--database-url", default=os.environ.get("MEDIAMON_SCALE_DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="server for the scratch databases (default: the machine's Postgres)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s scale-check: %(message)s", stream=sys.stderr)
    logging.getLogger("mediamon").setLevel(logging.WARNING)
    with socket.socket() as sock:
        if sock.connect_ex(REDIS) != 0:
            raise SystemExit(f"scale-check: no Redis on {REDIS[0]}:{REDIS[1]}")

    from sqlalchemy.engine import make_url

    from mediamon import archive_db, db, pipeline, sources_db, store
    from mediamon.demo_site import DemoSite, sources_yaml
    from mediamon.settings import Settings

    admin_url = make_url(db.to_sqlalchemy_url(args.database_url)).set(database="postgres").render_as_string(
        hide_password=False)
    stem = f"mediamon_scale_{uuid.uuid4().hex[:8]}"
    with ExitStack() as stack:
        # Kept after the run: the processes' logs are the evidence of who ran what.
        state_dir = PROJECT_ROOT / ".mediamon" / "scale-check"
        shutil.rmtree(state_dir, ignore_errors=True)
        state_dir.mkdir(parents=True)
        site = stack.enter_context(DemoSite())
        sources = state_dir / "sources.yaml"
        sources.write_text(sources_yaml(site), encoding="utf-8")
        celery_url = stack.enter_context(scratch_database(admin_url, stem))
        single_url = stack.enter_context(scratch_database(admin_url, f"{stem}_single"))

        def settings_for(url: str) -> Settings:
            return replace(Settings.from_env({}), database_url=url, sources_file=sources, state_dir=state_dir)

        def counts(url: str) -> dict:
            with store.transaction(settings_for(url)) as conn:
                classified = dict(store.rows(conn, "bench.classified_counts")[0]._mapping)
                pointers = store.rows(conn, "bench.archived_pages")
            # Both workers write to the one archive root: every page's pointer must read its record.
            reader = archive_db.reader(settings_for(url))
            readable = sum(reader.read(archive_db.pointer_of(p)).status > 0 for p in pointers)
            return sources_db.table_counts(settings_for(url)) | classified | {"pages_readable_in_archive": readable}

        pipeline.ingest(settings_for(single_url))
        single = counts(single_url)
        log.info("single worker (pipeline.ingest in-process): %s", single)
        celery = run_celery(settings_for(celery_url), celery_url, state_dir, args.timeout)
        got = counts(celery_url)

    ran_on = {}
    for task in celery["tasks"]:
        key = f"{task['task_id']}[{task['map_index']}]" if task["map_index"] >= 0 else task["task_id"]
        ran_on[key] = ([name for name, ids in celery["received"].items() if task["external_executor_id"] in ids]
                       or ["?"])[0] + f" (hostname {task['hostname']}, {task['state']})"
    task_seconds = sum(t["duration"] or 0 for t in celery["tasks"])
    print(f"DAG run: {celery['state']} in {float(celery['seconds'] or 0):.1f} s "
          f"({len(celery['tasks'])} task instances, {task_seconds:.1f} s inside tasks)")
    for key, where in ran_on.items():
        print(f"  {key:28} {where}")
    per_worker = {name: len(ids) for name, ids in celery["received"].items()}
    print(f"tasks received per worker: {per_worker}")
    print(f"row counts, celery run : {got}")
    print(f"row counts, single run : {single}")
    print(f"process logs: {state_dir}")
    problems = []
    if celery["state"] != "success":
        problems.append(f"the DAG run ended {celery['state']!r}")
    if not all(per_worker.values()):
        problems.append(f"not every worker ran a task: {per_worker}")
    hostnames = {t["hostname"] for t in celery["tasks"] if t["hostname"]}
    if not set(WORKERS) <= hostnames:
        problems.append(f"task instance hostnames {sorted(hostnames)} do not name both workers")
    if got != single:
        problems.append("row counts differ from the single-worker run")
    if problems:
        print("scale-check FAILED: " + "; ".join(problems))
        return 1
    print("scale-check passed: tasks ran on both Celery workers and the rows equal the single-worker run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
