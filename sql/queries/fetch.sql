-- Queries of the fetch stage (fetch_db.py): the pending frontier, raw pages, URL states.

-- name: pending_urls
-- A URL belongs to every enabled source that lists it (url_sources; urls.source_id is only the
-- first to list it): source_ids says which, so one source's hold cannot keep it from the others.
SELECT u.url_id, u.host, array_agg(s.source_id ORDER BY s.source_id) AS source_ids
FROM urls u
CROSS JOIN LATERAL (SELECT us.source_id FROM url_sources us WHERE us.url_id = u.url_id
                    UNION SELECT u.source_id) listed
JOIN sources s ON s.source_id = listed.source_id AND s.enabled
WHERE u.status = 'pending'
GROUP BY u.url_id, u.host
ORDER BY u.host, u.url_id

-- name: urls_to_fetch
-- Each URL with the ids and settings of the enabled sources that list it: its fetch policy
-- (allowlist, delay) comes from them, not from whichever source listed it first.
SELECT u.url_id, u.canonical_url, array_agg(s.source_id ORDER BY s.source_id) AS source_ids,
       jsonb_agg(s.settings ORDER BY s.source_id) AS source_settings
FROM urls u
CROSS JOIN LATERAL (SELECT us.source_id FROM url_sources us WHERE us.url_id = u.url_id
                    UNION SELECT u.source_id) listed
JOIN sources s ON s.source_id = listed.source_id AND s.enabled
WHERE u.url_id = ANY(:url_ids) AND u.status = 'pending'
GROUP BY u.url_id, u.canonical_url
ORDER BY u.url_id

-- name: commit_without_flush
-- For this transaction only: COMMIT returns before the WAL reaches disk. A server crash can lose
-- the last such commits, never half of one; callers use it where redoing the work is harmless.
SET LOCAL synchronous_commit = off

-- name: mark_url
UPDATE urls SET status = :status, reason = :reason, attempts = attempts + 1, last_attempt_at = now(),
    fetched_at = CASE WHEN :status = 'fetched' THEN now() ELSE fetched_at END
WHERE url_id = :url_id

-- name: mark_urls_fetched
-- fetch.mark_url with status 'fetched' for many URLs in one statement.
UPDATE urls SET status = 'fetched', reason = NULL, attempts = attempts + 1, last_attempt_at = now(),
    fetched_at = now()
WHERE url_id = ANY(:url_ids)

-- name: give_up_or_retry_url
-- A temporary failure leaves the URL pending for a later run, until it has been attempted
-- :max_attempts times; then it fails for good with its last reason.
UPDATE urls SET status = CASE WHEN attempts + 1 >= :max_attempts THEN 'failed' ELSE 'pending' END,
    reason = :reason, attempts = attempts + 1, last_attempt_at = now()
WHERE url_id = :url_id
RETURNING status
