-- Incremental event linking (issue 13 part 3): each run relinks only the stories whose facts
-- changed since the last run, with the stories they can link to (mediamon.events_db).
--
-- event_stories remembers, per story, the fingerprint of the facts it was linked with and its
-- component (its connected set under links alone, identified by its smallest story_id): a story
-- whose fingerprint differs, or that is new or gone, is relinked with its old and new components.
-- events.story_count finds events that lost a story to a deleted story row (dedupe merges stories;
-- the row leaves event_stories by cascade). Rows from before this migration have no fingerprint,
-- so the first run relinks everything once.
ALTER TABLE event_stories
    ADD COLUMN component_id bigint,
    ADD COLUMN facts_md5 text;
CREATE INDEX event_stories_component_idx ON event_stories (topic_id, component_id);
ALTER TABLE events ADD COLUMN story_count integer;

-- One row per relevant, non-spam copy that belongs to a story: what event linking reads of it.
-- facts_text is the row as its story's fingerprint hashes it (md5 over the story's rows in
-- article_id order). Built on the tables, not on analyst.articles, so that later migrations may
-- replace the analyst views freely; day is analyst.articles.published_date (same expression, so the
-- index below serves the day windows of incremental linking).
CREATE VIEW event_story_copies AS
SELECT t.topic_id, a.story_id, a.article_id, d.day, coalesce(st.title, a.title, '') AS title,
       t.cooperation_types, t.agreements, pr.pairs,
       concat_ws('|', a.article_id, d.day, coalesce(st.title, a.title, ''),
                 t.cooperation_types::text, t.agreements::text, pr.pairs::text) AS facts_text
FROM article_topics t
JOIN articles a USING (article_id)
JOIN stories st ON st.story_id = a.story_id
CROSS JOIN LATERAL (SELECT (coalesce(a.published_at, a.created_at) AT TIME ZONE 'Asia/Shanghai')::date AS day) d
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(p.region_a || '-' || p.region_b ORDER BY p.region_a, p.region_b), '{}') AS pairs
    FROM article_region_pairs p WHERE p.article_id = a.article_id AND p.topic_id = t.topic_id) pr
WHERE t.relevant AND NOT a.is_spam;

CREATE INDEX articles_published_date_idx
    ON articles (((coalesce(published_at, created_at) AT TIME ZONE 'Asia/Shanghai')::date));
