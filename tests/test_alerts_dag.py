"""Alerts end to end: real mediamon_ingest runs (dag.test) post to a webhook receiver on 127.0.0.1."""
from __future__ import annotations

import json

from conftest import DAGS
from webhook_receiver import WebhookReceiver


def _connect(monkeypatch, receiver: WebhookReceiver, fmt: str, timeout_s: float = 10) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MEDIAMON_ALERT_WEBHOOK", json.dumps({
        "conn_type": "http", "extra": {"url": receiver.url, "format": fmt, "timeout_s": timeout_s,
                                       "allow_private": [receiver.authority]}}))


def _ingest_dag(monkeypatch, demo_settings):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("MEDIAMON_DATABASE_URL", demo_settings.database_url)
    monkeypatch.setenv("MEDIAMON_SOURCES", str(demo_settings.sources_file))
    return DagBag(dag_folder=str(DAGS)).get_dag("mediamon_ingest")


def test_new_pairs_post_one_message_and_a_hanging_receiver_fails_nothing(airflow_home, demo_settings, monkeypatch):
    from airflow.utils.state import DagRunState

    from mediamon import store

    dag = _ingest_dag(monkeypatch, demo_settings)
    with WebhookReceiver("hang") as hanging:
        _connect(monkeypatch, hanging, "dingtalk", timeout_s=2)
        assert dag.test(run_conf={"all_sources": False}).state == DagRunState.SUCCESS
    assert len(hanging.messages) == 1  # tried once, timed out, and the run still succeeded
    with store.transaction(demo_settings) as conn:
        pending = conn.exec_driver_sql("SELECT count(*) FROM alerts WHERE sent_at IS NULL AND kind = 'new_pair'").scalar()
    assert pending >= 1  # kept for the next run

    with WebhookReceiver() as receiver:
        _connect(monkeypatch, receiver, "dingtalk")
        assert dag.test(run_conf={"all_sources": True}).state == DagRunState.SUCCESS
        [message] = receiver.messages
        text = message["json"]["markdown"]["text"]
        assert message["json"]["msgtype"] == "markdown"
        assert "New cooperation region pairs:" in text and "](http://127.0.0.1:" in text
        with store.transaction(demo_settings) as conn:
            # One line per relevant, non-spam article with pairs; every pair of them named once.
            pairs = conn.exec_driver_sql(
                "SELECT count(DISTINCT (region_a, region_b)), count(DISTINCT article_id) FROM article_region_pairs p "
                "JOIN article_topics t USING (article_id, topic_id) JOIN analyst.articles a USING (article_id) "
                "WHERE t.relevant AND NOT a.is_spam").one()
            assert conn.exec_driver_sql("SELECT count(*) FROM alerts WHERE sent_at IS NULL").scalar() == 0
        section = text.split("New cooperation region pairs:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        assert 1 <= len(section) <= pairs[1] and all(line.startswith("- ") for line in section)
        assert sum(line.split(": [", 1)[0].count("; ") + 1 for line in section) == pairs[0]
        # Nothing new in the next run: no message.
        assert dag.test(run_conf={"all_sources": True}).state == DagRunState.SUCCESS
        assert len(receiver.messages) == 1


def test_a_failed_task_alerts_through_on_failure_callback(airflow_home, demo_settings, monkeypatch, tmp_path):
    from airflow.utils.state import DagRunState

    broken = tmp_path / "broken.yaml"
    broken.write_text("sources:\n  - {id: x, name: X, language: en, kind: nonsense, url: 'http://127.0.0.1:9/'}\n")
    dag = _ingest_dag(monkeypatch, demo_settings)
    monkeypatch.setenv("MEDIAMON_SOURCES", str(broken))
    with WebhookReceiver() as receiver:
        _connect(monkeypatch, receiver, "slack")
        assert dag.test(run_conf={"all_sources": False}).state == DagRunState.FAILED
    texts = [m["json"]["text"] for m in receiver.messages]
    assert len(texts) == 1 and "mediamon_ingest: task sync_sources failed" in texts[0]
    assert "configuration error" in texts[0] and "unknown kind" in texts[0]


def test_send_reports_failed_and_unconfigured_channels(airflow_home, monkeypatch):
    from mediamon.alerts import Alert, AlertKind
    from mediamon_airflow import notify

    alerts = [Alert(AlertKind.SOURCE_SILENT, "silent:s:1", "s", "no new URL for 13 h")]
    monkeypatch.delenv("AIRFLOW_CONN_MEDIAMON_ALERT_WEBHOOK", raising=False)
    assert notify.send(alerts, "run-1") == "none configured"
    with WebhookReceiver("error") as failing:
        _connect(monkeypatch, failing, "wecom")
        assert notify.send(alerts, "run-1") is None
    with WebhookReceiver() as receiver:
        _connect(monkeypatch, receiver, "wecom")
        assert notify.send(alerts, "run-1") == "webhook"
    assert failing.messages[0]["json"] == receiver.messages[0]["json"]
    assert receiver.messages[0]["json"]["markdown"]["content"].endswith("Sources silent:\n- s: no new URL for 13 h")


def test_alerts_by_email_through_the_smtp_connection(airflow_home, monkeypatch):
    from mediamon.alerts import Alert, AlertKind
    from mediamon_airflow import notify
    from smtp_receiver import SmtpReceiver

    alerts = [Alert(AlertKind.NEW_PAIR, "pair:t:a-b", "北京市 – 天津市", "<b>京津</b> {{ 7*7 }} 签约",
                    "http://news.example.cn/a/1.html")]
    monkeypatch.delenv("AIRFLOW_CONN_MEDIAMON_ALERT_WEBHOOK", raising=False)
    monkeypatch.setenv("MEDIAMON_ALERT_EMAIL_TO", "ops@example.invalid")
    with SmtpReceiver() as smtp:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "mediamon@example.invalid"}}))
        assert notify.send(alerts, "run-2") == "email"
    [message] = smtp.messages
    assert message["To"] == "ops@example.invalid" and message["Subject"].startswith("mediamon: 1 new cooperation")
    page = SmtpReceiver.html(message)
    # Escaped, and not rendered as a template: the braces arrive as they were written.
    assert "&lt;b&gt;京津&lt;/b&gt; {{ 7*7 }} 签约" in page and "<b>京津" not in page and "49" not in page
    assert '<a href="http://news.example.cn/a/1.html">' in page
