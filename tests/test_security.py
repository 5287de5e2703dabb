"""Security: hostile strings are stored verbatim and do no harm; passwords never reach the logs.

Both through the real pipeline, against real Postgres and a local HTTP server on 127.0.0.1.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import replace

import pytest
import yaml
from sqlalchemy.engine import make_url

from conftest import count_rows
from hostile_server import SQL_INJECTION, HostileServer
from mediamon import db, pipeline, store
from mediamon.errors import ConfigError
from mediamon.fetch import FetchError, redact_userinfo
from mediamon.sources import load_sources


@pytest.fixture(scope="module")
def server():
    with HostileServer() as main:
        yield main


def write_sources(tmp_path, server, entries):
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump([
        {"id": id_, "name": id_, "language": "zh", "kind": kind, "url": url, "crawl_delay_s": 0,
         "allow_private": [server.authority]} for id_, kind, url in entries]), encoding="utf-8")
    return path


def test_sql_injection_in_titles_and_urls_is_stored_verbatim(settings, server, tmp_path):
    path = write_sources(tmp_path, server, [("inject", "rss", server.url + "/feed/inject.xml")])
    counts = pipeline.ingest(replace(settings, sources_file=path))
    assert counts.new_articles == 3
    # Every table is still there and holds what one run of three pages should.
    tables = count_rows(settings)
    assert tables == {"sources": 1, "discovery_documents": 1, "urls": 3, "pages": 3, "articles": 3}
    with store.transaction(settings) as conn:
        urls = {r.canonical_url: r.listed_title for r in conn.exec_driver_sql(
            "SELECT canonical_url, listed_title FROM urls")}
        titles = {r.canonical_url: r.title for r in conn.exec_driver_sql("SELECT canonical_url, title FROM articles")}
    assert set(urls.values()) == {SQL_INJECTION}
    assert server.url + "/ok/x%27%3BDROP%20TABLE%20urls%3B--" in urls
    assert server.url + "/ok/1%27%20OR%20%271%27=%271" in urls
    assert SQL_INJECTION in titles[server.url + "/inject/page"]


@pytest.fixture
def secret_run(settings, server, tmp_path, caplog):
    """One ingest (a failing page, a garbage feed, a good page) with a password in the database URL
    and every logger at DEBUG. Returns the password and the log records."""
    password = f"pw-{uuid.uuid4().hex}"
    # The test server trusts local connections, so the password is accepted and ignored.
    database_url = make_url(settings.database_url).set(password=password).render_as_string(hide_password=False)
    path = write_sources(tmp_path, server, [
        ("failing-page", "page", f"{server.url}/status/500"),
        ("garbage-feed", "rss", f"{server.url}/feed/garbage.xml"),
        ("good-page", "page", f"{server.url}/ok/secret"),
    ])
    run_settings = replace(settings, database_url=database_url, sources_file=path,
                           fetch=replace(settings.fetch, max_retries=0, min_host_delay_s=0))
    caplog.set_level(logging.DEBUG)
    try:
        counts = pipeline.ingest(run_settings)
    finally:
        store.engine_for(db.to_sqlalchemy_url(database_url)).dispose()
    assert counts.fetched == 1
    return password, caplog.records


def test_the_database_password_is_never_logged(secret_run):
    password, records = secret_run
    assert records and not [r for r in records if password in r.getMessage()]


def test_source_urls_with_credentials_are_refused_without_echoing_them(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("- {id: s, name: S, language: zh, kind: rss, url: 'http://reader:hunter2@news.example.cn/rss'}\n")
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    assert "field 'url'" in str(caught.value) and "hunter2" not in str(caught.value)


def test_redaction_helpers():
    assert db.redact("postgresql://app:hunter2@db.internal:5432/mediamon") == \
        "postgresql://app:***@db.internal:5432/mediamon"
    assert db.redact("postgresql://app@db/x") == "postgresql://app@db/x"
    assert redact_userinfo("GET http://u:p%40ss@h/a failed; see https://v:w@h2/") == \
        "GET http://u:***@h/a failed; see https://v:***@h2/"
    assert "hunter2" not in str(FetchError("timeout", "http://u:hunter2@127.0.0.1/x"))


def test_a_mistyped_database_url_does_not_leak_its_password():
    with pytest.raises(ValueError) as caught:
        db.to_sqlalchemy_url("app:hunter2@db/x")
    assert "hunter2" not in str(caught.value)


def test_docker_compose_has_no_default_secrets():
    """`docker compose up` refuses to start (``${VAR:?message}``) until the JWT secret, the
    Postgres password and the admin password are set; none of them has a usable default."""
    import re

    import yaml

    from mediamon.settings import PROJECT_ROOT

    text = (PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    yaml.safe_load(text)
    for secret in ("AIRFLOW_JWT_SECRET", "POSTGRES_PASSWORD", "AIRFLOW_ADMIN_PASSWORD"):
        uses = re.findall(r"\$\{" + secret + r"(:?[-?=+]?)[^}]*\}", text)
        assert uses and set(uses) == {":?"}, (secret, uses)
    assert "change-me" not in text and ":-airflow}" not in text
    # The api-server writes the admin's password from the environment before starting, so
    # SimpleAuthManager never generates one or falls back to a known one.
    assert 'os.environ["AIRFLOW_ADMIN_PASSWORD"]' in text and "SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in text
