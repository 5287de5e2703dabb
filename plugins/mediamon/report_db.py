"""The report's database glue: one transaction reads the period, writes the files and records the
report, its ledger of articles and the new watermark.

Assembling and rendering are :mod:`mediamon.report`; the SQL is ``sql/queries/report.sql``.
"""
from __future__ import annotations

import json
import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from mediamon import store
from mediamon.report import assemble, render_html, report_directory, write_files
from mediamon.report_sections import trend_window
from mediamon.settings import Settings

log = logging.getLogger(__name__)


def build_report(settings: Settings, now: datetime | None = None, collection: str | None = None) -> dict[str, Any]:
    """Build, store and write the report on everything that became relevant since the last one.

    Parameters
    ----------
    settings : Settings
        ``settings.report`` picks the topic, table sizes and time zone; files go to
        ``settings.reports_dir/<database>/report-<id>/`` (:func:`mediamon.report.report_directory`).
    now : datetime, optional
        End of the period (timezone-aware). Defaults to the database's clock.
    collection : str, optional
        Report on the sources of this collection only. Such a report keeps its own watermark and
        ledger (``<topic>/<collection>``), so it never takes articles from the topic's main report.

    Returns
    -------
    dict
        ``report_id``, ``topic_id``, ``period`` (``start``, ``end`` as ISO strings; ``start`` is
        None for the first report), ``counts``, ``changes`` (against the previous report, None for
        the first), ``empty`` and ``paths`` (``html``, ``json``, ``dir``): small enough for XCom.
    """
    cfg = settings.report
    directory: Path | None = None
    scope = {"topic_id": cfg.topic_id, "collection": collection,
             "ledger": cfg.topic_id if collection is None else f"{cfg.topic_id}/{collection}"}
    try:
        with store.transaction(settings) as conn:
            store.execute(conn, "report.lock", scope)
            period_end = now or store.scalar(conn, "report.clock")
            watermark = store.rows(conn, "report.watermark", scope)
            period_start = watermark[0].reported_until if watermark else None
            look_back_from = period_start - timedelta(hours=cfg.late_window_hours) if period_start else None
            article_ids = [r.article_id for r in store.rows(conn, "report.period_articles", {
                **scope, "period_end": period_end, "look_back_from": look_back_from})]
            previous = store.rows(conn, "report.previous_report", scope)
            report_id = store.scalar(conn, "report.next_report_id")
            data = collect(conn, settings, report_id, period_start, period_end, article_ids,
                           previous[0] if previous else None, collection)
            page = render_html(data)
            directory = report_directory(settings.reports_dir, store.scalar(conn, "report.database_key"), report_id)
            files = write_files(directory, data, page)
            store.execute(conn, "report.insert_report", {
                **scope, "report_id": report_id, "period_start": period_start,
                "period_end": period_end, "counts": json.dumps(data["counts"]),
                "files": json.dumps(files), "html": page})
            if article_ids:
                store.execute_many_values(conn, "report.insert_report_articles",
                                          [(a, scope["ledger"], report_id) for a in article_ids])
            store.execute(conn, "report.advance_watermark", {
                **scope, "period_end": period_end, "report_id": report_id})
    except BaseException:
        # Without its row the directory is an orphan: remove it, so a retry starts clean.
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    summary = {
        "report_id": report_id,
        "topic_id": cfg.topic_id,
        "collection": collection,
        "period": data["period"],
        "counts": data["counts"],
        "changes": data["changes"],
        "empty": not article_ids,
        "paths": {"html": files["html"], "json": files["json"], "dir": str(directory)},
    }
    log.info("report %d written to %s: %s", report_id, files["html"], data["counts"])
    return summary


def collect(conn: sa.Connection, settings: Settings, report_id: int, period_start: datetime | None,
            period_end: datetime, article_ids: list[int], previous: Any,
            collection: str | None = None) -> dict[str, Any]:
    """Read the rows of the period's newly relevant ``article_ids`` (of one ``collection``'s sources,
    or all) and assemble the report's data."""
    cfg = settings.report
    params = {"topic_id": cfg.topic_id, "article_ids": article_ids, "collection": collection,
              "ledger": cfg.topic_id if collection is None else f"{cfg.topic_id}/{collection}"}
    copies = store.rows(conn, "report.story_articles", params)
    relevant_ids = [c.article_id for c in copies if c.relevant and not c.is_spam]
    regions = store.rows(conn, "report.article_regions", {**params, "article_ids": relevant_ids})
    pair_ids = [c.article_id for c in copies if c.in_period and not c.is_spam and c.relevant]
    pairs = store.rows(conn, "report.region_pairs", {**params, "article_ids": pair_ids})
    story_ids = sorted({c.story_key for c in copies if c.in_period and not c.is_spam and c.story_key > 0})
    story_events = store.rows(conn, "report.story_events", {**params, "story_ids": story_ids})
    scope = {**params, "timezone": cfg.timezone, "period_end": period_end}
    end_day = period_end.astimezone(ZoneInfo(cfg.timezone)).date()
    days = store.rows(conn, "report.story_days", {**scope, "period_end_day": end_day})[0]
    first_day, last_day = trend_window(days.first_day, days.last_day, end_day, cfg.trend_days,
                                       whole_history=period_start is None)
    window = {**scope, "first_day": first_day, "last_day": last_day}
    trend_stories = store.rows(conn, "report.daily_stories", window)
    collected = {r.day: r.articles for r in store.rows(conn, "report.collected_per_day", window)}
    return assemble(cfg, report_id, period_start, period_end, copies, regions, pairs, previous,
                    trend_window=(first_day, last_day), trend_stories=trend_stories, collected=collected,
                    story_events=story_events, collection=collection)
