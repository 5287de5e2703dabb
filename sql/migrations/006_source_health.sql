-- Source health: a failure score per source, exponential backoff of its next attempt, and an
-- automatic disable past a threshold. Kept apart from sources.enabled, which is the user's intent
-- from the sources YAML and is rewritten by every sync; an auto-disabled source stays disabled
-- until `mediamon sources enable ID` clears disabled_at.
CREATE TABLE source_health (
    source_id            text PRIMARY KEY REFERENCES sources ON DELETE CASCADE,
    failure_score        double precision NOT NULL DEFAULT 0,
    consecutive_failures integer NOT NULL DEFAULT 0,
    attempts             integer NOT NULL DEFAULT 0,
    failures             integer NOT NULL DEFAULT 0,
    last_stage           text,                  -- discover | fetch
    last_error           text,                  -- reason code, e.g. timeout, http_404
    last_error_hard      boolean,
    last_error_at        timestamptz,
    last_success_at      timestamptz,
    next_attempt_at      timestamptz,           -- NULL: no backoff
    disabled_at          timestamptz,           -- NULL: not auto-disabled
    disabled_reason      text,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE SCHEMA IF NOT EXISTS analyst;

-- One row per source, healthy or not: what the operator looks at first when a source dies.
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
       h.disabled_at, h.disabled_reason
FROM sources s
LEFT JOIN source_health h USING (source_id);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'mediamon_analyst') THEN
        GRANT USAGE ON SCHEMA analyst TO mediamon_analyst;
        GRANT SELECT ON analyst.source_health TO mediamon_analyst;
    END IF;
END
$$;
