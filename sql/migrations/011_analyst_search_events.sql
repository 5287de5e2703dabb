-- What analysts ask first (issue 13): full-text search that works for Chinese, outlets and
-- collections of sources, events (several stories about one cooperation event) and a trend
-- normalized by everything collected that day.

-- --- search ------------------------------------------------------------------------------------
-- Tokens made by the pipeline (mediamon.search): CJK characters and bigrams, suffixes of lower-cased
-- Latin words. NULL until the search stage has indexed the article (new rows are indexed on load).
ALTER TABLE articles ADD COLUMN search_vector tsvector;
CREATE INDEX articles_search_vector_idx ON articles USING gin (search_vector);
CREATE INDEX articles_unindexed_idx ON articles (article_id) WHERE search_vector IS NULL;

-- --- outlets and collections ------------------------------------------------------------------
ALTER TABLE sources
    ADD COLUMN outlet_tier text CHECK (outlet_tier IN
        ('central', 'provincial', 'municipal', 'county', 'government', 'portal', 'other')),
    ADD COLUMN outlet_province char(6),
    ADD COLUMN media_type text,
    ADD COLUMN collections text[] NOT NULL DEFAULT '{}';
CREATE INDEX sources_collections_idx ON sources USING gin (collections);

-- --- events ------------------------------------------------------------------------------------
-- Stories about one cooperation event (mediamon.events). Rebuilt by the events stage from the
-- relevant stories; an event's id is the smallest story_id among its stories, so it stays the same
-- across rebuilds unless that story leaves the event.
CREATE TABLE events (
    topic_id          text NOT NULL,
    event_id          bigint NOT NULL,
    event_date        date NOT NULL,
    title             text,
    parties           text[] NOT NULL DEFAULT '{}',   -- region codes of the cooperating parties
    cooperation_types text[] NOT NULL DEFAULT '{}',
    agreements        text[] NOT NULL DEFAULT '{}',
    linked_by         text[] NOT NULL DEFAULT '{}',   -- the rules that joined its stories
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic_id, event_id)
);

CREATE TABLE event_stories (
    topic_id   text NOT NULL,
    story_id   bigint NOT NULL REFERENCES stories ON DELETE CASCADE,
    event_id   bigint NOT NULL,
    PRIMARY KEY (topic_id, story_id),
    FOREIGN KEY (topic_id, event_id) REFERENCES events ON DELETE CASCADE
);
CREATE INDEX event_stories_event_idx ON event_stories (topic_id, event_id);


-- --- analyst views -----------------------------------------------------------------------------
-- analyst.articles (as migration 009 left it) gains the translation, the search vector and the
-- outlet of its source (columns appended at the end: CREATE OR REPLACE VIEW cannot reorder them).
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
       a.search_vector,
       s.outlet_tier,
       s.outlet_province::text AS outlet_province,
       s.media_type,
       s.collections
FROM articles a
JOIN sources s USING (source_id);

CREATE VIEW analyst.sources AS
SELECT s.source_id, s.name, s.language, s.kind, s.url, s.enabled,
       s.outlet_tier, s.outlet_province::text AS outlet_province, g.name AS outlet_province_name,
       s.media_type, s.collections
FROM sources s
LEFT JOIN regions g ON g.code = s.outlet_province;

-- One row per event: its stories, copies and sites (spam copies left out).
CREATE VIEW analyst.events AS
SELECT e.event_id,
       e.topic_id,
       e.event_date,
       e.title,
       e.parties,
       coalesce((SELECT array_agg(g.name ORDER BY p.ord) FROM unnest(e.parties) WITH ORDINALITY p(code, ord)
                 JOIN regions g ON g.code = p.code), '{}') AS party_names,
       e.cooperation_types,
       e.agreements,
       e.linked_by,
       count(DISTINCT es.story_id) AS stories,
       count(a.article_id) FILTER (WHERE NOT a.is_spam) AS articles,
       count(DISTINCT a.site) FILTER (WHERE NOT a.is_spam) AS sites,
       array_agg(DISTINCT es.story_id) AS story_ids
FROM events e
JOIN event_stories es USING (topic_id, event_id)
LEFT JOIN articles a ON a.story_id = es.story_id
GROUP BY e.topic_id, e.event_id;

-- Event -> story -> article, one row per copy.
CREATE VIEW analyst.event_articles AS
SELECT es.topic_id, es.event_id, es.story_id, a.article_id, a.title, a.site, a.source_id,
       a.canonical_url, a.published_at, a.published_date, a.is_spam, a.outlet_tier
FROM event_stories es
JOIN analyst.articles a ON a.story_id = es.story_id;

