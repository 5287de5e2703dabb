-- Least privilege for the analyst role (issue 17): no temporary objects (tables, or functions in
-- pg_temp), a statement timeout, and CONNECT to this database only by explicit grant.
--
-- TEMPORARY and CONNECT are granted to PUBLIC by default on every database. Revoking them from
-- PUBLIC here and granting them back explicitly to the role running the migrations (the owner of
-- the pipeline's data) leaves the pipeline as it was, and leaves the analyst CONNECT alone.
-- Other databases on the same server (Airflow's metadata) must revoke PUBLIC's CONNECT themselves:
-- docker-compose's airflow-init does it for Airflow's; docs/analyst-guide.md says how.
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY, CONNECT ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT TEMPORARY, CONNECT ON DATABASE %I TO %I', current_database(), current_user);
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'mediamon_analyst') THEN
        EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM mediamon_analyst', current_database());
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO mediamon_analyst', current_database());
        -- Role settings apply to sessions that log in as the role; logins that inherit it get
        -- theirs from the administrator (docs/analyst-guide.md), with the same values.
        -- The role is shared by every database on the server, which may migrate at once: set only
        -- what is missing, and a concurrent identical update is not an error.
        IF NOT EXISTS (SELECT FROM pg_db_role_setting
                       WHERE setrole = 'mediamon_analyst'::regrole AND setdatabase = 0
                         AND 'statement_timeout=120s' = ANY(setconfig)) THEN
            BEGIN
                ALTER ROLE mediamon_analyst SET statement_timeout = '120s';
                ALTER ROLE mediamon_analyst SET idle_in_transaction_session_timeout = '600s';
            EXCEPTION WHEN internal_error OR unique_violation THEN
                NULL;  -- "tuple concurrently updated": another database's migration set it
            END;
        END IF;
    END IF;
END
$$;
