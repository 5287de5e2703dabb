"""Alert notifiers: Airflow's notifier interface over mediamon's alert messages.

Two channels, each configured by an Airflow connection and silent when it is absent:

- ``mediamon_alert_webhook``: JSON POST to ``extra.url`` (or the connection's host, when that is a
  whole URL) in ``extra.format``: ``json`` (default), ``slack``, ``dingtalk`` or ``wecom``.
  ``extra.allow_private`` lists the exact ``host:port`` pairs a receiver on a private or loopback
  address may use (as sources do); ``extra.timeout_s`` bounds the POST (default 10 s). E.g.
  ``AIRFLOW_CONN_MEDIAMON_ALERT_WEBHOOK='{"conn_type": "http", "extra": {"url":
  "https://oapi.dingtalk.com/robot/send?access_token=...", "format": "dingtalk"}}'``.
- ``smtp_default`` (the connection the report e-mail uses), with recipients in
  ``MEDIAMON_ALERT_EMAIL_TO``.

Scraped titles are never Jinja templates here (``template_fields`` is empty): Airflow's own
SmtpNotifier renders its subject and body as templates, so a headline holding ``{{ ... }}`` would
run as one. A channel that fails (hangs, answers 500, refuses) is logged and reported as not
delivered; it never raises, so an alert never fails the run it reports on.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from urllib.parse import urlsplit

from airflow.sdk.bases.notifier import BaseNotifier

from mediamon.alerts import Alert, AlertKind, email, webhook_payload

log = logging.getLogger(__name__)

WEBHOOK_CONN_ID = "mediamon_alert_webhook"
SMTP_CONN_ID = "smtp_default"


def _connection(conn_id: str):
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


class WebhookNotifier(BaseNotifier):
    """POSTs alerts to the webhook of connection ``conn_id``. ``delivered`` tells whether it took them."""

    template_fields: Sequence[str] = ()

    def __init__(self, alerts: Sequence[Alert] = (), *, run: str | None = None, conn_id: str = WEBHOOK_CONN_ID):
        super().__init__()
        self.alerts, self.run, self.conn_id = list(alerts), run, conn_id
        self.delivered: bool | None = None   # None: no such connection

    def notify(self, context) -> None:
        from mediamon.fetch import FetchError
        from mediamon.webhook import post_json

        alerts = self.alerts or run_failed_alerts(context)
        conn = _connection(self.conn_id)
        if conn is None or not alerts:
            return
        extra = conn.extra_dejson
        url = extra.get("url") or (conn.host if "://" in (conn.host or "") else None)
        if not url:
            log.error("alert webhook: connection %s has no extra.url", self.conn_id)
            self.delivered = False
            return
        run = self.run or _run_id(context)
        # The URL may carry an access token: only its host goes to the log.
        where = urlsplit(url).netloc
        try:
            status = post_json(url, webhook_payload(alerts, extra.get("format", "json"), run),
                               allow_private=extra.get("allow_private") or (),
                               timeout_s=float(extra.get("timeout_s", 10)))
        except (FetchError, ValueError) as exc:
            log.error("alert webhook %s: not delivered (%s)", where, exc)
            self.delivered = False
            return
        self.delivered = 200 <= status < 300
        log.log(logging.INFO if self.delivered else logging.ERROR, "alert webhook %s: %d alerts, HTTP %d",
                where, len(alerts), status)


class EmailNotifier(BaseNotifier):
    """E-mails alerts through connection ``smtp_default`` to ``MEDIAMON_ALERT_EMAIL_TO``."""

    template_fields: Sequence[str] = ()

    def __init__(self, alerts: Sequence[Alert] = (), *, run: str | None = None, conn_id: str = SMTP_CONN_ID):
        super().__init__()
        self.alerts, self.run, self.conn_id = list(alerts), run, conn_id
        self.delivered: bool | None = None

    def notify(self, context) -> None:
        recipients = [r.strip() for r in os.environ.get("MEDIAMON_ALERT_EMAIL_TO", "").split(",") if r.strip()]
        alerts = self.alerts or run_failed_alerts(context)
        if not recipients or not alerts or _connection(self.conn_id) is None:
            return
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        subject, page = email(alerts, self.run or _run_id(context))
        try:
            with SmtpHook(smtp_conn_id=self.conn_id) as smtp:
                smtp.send_email_smtp(to=recipients, subject=subject, html_content=page)
        except Exception as exc:  # any SMTP or socket failure: reported, never raised
            log.error("alert e-mail: not delivered (%s)", exc)
            self.delivered = False
            return
        self.delivered = True


def send(alerts: Sequence[Alert], run: str | None, context=None) -> str | None:
    """Send ``alerts`` on every configured channel. Returns the channels that took them
    (``"webhook,email"``), ``"none configured"`` when there is no channel, None when all failed."""
    notifiers = [WebhookNotifier(alerts, run=run), EmailNotifier(alerts, run=run)]
    for notifier in notifiers:
        notifier.notify(context or {})
    took = [name for name, n in zip(("webhook", "email"), notifiers) if n.delivered]
    if took:
        return ",".join(took)
    return "none configured" if all(n.delivered is None for n in notifiers) else None


def run_failed_alerts(context) -> list[Alert]:
    """The alert for a failed task (a task's ``on_failure_callback`` context)."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    run_id = _run_id(context) or "?"
    task_id = getattr(ti, "task_id", None)
    error = context.get("exception") or context.get("reason") or ""
    what = f"{dag_id}: task {task_id} failed" if task_id else f"{dag_id}: run failed"
    return [Alert(AlertKind.RUN_FAILED, f"failed:{dag_id}:{run_id}:{task_id}", what, str(error)[:300])]


def _run_id(context) -> str | None:
    run = context.get("dag_run") if context else None
    return getattr(run, "run_id", None) or (context.get("run_id") if context else None)
