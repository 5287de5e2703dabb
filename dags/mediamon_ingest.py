"""mediamon_ingest: sources -> due sources -> discover -> fetch -> extract and load -> dedupe -> classify -> events
-> alert.

Wiring only: every task calls the glue of its stage (``mediamon.<stage>_db``) and returns its
typed result as a plain dict (``to_xcom()``); ``RunCounts.merge_xcom`` sums the run's counts. XCom carries source ids,
URL-id batches and counts, never page bodies. ``classify`` publishes the run's counts on the
``mediamon_articles`` asset, so they show in the UI and can trigger the report DAG.

The DAG runs every 15 minutes (the pace floor) but discovers only the sources that are due by
their own pace (``analyst.source_health.next_due_at``); the others are counted in the asset extra
(``skipped``, of which ``on_hold``). Trigger with ``{"all_sources": true}`` to discover every source now.
``alert`` sends new region pairs, agreements and silent or disabled sources as one message per
run; a failed task alerts through ``on_failure_callback`` (see ``mediamon_airflow.notify``).
"""
from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, dag, task

from mediamon_airflow import ARTICLES_ASSET_URI, FETCH_POOL, settings
from mediamon_airflow.notify import EmailNotifier, WebhookNotifier

articles = Asset(name="mediamon_articles", uri=ARTICLES_ASSET_URI)


@dag(
    schedule=timedelta(minutes=15),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True,
                  "on_failure_callback": [WebhookNotifier(), EmailNotifier()]},
    params={"all_sources": Param(False, type="boolean", description="discover every source, due or not")},
    tags=["mediamon"],
    doc_md=__doc__,
)
def mediamon_ingest():
    @task
    def sync_sources() -> list[str]:
        from airflow.sdk.exceptions import AirflowFailException

        from mediamon import sources_db
        from mediamon.errors import ConfigError

        try:
            return list(sources_db.sync_sources(settings()).source_ids)
        except ConfigError as exc:  # a bad config does not fix itself on retry
            raise AirflowFailException(f"configuration error: {exc}") from None

    @task
    def due_sources(source_ids: list[str], params=None) -> list[str]:
        from mediamon import pace_db

        if params and params.get("all_sources"):
            return source_ids
        return pace_db.schedule(settings(), source_ids).due

    @task(map_index_template="{{ task.op_kwargs['source_id'] }}")
    def discover(source_id: str) -> dict:
        from mediamon import discover_db

        return discover_db.discover_source(settings(), source_id).to_xcom()

    # all_done: one source's failed discovery must not stop the others' pages.
    @task(trigger_rule="all_done")
    def plan_fetch() -> list[list[int]]:
        from mediamon import fetch_db

        return fetch_db.plan_fetch(settings())

    @task(pool=FETCH_POOL)
    def fetch(url_ids: list[int]) -> dict:
        from mediamon import fetch_db

        return fetch_db.fetch_batch(settings(), url_ids).to_xcom()

    # Mapped per fetch batch, so the CPU-heavy extraction spreads over workers; all_done: a batch
    # whose fetch task failed still has its fetched pages extracted.
    @task(trigger_rule="all_done")
    def extract_and_load(url_ids: list[int]) -> dict:
        from mediamon import extract_db

        return extract_db.extract_pages(settings(), url_ids=url_ids).to_xcom()

    # Also extracts pages fetched by an earlier run that died before extracting them. all_done: a
    # failed fetch or extract batch must not keep the batches that succeeded from their stories.
    @task(trigger_rule="all_done")
    def dedupe() -> dict:
        from mediamon import pipeline

        return pipeline.dedupe(settings()).to_xcom()

    # all_done: whatever failed upstream, what was loaded is classified and the counts publish,
    # with the number of failed task instances (``failed_tasks``) for the operator to see.
    @task(outlets=[articles], trigger_rule="all_done")
    def classify(source_ids: list[str], due: list[str], discovered: list[dict], batches: list[list[int]],
                 fetched: list[dict], extracted: list[dict], deduped: dict | None, *, outlet_events=None) -> dict:
        import dataclasses

        from mediamon import classify_db, events_db, health_db
        from mediamon.results import RunCounts

        # A failed upstream task leaves None (sync_sources, plan_fetch) or gaps in the mapped results.
        source_ids, due, batches = source_ids or [], due or [], batches or []
        discovered, fetched, extracted = discovered or [], fetched or [], extracted or []
        classified = classify_db.classify_articles(settings()).to_xcom()
        linked = events_db.link_events(settings()).to_xcom()
        counts = RunCounts.merge_xcom(discovered, fetched, extracted, deduped or {}, classified, linked)
        expected = len(due) + 2 * len(batches) + 1  # discover per due source, fetch and extract per batch, dedupe
        done = sum(1 for xcoms in (discovered, fetched, extracted) for i in range(len(xcoms)) if xcoms[i] is not None)
        extra = dataclasses.replace(counts, failed_tasks=expected - done - (deduped is not None)).to_xcom()
        # Sources this run did not discover: not due yet by their pace, or held back by health.
        skipped = set(source_ids) - set(due)
        extra |= {"skipped": len(skipped), "on_hold": len(skipped & set(health_db.sources_on_hold(settings())))}
        outlet_events[articles].extra = extra
        print("mediamon_ingest counts:", extra)
        return extra

    # none_failed, as a leaf: after a failure it is upstream_failed and the run fails (all_done would
    # succeed and mark the run a success). The failure alerts through on_failure_callback, and the
    # events of this run wait in the alerts table for the next run's message.
    @task(trigger_rule="none_failed")
    def alert(run_id=None) -> dict:
        from mediamon import alerts_db
        from mediamon_airflow import notify

        alerts_db.record_events(settings())
        pending = alerts_db.pending(settings())
        if not pending:
            return {"alerts": 0, "sent_to": None}
        channel = notify.send(pending, run_id)
        if channel:  # else a later run sends them with its own
            alerts_db.mark_sent(settings(), pending, channel)
        print(f"mediamon_ingest alerts: {len(pending)} pending, sent to: {channel or 'nobody (all channels failed)'}")
        return {"alerts": len(pending), "sent_to": channel}

    source_ids = sync_sources()
    due = due_sources(source_ids)
    discovered = discover.expand(source_id=due)
    batches = plan_fetch()
    discovered >> batches
    fetched = fetch.expand(url_ids=batches)
    extracted = extract_and_load.expand(url_ids=batches)
    fetched >> extracted
    deduped = dedupe()
    extracted >> deduped
    counts = classify(source_ids, due, discovered, batches, fetched, extracted, deduped)
    # alert (none_failed) also waits on the mapped tasks: when one of them failed it ends
    # upstream_failed, so the run ends failed (the failed task alerted through its callback).
    [counts, discovered, fetched, extracted] >> alert()


mediamon_ingest()
