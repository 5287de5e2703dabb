-- Queries of the search stage (mediamon.search_db): articles loaded before their search vector
-- existed are indexed in batches (new articles get theirs when they are loaded).

-- name: unindexed_articles
SELECT article_id, title, text, translation FROM articles
WHERE search_vector IS NULL ORDER BY article_id LIMIT :limit

-- name: set_vectors
UPDATE articles a SET search_vector = CAST(v.search_vector AS tsvector)
FROM (VALUES %s) AS v(article_id, search_vector)
WHERE a.article_id = v.article_id
