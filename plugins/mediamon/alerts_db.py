"""Alerts, database glue: record the events that alert, hand out the undelivered ones, mark them sent.

Messages are built by :mod:`mediamon.alerts`; sending is the caller's (the DAG's notifiers). An
event is recorded once under its key and stays pending until a channel took it, so a receiver
that is down gets it with a later batch and nothing is sent twice.
"""
from __future__ import annotations

import logging

from mediamon import store
from mediamon.alerts import Alert, AlertKind
from mediamon.settings import Settings

log = logging.getLogger(__name__)

# One message carries at most this many events; the rest wait for the next run.
MAX_PENDING = 200


def record_events(settings: Settings) -> int:
    """Record new region pairs and agreements of the report's topic, and silent or disabled sources."""
    topic = {"topic_id": settings.report.topic_id}
    with store.transaction(settings) as conn:
        added = (store.execute(conn, "alerts.record_new_pairs", topic).rowcount
                 + store.execute(conn, "alerts.record_new_agreements", topic).rowcount
                 + store.execute(conn, "alerts.record_source_events").rowcount)
    log.info("alerts: %d new events recorded", added)
    return added


def pending(settings: Settings) -> list[Alert]:
    with store.transaction(settings) as conn:
        rows = store.rows(conn, "alerts.pending", {"limit": MAX_PENDING})
    return [Alert(AlertKind(r.kind), r.alert_key, r.title, r.detail or "", r.url) for r in rows]


def mark_sent(settings: Settings, alerts: list[Alert], channel: str) -> None:
    with store.transaction(settings) as conn:
        store.execute(conn, "alerts.mark_sent", {"keys": [a.key for a in alerts], "channel": channel})
