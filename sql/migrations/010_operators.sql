-- Operators (issue 15): each source's discover history and learned pace, silence, and alerts.

-- One row per discover of a source: whether it answered and how many new URLs it brought. The
-- pace of a source (mediamon/pace.py) is learned from its last PaceSettings.history_days of rows.
CREATE TABLE discover_outcomes (
    outcome_id     bigserial PRIMARY KEY,
    source_id      text NOT NULL REFERENCES sources ON DELETE CASCADE,
    discovered_at  timestamptz NOT NULL DEFAULT now(),
    answered       boolean NOT NULL,
    links          integer NOT NULL DEFAULT 0,
    new_urls       integer NOT NULL DEFAULT 0
);
CREATE INDEX discover_outcomes_source_idx ON discover_outcomes (source_id, discovered_at);

ALTER TABLE source_health
    ADD COLUMN publish_gap_s   double precision,   -- estimated mean time between two new URLs
    ADD COLUMN poll_interval_s double precision,   -- the learned interval, within the floor and ceiling
    ADD COLUMN next_due_at     timestamptz,        -- when mediamon_ingest discovers it next
    ADD COLUMN last_new_at     timestamptz,        -- last discover that brought a new URL
    ADD COLUMN silent_since    timestamptz,        -- NULL: not silent
    ADD COLUMN expected_gap_s  double precision,   -- its usual gap between new URLs
    ADD COLUMN observed_gap_s  double precision;   -- time since its last new URL, as of its last answer

-- Every event that alerts, once: the key says what it is (a region pair, an agreement, a silence or a
-- disable of a source), so an event is never sent twice. sent_at stays NULL until a channel took it,
-- so a receiver that is down gets the event with the next run's batch.
CREATE TABLE alerts (
    alert_key   text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('new_pair', 'new_agreement', 'source_silent', 'source_disabled')),
    title       text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    url         text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    sent_to     text
);
CREATE INDEX alerts_pending_idx ON alerts (created_at) WHERE sent_at IS NULL;

-- Pairs and agreements known before this migration are not news.
INSERT INTO alerts (alert_key, kind, title, sent_at, sent_to)
SELECT DISTINCT 'pair:' || topic_id || ':' || region_a || '-' || region_b, 'new_pair', region_a || '-' || region_b,
       now(), 'known before migration 010'
FROM article_region_pairs
ON CONFLICT DO NOTHING;
INSERT INTO alerts (alert_key, kind, title, sent_at, sent_to)
SELECT DISTINCT 'agreement:' || t.topic_id || ':' || lower(agreement), 'new_agreement', agreement,
       now(), 'known before migration 010'
FROM article_topics t CROSS JOIN LATERAL unnest(t.agreements) AS agreement
WHERE t.relevant
ON CONFLICT DO NOTHING;

-- analyst.source_health gains the learned interval, the next due time and silence (appended: a view
-- keeps its columns' order).
CREATE OR REPLACE VIEW analyst.source_health AS
SELECT s.source_id, s.kind, s.url,
       s.enabled AS enabled_in_config,
       s.enabled AND h.disabled_at IS NULL AS active,
       coalesce(h.failure_score, 0) AS failure_score,
       coalesce(h.consecutive_failures, 0) AS consecutive_failures,
       coalesce(h.attempts, 0) AS attempts,
       coalesce(h.failures, 0) AS failures,
       h.last_stage, h.last_error, h.last_error_hard, h.last_error_at, h.last_success_at,
       h.next_attempt_at,
       coalesce(h.next_attempt_at > now(), false) AS backing_off,
       h.disabled_at, h.disabled_reason,
       CASE WHEN NOT s.enabled THEN 'off_in_config'
            WHEN h.disabled_at IS NOT NULL THEN 'disabled'
            WHEN h.next_attempt_at > now() THEN 'backing_off'
            WHEN h.silent_since IS NOT NULL THEN 'silent'
            ELSE 'ok' END AS state,
       make_interval(secs => round(h.poll_interval_s)) AS learned_interval,
       h.next_due_at,
       h.last_new_at,
       h.silent_since IS NOT NULL AS silent,
       h.silent_since,
       make_interval(secs => round(h.expected_gap_s)) AS expected_gap,
       make_interval(secs => round(h.observed_gap_s)) AS observed_gap
FROM sources s
LEFT JOIN source_health h USING (source_id);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'mediamon_analyst') THEN
        GRANT SELECT ON analyst.source_health TO mediamon_analyst;
    END IF;
END
$$;
