"""Where the database is: a configured server, or an embedded PostgreSQL under `.mediamon/`.

With ``MEDIAMON_DATABASE_URL`` unset, :func:`database_url` starts (or joins) a PostgreSQL server
from the ``pgserver`` wheel whose data directory lives in the project's state dir. The server is
shared by every process that asks for it and stops when the last of them exits, so repeated runs
reuse the same data and nothing is left running.
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from mediamon.settings import Settings

log = logging.getLogger(__name__)
# pgserver narrates every pg_ctl call at INFO, even from atexit handlers after logging shut down.
logging.getLogger("pgserver").setLevel(logging.WARNING)

APP_DATABASE = "mediamon"
_embedded = None


def _embedded_server(state_dir: Path, keep_running: bool) -> Any:
    global _embedded
    if _embedded is None:
        # pgserver warns about a missing XDG_RUNTIME_DIR on headless machines; its fallback is fine.
        os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver
        pgdata = state_dir / "pgdata"
        pgdata.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", pgdata)
        _embedded = pgserver.get_server(pgdata, cleanup_mode=None if keep_running else "stop")
    return _embedded


def database_url(settings: Settings, keep_running: bool = False) -> str:
    """Return an SQLAlchemy URL for the mediamon database, starting the embedded server if needed.

    The embedded server stops when the last process using it exits, unless ``keep_running`` asks
    it to stay up (``make run`` leaves it up so the analyst can query; ``make stop`` stops it).
    """
    if settings.database_url:
        return to_sqlalchemy_url(settings.database_url)
    server = _embedded_server(settings.state_dir, keep_running)
    ensure_database(to_sqlalchemy_url(server.get_uri("postgres")), APP_DATABASE)
    return to_sqlalchemy_url(server.get_uri(APP_DATABASE))


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server if it runs. Returns True if it was running."""
    pgdata = settings.state_dir / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user="pgserver" if os.geteuid() == 0 else None)
    return True


def to_sqlalchemy_url(url: str) -> str:
    """Accept plain ``postgresql://`` (and Airflow's ``postgres://``) URLs and pin the psycopg2 driver."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        # Not echoed: without "://" the password cannot be told apart from the rest.
        raise ValueError("not a database URL: expected scheme://user@host/database")
    if scheme in ("postgres", "postgresql"):
        scheme = "postgresql+psycopg2"
    return f"{scheme}://{rest}"


def redact(url: str) -> str:
    """The URL with its password replaced, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def psql_command(url: str) -> str:
    """A psql command line an analyst can paste to reach ``url``."""
    plain = url.replace("postgresql+psycopg2://", "postgresql://")
    psql = "psql"
    if _embedded is not None:
        from pgserver._commands import POSTGRES_BIN_PATH
        psql = str(POSTGRES_BIN_PATH / "psql")
    return f"{psql} '{redact(plain)}'"


# --- databases -----------------------------------------------------------------------------------
# Database names are identifiers, which cannot be bound parameters: they are quoted here, and only
# names the code itself makes reach these functions.

def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` on the server behind ``admin_url`` unless it exists."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": name}).scalar()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()


def drop_database(admin_url: str, name: str) -> None:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()
