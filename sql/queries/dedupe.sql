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
-- The band keys go into the LSH index (the GIN index on band_keys) with the row. A fingerprinted
-- article waits for its story in article_stories (story_id NULL, found through the story_id index),
-- so that finding the next batch costs what is waiting, not a pass over every article.
WITH fingerprinted AS (
    INSERT INTO article_fingerprints (article_id, params, shingle_count, band_keys) VALUES %s
    ON CONFLICT (article_id) DO NOTHING
    RETURNING article_id
), waiting AS (
    INSERT INTO article_stories (article_id) SELECT article_id FROM fingerprinted
    ON CONFLICT (article_id) DO NOTHING
)
SELECT article_id FROM fingerprinted

-- name: unassigned_articles
-- Fingerprinted articles without a story, oldest first so that a rebuild is reproducible, with
-- what the page spam rules read.
SELECT a.article_id, a.site, a.published_at, f.band_keys, a.text, a.title, a.site_name, a.page_fields
FROM article_stories d JOIN articles a USING (article_id) JOIN article_fingerprints f USING (article_id)
WHERE d.story_id IS NULL
ORDER BY d.article_id
LIMIT :limit

-- name: band_matches
-- Pairs (article, other article sharing an LSH band with it). :article_ids and :band_keys are
-- parallel arrays, one element per band key of each article: one GIN probe per key (`@>` of a
-- one-key array), whatever the size of the index. Not `band_keys && all_keys`: its selectivity
-- is overestimated for a batch's 7,200 keys and the planner scans every fingerprint instead
-- (2 s a batch at 2,000 articles, measured). `mediamon bench dedupe` times this query.
SELECT DISTINCT k.article_id, f.article_id AS candidate_id
FROM unnest(CAST(:article_ids AS bigint[]), CAST(:band_keys AS bigint[])) AS k(article_id, band_key)
JOIN article_fingerprints f ON f.band_keys @> ARRAY[k.band_key]
WHERE f.article_id <> k.article_id

-- name: candidate_articles
-- Apart from band_matches: an array of ids is estimated right, so this is a primary-key probe per
-- candidate and never a scan of articles.
SELECT a.article_id, d.story_id, a.site, a.published_at
FROM articles a LEFT JOIN article_stories d USING (article_id)
WHERE a.article_id = ANY(:article_ids)

-- name: article_texts
SELECT article_id, text FROM articles WHERE article_id = ANY(:article_ids)

-- name: new_stories
INSERT INTO stories (first_seen, last_seen) SELECT now(), now() FROM generate_series(1, :count)
RETURNING story_id

-- name: set_stories
-- An article's story and its spam flags (page rules, spun copies): an article without a story has
-- no flags of its own yet (clear_stories resets both), so the evidence replaces. Its row exists
-- (insert_fingerprints); the insert is for safety.
INSERT INTO article_stories AS d (article_id, story_id, is_spam, spam_evidence)
SELECT v.article_id, v.story_id, v.evidence IS NOT NULL, CAST(v.evidence AS jsonb)
FROM (VALUES %s) AS v(article_id, story_id, evidence)
ON CONFLICT (article_id) DO UPDATE SET
    story_id = EXCLUDED.story_id, is_spam = EXCLUDED.is_spam, spam_evidence = EXCLUDED.spam_evidence

-- name: merge_stories
-- Stories bridged by one article become one: the oldest story keeps its id.
UPDATE article_stories d SET story_id = m.into_story_id
FROM (VALUES %s) AS m(story_id, into_story_id)
WHERE d.story_id = m.story_id

-- name: delete_stories
DELETE FROM stories WHERE story_id = ANY(:story_ids)

-- name: story_members
SELECT a.article_id, d.story_id, a.canonical_url, a.site, a.site_name, a.source_attribution,
       a.published_at, a.created_at, a.title, d.is_spam,
       coalesce(CAST(s.settings ->> 'trust' AS double precision), 0) AS trust
FROM article_stories d JOIN articles a USING (article_id) JOIN sources s USING (source_id)
WHERE d.story_id = ANY(:story_ids)
ORDER BY d.story_id, a.article_id

