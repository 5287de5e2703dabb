-- Source health: failure score, backoff and automatic disable (see 006_source_health.sql).

-- name: record_success
-- A success decays the score, ends the backoff and resets the run of failures.
INSERT INTO source_health AS h (source_id, attempts, last_stage, last_success_at, updated_at)
VALUES (:source_id, 1, :stage, now(), now())
ON CONFLICT (source_id) DO UPDATE SET
    failure_score = h.failure_score * :decay,
    consecutive_failures = 0,
    attempts = h.attempts + 1,
    last_stage = EXCLUDED.last_stage,
    last_success_at = now(),
    next_attempt_at = NULL,
    updated_at = now()

-- name: record_failure
-- A failure adds :weight to the score and pushes the next attempt out by
-- :base_s * 2^(consecutive failures - 1) seconds, at most :max_s. Reaching :disable_score disables
-- the source (once: the first reason is kept). One statement, so concurrent fetch tasks of the
-- same source add up instead of overwriting each other.
INSERT INTO source_health AS h (source_id, failure_score, consecutive_failures, attempts, failures,
                                last_stage, last_error, last_error_hard, last_error_at, next_attempt_at,
                                disabled_at, disabled_reason, updated_at)
VALUES (:source_id, :weight, 1, 1, 1, :stage, :reason, :hard, now(),
        now() + make_interval(secs => least(CAST(:max_s AS double precision), :base_s)),
        CASE WHEN :weight >= :disable_score THEN now() END,
        CASE WHEN :weight >= :disable_score
             THEN format('failure score %s >= %s; last error (%s): %s', :weight, :disable_score, :stage, :reason) END,
        now())
ON CONFLICT (source_id) DO UPDATE SET
    failure_score = h.failure_score + :weight,
    consecutive_failures = h.consecutive_failures + 1,
    attempts = h.attempts + 1,
    failures = h.failures + 1,
    last_stage = EXCLUDED.last_stage,
    last_error = EXCLUDED.last_error,
    last_error_hard = EXCLUDED.last_error_hard,
    last_error_at = now(),
    next_attempt_at = now() + make_interval(secs => least(CAST(:max_s AS double precision),
                                                          :base_s * 2 ^ h.consecutive_failures)),
    disabled_at = CASE WHEN h.disabled_at IS NULL AND h.failure_score + :weight >= :disable_score
                       THEN now() ELSE h.disabled_at END,
    disabled_reason = CASE WHEN h.disabled_at IS NULL AND h.failure_score + :weight >= :disable_score
                           THEN format('failure score %s >= %s; last error (%s): %s',
                                       round(CAST(h.failure_score + :weight AS numeric), 2), :disable_score,
                                       :stage, :reason)
                           ELSE h.disabled_reason END,
    updated_at = now()
RETURNING failure_score, next_attempt_at, disabled_reason, disabled_at = now() AS newly_disabled

-- name: sources_on_hold
-- Sources not to be attempted now: auto-disabled, or backing off.
SELECT source_id, disabled_at IS NOT NULL AS disabled, next_attempt_at, disabled_reason
FROM source_health
WHERE disabled_at IS NOT NULL OR next_attempt_at > now()

-- name: reenable_source
UPDATE source_health SET failure_score = 0, consecutive_failures = 0, next_attempt_at = NULL,
    disabled_at = NULL, disabled_reason = NULL, updated_at = now()
WHERE source_id = :source_id

-- name: source_exists
SELECT count(*) FROM sources WHERE source_id = :source_id

-- name: health
SELECT * FROM analyst.source_health ORDER BY source_id
