"""mediamon_reprocess: re-run extraction, story clustering and classification over stored pages.

Manual only. Nothing is fetched again: pages keep their raw HTML. With the default params it
re-extracts pages whose extractor version differs from the current one (and then rebuilds the
stories), and re-classifies articles whose topic version differs (a topic file's ``version`` bump).
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
        from mediamon import pipeline

        if not params["re_extract"] and not params["force"]:
            return {"pages": 0}
        return pipeline.reextract_pages(settings(), force=params["force"])

    @task
    def dedupe(extracted: dict, params=None) -> dict:
        from mediamon import dedupe as stories, pipeline

        exact = pipeline.link_exact_duplicates(settings())
        # Re-extracted texts or new thresholds change the clusters: rebuild them from scratch.
        if extracted["pages"] or params["rebuild_stories"]:
            return exact | stories.rebuild_stories(settings())
        return exact

    @task
    def reclassify(deduped: dict, params=None) -> dict:
        from mediamon import pipeline

        return pipeline.classify_articles(settings()) if params["reclassify"] else {"classified": 0}

    reclassify(dedupe(re_extract()))


mediamon_reprocess()
