-- Queries of the sources stage (sources_db.py): the sources table, and the run summary.

-- name: upsert_source
INSERT INTO sources (source_id, name, language, kind, url, settings, enabled,
                     outlet_tier, outlet_province, media_type, collections)
VALUES (:source_id, :name, :language, :kind, :url, CAST(:settings AS jsonb), :enabled,
        :outlet_tier, :outlet_province, :media_type, CAST(:collections AS text[]))
ON CONFLICT (source_id) DO UPDATE SET
    name = EXCLUDED.name, language = EXCLUDED.language, kind = EXCLUDED.kind, url = EXCLUDED.url,
    settings = EXCLUDED.settings, enabled = EXCLUDED.enabled, outlet_tier = EXCLUDED.outlet_tier,
    outlet_province = EXCLUDED.outlet_province, media_type = EXCLUDED.media_type,
    collections = EXCLUDED.collections,
    updated_at = CASE WHEN (sources.name, sources.language, sources.kind, sources.url, sources.settings, sources.enabled,
                            sources.outlet_tier, sources.outlet_province, sources.media_type, sources.collections)
                        IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.language, EXCLUDED.kind, EXCLUDED.url, EXCLUDED.settings,
                            EXCLUDED.enabled, EXCLUDED.outlet_tier, EXCLUDED.outlet_province, EXCLUDED.media_type,
                            EXCLUDED.collections)
                      THEN now() ELSE sources.updated_at END
RETURNING (xmax = 0) AS inserted

-- name: disable_missing_sources
UPDATE sources SET enabled = false, updated_at = now()
WHERE enabled AND NOT (source_id = ANY(:source_ids))
RETURNING source_id

-- name: source_summary
SELECT s.source_id, s.kind,
       count(u.url_id) AS discovered,
       count(u.url_id) FILTER (WHERE u.status = 'fetched') AS fetched,
       count(u.url_id) FILTER (WHERE u.status IN ('failed', 'blocked')) AS failed,
       count(a.article_id) AS articles,
       count(a.article_id) FILTER (WHERE d.duplicate_of IS NOT NULL) AS duplicates
FROM sources s
LEFT JOIN url_sources us USING (source_id)
LEFT JOIN urls u ON u.url_id = us.url_id
LEFT JOIN articles a ON a.url_id = u.url_id
LEFT JOIN article_stories d ON d.article_id = a.article_id
WHERE s.enabled
GROUP BY s.source_id, s.kind
ORDER BY s.source_id

-- name: table_counts
SELECT (SELECT count(*) FROM sources) AS sources, (SELECT count(*) FROM urls) AS urls,
       (SELECT count(*) FROM pages) AS pages, (SELECT count(*) FROM articles) AS articles,
       (SELECT count(*) FROM article_stories WHERE duplicate_of IS NOT NULL) AS duplicates
