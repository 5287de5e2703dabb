"""The source list and the schema: loading, syncing, migrating."""
from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from mediamon import sources_db, store
from mediamon.results import SyncResult
from mediamon.settings import PROJECT_ROOT
from mediamon.sources import load_sources


def test_shipped_source_files_are_valid():
    demo = load_sources(PROJECT_ROOT / "seeds" / "sources.yaml")
    assert {s.kind for s in demo} == {"rss", "atom", "sitemap", "listing", "page"}
    assert all(s.allow_private for s in demo)
    production = load_sources(PROJECT_ROOT / "seeds" / "sources.production.yaml")
    assert production and not any(s.allow_private for s in production)


def test_sync_upserts_and_disables_removed_sources(settings, tmp_path):
    path = tmp_path / "sources.yaml"
    entry = "  - {{id: {0}, name: N{0}, language: zh, kind: rss, url: 'https://{0}.example.cn/rss.xml'}}\n"
    path.write_text("sources:\n" + entry.format("a") + entry.format("b"), encoding="utf-8")
    settings = replace(settings, sources_file=path)
    assert sources_db.sync_sources(settings).new == 2
    assert sources_db.sync_sources(settings) == SyncResult(source_ids=("a", "b"), sources=2, new=0, disabled=0)
    path.write_text("sources:\n" + entry.format("a"), encoding="utf-8")
    assert sources_db.sync_sources(settings).disabled == 1
    with store.transaction(settings) as conn:
        enabled = dict(conn.execute(sa.text("SELECT source_id, enabled FROM sources")).all())
    assert enabled == {"a": True, "b": False}


def test_migrations_are_recorded_and_idempotent(settings):
    engine = store.engine(settings)
    assert store.upgrade(engine) == []
    with engine.connect() as conn:
        recorded = [r[0] for r in conn.execute(sa.text("SELECT name FROM schema_migrations ORDER BY version"))]
    assert recorded == [name for _, name, _ in store.migration_files()]


def test_named_queries_bind_parameters(settings):
    hostile = "x'); DROP TABLE sources; --"
    with store.transaction(settings) as conn:
        assert store.rows(conn, "discover.source", {"source_id": hostile}) == []
        assert conn.execute(sa.text("SELECT count(*) FROM sources")).scalar() == 0


@pytest.mark.parametrize("name", ["sources.yaml", "sources.production.yaml"])
def test_every_seed_source_names_its_outlet_and_collections(name):
    from mediamon.sources import OUTLET_TIERS

    sources = load_sources(PROJECT_ROOT / "seeds" / name)
    assert sources and all(s.outlet_tier in OUTLET_TIERS and s.media_type and s.collections for s in sources)


def test_demo_site_sources_carry_outlets(demo_site, tmp_path):
    from mediamon.demo_site import sources_yaml

    path = tmp_path / "sources.yaml"
    path.write_text(sources_yaml(demo_site), encoding="utf-8")
    tiers = {s.source_id: (s.outlet_tier, s.outlet_province, s.collections) for s in load_sources(path)}
    assert tiers["demo-news-rss"] == ("central", None, ("demo", "originals"))
    assert tiers["demo-repost-atom"] == ("portal", "310000", ("demo", "aggregators"))
