-- Parties, not just places (issue 12): each region named by an article gets a role for the topic.
-- 'party' takes part in the cooperation the article is about; 'mentioned' is named only (the venue, the
-- dateline, a statistic, a place in a grouping's name). Region pairs are built from parties only.
-- Rows written before this migration say 'mentioned' until the article is classified again, which
-- the classify stage does by itself: the topic version that brings roles is a new version.
ALTER TABLE article_regions
    ADD COLUMN role text NOT NULL DEFAULT 'mentioned' CHECK (role IN ('party', 'mentioned'));

-- The regions taking part, beside all the regions named (columns appended at the end).
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
       coalesce(r.party_names, '{}') AS party_names
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
