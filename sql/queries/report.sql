-- Queries of the report stage (mediamon.report). A report covers the articles of one topic that
-- became relevant up to :period_end and that no earlier report covered. :ledger keys the watermark,
-- the reports and the ledger of reported articles: the topic id, or "<topic>/<collection>" for a
-- report on one collection of sources (:collection, NULL for all sources).

-- name: lock
-- Serializes report runs of one topic (a cron run and an asset-triggered run may overlap).
SELECT pg_advisory_xact_lock(hashtext('mediamon_report'), hashtext(:ledger))

-- name: watermark
SELECT reported_until, report_id FROM report_watermarks WHERE topic_id = :ledger

-- name: previous_report
SELECT report_id, period_start, period_end, counts FROM reports
WHERE topic_id = :ledger ORDER BY report_id DESC LIMIT 1

-- name: period_articles
-- Newly relevant articles. The look-back before the watermark catches classifications that
-- committed after the previous report read the data; report_articles keeps them from counting twice.
SELECT t.article_id
FROM article_topics t
WHERE t.topic_id = :topic_id AND t.relevant
  AND t.relevant_since <= :period_end
  AND (CAST(:look_back_from AS timestamptz) IS NULL OR t.relevant_since > :look_back_from)
  AND NOT EXISTS (SELECT 1 FROM report_articles r
                  WHERE r.article_id = t.article_id AND r.topic_id = :ledger)
  AND (CAST(:collection AS text) IS NULL OR EXISTS (
      SELECT 1 FROM articles a JOIN sources s USING (source_id)
      WHERE a.article_id = t.article_id AND :collection = ANY(s.collections)))
ORDER BY t.article_id

-- name: story_articles
-- Every copy of every story that has an article in the period, with its classification, and
-- whether an earlier report covered it already.
WITH period_stories AS (
    SELECT DISTINCT story_key FROM analyst.articles WHERE article_id = ANY(:article_ids)
)
SELECT a.article_id, a.story_key, a.title, a.site, a.source_id, a.source_name, a.canonical_url,
       a.published_at, a.published_date, a.is_spam, a.spam_evidence, a.created_at,
       a.article_id = ANY(:article_ids) AS in_period,
       EXISTS (SELECT 1 FROM report_articles r
               WHERE r.article_id = a.article_id AND r.topic_id = :ledger) AS reported_before,
       coalesce(t.relevant, false) AS relevant,
       coalesce(t.cooperation_types, '{}') AS cooperation_types,
       coalesce(t.agreements, '{}') AS agreements,
       st.canonical_article_id,
       st.title AS story_title,
       a.story_id, coalesce(a.outlet_tier, 'unknown') AS outlet_tier
FROM analyst.articles a
JOIN period_stories USING (story_key)
LEFT JOIN article_topics t ON t.article_id = a.article_id AND t.topic_id = :topic_id
LEFT JOIN stories st ON st.story_id = a.story_id
WHERE CAST(:collection AS text) IS NULL OR :collection = ANY(a.collections)
ORDER BY a.story_key, a.article_id

-- name: article_regions
-- The parties of each article: places merely mentioned (venues, datelines, statistics) are not activity.
SELECT ar.article_id, ar.region_code::text AS code, g.name, ar.mentions
FROM article_regions ar
JOIN regions g ON g.code = ar.region_code
WHERE ar.topic_id = :topic_id AND ar.article_id = ANY(:article_ids) AND ar.role = 'party'
ORDER BY ar.article_id, ar.mentions DESC, ar.region_code

-- name: region_pairs
-- Pairs of parties (the classifier builds pairs from parties only): the edges of the network.
SELECT p.article_id, p.region_a::text AS region_a, ga.name AS region_a_name,
       p.region_b::text AS region_b, gb.name AS region_b_name
FROM article_region_pairs p
JOIN regions ga ON ga.code = p.region_a
JOIN regions gb ON gb.code = p.region_b
WHERE p.topic_id = :topic_id AND p.article_id = ANY(:article_ids)
ORDER BY p.article_id, p.region_a, p.region_b

-- name: clock
-- The report's period ends at the database's clock, the clock relevant_since is stamped with.
SELECT now()

-- name: story_days
-- The first and last day (in :timezone) of the scope's relevant copies up to the period's end: the
-- trend window follows them, so a report on old coverage still shows that coverage.
SELECT min((coalesce(a.published_at, a.created_at) AT TIME ZONE :timezone)::date) AS first_day,
       max((coalesce(a.published_at, a.created_at) AT TIME ZONE :timezone)::date) AS last_day
