"""mediamon_maintenance: raw-archive retention, discover-history months, source health, planner
statistics. Daily.

Retention deletes WARC files older than a source's ``retention_days`` (source file) or
``MEDIAMON_ARCHIVE_RETENTION_DAYS``; the pages that pointed into a file are marked archived-out
first, so no pointer ever dangles (their articles stay). ``discover_outcomes`` gets its next
month's partition and drops the months older than the pace's history window. Then every source
gets a health row and expired backoffs are cleared, and the hot tables are ANALYZEd.
"""
from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from mediamon_airflow import settings


@dag(
    schedule="30 3 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    tags=["mediamon"],
    doc_md=__doc__,
)
def mediamon_maintenance():
    @task
    def retention() -> dict:
        from mediamon import archive_db

        return archive_db.apply_retention(settings()).to_xcom()

    @task
    def discover_history() -> dict:
        from mediamon import pace_db

        return pace_db.keep_history_months(settings()).to_xcom()

    @task
    def health_and_statistics(removed: dict, months: dict) -> dict:
        from mediamon import archive_db

        return removed | months | archive_db.recompute_health_and_analyze(settings()).to_xcom()

    health_and_statistics(retention(), discover_history())


mediamon_maintenance()
