-- Queries of the classification stage.

-- name: region_count
SELECT count(*) FROM regions

-- name: insert_regions
INSERT INTO regions (code, name, level, parent_code, short_name, english) VALUES %s
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level,
    parent_code = EXCLUDED.parent_code, short_name = EXCLUDED.short_name, english = EXCLUDED.english

-- name: articles_to_classify
-- Articles never classified for this topic, or classified by another version of it.
SELECT a.article_id, a.title, a.text, a.lang
FROM articles a
LEFT JOIN article_topics t ON t.article_id = a.article_id AND t.topic_id = :topic_id
WHERE (t.article_id IS NULL OR t.topic_version <> :topic_version)
  AND NOT (a.article_id = ANY(CAST(:failed_ids AS bigint[])))  -- raised this run: retried next run
ORDER BY a.article_id
LIMIT :limit

-- name: upsert_article_topics
INSERT INTO article_topics AS t (article_id, topic_id, topic_version, score, relevant, evidence,
                                 cooperation_types, agreements, relevant_since)
SELECT article_id, topic_id, topic_version, score, relevant, CAST(evidence AS jsonb),
       CAST(cooperation_types AS text[]), CAST(agreements AS text[]),
       CASE WHEN relevant THEN now() END
FROM (VALUES %s) AS v(article_id, topic_id, topic_version, score, relevant, evidence, cooperation_types, agreements)
ON CONFLICT (article_id, topic_id) DO UPDATE SET
    topic_version = EXCLUDED.topic_version, score = EXCLUDED.score, relevant = EXCLUDED.relevant,
    evidence = EXCLUDED.evidence, cooperation_types = EXCLUDED.cooperation_types,
    agreements = EXCLUDED.agreements, classified_at = now(),
    relevant_since = CASE WHEN NOT EXCLUDED.relevant THEN NULL
                          ELSE coalesce(t.relevant_since, now()) END

-- name: delete_article_regions
DELETE FROM article_regions WHERE topic_id = :topic_id AND article_id = ANY(:article_ids)

-- name: delete_article_region_pairs
DELETE FROM article_region_pairs WHERE topic_id = :topic_id AND article_id = ANY(:article_ids)

-- name: insert_article_regions
INSERT INTO article_regions (article_id, topic_id, region_code, surface, mentions, role) VALUES %s
ON CONFLICT DO NOTHING

-- name: insert_article_region_pairs
INSERT INTO article_region_pairs (article_id, topic_id, region_a, region_b) VALUES %s
ON CONFLICT DO NOTHING
