-- Queries of the events stage (mediamon.events_db): the relevant stories' facts in, events out.

-- name: lock
SELECT pg_advisory_xact_lock(hashtext('mediamon_events'), hashtext(:topic_id))

-- name: story_facts
-- One row per relevant, non-spam copy that belongs to a story, with its cooperating pairs.
SELECT a.story_id, a.published_date AS day, coalesce(st.title, a.title, '') AS title,
       t.cooperation_types, t.agreements,
       coalesce((SELECT array_agg(p.region_a || '-' || p.region_b) FROM article_region_pairs p
                 WHERE p.article_id = a.article_id AND p.topic_id = t.topic_id), '{}') AS pairs
FROM article_topics t
JOIN analyst.articles a USING (article_id)
JOIN stories st ON st.story_id = a.story_id
WHERE t.topic_id = :topic_id AND t.relevant AND NOT a.is_spam
ORDER BY a.story_id, a.article_id

-- name: delete_events
DELETE FROM events WHERE topic_id = :topic_id

-- name: insert_events
INSERT INTO events (topic_id, event_id, event_date, title, parties, cooperation_types, agreements, linked_by)
VALUES %s

-- name: insert_event_stories
INSERT INTO event_stories (topic_id, story_id, event_id) VALUES %s

-- name: event_counts
SELECT count(*) AS events, count(*) FILTER (WHERE cardinality(linked_by) > 0) AS linked_events
FROM events WHERE topic_id = :topic_id