-- Normalized trend: relevant stories per day (Asia/Shanghai date of their copies) as a count and
-- as a share of all (non-spam) articles collected for that day, overall and per region taking part
-- (role 'party', migration 008), region pair and cooperation type. The share does not rise just because more sources were added.
CREATE VIEW analyst.daily_trend AS
WITH collected AS (
    SELECT published_date AS day, count(*) AS all_articles
    FROM analyst.articles WHERE NOT is_spam GROUP BY published_date
), hits AS (
    SELECT t.topic_id, t.article_id, a.story_key, a.published_date AS day, t.cooperation_types
    FROM article_topics t
    JOIN analyst.articles a USING (article_id)
    WHERE t.relevant AND NOT a.is_spam
), keyed AS (
    SELECT topic_id, day, story_key, article_id, 'all'::text AS dimension, ''::text AS key, ''::text AS name
    FROM hits
    UNION ALL
    SELECT h.topic_id, h.day, h.story_key, h.article_id, 'region', r.region_code::text, g.name
    FROM hits h
    JOIN article_regions r ON r.article_id = h.article_id AND r.topic_id = h.topic_id AND r.role = 'party'
    JOIN regions g ON g.code = r.region_code
    UNION ALL
    SELECT h.topic_id, h.day, h.story_key, h.article_id, 'pair', p.region_a || '-' || p.region_b,
           ga.name || '—' || gb.name
    FROM hits h
    JOIN article_region_pairs p ON p.article_id = h.article_id AND p.topic_id = h.topic_id
    JOIN regions ga ON ga.code = p.region_a
    JOIN regions gb ON gb.code = p.region_b
    UNION ALL
    SELECT h.topic_id, h.day, h.story_key, h.article_id, 'cooperation_type', ct, ct
    FROM hits h, unnest(h.cooperation_types) ct
)
SELECT k.topic_id, k.dimension, k.key, k.name, k.day,
       count(DISTINCT k.story_key) AS stories,
       count(DISTINCT k.article_id) AS articles,
       c.all_articles,
       round(count(DISTINCT k.story_key)::numeric / nullif(c.all_articles, 0), 4) AS story_share
FROM keyed k
JOIN collected c USING (day)
GROUP BY k.topic_id, k.dimension, k.key, k.name, k.day, c.all_articles;


-- --- search ------------------------------------------------------------------------------------
-- The tokens of one query term, as mediamon.search makes them for documents: a tsquery text (its
-- tokens ANDed, NULL when the term has none) and whether that tsquery alone decides the match
-- (a single token: one or two CJK characters, or one Latin word).
CREATE FUNCTION mediamon_search_term(term text, OUT tsq text, OUT exact boolean)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    run text;
    parts text[] := '{}';
    i integer;
BEGIN
    FOR run IN
        SELECT m[1] FROM regexp_matches(term, '([\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9A-Za-z]+)', 'g') m
    LOOP
        IF run ~ '^[0-9A-Za-z]' THEN
            parts := parts || (quote_literal(left(translate(run, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
                                                               'abcdefghijklmnopqrstuvwxyz'), 40)) || ':*');
        ELSIF length(run) = 1 THEN
            parts := parts || quote_literal(run);
        ELSE
            FOR i IN 1 .. length(run) - 1 LOOP
                parts := parts || quote_literal(substr(run, i, 2));
            END LOOP;
        END IF;
    END LOOP;
    IF cardinality(parts) = 0 THEN
        tsq := NULL;
        exact := false;
        RETURN;
    END IF;
    tsq := array_to_string(ARRAY(SELECT DISTINCT p FROM unnest(parts) p ORDER BY p), ' & ');
    exact := term ~ '^([\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{1,2}|[0-9A-Za-z]{1,40})$';
END
$$;

-- The query syntax: terms separated by spaces are ANDed, OR between two terms joins them, -term
-- excludes, "…" is a phrase (a term that may hold spaces). One row per term: its clause number
-- (terms of one clause are ORed), whether it is negated, the term folded to lower case (A-Z only)
-- and its tokens.
CREATE FUNCTION analyst.search_terms(query text)
RETURNS TABLE (clause integer, negated boolean, term text, tsq text, exact boolean)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, public AS $$
DECLARE
    m text[];
    word text;
    neg boolean;
    joined boolean := false;
    n integer := 0;
