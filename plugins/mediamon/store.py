"""Database access: engines, transactions, migrations and the named queries in ``sql/queries``.

Where the server is (and creating databases on it) is :mod:`mediamon.db`, which this module uses.

SQL lives in ``.sql`` files, never in Python strings. A query file holds several statements, each
introduced by a ``-- name: <name>`` line; ``sql/queries/sources.sql`` defines ``sources.upsert_source``
and so on; a stage's queries are in the file named after it.
Parameters are always bound (``:name`` style), never formatted into the text.
"""
from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import psycopg2
import sqlalchemy as sa
from psycopg2.extras import execute_values

from mediamon.db import database_url
from mediamon.errors import UnknownQuery
from mediamon.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

SQL_DIR = PROJECT_ROOT / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
QUERIES_DIR = SQL_DIR / "queries"
_MIGRATION_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
# Any constant works: it only has to be the same for every process that migrates this database.
_MIGRATION_LOCK_KEY = 0x6D6D6967


@cache
def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)


def engine(settings: Settings) -> sa.Engine:
    return engine_for(database_url(settings))


# What a statement can raise: through SQLAlchemy, or straight from psycopg2 (execute_many_values).
DATABASE_ERRORS: tuple[type[Exception], ...] = (sa.exc.DBAPIError, psycopg2.Error)


def connection_lost(exc: BaseException) -> bool:
    """Whether a database error means the server or the connection is gone (or the statement was
    cancelled), rather than that one row was refused: then the task fails and is retried, since
    going on item by item would only fail every item the same way."""
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.connection_invalidated or isinstance(exc.orig, (psycopg2.OperationalError, psycopg2.InterfaceError))
    return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))


@contextmanager
def transaction(settings_or_engine: Settings | sa.Engine) -> Iterator[sa.Connection]:
    eng = settings_or_engine if isinstance(settings_or_engine, sa.Engine) else engine(settings_or_engine)
    with eng.begin() as conn:
        yield conn


# --- named queries -------------------------------------------------------------------------------

@cache
def _query_file(stem: str) -> dict[str, str]:
    path = QUERIES_DIR / f"{stem}.sql"
    queries: dict[str, str] = {}
    name = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^--\s*name:\s*([a-z0-9_]+)\s*$", line)
        if match:
            name = match.group(1)
            queries[name] = ""
        elif name is not None:
            queries[name] += line + "\n"
    return {k: v.strip() for k, v in queries.items()}


def sql(name: str) -> str:
    """The text of query ``file.query`` from ``sql/queries/file.sql``."""
    stem, _, query = name.partition(".")
    try:
        return _query_file(stem)[query]
    except (KeyError, FileNotFoundError):
        raise UnknownQuery(f"no query named {name!r} in {QUERIES_DIR / (stem + '.sql')}") from None


def execute(conn: sa.Connection, name: str,
            params: dict[str, Any] | Sequence[dict[str, Any]] | None = None) -> sa.CursorResult[Any]:
    return conn.execute(sa.text(sql(name)), params or {})


def rows(conn: sa.Connection, name: str, params: dict[str, Any] | None = None) -> list[sa.Row]:
    return list(execute(conn, name, params))


def scalar(conn: sa.Connection, name: str, params: dict[str, Any] | None = None) -> Any:
    return execute(conn, name, params).scalar()


def execute_many_values(conn: sa.Connection, name: str, tuples: Iterable[Sequence[Any]], *,
                        fetch: bool = False, page_size: int = 500) -> list[tuple]:
    """Run a ``... VALUES %s ...`` query with many rows, one round trip per ``page_size`` rows.

    With ``fetch`` the rows the query returns are collected and returned.
    """
    driver = conn.connection.driver_connection
    assert driver is not None, "the connection is open"
    cursor = driver.cursor()
    try:
        return execute_values(cursor, sql(name), list(tuples), page_size=page_size, fetch=fetch) or []
    finally:
        cursor.close()


# --- migrations ----------------------------------------------------------------------------------

def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, str, Path]]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_FILE.match(path.name)
        if not match:
            raise ValueError(f"{path}: migration files are named NNN_snake_case.sql")
        found.append((int(match.group(1)), match.group(2), path))
    versions = [v for v, _, _ in found]
    if len(versions) != len(set(versions)):
        raise ValueError(f"{directory}: two migrations share a version number")
    return found


def upgrade(eng: sa.Engine, directory: Path = MIGRATIONS_DIR, *, last: int | None = None) -> list[str]:
    """Apply every migration not yet recorded in ``schema_migrations`` (up to version ``last`` when
    given: an install from before the later migrations, for upgrade tests and benches).

    All pending migrations run in one transaction, so a failing one leaves the schema as it was.
    Concurrent callers serialize on an advisory lock, so two workers starting at once are safe.
    Returns the file names applied by this call.
    """
    applied_now = []
    with eng.begin() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())")
        done = {row.version: row.sha256 for row in conn.execute(
            sa.text("SELECT version, sha256 FROM schema_migrations"))}
        for version, name, path in migration_files(directory):
            if last is not None and version > last:
                break
            body = path.read_text(encoding="utf-8")
            digest = hashlib.sha256(body.encode()).hexdigest()
            if version in done:
                if done[version] != digest:
                    log.warning("migration %s changed after it was applied; not re-applied", path.name)
                continue
            log.info("applying migration %s", path.name)
            conn.exec_driver_sql(body.replace("%", "%%"))
            conn.execute(sa.text("INSERT INTO schema_migrations (version, name, sha256) "
                                 "VALUES (:v, :n, :s)"), {"v": version, "n": name, "s": digest})
            applied_now.append(path.name)
    return applied_now
