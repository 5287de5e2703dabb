"""Shared fixtures: a real PostgreSQL database per test session, the demo site, Airflow's home.

The server is ``$MEDIAMON_DATABASE_URL`` when set, else the embedded pgserver under ``.mediamon/``.
Each session creates its own database and drops it at the end.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from mediamon import db, store
from mediamon.settings import PROJECT_ROOT, Settings

DAGS = PROJECT_ROOT / "dags"
TABLES_IN_LOAD_ORDER = ("sources", "discovery_documents", "urls", "pages", "articles")


@pytest.fixture(scope="session")
def server_url() -> str:
    """An SQLAlchemy URL for the server's maintenance database."""
    configured = os.environ.get("MEDIAMON_DATABASE_URL")
    if configured:
        return db.to_sqlalchemy_url(configured)
    url = db.database_url(Settings(state_dir=PROJECT_ROOT / ".mediamon"))
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(server_url: str):
    name = f"mediamon_test_{uuid.uuid4().hex[:10]}"
    admin = make_url(server_url).set(database="postgres").render_as_string(hide_password=False)
    db.ensure_database(admin, name)
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    store.upgrade(store.engine_for(url))
    yield url
    store.engine_for(url).dispose()
    store.engine_for.cache_clear()
    db.drop_database(admin, name)


@pytest.fixture
def other_database(server_url: str):
    """A second, fresh database on the same server, without migrations (dropped afterwards)."""
    name = f"mediamon_test_{uuid.uuid4().hex[:10]}"
    admin = make_url(server_url).set(database="postgres").render_as_string(hide_password=False)
    db.ensure_database(admin, name)
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    yield url
    store.engine_for(url).dispose()
    db.drop_database(admin, name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings on an empty test database (every table truncated)."""
    engine = store.engine_for(database_url)
    with engine.begin() as conn:
        tables = [row[0] for row in conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"))]
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    return replace(Settings.from_env({}), database_url=database_url, state_dir=tmp_path / "state",
                   reports_dir=tmp_path / "reports")


def install_at_migration(database_url: str, last: int) -> None:
    """Bring a fresh database to migration ``last`` only: an existing install from before the
    later migrations, for upgrade tests."""
    store.upgrade(store.engine_for(database_url), last=last)


@pytest.fixture(scope="session")
def airflow_home(database_url, tmp_path_factory):
    """A private AIRFLOW_HOME whose metadata database sits next to the test database.

    Airflow reads its configuration when first imported, so this fixture sets the environment for
    the whole test process before any test imports Airflow.
    """
    url = make_url(database_url)
    metadata_db = f"{url.database}_airflow"
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    db.ensure_database(admin, metadata_db)
    home = tmp_path_factory.mktemp("airflow_home")
    os.environ.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url.set(database=metadata_db).render_as_string(hide_password=False),
    })
    # DAG runs read their settings from the environment: without this, a test that does not set its
    # own archive root would write WARC files into the checkout's .mediamon/archive.
    os.environ.setdefault("MEDIAMON_ARCHIVE_URL", str(home / "archive"))
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], check=True,
                   capture_output=True, env=os.environ)
    yield home
    if "airflow.settings" in sys.modules:
        # Close Airflow's sessions first, or its atexit hook trips over the dropped database.
        sys.modules["airflow.settings"].dispose_orm()
    db.drop_database(admin, metadata_db)


@pytest.fixture(scope="session")
def demo_site():
    from mediamon.demo_site import DemoSite

    with DemoSite() as site:
        yield site


@pytest.fixture
def demo_settings(settings: Settings, demo_site, tmp_path: Path) -> Settings:
    from mediamon.demo_site import sources_yaml

    path = tmp_path / "sources.yaml"
    path.write_text(sources_yaml(demo_site), encoding="utf-8")
    return replace(settings, sources_file=path)


def count_rows(settings: Settings) -> dict[str, int]:
    with store.transaction(settings) as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES_IN_LOAD_ORDER}
