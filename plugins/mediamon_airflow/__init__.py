"""The thin seam between Airflow and the mediamon library (which never imports Airflow).

DAG files call :func:`settings` inside their tasks: it reads the ``mediamon_db`` connection
(``AIRFLOW_CONN_MEDIAMON_DB`` or the metadata database) and falls back to ``MEDIAMON_DATABASE_URL``.
"""
from __future__ import annotations

from dataclasses import replace

from mediamon.settings import Settings

CONNECTION_ID = "mediamon_db"
FETCH_POOL = "mediamon_fetch"
ARTICLES_ASSET_URI = "postgres://mediamon/public/articles"


def settings() -> Settings:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    base = Settings.from_env()
    try:
        conn = Connection.get(CONNECTION_ID)
    except AirflowNotFoundException:
        return base
    return replace(base, database_url=conn.get_uri())
