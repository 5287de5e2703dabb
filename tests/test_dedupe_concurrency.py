"""Concurrent story assignment: real Postgres sessions racing over copies of the same stories."""
from __future__ import annotations

import threading
from dataclasses import replace

from dedupe_helpers import add_article, distinct_texts, story_of
from mediamon import dedupe_db, store

WORKERS = 4


def run_concurrently(*calls) -> list:
    """Start every call at the same moment, each in its own thread (its own DB session)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def add_copies(settings, texts: list[str], copies: int) -> dict[int, int]:
    """``copies`` copies of each text on different sites, interleaved; returns {article_id: text index}."""
    label = {}
    for copy in range(copies):
        for i, text in enumerate(texts):
            chrome = f"来源：网站{copy}\n" if copy else ""
            label[add_article(settings, f"site{copy}.example:80", f"{i}.html", chrome + text + f"\n（编辑：{copy}号）")] = i
    return label


def assert_one_story_per_text(settings, label: dict[int, int], texts: int) -> None:
    stories = story_of(settings)
    by_text: dict[int, set] = {}
    for article_id, i in label.items():
        by_text.setdefault(i, set()).add(stories[article_id])
    assert all(len(ids) == 1 and None not in ids for ids in by_text.values()), by_text
    assert len({next(iter(ids)) for ids in by_text.values()}) == texts
    counts = dedupe_db.story_counts(settings)
    assert counts["stories"] == texts and counts["unassigned"] == 0
    with store.transaction(settings) as conn:
        mismatched = conn.exec_driver_sql(
            "SELECT s.story_id FROM stories s LEFT JOIN analyst.articles a USING (story_id) GROUP BY s.story_id"
            " HAVING s.article_count <> count(a.article_id) OR s.source_count <> count(DISTINCT a.site)").all()
    assert mismatched == []


def test_parallel_dedupe_tasks_never_split_or_duplicate_a_story(settings):
    texts = distinct_texts()[:6]
    label = add_copies(settings, texts, copies=5)
    # Small batches, so the workers' transactions interleave many times.
    small = replace(settings, dedupe=replace(settings.dedupe, batch_size=2))
    results = run_concurrently(*[lambda: dedupe_db.assign_stories(small)] * WORKERS)
    assert sum(r.assigned for r in results) == len(label)
    assert sum(r.fingerprinted for r in results) == len(label)
    assert_one_story_per_text(settings, label, len(texts))


def test_new_copies_arriving_while_another_run_assigns_join_the_same_stories(settings):
    texts = distinct_texts()[:4]
    label = add_copies(settings, texts, copies=2)
    small = replace(settings, dedupe=replace(settings.dedupe, batch_size=1))

    def second_run():
        label.update(add_copies_later(settings, texts))
        return dedupe_db.assign_stories(small)

    run_concurrently(lambda: dedupe_db.assign_stories(small), second_run, lambda: dedupe_db.rebuild_stories(small))
    dedupe_db.assign_stories(small)  # whatever a racing call left for the next run
    assert_one_story_per_text(settings, label, len(texts))


def add_copies_later(settings, texts: list[str]) -> dict[int, int]:
    return {add_article(settings, "late.example:80", f"{i}.html", "转载自网站\n" + text): i
            for i, text in enumerate(texts)}
