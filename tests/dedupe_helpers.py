"""Articles for the dedupe tests, inserted straight into the test database (no fetching)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mediamon import dedupe, store
from mediamon.settings import PROJECT_ROOT, Settings

SEEDS = PROJECT_ROOT / "seeds"
T0 = datetime(2024, 3, 20, 2, 0, tzinfo=UTC)


def seed_paragraphs(prefix: str) -> list[str]:
    """The Chinese paragraphs of a seed document (before any appended translation)."""
    text = next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")
    lines = [line.strip() for line in text.split("英文翻译内容")[0].splitlines()]
    return [line for line in lines if len(line) >= 60 and "。" in line]


def distinct_texts() -> list[str]:
    """Paragraph-sized texts from the seeds, each about something else: separate stories."""
    paragraphs = seed_paragraphs("002") + seed_paragraphs("004") + seed_paragraphs("001")
    return [p for p in paragraphs if len(p) >= 80]


def add_article(settings: Settings, site: str, path: str, text: str, *, title: str | None = None,
                published_at: datetime | None = None, site_name: str | None = None,
                source_attribution: str | None = None, trust: float | None = None) -> int:
    """Insert one article of ``site`` (host:port) at ``http://{site}/{path}``; returns its id."""
    source_id = f"test-{site}"
    with store.transaction(settings) as conn:
        store.execute(conn, "dedupe.insert_test_source", {
            "source_id": source_id, "url": f"http://{site}/",
            "settings": json.dumps({} if trust is None else {"trust": trust})})
        return store.scalar(conn, "dedupe.insert_test_article", {
            "url": f"http://{site}/{path}", "source_id": source_id, "site": site, "title": title,
            "text": text, "published_at": published_at, "site_name": site_name,
            "source_attribution": source_attribution, "text_sha256": dedupe.text_sha256(text)})


def story_of(settings: Settings) -> dict[int, int | None]:
    with store.transaction(settings) as conn:
        return {row.article_id: row.story_id for row in store.rows(conn, "dedupe.assignments")}


def spam_flags(settings: Settings) -> dict[int, bool]:
    with store.transaction(settings) as conn:
        return {row.article_id: row.is_spam for row in store.rows(conn, "dedupe.assignments")}


def later(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


FIXTURES = Path(__file__).parent / "fixtures"
