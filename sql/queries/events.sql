-- Queries of the events stage (mediamon.events_db): the relevant stories' facts in, events out.
-- Linking is incremental: only stories whose facts changed (touched_stories, damaged_events) are
-- relinked, with the components they belong to (migration 016).

-- name: lock
SELECT pg_advisory_xact_lock(hashtext('mediamon_events'), hashtext(:topic_id))

-- name: touched_stories
-- Stories that are new, changed or gone since they were last linked.
WITH current_facts AS (
    SELECT story_id, md5(string_agg(facts_text, E'\n' ORDER BY article_id)) AS facts_md5
    FROM event_story_copies WHERE topic_id = :topic_id GROUP BY story_id
), linked AS (
    SELECT story_id, facts_md5 FROM event_stories WHERE topic_id = :topic_id
)
SELECT story_id FROM current_facts c FULL JOIN linked l USING (story_id)
WHERE c.facts_md5 IS DISTINCT FROM l.facts_md5
ORDER BY story_id

-- name: damaged_events
-- Events that lost a story row (a deleted story leaves event_stories by cascade).
SELECT e.event_id FROM events e
LEFT JOIN event_stories es USING (topic_id, event_id)
WHERE e.topic_id = :topic_id
GROUP BY e.event_id, e.story_count
HAVING count(es.story_id) IS DISTINCT FROM e.story_count

-- name: component_stories
-- The stories of the components that hold any of :story_ids or :event_ids.
SELECT story_id FROM event_stories
WHERE topic_id = :topic_id AND component_id IN (
    SELECT component_id FROM event_stories
    WHERE topic_id = :topic_id AND (story_id = ANY(:story_ids) OR event_id = ANY(:event_ids)))

-- name: story_facts
-- Every copy of the stories in :story_ids or with a copy dated :first_day to :last_day, with its
-- story's fingerprint (taken in the same statement as the facts it hashes).
SELECT story_id, article_id, day, title, cooperation_types, agreements, pairs,
       md5(string_agg(facts_text, E'\n') OVER (PARTITION BY story_id ORDER BY article_id
           ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) AS facts_md5
FROM event_story_copies
WHERE topic_id = :topic_id AND story_id IN (
    SELECT story_id FROM event_story_copies
    WHERE topic_id = :topic_id AND (story_id = ANY(:story_ids) OR day BETWEEN :first_day AND :last_day))
ORDER BY story_id, article_id

-- name: delete_events
-- The events of :event_ids and those holding any of :story_ids (their event_stories go by cascade).
DELETE FROM events
WHERE topic_id = :topic_id AND (event_id = ANY(:event_ids) OR event_id IN (
    SELECT event_id FROM event_stories WHERE topic_id = :topic_id AND story_id = ANY(:story_ids)))

-- name: insert_events
INSERT INTO events (topic_id, event_id, event_date, title, parties, cooperation_types, agreements, linked_by,
                    story_count)
VALUES %s

-- name: insert_event_stories
INSERT INTO event_stories (topic_id, story_id, event_id, component_id, facts_md5) VALUES %s

-- name: event_counts
SELECT count(*) AS events, count(*) FILTER (WHERE story_count > 1) AS linked_events,
       coalesce(sum(story_count), 0) AS stories
FROM events WHERE topic_id = :topic_id
