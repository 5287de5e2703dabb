-- Search without a stored vector (issue 13): the tokens are an expression index, not a column.
--
-- Migration 011 stored a tsvector per article (~20 KB: every CJK character and bigram, every suffix
-- of every Latin word) and rechecked every candidate of a term of 3+ characters against its text.
-- Here the tokens are computed by an IMMUTABLE SQL function that only the GIN index stores, so
-- the table holds nothing for search, and the tokens are every window of up to 3 characters:
--
--   for every run of CJK characters, and every run of ASCII letters and digits (A-Z folded), the
--   substring of up to 3 characters starting at each of its characters ("上海市与" gives 上海市,
--   海市与, 市与, 与).
--
-- A text contains a term of one run of 1-3 characters exactly when one of its tokens starts with
-- the term, so 'term':* (a GIN prefix match) decides it without reading the text: 沪, 合作, 长三角,
-- GDP. A longer run contains all its 3-character windows, which are whole tokens: their AND selects
-- a superset of the articles that contain it, and only those candidates are rechecked with strpos.
-- Calibration: windows of 2 (bigrams + run-final characters) gave a GIN of 3.3 KB/article on the
-- bench corpus against 4.3 KB for windows of 3, but every 3-character term (长三角, 一体化, 京津冀,
-- 粤港澳: a large share of Chinese names and terms) needed the recheck, 20x slower at 20,000 articles.
--
-- Upgrade: the column search_vector and its indexes go; the GIN index is built over the existing
-- articles here (4-6 ms per article on 2 loaded cores). Dropping a column does not give its bytes back: run
-- VACUUM FULL articles afterwards (docs/scaling.md). Re-extraction (mediamon_reprocess) updates the
-- index like any write; there is no search stage and no backfill left.

