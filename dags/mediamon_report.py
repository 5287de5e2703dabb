"""mediamon_report: the report on regional-cooperation coverage that is new since the last report.

Wiring only: ``build`` calls :func:`mediamon.report_db.build_report`, which reads the period from the
watermark in the database, writes HTML, CSV and JSON and records the report in one transaction, so
a failed run changes nothing and the next run covers the whole gap. An empty period still gives a
report ("no new coverage"). The summary (id, period, counts, paths) is printed to the task log,
returned as XCom and put on the ``mediamon_reports`` asset event. ``email`` sends the page through
Airflow's SMTP provider (connection ``smtp_default``) only when ``MEDIAMON_REPORT_EMAIL_TO`` is set.

Param ``collection`` (a name from the sources YAML) builds the report on that collection's sources
only, with its own watermark.

Schedule: ``MEDIAMON_REPORT_CRON`` (default 08:00) in ``MEDIAMON_REPORT_TIMEZONE`` (default
Asia/Shanghai); with ``MEDIAMON_REPORT_ON_INGEST=true`` also after each update of the ingest asset.
"""
from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, dag, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from mediamon.settings import Settings
from mediamon_airflow import ARTICLES_ASSET_URI, settings

articles = Asset(name="mediamon_articles", uri=ARTICLES_ASSET_URI)
reports = Asset(name="mediamon_reports", uri="postgres://mediamon/public/reports")

# Only the environment is read at parse time: no database, no network.
config = Settings.from_env().report
cron = CronTriggerTimetable(config.schedule_cron, timezone=config.timezone)


@dag(
    schedule=AssetOrTimeSchedule(timetable=cron, assets=[articles]) if config.on_ingest else cron,
    start_date=pendulum.datetime(2026, 1, 1, tz=config.timezone),
    catchup=False,
    # Runs serialize on the watermark anyway; one at a time keeps the log readable.
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["mediamon"],
    doc_md=__doc__,
    # Trigger with {"collection": "central-media"} for a report on one collection of sources.
    params={"collection": Param(None, type=["null", "string"],
                                description="report on the sources of this collection only")},
)
def mediamon_report():
    @task(outlets=[reports])
    def build(*, params=None, outlet_events=None) -> dict:
        from mediamon import report_db

        summary = report_db.build_report(settings(), collection=(params or {}).get("collection") or None)
        outlet_events[reports].extra = summary
        print("mediamon_report summary:", summary)
        print("mediamon_report html:", summary["paths"]["html"])
        return summary

    @task
    def email(summary: dict) -> str:
        recipients = settings().report.email_to
        if not recipients:
            print("email delivery is off (MEDIAMON_REPORT_EMAIL_TO is not set)")
            return "off"
        from pathlib import Path

        from airflow.providers.smtp.hooks.smtp import SmtpHook

        html_path = summary["paths"]["html"]
        with SmtpHook(smtp_conn_id="smtp_default") as smtp:
            smtp.send_email_smtp(
                to=[r.strip() for r in recipients.split(",") if r.strip()],
                subject=f"mediamon report #{summary['report_id']}: {summary['counts']['new_stories']} new stories",
                html_content=Path(html_path).read_text(encoding="utf-8"),
                files=[html_path, summary["paths"]["json"]],
            )
        return recipients

    email(build())


mediamon_report()
