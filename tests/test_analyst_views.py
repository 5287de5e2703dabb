"""The analysts' SQL layer: the read-only role, and every example query of docs/analyst-guide.md
run as that role against the demo site's data."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from mediamon import pipeline, report_db, store
from mediamon.settings import PROJECT_ROOT

GUIDE = PROJECT_ROOT / "docs" / "analyst-guide.md"
ROLE = "mediamon_analyst"


def guide_queries() -> list[str]:
    """The guide's ```sql blocks (```text blocks hold administrator commands, not examples)."""
    return re.findall(r"^```sql\n(.*?)^```", GUIDE.read_text(encoding="utf-8"), re.S | re.M)


@pytest.fixture
def demo_data(demo_settings):
    pipeline.ingest(demo_settings)
    report_db.build_report(demo_settings)
    return demo_settings


@pytest.fixture
def as_analyst(settings):
    """A connection acting as the analyst role for one transaction, rolled back at the end."""
    with store.engine(settings).connect() as conn:
        transaction = conn.begin()
        conn.exec_driver_sql(f"SET LOCAL ROLE {ROLE}")
        yield conn
        transaction.rollback()


def analyst_views(settings) -> set[str]:
    with store.transaction(settings) as conn:
        return {r[0] for r in conn.execute(sa.text(
            "SELECT table_name FROM information_schema.views WHERE table_schema = 'analyst'"))}


@pytest.mark.parametrize("query", guide_queries(), ids=lambda q: q.split("\n")[0][:60])
def test_every_guide_example_runs_as_the_analyst_and_returns_rows(demo_data, query):
    with store.engine(demo_data).connect() as conn, conn.begin():
        conn.exec_driver_sql(f"SET LOCAL ROLE {ROLE}")
        rows = conn.exec_driver_sql(query.replace("%", "%%")).fetchall()
    assert rows, "the example returns nothing on the demo data"


def test_guide_documents_every_analyst_view(settings):
    headings = set(re.findall(r"^## analyst\.(\w+)$", GUIDE.read_text(encoding="utf-8"), re.M))
    assert analyst_views(settings) <= headings
    assert {"articles", "stories", "topic_hits", "region_pairs", "daily_coverage", "source_health"} <= headings


def test_analyst_reads_every_view(settings, as_analyst):
    for view in analyst_views(settings):
        as_analyst.exec_driver_sql(f"SELECT * FROM analyst.{view} LIMIT 1").fetchall()


@pytest.mark.parametrize("statement", [
    "SELECT * FROM public.articles",
    "SELECT * FROM public.reports",
    "SELECT * FROM public.sources",
    "INSERT INTO analyst.reports (topic_id, period_end, counts, files) VALUES ('x', now(), '{}', '{}')",
    "UPDATE analyst.regions SET name = 'x'",
    "DELETE FROM analyst.reports",
    "INSERT INTO public.sources (source_id, name, language, kind, url) VALUES ('x', 'x', 'zh', 'rss', 'x')",
    "UPDATE public.articles SET title = 'x'",
    "DELETE FROM public.report_watermarks",
    "TRUNCATE public.reports",
    "CREATE TABLE public.scratch (x int)",
    "CREATE TABLE analyst.scratch (x int)",
    "CREATE VIEW analyst.scratch AS SELECT 1",
    "DROP VIEW analyst.articles",
    "CREATE SCHEMA scratch",
])
def test_analyst_role_cannot_write_or_read_base_tables(settings, as_analyst, statement):
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied|must be owner"):
        as_analyst.exec_driver_sql(statement)


def test_analyst_role_has_a_statement_timeout_no_temp_and_connects_only_by_grant(settings, as_analyst):
    with store.transaction(settings) as conn:
        privileges = conn.execute(sa.text(
            "SELECT has_database_privilege(:role, current_database(), 'TEMPORARY'),"
            "       has_database_privilege(:role, current_database(), 'CONNECT'),"
            "       has_database_privilege('public', current_database(), 'CONNECT'),"
            "       has_database_privilege(current_user, current_database(), 'TEMPORARY')"), {"role": ROLE}).one()
        config = conn.execute(sa.text(
            "SELECT setconfig FROM pg_db_role_setting WHERE setrole = CAST(:role AS regrole) AND setdatabase = 0"),
            {"role": ROLE}).scalar()
    # No temp tables (nor functions in pg_temp); CONNECT by explicit grant, not through PUBLIC;
    # the pipeline's own role keeps what it had.
    assert privileges == (False, True, False, True)
    assert "statement_timeout=120s" in config and "idle_in_transaction_session_timeout=600s" in config
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        as_analyst.exec_driver_sql("CREATE TEMP TABLE scratch (x int)")


def test_analyst_cannot_create_functions_anywhere(as_analyst):
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        as_analyst.exec_driver_sql("CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
