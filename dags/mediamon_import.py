"""mediamon_import: WARC files (CC-NEWS or mediamon's own) -> extract -> dedupe -> classify.

Manual. ``paths`` are files, folders, globs or fsspec URLs (``s3://commoncrawl/crawl-data/CC-NEWS/
2026/01/*.warc.gz`` with credentials in the environment); one mapped task imports one file. Only
HTML ``response`` records of the chosen ``hosts`` (or the hosts of ``sources``; none: every host)
captured in [``since``, ``until``) are kept, judged on their WARC headers before the payload is
read. Importing a file twice adds nothing. Each file's task logs and returns its counts: records
read, kept, skipped, corrupt, articles new, records per second.
"""
from __future__ import annotations

from datetime import datetime

import pendulum
from airflow.sdk import Param, dag, task

from mediamon_airflow import settings


def _moment(value: str | None) -> datetime | None:
    return pendulum.parse(value, tz="UTC") if value else None


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    tags=["mediamon"],
    doc_md=__doc__,
    params={
        "paths": Param([], type="array", items={"type": "string"}, description="WARC files, folders, globs or URLs"),
        "hosts": Param([], type="array", items={"type": "string"}, description="hosts to keep (host[:port])"),
        "sources": Param([], type="array", items={"type": "string"}, description="keep the hosts of these source ids"),
        "since": Param(None, type=["null", "string"], description="captured at or after (ISO date, UTC)"),
        "until": Param(None, type=["null", "string"], description="captured before (ISO date, UTC)"),
    },
)
def mediamon_import():
    @task
    def list_files(params=None) -> list[str]:
        from mediamon import pipeline, sources_db, warc_scan

        pipeline.migrate(settings())
        sources_db.sync_sources(settings())
        return warc_scan.expand_inputs(params["paths"])

    @task(map_index_template="{{ task.op_kwargs['url'] }}")
    def import_file(url: str, params=None) -> dict:
        from mediamon import pipeline

        return pipeline.import_warc(settings(), [url], hosts=params["hosts"] or None,
                                    source_ids=params["sources"] or None, since=_moment(params["since"]),
                                    until=_moment(params["until"]), finish=False).to_xcom()

    @task(trigger_rule="all_done")
    def dedupe_and_classify(imported: list[dict]) -> dict:
        from mediamon import pipeline

        return pipeline.finish_imports(settings(), imported)

    dedupe_and_classify(import_file.expand(url=list_files()))


mediamon_import()