-- name: update_stories
UPDATE stories s SET
    canonical_article_id = v.canonical_article_id, title = v.title,
    first_seen = v.first_seen, last_seen = v.last_seen,
    article_count = v.article_count, source_count = v.source_count, updated_at = now()
FROM (VALUES %s) AS v(story_id, canonical_article_id, title, first_seen, last_seen, article_count, source_count)
WHERE s.story_id = v.story_id

-- name: add_spam_evidence
-- Articles stored before the batch (they have a story, hence a row; the insert is for safety).
INSERT INTO article_stories AS d (article_id, is_spam, spam_evidence)
SELECT v.article_id, true, CAST(v.evidence AS jsonb)
FROM (VALUES %s) AS v(article_id, evidence)
ON CONFLICT (article_id) DO UPDATE SET
    is_spam = true, spam_evidence = coalesce(d.spam_evidence, '[]'::jsonb) || EXCLUDED.spam_evidence

-- name: drop_spun_within_stories
-- Removes spun_copy evidence pointing at an article of the same story; is_spam follows the rest.
UPDATE article_stories d SET spam_evidence = nullif(kept.evidence, '[]'::jsonb),
                             is_spam = kept.evidence <> '[]'::jsonb
FROM (
    SELECT m.article_id,
           coalesce(jsonb_agg(e.value) FILTER (
               WHERE e.value ->> 'rule' <> 'spun_copy' OR src.story_id IS DISTINCT FROM m.story_id), '[]'::jsonb) AS evidence
    FROM article_stories m
    CROSS JOIN LATERAL jsonb_array_elements(m.spam_evidence) e
    LEFT JOIN article_stories src ON src.article_id = CAST(e.value ->> 'of_article_id' AS bigint)
    WHERE m.story_id = ANY(:story_ids) AND m.spam_evidence @> '[{"rule": "spun_copy"}]'
    GROUP BY m.article_id
) kept
-- Rows with nothing to drop stay as they are (an UPDATE that changes nothing still writes a row version).
WHERE d.article_id = kept.article_id AND d.spam_evidence IS DISTINCT FROM nullif(kept.evidence, '[]'::jsonb)

-- name: clear_stories
-- Rows that say nothing but a story or flags go; exact-copy links stay (link_exact_duplicates owns them).
DELETE FROM article_stories WHERE duplicate_of IS NULL;
UPDATE article_stories SET story_id = NULL, is_spam = false, spam_evidence = NULL
WHERE story_id IS NOT NULL OR is_spam OR spam_evidence IS NOT NULL;
DELETE FROM stories;
-- Story ids restart too, so the same articles and settings give the same ids.
ALTER SEQUENCE stories_story_id_seq RESTART;
TRUNCATE article_fingerprints

-- name: story_counts
SELECT (SELECT count(*) FROM stories) AS stories,
       (SELECT count(*) FROM articles a LEFT JOIN article_stories d USING (article_id)
        WHERE d.story_id IS NULL) AS unassigned,
       (SELECT count(*) FROM article_stories WHERE is_spam) AS spam

-- name: assignments
SELECT a.article_id, a.url_id, d.story_id, coalesce(d.is_spam, false) AS is_spam
FROM articles a LEFT JOIN article_stories d USING (article_id)
ORDER BY a.article_id

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

-- name: link_exact_duplicates
-- Identical normalized text at different URLs: every later copy points at the earliest article.
-- Only links that change are written (a first link adds the article's article_stories row).
WITH firsts AS (
    SELECT DISTINCT ON (text_sha256) text_sha256, article_id
    FROM articles ORDER BY text_sha256, article_id
), wanted AS (
    SELECT a.article_id, nullif(f.article_id, a.article_id) AS duplicate_of
    FROM articles a JOIN firsts f USING (text_sha256)
)
INSERT INTO article_stories AS d (article_id, duplicate_of)
SELECT w.article_id, w.duplicate_of
FROM wanted w LEFT JOIN article_stories now USING (article_id)
WHERE w.duplicate_of IS DISTINCT FROM now.duplicate_of
ON CONFLICT (article_id) DO UPDATE SET duplicate_of = EXCLUDED.duplicate_of
RETURNING d.article_id, d.duplicate_of

-- name: duplicate_count
SELECT count(*) FROM article_stories WHERE duplicate_of IS NOT NULL