-- The search tokens of an article. IMMUTABLE: it depends on its arguments only (translate folds
-- A-Z alone, no locale is involved). A lexeme has at most 3 characters, so no quoting is needed.
CREATE FUNCTION mediamon_search_vector(title text, body text, translation text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
    SELECT array_to_tsvector(coalesce(array_agg(substr(m[1], i, 3)), '{}'))
    FROM regexp_matches(translate(coalesce(title, '') || E'\n' || coalesce(body, '') || E'\n'
                                  || coalesce(translation, ''),
                                  'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),
                        '[\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9a-z]+', 'g') m,
         generate_series(1, length(m[1])) i
$$;

-- analyst.articles as migration 011 left it, its search_vector now the indexed expression: a
-- query on the view such as search_vector @@ '长三角:*' uses the index (selecting the column
-- computes it, ~1 ms per row).
CREATE OR REPLACE VIEW analyst.articles AS
SELECT a.article_id,
       coalesce(a.story_id, -coalesce(a.duplicate_of, a.article_id)) AS story_key,
       a.story_id,
       a.source_id,
       s.name AS source_name,
       a.site,
       a.site_name,
       a.canonical_url,
       a.title,
       a.published_at,
       (coalesce(a.published_at, a.created_at) AT TIME ZONE 'Asia/Shanghai')::date AS published_date,
       a.lang,
       a.author,
       a.source_attribution,
       a.duplicate_of,
       a.is_spam,
       a.spam_evidence,
       length(a.text) AS text_chars,
       a.text,
       a.created_at,
       a.published_at_source,
       CASE WHEN a.published_at IS NULL THEN 'first_seen' ELSE 'published' END AS published_date_basis,
       a.translation,
       mediamon_search_vector(a.title, a.text, a.translation) AS search_vector,
       s.outlet_tier,
       s.outlet_province::text AS outlet_province,
       s.media_type,
       s.collections
FROM articles a
JOIN sources s USING (source_id);

ALTER TABLE articles DROP COLUMN search_vector;   -- and articles_search_vector_idx, articles_unindexed_idx
SET LOCAL maintenance_work_mem = '256MB';
CREATE INDEX articles_search_idx ON articles USING gin (mediamon_search_vector(title, text, translation));

-- The tokens of one query term: a tsquery text (NULL when the term has none) and whether that
-- tsquery alone decides the match (the term is one run of 1-3 characters).
CREATE OR REPLACE FUNCTION mediamon_search_term(term text, OUT tsq text, OUT exact boolean)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    run text;
    parts text[] := '{}';
    i integer;
BEGIN
    FOR run IN
        SELECT m[1] FROM regexp_matches(translate(term, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),
                                        '[\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9a-z]+', 'g') m
    LOOP
        IF length(run) <= 3 THEN
            parts := parts || (quote_literal(run) || ':*');
        ELSE
            FOR i IN 1 .. length(run) - 2 LOOP
                parts := parts || quote_literal(substr(run, i, 3));
            END LOOP;
        END IF;
    END LOOP;
    IF cardinality(parts) = 0 THEN
        tsq := NULL;
        exact := false;
        RETURN;
    END IF;
    tsq := array_to_string(ARRAY(SELECT DISTINCT p FROM unnest(parts) p ORDER BY p), ' & ');
    exact := term ~ '^([\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{1,3}|[0-9A-Za-z]{1,3})$';
END
$$;

-- Search title, text and translation. Matches equal LIKE '%term%' on each of those fields, with
-- A-Z matched in either case. The GIN index gives the matches of the terms it decides (no text is
-- read); the other terms are rechecked with strpos() (or, for a term with Latin letters, a
-- case-folding regular expression) on the index's candidates only. Sequential and plain index
-- scans are off, so the articles are reached only through the GIN bitmap, never by a scan in date
-- order that would compute the tokens row by row (when no term has tokens, the sequential scan is
-- still taken, as the only plan). rank = how many of the query's (not excluded) terms the title
-- contains: it reads no text, so it costs nothing per match (a rank from term counts in the text
-- would read every matching text, which is what LIKE costs). Newest first, or by rank with order_by => 'rank';
-- page with max_results and skip, or by keyset: after => the last article_id of the previous page
-- (newest first only). work_mem keeps the bitmap of a frequent term exact (a lossy page would
-- recompute the tokens of its rows). Runs with the caller's rights: it reads analyst.articles.
DROP FUNCTION analyst.search(text, integer, integer, text);
CREATE FUNCTION analyst.search(query text, max_results integer DEFAULT 50, skip integer DEFAULT 0,
                               order_by text DEFAULT 'newest', after bigint DEFAULT NULL)
RETURNS TABLE (article_id bigint, story_key bigint, story_id bigint, title text, site text,
               published_at timestamptz, published_date date, rank real)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public
SET work_mem = '64MB'
SET enable_seqscan = off
SET enable_indexscan = off
SET enable_indexonlyscan = off
AS $$
DECLARE
    prefilter text;
    recheck text;
    needs_recheck boolean;
    terms text[];
    patterns text[];
    title_rank text;
    selection text;
    tsq tsquery;
    after_at timestamptz;
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
           bool_or(NOT s.exact),
           coalesce(string_agg(CASE WHEN s.term ~ '[a-z]' THEN format('(coalesce(a.title, '''') ~ $5[%s])::integer', s.n)
                                    ELSE format('(strpos(coalesce(a.title, ''''), $2[%s]) > 0)::integer', s.n) END,
                               ' + ') FILTER (WHERE NOT s.negated), '0')
    INTO terms, patterns, needs_recheck, title_rank
    FROM analyst.search_terms(query) WITH ORDINALITY s(clause, negated, term, tsq, exact, n);
    IF terms IS NULL THEN
        RETURN;
    END IF;
    -- A clause narrows the candidates when each of its terms has tokens (an excluded term only
    -- when its tokens decide it); the clauses that narrow are ANDed.
    SELECT string_agg(c.q, ' & ') INTO prefilter FROM (
        SELECT '(' || string_agg(CASE WHEN s.negated THEN '!(' || s.tsq || ')' ELSE '(' || s.tsq || ')' END,
                                 ' | ') || ')' AS q
        FROM analyst.search_terms(query) s
        GROUP BY s.clause
        HAVING bool_and(s.tsq IS NOT NULL AND (s.exact OR NOT s.negated))
    ) c;
    -- Each term against each field, as LIKE does; the fields are not concatenated, so no text is
    -- copied. Terms with Latin letters use the case-folding pattern, the others strpos().
    SELECT string_agg(c.e, ' AND ') INTO recheck FROM (
        SELECT '(' || string_agg(CASE WHEN s.negated THEN 'NOT ' ELSE '' END || '(' || (
                   SELECT string_agg(CASE WHEN s.term ~ '[a-z]'
                                          THEN format('coalesce(a.%s, '''') ~ $5[%s]', f, s.n)
                                          ELSE format('strpos(coalesce(a.%s, ''''), $2[%s]) > 0', f, s.n) END, ' OR ')
                   FROM unnest(ARRAY['title', 'text', 'translation']) f) || ')', ' OR ') || ')' AS e
        FROM analyst.search_terms(query) WITH ORDINALITY s(clause, negated, term, tsq, exact, n)
        GROUP BY s.clause
    ) c;
    tsq := prefilter::tsquery;
    -- The matches come from the GIN bitmap (the only way in that the settings leave), are sorted,
    -- and the page is cut; no text is read unless a term needs the recheck. A page (up to 1,000
    -- rows) is sorted narrow, by id and date, and only its rows are joined back for their other
    -- columns; a larger result takes them all in one pass instead (the join back would cost more).
    selection := format($q$
        FROM analyst.articles a
        WHERE %s AND %s
          AND ($6::bigint IS NULL
               OR (CASE WHEN $7::timestamptz IS NULL
                        THEN a.published_at IS NULL AND a.article_id < $6
                        ELSE a.published_at < $7 OR a.published_at IS NULL
                             OR (a.published_at = $7 AND a.article_id < $6) END))
        ORDER BY %s a.published_at DESC NULLS LAST, a.article_id DESC
        LIMIT $3 OFFSET $4 $q$,
        CASE WHEN tsq IS NULL THEN 'true' ELSE 'a.search_vector @@ $1' END,
        CASE WHEN needs_recheck THEN recheck ELSE 'true' END,
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

REVOKE ALL ON FUNCTION analyst.search(text, integer, integer, text, bigint) FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'mediamon_analyst') THEN
        GRANT EXECUTE ON FUNCTION analyst.search(text, integer, integer, text, bigint) TO mediamon_analyst;
    END IF;
END
$$;
