"""Pace, database glue: record each discover, save the learned pace, pick the sources that are due,
keep the discover history's months.

The model is :mod:`mediamon.pace`; its SQL is ``sql/queries/pace.sql``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from mediamon import store
from mediamon.pace import Pace, Poll, learn_pace
from mediamon.results import HistoryMonthsResult
from mediamon.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Schedule:
    """Which sources a run discovers, and which it skips and why."""

    due: list[str]
    not_due: list[str]
    on_hold: list[str]


def record_discover(settings: Settings, source_id: str, *, answered: bool, links: int, new_urls: int) -> Pace:
    """Record one discover of ``source_id`` and save its pace (interval, due time, silence)."""
    knobs = settings.pace
    with store.transaction(settings) as conn:
        store.execute(conn, "pace.record_poll", {"source_id": source_id, "answered": answered,
                                                 "links": links, "new_urls": new_urls})
        polls = [Poll(r.discovered_at, r.answered, r.new_urls) for r in store.rows(
            conn, "pace.polls", {"source_id": source_id, "history_days": knobs.history_days})]
        pace = learn_pace(polls, knobs)
        row = store.rows(conn, "pace.save_pace", {
            "source_id": source_id, "publish_gap_s": pace.publish_gap_s, "poll_interval_s": pace.interval_s,
            "next_due_at": pace.next_due_at, "last_new_at": pace.last_new_at, "silent": pace.silent,
            "expected_gap_s": pace.expected_gap_s, "observed_gap_s": pace.observed_gap_s})[0]
    if row.newly_silent and pace.observed_gap_s is not None and pace.expected_gap_s is not None:
        log.warning("source %s is silent: no new URL for %.1f h, usually one every %.1f h", source_id,
                    pace.observed_gap_s / 3600, pace.expected_gap_s / 3600)
    log.info("source %s: one new URL every %.0f min, next discover in %.0f min (at %s)", source_id,
             pace.publish_gap_s / 60, pace.interval_s / 60, pace.next_due_at)
    return pace


def schedule(settings: Settings, source_ids: list[str]) -> Schedule:
    """Split ``source_ids`` into those due now, those not yet due and those on hold (health)."""
    with store.transaction(settings) as conn:
        rows = store.rows(conn, "pace.schedule", {"source_ids": list(source_ids)})
    plan = Schedule(due=[r.source_id for r in rows if r.due and not r.on_hold],
                    not_due=[r.source_id for r in rows if not r.due and not r.on_hold],
                    on_hold=[r.source_id for r in rows if r.on_hold])
    log.info("schedule: %d sources due, %d not yet due, %d on hold (%s)", len(plan.due), len(plan.not_due),
             len(plan.on_hold), ", ".join(plan.on_hold) or "none")
    return plan


def keep_history_months(settings: Settings) -> HistoryMonthsResult:
    """mediamon_maintenance's upkeep of ``discover_outcomes`` (partitioned by month, migration 019):
    create the current and next month ahead (moving any row the DEFAULT partition caught into its
    month), then drop the months wholly older than ``PaceSettings.history_days``. A poll never
    deletes: the pace reads only its window, and a month goes in one ``DROP``."""
    with store.transaction(settings) as conn:
        store.execute(conn, "pace.lock_timeout")
        created = tuple(r.name for r in store.rows(conn, "pace.ensure_history_months"))
        dropped = tuple(r.name for r in store.rows(
            conn, "pace.drop_history_months", {"history_days": settings.pace.history_days}))
    log.info("discover history: months created %s, dropped %s", ", ".join(created) or "none",
             ", ".join(dropped) or "none")
    return HistoryMonthsResult(months_created=created, months_dropped=dropped)