BEGIN
    FOR m IN SELECT regexp_matches(coalesce(query, ''), '(-?)"([^"]*)"?|(\S+)', 'g') LOOP
        IF m[3] IS NOT NULL THEN
            IF m[3] = 'OR' THEN
                joined := n > 0;
                CONTINUE;
            END IF;
            neg := m[3] LIKE '-_%';
            word := CASE WHEN neg THEN substr(m[3], 2) ELSE m[3] END;
        ELSE
            neg := m[1] = '-';
            word := m[2];
        END IF;
        IF word = '' THEN
            CONTINUE;
        END IF;
        IF NOT joined THEN
            n := n + 1;
        END IF;
        joined := false;
        clause := n;
        negated := neg;
        term := translate(word, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
        SELECT t.tsq, t.exact INTO tsq, exact FROM mediamon_search_term(term) t;
        RETURN NEXT;
    END LOOP;
END
$$;

-- A term as a regular expression that matches it with A-Z in either case and nothing else
-- folded (no locale involved): 'GDP' -> '[gG][dD][pP]'.
CREATE FUNCTION mediamon_search_pattern(term text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
    SELECT string_agg(CASE WHEN c ~ '^[a-z]$' THEN '[' || c || upper(c) || ']'
                           WHEN strpos('.^$*+?()[]{}|\-', c) > 0 THEN '\' || c
                           ELSE c END, '' ORDER BY i)
    FROM regexp_split_to_table(term, '') WITH ORDINALITY AS t(c, i)
$$;

-- Search title, text and translation. Matches equal LIKE '%term%' on each of those fields, with
-- A-Z matched in either case: the token index selects candidates, strpos() (or, for a term with
-- Latin letters, a case-folding regular expression) decides. Newest first (or by rank with
-- order_by => 'rank'); page with max_results and skip (LIMIT/OFFSET).
-- Runs with the caller's rights: it reads analyst.articles like any analyst query.
CREATE FUNCTION analyst.search(query text, max_results integer DEFAULT 50, skip integer DEFAULT 0,
                               order_by text DEFAULT 'newest')
RETURNS TABLE (article_id bigint, story_key bigint, story_id bigint, title text, site text,
               published_at timestamptz, published_date date, rank real)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $$
DECLARE
    prefilter text;
    recheck text;
    needs_recheck boolean;
    terms text[];
    patterns text[];
    tsq tsquery;
BEGIN
    IF order_by NOT IN ('newest', 'rank') THEN
        RAISE EXCEPTION 'order_by must be ''newest'' or ''rank'', not %', quote_literal(order_by);
    END IF;
    SELECT array_agg(s.term ORDER BY s.n), array_agg(mediamon_search_pattern(s.term) ORDER BY s.n),
           bool_or(NOT s.exact)
    INTO terms, patterns, needs_recheck
    FROM analyst.search_terms(query) WITH ORDINALITY s(clause, negated, term, tsq, exact, n);
    IF terms IS NULL THEN
        RETURN;
    END IF;
    -- A clause narrows the candidates when each of its terms has tokens (an excluded term only
    -- when its single token decides it); the clauses that narrow are ANDed.
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
    -- Newest first ranks only the page; by rank, every match.
    RETURN QUERY EXECUTE format($q$
        SELECT p.article_id, p.story_key, p.story_id, p.title, p.site, p.published_at, p.published_date,
               coalesce(%s, 0)::real AS rank
        FROM (SELECT a.article_id, a.story_key, a.story_id, a.title, a.site, a.published_at, a.published_date,
                     a.search_vector %s
              FROM analyst.articles a
              WHERE %s AND %s
              ORDER BY %s
              LIMIT $3 OFFSET $4) p
        ORDER BY %s $q$,
        CASE order_by WHEN 'rank' THEN 'p.rank' ELSE 'ts_rank(p.search_vector, $1)' END,
        CASE order_by WHEN 'rank' THEN ', ts_rank(a.search_vector, $1) AS rank' ELSE '' END,
        CASE WHEN tsq IS NULL THEN 'true' ELSE 'a.search_vector @@ $1' END,
        CASE WHEN needs_recheck THEN recheck ELSE 'true' END,
        CASE order_by WHEN 'rank' THEN 'rank DESC, a.published_at DESC NULLS LAST, a.article_id DESC'
                      ELSE 'a.published_at DESC NULLS LAST, a.article_id DESC' END,
        CASE order_by WHEN 'rank' THEN 'p.rank DESC, p.published_at DESC NULLS LAST, p.article_id DESC'
                      ELSE 'p.published_at DESC NULLS LAST, p.article_id DESC' END)
    USING tsq, terms, max_results, skip, patterns;
END
$$;

REVOKE ALL ON FUNCTION analyst.search(text, integer, integer, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION analyst.search_terms(text) FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'mediamon_analyst') THEN
        GRANT USAGE ON SCHEMA analyst TO mediamon_analyst;
        GRANT SELECT ON analyst.sources, analyst.events, analyst.event_articles, analyst.daily_trend
            TO mediamon_analyst;
        GRANT EXECUTE ON FUNCTION analyst.search(text, integer, integer, text),
                                  analyst.search_terms(text) TO mediamon_analyst;
    END IF;
END
$$;
