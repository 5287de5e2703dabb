-- Reports on new coverage, the watermark that defines each report's period, and the analysts' SQL
-- layer: stable views in schema `analyst` and a read-only role that can read them and nothing else.

-- One row per successful report. `counts` holds the headline numbers, `files` the paths written
-- (kind -> path), `html` the page itself so the report survives a lost reports directory.
CREATE TABLE reports (
    report_id     bigserial PRIMARY KEY,
    topic_id      text NOT NULL,
    period_start  timestamptz,            -- NULL for the first report: it covers all history
    period_end    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    counts        jsonb NOT NULL,
    files         jsonb NOT NULL,
    html          text NOT NULL
);
CREATE INDEX reports_topic_idx ON reports (topic_id, report_id);

-- The watermark: per topic, the end of the last successful report's period. It only moves in the
-- transaction that records a report, so a failed run leaves it where it was.
CREATE TABLE report_watermarks (
    topic_id        text PRIMARY KEY,
    reported_until  timestamptz NOT NULL,
    report_id       bigint NOT NULL REFERENCES reports,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Which articles each report covered. An article's classification may commit after a report read
-- the data although its relevant_since is earlier than that report's period_end; the next report
-- finds it here as "not yet reported" instead of losing it, and the key stops any second count.
CREATE TABLE report_articles (
    article_id  bigint NOT NULL REFERENCES articles ON DELETE CASCADE,
    topic_id    text NOT NULL,
    report_id   bigint NOT NULL REFERENCES reports ON DELETE CASCADE,
    PRIMARY KEY (article_id, topic_id)
);
CREATE INDEX report_articles_report_idx ON report_articles (report_id);


-- --- analyst views ----------------------------------------------------------------------------
-- Views run with their owner's rights, so the analyst role needs no right on the base tables.
-- A story is a cluster of copies; until the dedupe stage has assigned story_id, an article and its
-- exact duplicates form one story whose key is the negated id of the first of them.
CREATE SCHEMA analyst;

CREATE VIEW analyst.articles AS
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
       a.created_at
FROM articles a
JOIN sources s USING (source_id);

-- The canonical copy is the one the dedupe stage chose, else the earliest published non-spam copy.
CREATE VIEW analyst.stories AS
WITH story AS (
    SELECT story_key,
           max(story_id) AS story_id,
           min(published_at) AS first_published,
           min(created_at) AS first_seen,
           max(created_at) AS last_seen,
           count(*) FILTER (WHERE NOT is_spam) AS articles,
           count(DISTINCT site) FILTER (WHERE NOT is_spam) AS sites,
           count(*) FILTER (WHERE is_spam) AS spam_copies
    FROM analyst.articles
    GROUP BY story_key
), canonical AS (
    SELECT DISTINCT ON (a.story_key) a.story_key, a.article_id, a.title, a.canonical_url
    FROM analyst.articles a
    LEFT JOIN stories st ON st.story_id = a.story_id
    ORDER BY a.story_key, a.article_id = st.canonical_article_id DESC NULLS LAST, a.is_spam,
             a.published_at NULLS LAST, a.article_id
)
SELECT story.story_key,
       story.story_id,
       coalesce(st.title, c.title) AS title,
       c.article_id AS canonical_article_id,
       c.canonical_url,
       story.first_published,
       story.first_seen,
       story.last_seen,
       story.articles,
       story.sites,
       story.spam_copies
FROM story
JOIN canonical c USING (story_key)
LEFT JOIN stories st ON st.story_id = story.story_id;

-- One row per (article, topic) classification, with the regions the article names.
CREATE VIEW analyst.topic_hits AS
SELECT t.article_id,
       a.story_key,
       t.topic_id,
       t.topic_version,
       t.score,
       t.relevant,
       t.relevant_since,
       t.classified_at,
       t.cooperation_types,
       t.agreements,
       coalesce(r.region_codes, '{}') AS region_codes,
       coalesce(r.region_names, '{}') AS region_names,
       a.title,
       a.site,
       a.canonical_url,
       a.published_at,
       a.published_date,
       a.is_spam
FROM article_topics t
JOIN analyst.articles a USING (article_id)
LEFT JOIN LATERAL (
    SELECT array_agg(ar.region_code::text ORDER BY ar.mentions DESC, ar.region_code) AS region_codes,
           array_agg(g.name ORDER BY ar.mentions DESC, ar.region_code) AS region_names
    FROM article_regions ar
    JOIN regions g ON g.code = ar.region_code
    WHERE ar.article_id = t.article_id AND ar.topic_id = t.topic_id
) r ON true;

-- Who cooperates with whom: one row per relevant article and unordered pair (region_a < region_b).
CREATE VIEW analyst.region_pairs AS
SELECT p.article_id,
       a.story_key,
       p.topic_id,
       p.region_a::text AS region_a,
       ga.name AS region_a_name,
       p.region_b::text AS region_b,
       gb.name AS region_b_name,
       a.site,
       a.published_at,
       a.published_date,
       a.is_spam
FROM article_region_pairs p
JOIN analyst.articles a USING (article_id)
JOIN regions ga ON ga.code = p.region_a
JOIN regions gb ON gb.code = p.region_b;

-- Relevant coverage per topic and day (Asia/Shanghai date of publication, else of first sight).
-- Spam copies are counted apart and left out of the other counts.
CREATE VIEW analyst.daily_coverage AS
SELECT topic_id,
       published_date AS day,
       count(DISTINCT story_key) FILTER (WHERE NOT is_spam) AS stories,
       count(*) FILTER (WHERE NOT is_spam) AS articles,
       count(DISTINCT site) FILTER (WHERE NOT is_spam) AS sites,
       count(*) FILTER (WHERE is_spam) AS spam_copies
FROM analyst.topic_hits
WHERE relevant
GROUP BY topic_id, published_date;

CREATE VIEW analyst.regions AS
SELECT code::text AS code, name, level, parent_code::text AS parent_code, short_name, english
FROM regions;

CREATE VIEW analyst.reports AS
SELECT report_id, topic_id, period_start, period_end, created_at, counts, files
FROM reports;


-- --- the read-only analyst role ---------------------------------------------------------------
-- Roles are cluster-wide and several databases may share a server (and migrate at once), so the
-- role is created only when missing, and a concurrent creation is not an error.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mediamon_analyst') THEN
        CREATE ROLE mediamon_analyst NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- PostgreSQL before 15 lets every role create tables in `public`; take that away explicitly.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA analyst TO mediamon_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA analyst TO mediamon_analyst;
-- Views later migrations add to `analyst` (source_health) are readable without another grant.
ALTER DEFAULT PRIVILEGES IN SCHEMA analyst GRANT SELECT ON TABLES TO mediamon_analyst;
