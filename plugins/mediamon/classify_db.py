"""The classify stage's database glue: the regions table, articles to classify, saving results.

Scoring and region matching are :mod:`mediamon.topics` and :mod:`mediamon.regions`; the SQL is
``sql/queries/classify.sql``.
"""
from __future__ import annotations

import json
import logging

from mediamon import regions, store, topics
from mediamon.outcomes import error_reason
from mediamon.results import ClassifyResult
from mediamon.settings import Settings

log = logging.getLogger(__name__)


def load_regions(settings: Settings) -> int:
    """Fill the ``regions`` table from the packaged gazetteer when it is missing or outdated."""
    divisions = list(regions.iter_regions())
    with store.transaction(settings) as conn:
        if store.scalar(conn, "classify.region_count") == len(divisions):
            return 0
        store.execute_many_values(conn, "classify.insert_regions", [
            (r.code, r.name, r.level, r.parent_code or None, r.short_name, list(r.english)) for r in divisions])
    log.info("regions table loaded: %d divisions", len(divisions))
    return len(divisions)


def classify_articles(settings: Settings) -> ClassifyResult:
    """Classify every article not yet classified by the current version of each topic.

    Results replace earlier ones for the same (article, topic): the score, label and evidence in
    ``article_topics``, the regions named and, for relevant articles, the region pairs.
    """
    load_regions(settings)
    classified = relevant = 0
    for topic in topics.load_topics(settings.topics_dir):
        failed: list[int] = []  # articles whose classification raised: left for the next run
        while True:
            with store.transaction(settings) as conn:
                batch = store.rows(conn, "classify.articles_to_classify", {
                    "topic_id": topic.id, "topic_version": topic.version, "failed_ids": failed,
                    "limit": settings.topics.classify_batch_size})
            if not batch:
                break
            results = []
            for row in batch:
                try:
                    results.append((row.article_id, topics.classify(topic, row.title or "", row.text,
                                                                    settings=settings.topics)))
                except Exception as exc:  # noqa: BLE001 - isolation: one article's failure is its own
                    log.error("classify article %d for %s: %s", row.article_id, topic.id, error_reason(exc),
                              exc_info=exc)
                    failed.append(row.article_id)
            if not results:
                continue
            save_classifications(settings, topic.id, results)
            classified += len(results)
            relevant += sum(result.relevant for _, result in results)
        log.info("topic %s v%s: %d articles classified, %d relevant", topic.id, topic.version, classified, relevant)
    return ClassifyResult(classified=classified, relevant=relevant)


def save_classifications(settings: Settings, topic_id: str, results: list[tuple[int, topics.TopicResult]]) -> None:
    """Replace the results of these articles for this topic: scores, regions with their roles, and the
    pairs of parties."""
    article_ids = [article_id for article_id, _ in results]
    with store.transaction(settings) as conn:
        store.execute_many_values(conn, "classify.upsert_article_topics", [
            (article_id, r.topic_id, r.topic_version, r.score, r.relevant,
             json.dumps(r.evidence, ensure_ascii=False), [t["type"] for t in r.cooperation_types], r.agreements)
            for article_id, r in results])
        store.execute(conn, "classify.delete_article_regions", {"topic_id": topic_id, "article_ids": article_ids})
        store.execute(conn, "classify.delete_article_region_pairs", {"topic_id": topic_id, "article_ids": article_ids})
        region_rows = [(article_id, topic_id, m.code, m.surface, m.count, m.role) for article_id, r in results
                       for m in r.regions]
        pair_rows = [(article_id, topic_id, *sorted(pair)) for article_id, r in results for pair in r.region_pairs
                     if pair[0] != pair[1]]
        if region_rows:
            store.execute_many_values(conn, "classify.insert_article_regions", region_rows)
        if pair_rows:
            store.execute_many_values(conn, "classify.insert_article_region_pairs", pair_rows)
