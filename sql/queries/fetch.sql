-- Queries of the fetch stage (fetch_db.py): the pending frontier, raw pages, URL states.

-- name: pending_urls
SELECT u.url_id, u.source_id, u.host
FROM urls u JOIN sources s USING (source_id)
WHERE u.status = 'pending' AND s.enabled
ORDER BY u.source_id, u.host, u.url_id

-- name: urls_to_fetch
SELECT u.url_id, u.canonical_url, u.source_id, s.settings
FROM urls u JOIN sources s USING (source_id)
WHERE u.url_id = ANY(:url_ids) AND u.status = 'pending'
ORDER BY u.url_id

-- name: commit_without_flush
-- For this transaction only: COMMIT returns before the WAL reaches disk. A server crash can lose
-- the last such commits, never half of one; callers use it where redoing the work is harmless.
SET LOCAL synchronous_commit = off

-- name: mark_url
UPDATE urls SET status = :status, reason = :reason, attempts = attempts + 1, last_attempt_at = now(),
    fetched_at = CASE WHEN :status = 'fetched' THEN now() ELSE fetched_at END
WHERE url_id = :url_id

-- name: give_up_or_retry_url
-- A temporary failure leaves the URL pending for a later run, until it has been attempted
-- :max_attempts times; then it fails for good with its last reason.
UPDATE urls SET status = CASE WHEN attempts + 1 >= :max_attempts THEN 'failed' ELSE 'pending' END,
    reason = :reason, attempts = attempts + 1, last_attempt_at = now()
WHERE url_id = :url_id
RETURNING status
