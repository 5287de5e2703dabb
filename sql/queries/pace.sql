-- Pace: each source's discover history, learned interval, due time and silence (see 010_operators.sql;
-- partitioned by month since 019_partition_discover_outcomes.sql).

-- name: record_poll
INSERT INTO discover_outcomes (source_id, answered, links, new_urls)
VALUES (:source_id, :answered, :links, :new_urls)

-- name: polls
-- Older rows wait for mediamon_maintenance to drop their month (keep_history_months).
SELECT discovered_at, answered, new_urls
FROM discover_outcomes
WHERE source_id = :source_id AND discovered_at >= now() - make_interval(days => :history_days)
ORDER BY discovered_at

-- name: save_pace
-- silent_since keeps the start of a silence across runs, so one silence alerts once.
INSERT INTO source_health AS h (source_id, publish_gap_s, poll_interval_s, next_due_at, last_new_at,
                                silent_since, expected_gap_s, observed_gap_s, updated_at)
VALUES (:source_id, :publish_gap_s, :poll_interval_s, :next_due_at, :last_new_at,
        CASE WHEN :silent THEN now() END, :expected_gap_s, :observed_gap_s, now())
ON CONFLICT (source_id) DO UPDATE SET
    publish_gap_s = EXCLUDED.publish_gap_s,
    poll_interval_s = EXCLUDED.poll_interval_s,
    next_due_at = EXCLUDED.next_due_at,
    last_new_at = EXCLUDED.last_new_at,
    silent_since = CASE WHEN :silent THEN coalesce(h.silent_since, now()) END,
    expected_gap_s = EXCLUDED.expected_gap_s,
    observed_gap_s = EXCLUDED.observed_gap_s,
    updated_at = now()
RETURNING silent_since, silent_since = now() AS newly_silent

-- name: schedule
-- Each listed source with what decides whether it is discovered now.
SELECT s.source_id,
       h.disabled_at IS NOT NULL OR coalesce(h.next_attempt_at > now(), false) AS on_hold,
       h.next_due_at, coalesce(h.next_due_at <= now(), true) AS due
FROM sources s
LEFT JOIN source_health h USING (source_id)
WHERE s.source_id = ANY(:source_ids)
ORDER BY s.source_id

-- name: lock_timeout
-- Adding or dropping a month locks discover_outcomes briefly: wait at most this long behind a
-- long reader, then fail (the next maintenance run tries again) rather than queue every poll.
SET LOCAL lock_timeout = '30s'

-- name: ensure_history_months
-- The current and next month (and the month of any row in the DEFAULT partition).
SELECT month_partitions_ensure('discover_outcomes', now(), now() + interval '1 month') AS name

-- name: drop_history_months
-- Only months wholly older than the window the pace is learned from.
SELECT month_partitions_drop('discover_outcomes', now() - make_interval(days => :history_days)) AS name
