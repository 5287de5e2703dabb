-- analyst.search, faster for frequent terms (issue 13's >= 20x against LIKE for a two-word query).
-- The index and its tokens are migration 014's, unchanged; only the function is restated.
--
-- What changes, and why (measured at 20,000 articles, docs/scaling.md):
--
-- 1. The first page of a frequent query walks the articles newest first and rechecks each with
--    strpos() until the page is full, instead of collecting every match from the GIN bitmap and
--    sorting it. A bitmap costs ~1 us per match, a walked row up to ~20 us (its text is read), so
--    the walk wins when few rows have to be walked for a page: the function asks the planner for
--    its estimate of the matches (the statistics ANALYZE keeps of the index's expression), expects
--    to walk (skip + max_results) * articles / matches rows, and walks when that costs no more
--    than the bitmap would (matches / 20 walked rows). The walk stops after twice that many rows
--    whatever it found; if the page is not full then (the estimate was too high), the bitmap plan
--    runs as before, so a wrong estimate at most triples a query's cost and never changes its rows.
--    The planner multiplies the selectivities of ANDed terms, which underestimates terms that come
--    together (长三角 一体化: 2,754 estimated, 4,705 found at 20,000 articles): such a query keeps
--    the bitmap plan until the table is large enough for the walk to win even so. A table never
--    analyzed takes the bitmap plan, as in 014.
--    The walk runs without parallel workers: its rows must come in the order of the UNION ALL.
-- 2. The bitmap plan rechecks only the clauses the index does not decide (014 rechecked every
--    clause when any needed it: 对口支援 新疆 read every candidate's text for 新疆 too).
--
-- Story ids come from analyst.articles as before (its story_id and story_key columns).

CREATE OR REPLACE FUNCTION analyst.search(query text, max_results integer DEFAULT 50, skip integer DEFAULT 0,
                                          order_by text DEFAULT 'newest', after bigint DEFAULT NULL)
RETURNS TABLE (article_id bigint, story_key bigint, story_id bigint, title text, site text,
               published_at timestamptz, published_date date, rank real)
LANGUAGE plpgsql VOLATILE   -- EXPLAIN (the estimate) may not run in a STABLE function
SET search_path = pg_catalog, public
SET work_mem = '64MB'
SET enable_seqscan = off
SET enable_indexscan = off
SET enable_indexonlyscan = off
AS $$
DECLARE
    -- A walked row (its text read, every term rechecked) costs about this many bitmap matches.
    walk_cost constant real := 20;
    prefilter text;
    recheck text;
    recheck_all text;
    terms text[];
    patterns text[];
    title_rank text;
    selection text;
    keyset text;
    tsq tsquery;
    after_at timestamptz;
    plan json;
    estimate real;
    total real;
    walk_limit bigint;
    page bigint[];
    parallel_workers text;
BEGIN
    IF order_by NOT IN ('newest', 'rank') THEN
        RAISE EXCEPTION 'order_by must be ''newest'' or ''rank'', not %', quote_literal(order_by);
    END IF;
    IF after IS NOT NULL THEN
        IF order_by <> 'newest' THEN
            RAISE EXCEPTION 'after pages newest-first results only; page ranked results with skip';
        END IF;
        SELECT a.published_at INTO after_at FROM analyst.articles a WHERE a.article_id = after;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'after: no article %', after;
        END IF;
    END IF;
    SELECT array_agg(s.term ORDER BY s.n), array_agg(mediamon_search_pattern(s.term) ORDER BY s.n),
           coalesce(string_agg(CASE WHEN s.term ~ '[a-z]' THEN format('(coalesce(a.title, '''') ~ $5[%s])::integer', s.n)
                                    ELSE format('(strpos(coalesce(a.title, ''''), $2[%s]) > 0)::integer', s.n) END,
                               ' + ') FILTER (WHERE NOT s.negated), '0')
    INTO terms, patterns, title_rank
    FROM analyst.search_terms(query) WITH ORDINALITY s(clause, negated, term, tsq, exact, n);
    IF terms IS NULL THEN
        RETURN;
    END IF;
    -- Per clause: the tsquery that narrows the candidates (when each of its terms has tokens, an
    -- excluded term only when its tokens decide it), whether the index decides the clause alone
    -- (every term exact), and its recheck: each term against each field, as LIKE does (the fields
    -- are not concatenated, so no text is copied; terms with Latin letters use the case-folding
    -- pattern, the others strpos()). The narrowing clauses are ANDed into the prefilter; the
    -- recheck keeps the undecided clauses (bitmap plan) or all of them (the walk reads no index).
    SELECT string_agg(c.q, ' & ') FILTER (WHERE c.narrows),
           string_agg(c.e, ' AND ') FILTER (WHERE NOT c.decided),
           string_agg(c.e, ' AND ')
    INTO prefilter, recheck, recheck_all
    FROM (
        SELECT '(' || string_agg(CASE WHEN s.negated THEN '!(' || s.tsq || ')' ELSE '(' || s.tsq || ')' END,
                                 ' | ') || ')' AS q,
               bool_and(s.tsq IS NOT NULL AND (s.exact OR NOT s.negated)) AS narrows,
               bool_and(s.tsq IS NOT NULL AND s.exact) AS decided,
               '(' || string_agg(CASE WHEN s.negated THEN 'NOT ' ELSE '' END || '(' || (
                   SELECT string_agg(CASE WHEN s.term ~ '[a-z]'
                                          THEN format('coalesce(a.%s, '''') ~ $5[%s]', f, s.n)
                                          ELSE format('strpos(coalesce(a.%s, ''''), $2[%s]) > 0', f, s.n) END, ' OR ')
                   FROM unnest(ARRAY['title', 'text', 'translation']) f) || ')', ' OR ') || ')' AS e
        FROM analyst.search_terms(query) WITH ORDINALITY s(clause, negated, term, tsq, exact, n)
        GROUP BY s.clause
    ) c;
    tsq := prefilter::tsquery;
    keyset := $k$($6::bigint IS NULL
               OR (CASE WHEN $7::timestamptz IS NULL
                        THEN a.published_at IS NULL AND a.article_id < $6
                        ELSE a.published_at < $7 OR a.published_at IS NULL
                             OR (a.published_at = $7 AND a.article_id < $6) END))$k$;

    -- The first page of a frequent query, newest first: walk the articles in that order (the
    -- published_at index backwards, then the undated ones by id, as the order puts them last) and
    -- keep those that pass the full recheck, stopping after walk_limit rows.
    IF order_by = 'newest' AND tsq IS NOT NULL AND max_results <= 1000 THEN
        EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM analyst.articles a WHERE a.search_vector @@ %L::tsquery',
                       tsq) INTO plan;
        estimate := greatest((plan -> 0 -> 'Plan' ->> 'Plan Rows')::real, 1);
        -- reltuples is -1 until the table is first analyzed: no statistics, no walk.
        SELECT c.reltuples INTO total FROM pg_class c WHERE c.oid = 'public.articles'::regclass;
        walk_limit := ceil(2 * estimate / walk_cost);
        IF total > 0 AND (skip + max_results) * total / estimate <= estimate / walk_cost THEN
            parallel_workers := current_setting('max_parallel_workers_per_gather');
            PERFORM set_config('enable_indexscan', 'on', true), set_config('max_parallel_workers_per_gather', '0', true);
            EXECUTE format($q$
                SELECT array_agg(a.article_id ORDER BY a.published_at DESC NULLS LAST, a.article_id DESC) FROM (
                    SELECT a.* FROM (
                        (SELECT a.article_id, a.published_at, a.title, a.text, a.translation
                         FROM analyst.articles a
                         WHERE a.published_at IS NOT NULL
                           AND ($6::bigint IS NULL OR ($7::timestamptz IS NOT NULL AND a.published_at <= $7
                                                       AND (a.published_at < $7 OR a.article_id < $6)))
                         ORDER BY a.published_at DESC, a.article_id DESC LIMIT $8)
                        UNION ALL
                        (SELECT a.article_id, a.published_at, a.title, a.text, a.translation
                         FROM analyst.articles a
                         WHERE a.published_at IS NULL
                           AND ($6::bigint IS NULL OR $7::timestamptz IS NOT NULL OR a.article_id < $6)
                         ORDER BY a.article_id DESC LIMIT $8)
                        LIMIT $8) a
                    WHERE %s
                    LIMIT $3 + $4) a $q$, recheck_all)
            INTO page
            USING tsq, terms, max_results, skip, patterns, after, after_at, walk_limit;
            PERFORM set_config('enable_indexscan', 'off', true),
                    set_config('max_parallel_workers_per_gather', parallel_workers, true);
            IF cardinality(page) = skip + max_results THEN
                RAISE DEBUG 'analyst.search: newest-first walk (estimate %, walked at most % rows)', estimate, walk_limit;
                RETURN QUERY EXECUTE format($q$
                    SELECT a.article_id, a.story_key, a.story_id, a.title, a.site, a.published_at, a.published_date,
                           (%s)::real AS rank
                    FROM analyst.articles a
                    WHERE a.article_id = ANY ($6[$4 + 1:])
                    ORDER BY a.published_at DESC NULLS LAST, a.article_id DESC $q$, title_rank)
                USING tsq, terms, max_results, skip, patterns, page;
                RETURN;
            END IF;
        END IF;
    END IF;

    -- Otherwise the matches come from the GIN bitmap (the only way in that the settings leave),
    -- are sorted, and the page is cut; no text is read unless a clause needs the recheck. A page
    -- (up to 1,000 rows) is sorted narrow, by id and date, and only its rows are joined back for
    -- their other columns; a larger result takes them all in one pass instead (the join back would
    -- cost more).
    RAISE DEBUG 'analyst.search: GIN bitmap';
    selection := format($q$
        FROM analyst.articles a
        WHERE %s AND %s AND %s
        ORDER BY %s a.published_at DESC NULLS LAST, a.article_id DESC
        LIMIT $3 OFFSET $4 $q$,
        CASE WHEN tsq IS NULL THEN 'true' ELSE 'a.search_vector @@ $1' END,
        coalesce(recheck, 'true'), keyset,
        CASE order_by WHEN 'rank' THEN 'rank DESC,' ELSE '' END);
    RETURN QUERY EXECUTE CASE WHEN max_results <= 1000 THEN format($q$
        SELECT a.article_id, a.story_key, a.story_id, a.title, a.site, a.published_at, a.published_date,
               (%s)::real AS rank
        FROM (SELECT a.article_id, a.published_at %s %s) p
        JOIN analyst.articles a ON a.article_id = p.article_id
        ORDER BY %s p.published_at DESC NULLS LAST, p.article_id DESC $q$,
        title_rank, CASE order_by WHEN 'rank' THEN ', (' || title_rank || ')::real AS rank' ELSE '' END, selection,
        CASE order_by WHEN 'rank' THEN '8 DESC,' ELSE '' END)
    ELSE format($q$
        SELECT a.article_id, a.story_key, a.story_id, a.title, a.site, a.published_at, a.published_date,
               (%s)::real AS rank %s $q$,
        title_rank, selection) END
    USING tsq, terms, max_results, skip, patterns, after, after_at;
END
$$;

-- CREATE OR REPLACE keeps 014's grants on an upgrade; restated for a function created here anew.
REVOKE ALL ON FUNCTION analyst.search(text, integer, integer, text, bigint) FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'mediamon_analyst') THEN
        GRANT EXECUTE ON FUNCTION analyst.search(text, integer, integer, text, bigint) TO mediamon_analyst;
    END IF;
END
$$;
