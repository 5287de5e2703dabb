-- Dedupe's volatile columns leave articles for a narrow table of their own (issues 13 and 14): an
-- article row is written once, by the extract stage, and dedupe writes only article_stories.
--
-- Before, dedupe UPDATEd articles after every insert (story_id, spam flags, duplicate_of). story_id
-- is indexed, so no such update could be HOT: each wrote a new version of the whole row and new
-- entries in every index of articles, the search GIN index (migration 014) above all, and left the
-- old ones dead (bench: 2.08 row versions written per article, the search index 2.0x its rebuilt
-- size after an ingest). article_stories rows are ~60 bytes; rewriting one costs that and its two
-- index entries.
--
-- A row exists once dedupe has fingerprinted the article (story_id NULL until it has a story) or
-- linked it as an exact copy (duplicate_of). An article without a row has no story, is not spam
-- and is no copy; the views read it so (LEFT JOIN, is_spam false). The analyst views keep their
-- columns: analysts do not see the table (the views run with their owner's rights, as before).
--
-- Upgrade: existing values are copied, then the columns go (with articles_story_id_idx and their
-- foreign keys). Dropping a column does not give its bytes back until rows are rewritten (VACUUM
-- FULL articles, docs/scaling.md); new rows are narrower at once.
CREATE TABLE article_stories (
    article_id bigint PRIMARY KEY REFERENCES articles(article_id) ON DELETE CASCADE,
    story_id bigint REFERENCES stories(story_id) ON DELETE SET NULL,
    duplicate_of bigint REFERENCES articles(article_id) ON DELETE SET NULL,
    is_spam boolean NOT NULL DEFAULT false,
    spam_evidence jsonb
);
-- The members of a story (merges, refreshes, events, reports), and with its NULLs the articles
-- waiting for a story (dedupe.unassigned_articles: a scan as small as the backlog, where looking
-- for articles without a row would read every article, ~1 s a batch at 1M on a synthetic table).
CREATE INDEX article_stories_story_id_idx ON article_stories (story_id);

INSERT INTO article_stories (article_id, story_id, duplicate_of, is_spam, spam_evidence)
SELECT a.article_id, a.story_id, a.duplicate_of, a.is_spam, a.spam_evidence
FROM articles a
WHERE a.story_id IS NOT NULL OR a.duplicate_of IS NOT NULL OR a.is_spam OR a.spam_evidence IS NOT NULL
   OR EXISTS (SELECT FROM article_fingerprints f WHERE f.article_id = a.article_id);

-- analyst.articles as migration 014 left it, dedupe's columns from article_stories.
CREATE OR REPLACE VIEW analyst.articles AS
SELECT a.article_id,
       coalesce(d.story_id, -coalesce(d.duplicate_of, a.article_id)) AS story_key,
       d.story_id,
       a.source_id,
       s.name AS source_name,
       a.site,
       a.site_name,
       a.canonical_url,
       a.title,
       a.published_at,
       (coalesce(a.published_at, a.created_at) AT TIME ZONE 'Asia/Shanghai')::date AS published_date,
       a.lang,
       a.author,
       a.source_attribution,
       d.duplicate_of,
       coalesce(d.is_spam, false) AS is_spam,
       d.spam_evidence,
       length(a.text) AS text_chars,
       a.text,
       a.created_at,
       a.published_at_source,
       CASE WHEN a.published_at IS NULL THEN 'first_seen' ELSE 'published' END AS published_date_basis,
       a.translation,
       mediamon_search_vector(a.title, a.text, a.translation) AS search_vector,
       s.outlet_tier,
       s.outlet_province::text AS outlet_province,
       s.media_type,
       s.collections
FROM articles a
JOIN sources s USING (source_id)
LEFT JOIN article_stories d USING (article_id);

-- analyst.events as migration 011 made it: a story's copies are its article_stories rows.
CREATE OR REPLACE VIEW analyst.events AS
SELECT e.event_id,
       e.topic_id,
       e.event_date,
       e.title,
       e.parties,
       coalesce((SELECT array_agg(g.name ORDER BY p.ord) FROM unnest(e.parties) WITH ORDINALITY p(code, ord)
                 JOIN regions g ON g.code = p.code), '{}') AS party_names,
       e.cooperation_types,
       e.agreements,
       e.linked_by,
       count(DISTINCT es.story_id) AS stories,
       count(d.article_id) FILTER (WHERE NOT d.is_spam) AS articles,
       count(DISTINCT a.site) FILTER (WHERE NOT d.is_spam) AS sites,
       array_agg(DISTINCT es.story_id) AS story_ids
FROM events e
JOIN event_stories es USING (topic_id, event_id)
LEFT JOIN article_stories d ON d.story_id = es.story_id
LEFT JOIN articles a ON a.article_id = d.article_id
GROUP BY e.topic_id, e.event_id;

-- event_story_copies as migration 016 made it (only copies with a story, so an inner join).
CREATE OR REPLACE VIEW event_story_copies AS
SELECT t.topic_id, d.story_id, a.article_id, dd.day, coalesce(st.title, a.title, '') AS title,
       t.cooperation_types, t.agreements, pr.pairs,
       concat_ws('|', a.article_id, dd.day, coalesce(st.title, a.title, ''),
                 t.cooperation_types::text, t.agreements::text, pr.pairs::text) AS facts_text
FROM article_topics t
JOIN articles a USING (article_id)
JOIN article_stories d ON d.article_id = a.article_id
JOIN stories st ON st.story_id = d.story_id
CROSS JOIN LATERAL (SELECT (coalesce(a.published_at, a.created_at) AT TIME ZONE 'Asia/Shanghai')::date AS day) dd
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(p.region_a || '-' || p.region_b ORDER BY p.region_a, p.region_b), '{}') AS pairs
    FROM article_region_pairs p WHERE p.article_id = a.article_id AND p.topic_id = t.topic_id) pr
WHERE t.relevant AND NOT d.is_spam;

ALTER TABLE articles
    DROP COLUMN story_id,        -- and articles_story_id_idx, articles_story_id_fkey
    DROP COLUMN duplicate_of,    -- and articles_duplicate_of_fkey
    DROP COLUMN is_spam,
    DROP COLUMN spam_evidence;
