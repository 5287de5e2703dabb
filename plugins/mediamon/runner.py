"""``make run``: the whole demo on one machine, through real Airflow.

Starts (or reuses) the embedded PostgreSQL unless ``MEDIAMON_DATABASE_URL`` is set, migrates, serves
the offline demo site on 127.0.0.1, then runs ``airflow dags test mediamon_ingest`` with a
project-local ``AIRFLOW_HOME`` whose metadata lives in a sibling database on the same server.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from sqlalchemy.engine import make_url

from mediamon import db, pipeline, sources_db
from mediamon.settings import PROJECT_ROOT, Settings
from mediamon.sources import format_summary

log = logging.getLogger(__name__)

EXAMPLE_QUERY = ("SELECT site, count(*) AS articles, max(published_at) AS latest "
                 "FROM articles GROUP BY site ORDER BY articles DESC;")

DEMO_PORTS = (Settings().demo_site.news_port, Settings().demo_site.repost_port)


def airflow_environment(settings: Settings, database_url: str) -> dict[str, str]:
    """Environment for Airflow commands: project-local home, our dags and plugins, metadata in
    database ``<name>_airflow`` next to the mediamon database."""
    url = make_url(database_url)
    airflow_db = f"{url.database}_airflow"
    db.ensure_database(url.set(database="postgres").render_as_string(hide_password=False), airflow_db)
    airflow_home = settings.state_dir / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        # `airflow standalone` starts its components as `airflow …` subprocesses found on PATH.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # The local scheduler of `make airflow` should run the hourly ingest without a click.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url.set(database=airflow_db).render_as_string(hide_password=False),
        "MEDIAMON_DATABASE_URL": database_url,
        "MEDIAMON_SOURCES": str(settings.sources_file),
        "MEDIAMON_HOME": str(settings.state_dir),
        # Every task writes and reads the same archive root, whatever its own working directory.
        "MEDIAMON_ARCHIVE_URL": settings.archive_url,
    })
    return env


def airflow_binary() -> str:
    """The ``airflow`` command of this interpreter's environment (the project's venv)."""
    return shutil.which("airflow", path=str(Path(sys.executable).parent)) or "airflow"


def airflow(env: dict[str, str], *args: str, quiet: bool = False) -> None:
    binary = airflow_binary()
    log.info("$ airflow %s", " ".join(args))
    completed = subprocess.run([binary, *args], env=env, text=True,
                               stdout=subprocess.PIPE if quiet else None,
                               stderr=subprocess.STDOUT if quiet else None)
    if completed.returncode != 0:
        if quiet:
            sys.stderr.write(completed.stdout[-4000:])
        raise SystemExit(f"mediamon: `airflow {' '.join(args)}` failed with exit code {completed.returncode}")


_PROGRESS = (
    (re.compile(r"\[DAG TEST\] running task <TaskInstance: [\w.]+?\.(\w+) "), "  running  {0}"),
    (re.compile(r"Done\. Returned value was: (.*?) \[airflow"), "           -> {0}"),
    (re.compile(r"new_state=(failed|up_for_retry)"), "  !! task {0}"),
    (re.compile(r"DagRun Finished: dag_id=(\w+).*?run_duration=([\d.]+), state=(\w+)"), "{0}: {2} in {1} s"),
)


def run_dag_test(env: dict[str, str], dag_id: str, log_path: Path) -> None:
    """``airflow dags test DAG`` with its full log in ``log_path`` and a readable digest on stdout."""
    binary = airflow_binary()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"$ airflow dags test {dag_id}   (full log: {log_path})", flush=True)
    with log_path.open("w", encoding="utf-8") as full_log:
        process = subprocess.Popen([binary, "dags", "test", dag_id], env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for line in process.stdout:
            full_log.write(line)
            for pattern, template in _PROGRESS:
                match = pattern.search(line)
                if match:
                    print(template.format(*match.groups()), flush=True)
                    break
    if process.wait() != 0:
        tail = log_path.read_text(encoding="utf-8").splitlines()[-40:]
        sys.stderr.write("\n".join(tail) + "\n")
        raise SystemExit(f"mediamon: `airflow dags test {dag_id}` failed (exit {process.returncode}); "
                         f"full log: {log_path}")


def prepare_airflow(settings: Settings, database_url: str) -> dict[str, str]:
    env = airflow_environment(settings, database_url)
    airflow(env, "db", "migrate", quiet=True)
    airflow(env, "pools", "set", "mediamon_fetch", "4", "bounds concurrent mediamon fetch batches", quiet=True)
    return env


def serve_airflow_ui(settings: Settings, port: int = 8080) -> int:
    """``make airflow``: ``airflow standalone`` (API server + UI, scheduler, DAG processor,
    triggerer) on the same database, Airflow home and demo site as ``make run``."""
    from mediamon.demo_site import DemoSite

    database_url = db.database_url(settings, keep_running=True)
    pipeline.migrate(settings)
    env = prepare_airflow(settings, database_url)
    env["AIRFLOW__API__PORT"] = str(port)
    passwords = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    with DemoSite(news_port=DEMO_PORTS[0], repost_port=DEMO_PORTS[1]):
        print(f"Airflow UI: http://127.0.0.1:{port}  (user admin; its password is written to {passwords})",
              flush=True)
        print("Ctrl-C stops Airflow and the demo site.", flush=True)
        binary = airflow_binary()
        try:
            return subprocess.run([binary, "standalone"], env=env).returncode
        except KeyboardInterrupt:
            return 0


def _start_demo_site():
    """Serve the demo site on its fixed ports; None when it is already served there (by
    ``make airflow``, say), which is just as good."""
    from mediamon.demo_site import DemoSite

    try:
        site = DemoSite(news_port=DEMO_PORTS[0], repost_port=DEMO_PORTS[1]).start()
    except OSError as exc:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{DEMO_PORTS[0]}/robots.txt", timeout=2) as answer:
                answer.read()
        except OSError:
            raise SystemExit(f"mediamon: cannot serve the demo site on ports {DEMO_PORTS}: {exc}") from None
        print(f"demo site: already served on ports {DEMO_PORTS}", flush=True)
        return None
    print(f"demo site: {site.news_url} and {site.repost_url}", flush=True)
    return site


def run_demo(settings: Settings, use_airflow: bool = True) -> int:
    database_url = db.database_url(settings, keep_running=True)
    pipeline.migrate(settings)
    site = _start_demo_site()
    try:
        if use_airflow:
            env = prepare_airflow(settings, database_url)
            run_dag_test(env, "mediamon_ingest", settings.state_dir / "logs" / "mediamon_ingest-dags-test.log")
        else:
            pipeline.ingest(settings)
    finally:
        if site is not None:
            site.stop()
    print()
    print(format_summary(sources_db.summary(settings)))
    print()
    from mediamon import report_db

    built = report_db.build_report(settings)
    print(f"Report #{built['report_id']} ({built['counts']['new_stories']} new stories): {built['paths']['html']}")
    print()
    print("Query the articles:")
    print(f"  {db.psql_command(database_url)} -c \"{EXAMPLE_QUERY}\"")
    if not settings.database_url:
        print("The embedded PostgreSQL keeps running for your queries; `make stop` stops it.")
    return 0
