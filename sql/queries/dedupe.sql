-- Near-duplicate stories (mediamon.dedupe). Callers of assign_* hold the dedupe advisory lock.

-- name: lock
-- Serializes story assignment across processes and hosts: held until the transaction ends.
SELECT pg_advisory_xact_lock(:key)

-- name: articles_to_fingerprint
SELECT a.article_id, a.text
FROM articles a LEFT JOIN article_fingerprints f USING (article_id)
WHERE f.article_id IS NULL
ORDER BY a.article_id
LIMIT :limit

-- name: other_params_count
-- Fingerprints computed with other settings: their band keys never meet the current ones.
SELECT count(*) FROM article_fingerprints WHERE params <> :params

-- name: insert_fingerprints
INSERT INTO article_fingerprints (article_id, params, shingle_count, band_keys) VALUES %s
ON CONFLICT (article_id) DO NOTHING
RETURNING article_id, band_keys

-- name: insert_bands
INSERT INTO lsh_bands (band_key, article_id) VALUES %s

-- name: unassigned_articles
-- Fingerprinted articles without a story, oldest first so that a rebuild is reproducible.
SELECT a.article_id, a.text, a.site, a.published_at, f.band_keys
FROM articles a JOIN article_fingerprints f USING (article_id)
WHERE a.story_id IS NULL
ORDER BY a.article_id
LIMIT :limit

-- name: candidates
-- Articles with a story that share at least one LSH band with the article.
SELECT DISTINCT a.article_id, a.story_id, a.site, a.published_at
FROM lsh_bands b JOIN articles a USING (article_id)
WHERE b.band_key = ANY(:band_keys) AND a.story_id IS NOT NULL AND a.article_id <> :article_id

-- name: article_texts
SELECT article_id, text FROM articles WHERE article_id = ANY(:article_ids)

-- name: candidate_ids
-- The same lookup without verification data: what the benchmark times.
SELECT DISTINCT b.article_id
FROM lsh_bands b
WHERE b.band_key = ANY(:band_keys) AND b.article_id <> :article_id

-- name: new_story
INSERT INTO stories (first_seen, last_seen) VALUES (now(), now()) RETURNING story_id

-- name: set_story
UPDATE articles SET story_id = :story_id WHERE article_id = :article_id

-- name: move_stories
-- Stories bridged by one article become one: the oldest story keeps its id.
UPDATE articles SET story_id = :into_story_id WHERE story_id = ANY(:story_ids)

-- name: delete_stories
DELETE FROM stories WHERE story_id = ANY(:story_ids)

-- name: story_members
SELECT a.article_id, a.story_id, a.canonical_url, a.site, a.site_name, a.source_attribution,
       a.published_at, a.created_at, a.title, a.is_spam,
       coalesce(CAST(s.settings ->> 'trust' AS double precision), 0) AS trust
FROM articles a JOIN sources s USING (source_id)
WHERE a.story_id = ANY(:story_ids)
ORDER BY a.story_id, a.article_id

-- name: update_story
UPDATE stories SET
    canonical_article_id = :canonical_article_id, title = :title,
    first_seen = :first_seen, last_seen = :last_seen,
    article_count = :article_count, source_count = :source_count, updated_at = now()
WHERE story_id = :story_id

-- name: spam_inputs
SELECT a.article_id, a.title, a.site_name, a.text, p.body_gzip, p.declared_charset
FROM articles a LEFT JOIN pages p USING (url_id)
WHERE a.article_id = ANY(:article_ids)

-- name: add_spam_evidence
UPDATE articles SET is_spam = true, spam_evidence = coalesce(spam_evidence, '[]'::jsonb) || CAST(:evidence AS jsonb)
WHERE article_id = :article_id

-- name: drop_spun_within_stories
-- Removes spun_copy evidence pointing at an article of the same story; is_spam follows the rest.
UPDATE articles a SET spam_evidence = nullif(kept.evidence, '[]'::jsonb),
                      is_spam = kept.evidence <> '[]'::jsonb
FROM (
    SELECT m.article_id,
           coalesce(jsonb_agg(e.value) FILTER (
               WHERE e.value ->> 'rule' <> 'spun_copy' OR src.story_id IS DISTINCT FROM m.story_id), '[]'::jsonb) AS evidence
    FROM articles m
    CROSS JOIN LATERAL jsonb_array_elements(m.spam_evidence) e
    LEFT JOIN articles src ON src.article_id = CAST(e.value ->> 'of_article_id' AS bigint)
    WHERE m.story_id = ANY(:story_ids) AND m.spam_evidence @> '[{"rule": "spun_copy"}]'
    GROUP BY m.article_id
) kept
WHERE a.article_id = kept.article_id

-- name: clear_stories
UPDATE articles SET story_id = NULL, is_spam = false, spam_evidence = NULL WHERE story_id IS NOT NULL OR is_spam;
DELETE FROM stories;
-- Story ids restart too, so the same articles and settings give the same ids.
ALTER SEQUENCE stories_story_id_seq RESTART;
-- Tables in the order index_articles writes them, so a concurrent fingerprinting cannot deadlock.
TRUNCATE article_fingerprints, lsh_bands

-- name: story_counts
SELECT (SELECT count(*) FROM stories) AS stories,
       (SELECT count(*) FROM articles WHERE story_id IS NULL) AS unassigned,
       (SELECT count(*) FROM articles WHERE is_spam) AS spam

-- name: assignments
SELECT article_id, url_id, story_id, is_spam FROM articles ORDER BY article_id

-- name: insert_test_source
-- Tests and evaluation: a source for articles inserted without fetching.
INSERT INTO sources (source_id, name, language, kind, url, settings)
VALUES (:source_id, :source_id, 'zh', 'page', :url, CAST(:settings AS jsonb))
ON CONFLICT (source_id) DO NOTHING

-- name: insert_test_article
-- Tests: an article with its frontier row, without a stored page.
WITH new_url AS (
    INSERT INTO urls (canonical_url, source_id, host, status)
    VALUES (:url, :source_id, :site, 'fetched') RETURNING url_id
)
INSERT INTO articles (url_id, canonical_url, source_id, site, title, text, published_at, site_name,
                      source_attribution, text_sha256, extractor_version)
SELECT url_id, :url, :source_id, :site, :title, :text, :published_at, :site_name, :source_attribution,
       :text_sha256, 'test'
FROM new_url
RETURNING article_id
