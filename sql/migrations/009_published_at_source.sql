-- Where each article's publication time came from (mediamon.outcomes.DateSource): meta, json_ld,
-- time_element, labelled, dateline, page_text, url, feed (the date the feed item or sitemap entry
-- gave the URL, used when the page has none) or none. NULL for articles extracted before this column
-- existed, until mediamon_reprocess re-extracts them (extractor version 3).
ALTER TABLE articles ADD COLUMN published_at_source text
    CHECK (published_at_source IN ('meta', 'json_ld', 'time_element', 'labelled', 'dateline', 'page_text',
                                   'url', 'feed', 'none'));

-- The analyst views say which date they count by. published_date is the Asia/Shanghai day of
-- published_at, else of created_at (when mediamon first saw the article): published_date_basis says
-- which ('published' or 'first_seen'), and published_at_source where a publication date came from.
-- Columns are appended at the end: CREATE OR REPLACE VIEW cannot reorder them.
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
       CASE WHEN a.published_at IS NULL THEN 'first_seen' ELSE 'published' END AS published_date_basis
FROM articles a
JOIN sources s USING (source_id);

CREATE OR REPLACE VIEW analyst.topic_hits AS
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
       a.is_spam,
       coalesce(r.party_codes, '{}') AS party_codes,
       coalesce(r.party_names, '{}') AS party_names,
       a.published_date_basis
FROM article_topics t
JOIN analyst.articles a USING (article_id)
LEFT JOIN LATERAL (
    SELECT array_agg(ar.region_code::text ORDER BY ar.mentions DESC, ar.region_code) AS region_codes,
           array_agg(g.name ORDER BY ar.mentions DESC, ar.region_code) AS region_names,
           array_agg(ar.region_code::text ORDER BY ar.mentions DESC, ar.region_code)
               FILTER (WHERE ar.role = 'party') AS party_codes,
           array_agg(g.name ORDER BY ar.mentions DESC, ar.region_code)
               FILTER (WHERE ar.role = 'party') AS party_names
    FROM article_regions ar
    JOIN regions g ON g.code = ar.region_code
    WHERE ar.article_id = t.article_id AND ar.topic_id = t.topic_id
) r ON true;

CREATE OR REPLACE VIEW analyst.region_pairs AS
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
       a.is_spam,
       a.published_date_basis
FROM article_region_pairs p
JOIN analyst.articles a USING (article_id)
JOIN regions ga ON ga.code = p.region_a
JOIN regions gb ON gb.code = p.region_b;

-- undated_articles: how many of the day's articles have no publication date and count on the day
-- mediamon first saw them.
CREATE OR REPLACE VIEW analyst.daily_coverage AS
SELECT topic_id,
       published_date AS day,
       count(DISTINCT story_key) FILTER (WHERE NOT is_spam) AS stories,
       count(*) FILTER (WHERE NOT is_spam) AS articles,
       count(DISTINCT site) FILTER (WHERE NOT is_spam) AS sites,
       count(*) FILTER (WHERE is_spam) AS spam_copies,
       count(*) FILTER (WHERE NOT is_spam AND published_date_basis = 'first_seen') AS undated_articles
FROM analyst.topic_hits
WHERE relevant
GROUP BY topic_id, published_date;
