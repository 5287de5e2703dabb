"""mediamon_reprocess: re-run extraction, story clustering and classification over stored pages.

Manual only. Nothing is fetched again: raw pages are read back from the WARC archive (a page
whose file retention removed is skipped). With the default params it re-extracts pages whose
extractor version differs from the current one (and then rebuilds the stories), and re-classifies
articles whose topic version differs (a topic file's ``version`` bump).
``force`` re-extracts everything; ``rebuild_stories`` re-clusters after a threshold change.
"""
from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from mediamon_airflow import settings


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    tags=["mediamon"],
    doc_md=__doc__,
    params={
        "re_extract": Param(True, type="boolean", description="re-extract pages of other extractor versions"),
        "force": Param(False, type="boolean", description="re-extract every stored page"),
        "reclassify": Param(True, type="boolean", description="re-classify articles of other topic versions"),
        "rebuild_stories": Param(False, type="boolean",
                                 description="rebuild every story from scratch (after a dedupe threshold change)"),
    },
)
def mediamon_reprocess():
    @task
    def re_extract(params=None) -> dict:
        from mediamon import extract_db
        from mediamon.results import ExtractResult

        if not params["re_extract"] and not params["force"]:
            return ExtractResult().to_xcom()
        return extract_db.reextract_pages(settings(), force=params["force"]).to_xcom()

    @task
    def dedupe(extracted: dict, params=None) -> dict:
        from mediamon import dedupe_db
        from mediamon.results import ExtractResult

        # Re-extracted texts or new thresholds change the clusters: rebuild them from scratch.
        rebuild = bool(ExtractResult.from_xcom(extracted).pages or params["rebuild_stories"])
        return dedupe_db.reprocess(settings(), rebuild=rebuild)

    @task
    def reclassify(deduped: dict, params=None) -> dict:
        from mediamon import classify_db
        from mediamon.results import ClassifyResult

        return (classify_db.classify_articles(settings()) if params["reclassify"] else ClassifyResult()).to_xcom()

    reclassify(dedupe(re_extract()))


mediamon_reprocess()
