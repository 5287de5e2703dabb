"""Source health (all database glue, ``sql/queries/health.sql``): a failure score per source,
backoff of its next attempt, automatic disable.

Every discover run and every fetch batch of a source records one outcome. A failure adds
``hard_weight`` or ``temporary_weight`` to the source's score and pushes its next attempt out
exponentially; a success multiplies the score by ``success_decay`` and ends the backoff. At
``disable_score`` the source is disabled with the reason recorded, until :func:`reenable_source`.

The auto-disable lives in ``source_health.disabled_at``, apart from ``sources.enabled`` (the
user's intent, rewritten from the sources YAML on every sync), so a sync never re-enables a
source the pipeline gave up on. ``analyst.source_health`` shows it all.
"""
from __future__ import annotations

import logging

from mediamon import store
from mediamon.errors import UnknownSource
from mediamon.settings import Settings

log = logging.getLogger(__name__)


def record_success(settings: Settings, source_id: str, stage: str) -> None:
    with store.transaction(settings) as conn:
        store.execute(conn, "health.record_success", {
            "source_id": source_id, "stage": stage, "decay": settings.health.success_decay})


def record_failure(settings: Settings, source_id: str, stage: str, reason: str, *, hard: bool) -> None:
    """Count one failed attempt of ``stage`` (discover or fetch) with reason code ``reason``."""
    knobs = settings.health
    with store.transaction(settings) as conn:
        row = store.rows(conn, "health.record_failure", {
            "source_id": source_id, "stage": stage, "reason": reason, "hard": hard,
            "weight": knobs.hard_weight if hard else knobs.temporary_weight,
            "disable_score": knobs.disable_score, "base_s": knobs.backoff_base_s,
            "max_s": knobs.backoff_max_s})[0]
    if row.newly_disabled:
        log.warning("source %s is disabled: %s (re-enable with `mediamon sources enable %s`)",
                    source_id, row.disabled_reason, source_id)
    else:
        log.info("source %s: %s failure (%s), score %.1f, next attempt after %s",
                 source_id, "hard" if hard else "temporary", reason, row.failure_score, row.next_attempt_at)


def sources_on_hold(settings: Settings) -> dict[str, str]:
    """Sources not to attempt now, each with why: ``disabled: <reason>`` or ``backoff until <time>``."""
    with store.transaction(settings) as conn:
        rows = store.rows(conn, "health.sources_on_hold")
    return {r.source_id: f"disabled: {r.disabled_reason}" if r.disabled else f"backoff until {r.next_attempt_at}"
            for r in rows}


def reenable_source(settings: Settings, source_id: str) -> None:
    """Clear a source's auto-disable, score and backoff; raises :class:`UnknownSource` for an unknown source id.

    ``sources.enabled`` is not touched: a source disabled in the YAML stays disabled.
    """
    with store.transaction(settings) as conn:
        if not store.scalar(conn, "health.source_exists", {"source_id": source_id}):
            raise UnknownSource(source_id)
        store.execute(conn, "health.reenable_source", {"source_id": source_id})
    log.info("source %s re-enabled", source_id)


def health(settings: Settings) -> list[dict[str, object]]:
    """The rows of ``analyst.source_health``."""
    with store.transaction(settings) as conn:
        return [dict(r._mapping) for r in store.rows(conn, "health.health")]
