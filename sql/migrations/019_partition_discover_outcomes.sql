-- discover_outcomes partitioned by month of discovered_at (issue 14, part 3), so its retention
-- drops whole months instead of deleting rows (docs/scaling.md, "Partitioning", has the figures).
--
-- It is the one table that loses rows by age: each poll used to delete its source's rows older
-- than PaceSettings.history_days. pages (archive retention clears a pointer, the row stays),
-- articles (kept for ever), urls and the rest never lose rows by age, so they stay whole.
--
-- Months are UTC calendar months, partitions named <table>_YYYY_MM. mediamon_maintenance creates
-- the next month ahead and drops the months wholly older than the history window
-- (pace_db.keep_history_months). A DEFAULT partition takes a row whose month has no partition yet
-- (maintenance paused for weeks), so an insert never fails; the next maintenance moves such rows
-- into their month.

-- Creates the month partitions of `parent` (range-partitioned on one timestamptz column) for every
-- month from first_at's to last_at's, and for every month that has rows in the DEFAULT partition,
-- moving those rows into it. Returns the names of the partitions created.
CREATE FUNCTION month_partitions_ensure(parent regclass, first_at timestamptz, last_at timestamptz)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    key text;
    schema_name text;
    parent_name text;
    default_part regclass;
    months timestamp[];
    in_default timestamp[];
    month timestamp;     -- a month's first instant in UTC
    part text;
    lower_bound text;
    upper_bound text;
    locked boolean := false;
BEGIN
    SELECT a.attname INTO key
    FROM pg_partitioned_table p JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
    WHERE p.partrelid = parent AND p.partstrat = 'r' AND p.partnatts = 1;
    IF key IS NULL THEN
        RAISE EXCEPTION '% is not range-partitioned on one column', parent;
    END IF;
    SELECT n.nspname, c.relname INTO schema_name, parent_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
    SELECT c.oid::regclass INTO default_part
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';

    -- Month arithmetic on timestamp without time zone: timestamptz + '1 month' follows the
    -- session's time zone, and a daylight-saving change would move a bound off midnight UTC.
    SELECT array_agg(m) INTO months
    FROM generate_series(date_trunc('month', first_at AT TIME ZONE 'UTC'),
                         date_trunc('month', last_at AT TIME ZONE 'UTC'), interval '1 month') m;
    IF default_part IS NOT NULL THEN
        EXECUTE format('SELECT array_agg(DISTINCT date_trunc(''month'', %I AT TIME ZONE ''UTC'')) FROM %s',
                       key, default_part) INTO in_default;
        months := coalesce(months, '{}') || coalesce(in_default, '{}');
    END IF;

    FOR month IN SELECT DISTINCT m FROM unnest(months) m ORDER BY m LOOP
        part := parent_name || '_' || to_char(month, 'YYYY_MM');
        CONTINUE WHEN to_regclass(format('%I.%I', schema_name, part)) IS NOT NULL;
        IF NOT locked THEN
            -- Writers wait until the months exist (milliseconds when the default is empty): a row
            -- inserted into the default between the move and the attach would fail the attach.
            EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', parent);
            locked := true;
            CONTINUE WHEN to_regclass(format('%I.%I', schema_name, part)) IS NOT NULL;
        END IF;
        lower_bound := to_char(month, 'YYYY-MM-DD') || ' 00:00:00+00';
        upper_bound := to_char(month + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00';
        -- Made apart, filled, then attached: the rows of its month leave the default first, or the
        -- attach would refuse the range. ATTACH adds the parent's indexes and foreign keys.
        EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       schema_name, part, parent);
        IF default_part IS NOT NULL THEN
            EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= %L AND %I < %L RETURNING *) '
                           'INSERT INTO %I.%I SELECT * FROM moved',
                           default_part, key, lower_bound, key, upper_bound, schema_name, part);
        END IF;
        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                       parent, schema_name, part, lower_bound, upper_bound);
        RETURN NEXT part;
    END LOOP;
END
$$;

-- Drops the partitions of `parent` whose upper bound is at or before older_than (the DEFAULT
-- partition never: month_partitions_ensure empties it). Returns the names dropped.
CREATE FUNCTION month_partitions_drop(parent regclass, older_than timestamptz)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    part regclass;
    part_name text;
    upper_at timestamptz;
BEGIN
    FOR part, upper_at IN
        SELECT c.oid::regclass,
               -- "FOR VALUES FROM ('…') TO ('…')", the bounds printed in the session's time zone
               CAST((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1] AS timestamptz)
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent
        ORDER BY 2
    LOOP
        CONTINUE WHEN upper_at IS NULL OR upper_at > older_than;
        part_name := part::text;
        EXECUTE format('DROP TABLE %s', part);
        RETURN NEXT part_name;
    END LOOP;
END
$$;

-- The pipeline's role runs them; nobody else needs to.
REVOKE EXECUTE ON FUNCTION month_partitions_ensure(regclass, timestamptz, timestamptz),
                           month_partitions_drop(regclass, timestamptz) FROM PUBLIC;

-- The table again, partitioned; its rows are copied (at most history_days of polls: each poll
-- trimmed its source's history, so even at 10,000 sources this is a few million small rows).
-- The primary key must hold the partition key; outcome_id alone stays unique by its sequence,
-- which the new table keeps, and no table refers to discover_outcomes.
ALTER TABLE discover_outcomes RENAME TO discover_outcomes_unpartitioned;
ALTER INDEX discover_outcomes_pkey RENAME TO discover_outcomes_unpartitioned_pkey;
ALTER INDEX discover_outcomes_source_idx RENAME TO discover_outcomes_unpartitioned_source_idx;
ALTER TABLE discover_outcomes_unpartitioned
    RENAME CONSTRAINT discover_outcomes_source_id_fkey TO discover_outcomes_unpartitioned_source_id_fkey;

CREATE TABLE discover_outcomes (
    outcome_id     bigint NOT NULL DEFAULT nextval('discover_outcomes_outcome_id_seq'),
    source_id      text NOT NULL REFERENCES sources ON DELETE CASCADE,
    discovered_at  timestamptz NOT NULL DEFAULT now(),
    answered       boolean NOT NULL,
    links          integer NOT NULL DEFAULT 0,
    new_urls       integer NOT NULL DEFAULT 0,
    PRIMARY KEY (outcome_id, discovered_at)
) PARTITION BY RANGE (discovered_at);
ALTER SEQUENCE discover_outcomes_outcome_id_seq OWNED BY discover_outcomes.outcome_id;
CREATE INDEX discover_outcomes_source_idx ON discover_outcomes (source_id, discovered_at);
CREATE TABLE discover_outcomes_default PARTITION OF discover_outcomes DEFAULT;

SELECT count(*) FROM month_partitions_ensure(
    'discover_outcomes', coalesce((SELECT min(discovered_at) FROM discover_outcomes_unpartitioned), now()),
    now() + interval '1 month');
INSERT INTO discover_outcomes (outcome_id, source_id, discovered_at, answered, links, new_urls)
SELECT outcome_id, source_id, discovered_at, answered, links, new_urls FROM discover_outcomes_unpartitioned;
DROP TABLE discover_outcomes_unpartitioned;