FROM analyst.articles a
JOIN article_topics t ON t.article_id = a.article_id AND t.topic_id = :topic_id
WHERE t.relevant AND NOT a.is_spam AND t.relevant_since <= :period_end
  AND (coalesce(a.published_at, a.created_at) AT TIME ZONE :timezone)::date <= :period_end_day
  AND (CAST(:collection AS text) IS NULL OR :collection = ANY(a.collections))

-- name: daily_stories
-- Relevant stories per day (in :timezone) of their first published copy, spam left out, overall
-- and per region taking part (role 'party'), region pair and cooperation type. A story none of
-- whose copies has a publication date counts on the day it was first seen, and is counted again in
-- `undated`, so the report can say so.
WITH relevant AS (
    SELECT a.article_id, a.story_key, t.cooperation_types, a.published_at, a.created_at
    FROM analyst.articles a
    JOIN article_topics t ON t.article_id = a.article_id AND t.topic_id = :topic_id
    WHERE t.relevant AND NOT a.is_spam AND t.relevant_since <= :period_end
      AND (CAST(:collection AS text) IS NULL OR :collection = ANY(a.collections))
), story_day AS (
    SELECT story_key,
           coalesce(min((published_at AT TIME ZONE :timezone)::date),
                    min((created_at AT TIME ZONE :timezone)::date)) AS day,
           bool_and(published_at IS NULL) AS undated
    FROM relevant GROUP BY story_key
), keyed AS (
    SELECT story_key, 'all' AS dimension, '' AS key, '' AS name FROM relevant
    UNION
    SELECT r.story_key, 'region', ar.region_code::text, g.name
    FROM relevant r
    JOIN article_regions ar ON ar.article_id = r.article_id AND ar.topic_id = :topic_id AND ar.role = 'party'
    JOIN regions g ON g.code = ar.region_code
    UNION
    SELECT r.story_key, 'pair', p.region_a || '-' || p.region_b, ga.name || '—' || gb.name
    FROM relevant r
    JOIN article_region_pairs p ON p.article_id = r.article_id AND p.topic_id = :topic_id
    JOIN regions ga ON ga.code = p.region_a
    JOIN regions gb ON gb.code = p.region_b
    UNION
    SELECT r.story_key, 'cooperation_type', ct, ct FROM relevant r, unnest(r.cooperation_types) ct
)
SELECT k.dimension, k.key, k.name, s.day, count(*) AS stories, count(*) FILTER (WHERE s.undated) AS undated
FROM keyed k
JOIN story_day s USING (story_key)
WHERE s.day BETWEEN :first_day AND :last_day
GROUP BY k.dimension, k.key, k.name, s.day
ORDER BY k.dimension, k.key, s.day

-- name: collected_per_day
-- Every (non-spam) article of the scope per day: the denominator of the normalized trend.
SELECT (coalesce(a.published_at, a.created_at) AT TIME ZONE :timezone)::date AS day, count(*) AS articles
FROM analyst.articles a
WHERE NOT a.is_spam
  AND (coalesce(a.published_at, a.created_at) AT TIME ZONE :timezone)::date BETWEEN :first_day AND :last_day
  AND (CAST(:collection AS text) IS NULL OR :collection = ANY(a.collections))
GROUP BY 1

-- name: story_events
-- The event of each story (stories without a story_id yet have none).
SELECT es.story_id, e.event_id, e.event_date, e.title, e.cooperation_types, e.agreements, e.linked_by,
       coalesce((SELECT array_agg(g.name ORDER BY g.code) FROM regions g WHERE g.code = ANY(e.parties)), '{}')
           AS party_names
FROM event_stories es
JOIN events e USING (topic_id, event_id)
WHERE es.topic_id = :topic_id AND es.story_id = ANY(:story_ids)

-- name: next_report_id
SELECT nextval(pg_get_serial_sequence('reports', 'report_id'))

-- name: insert_report
INSERT INTO reports (report_id, topic_id, period_start, period_end, counts, files, html)
VALUES (:report_id, :ledger, :period_start, :period_end, CAST(:counts AS jsonb), CAST(:files AS jsonb), :html)

-- name: insert_report_articles
INSERT INTO report_articles (article_id, topic_id, report_id) VALUES %s

-- name: advance_watermark
INSERT INTO report_watermarks (topic_id, reported_until, report_id) VALUES (:ledger, :period_end, :report_id)
ON CONFLICT (topic_id) DO UPDATE SET reported_until = EXCLUDED.reported_until,
    report_id = EXCLUDED.report_id, updated_at = now()

-- name: database_key
-- Names this database's folder under the reports directory: report ids are per database.
SELECT current_database() || '-' || (SELECT oid FROM pg_database WHERE datname = current_database())
