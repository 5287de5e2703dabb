-- Queries of the raw-page archive (mediamon.archive_db): pointers, the move of old blobs,
-- retention, export and import.

-- name: save_pages
-- Pages' responses, their pointers into the archive and their fetch times, many rows in one
-- statement (the headers as JSON text: INSERT casts each VALUES row to the columns' types). A
-- re-fetch points at the new record (the old one stays in its file until retention) and asks for
-- extraction again.
INSERT INTO pages (url_id, final_url, http_status, headers, content_type, declared_charset,
                   warc_file, warc_offset, warc_length, body_bytes, body_sha256, fetched_at)
VALUES %s
ON CONFLICT (url_id) DO UPDATE SET
    final_url = EXCLUDED.final_url, http_status = EXCLUDED.http_status, headers = EXCLUDED.headers,
    content_type = EXCLUDED.content_type, declared_charset = EXCLUDED.declared_charset,
    warc_file = EXCLUDED.warc_file, warc_offset = EXCLUDED.warc_offset, warc_length = EXCLUDED.warc_length,
    body_bytes = EXCLUDED.body_bytes, body_sha256 = EXCLUDED.body_sha256, fetched_at = EXCLUDED.fetched_at,
    archived_out_at = NULL,
    extract_status = NULL, extract_reason = NULL, extractor_version = NULL, extracted_at = NULL

-- name: body_column_exists
SELECT EXISTS (SELECT FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'pages' AND column_name = 'body_gzip')

-- name: body_counts
SELECT count(*) AS pages, count(body_gzip) AS with_body,
       coalesce(sum(octet_length(body_gzip)), 0) AS body_gzip_bytes
FROM pages

-- name: pages_with_bodies
SELECT p.url_id, p.final_url, p.http_status, p.headers, p.body_gzip, p.body_sha256, p.fetched_at, u.source_id
FROM pages p JOIN urls u USING (url_id)
WHERE p.body_gzip IS NOT NULL AND p.url_id > :after
ORDER BY p.url_id
LIMIT :limit

-- name: move_bodies
-- Only a page whose archived record was read back with the digest it has here loses its blob; its
-- headers, now in the record, shrink to the summary (mediamon.archive.header_summary).
UPDATE pages p SET warc_file = v.warc_file, warc_offset = v.warc_offset, warc_length = v.warc_length,
    body_gzip = NULL, headers = CAST(v.headers AS jsonb)
FROM (VALUES %s) AS v(url_id, warc_file, warc_offset, warc_length, body_sha256, headers)
WHERE p.url_id = v.url_id AND p.body_sha256 = v.body_sha256 AND p.body_gzip IS NOT NULL
RETURNING p.url_id

-- name: drop_body_column
ALTER TABLE pages DROP COLUMN IF EXISTS body_gzip

-- name: archive_out_file
-- Retention removes this file next: its pages lose their pointer first, so none dangles.
UPDATE pages SET warc_file = NULL, warc_offset = NULL, warc_length = NULL, archived_out_at = now()
WHERE warc_file = :warc_file

-- name: source_retention
SELECT source_id, CAST(settings ->> 'retention_days' AS integer) AS retention_days FROM sources

-- name: pages_to_export
SELECT p.url_id, p.warc_file, p.warc_offset, p.warc_length, p.body_sha256, u.source_id
FROM pages p JOIN urls u USING (url_id)
LEFT JOIN articles a USING (url_id)
LEFT JOIN article_stories d USING (article_id)
WHERE p.warc_file IS NOT NULL
  AND (CAST(:source_ids AS text[]) IS NULL OR u.source_id = ANY(:source_ids))
  AND (CAST(:since AS timestamptz) IS NULL OR p.fetched_at >= :since)
  AND (CAST(:until AS timestamptz) IS NULL OR p.fetched_at < :until)
  AND (CAST(:story_id AS bigint) IS NULL OR d.story_id = :story_id)
ORDER BY p.url_id

-- name: source_urls
SELECT source_id, url FROM sources ORDER BY source_id

-- name: known_pages
-- Canonical URLs that already have a page: an import skips them (importing twice adds nothing).
SELECT u.canonical_url FROM urls u JOIN pages p USING (url_id) WHERE u.canonical_url = ANY(:canonical_urls)

-- name: insert_import_source
-- A host no configured source covers gets a disabled source of its own: nothing is ever fetched
-- from it, but its imported articles have a source like every other.
INSERT INTO sources (source_id, name, language, kind, url, settings, enabled)
VALUES (:source_id, :name, 'und', 'page', :url, CAST('{"imported": true}' AS jsonb), false)
ON CONFLICT (source_id) DO NOTHING

-- name: import_url
INSERT INTO urls (canonical_url, source_id, host, status, attempts, last_attempt_at, fetched_at)
VALUES (:canonical_url, :source_id, :host, :status, 1, now(), :fetched_at)
ON CONFLICT (canonical_url) DO UPDATE SET status = EXCLUDED.status, reason = NULL, fetched_at = EXCLUDED.fetched_at
RETURNING url_id

-- name: link_url_source
INSERT INTO url_sources (url_id, source_id) VALUES (:url_id, :source_id) ON CONFLICT DO NOTHING

-- name: analyze_hot_tables
-- Tables every run writes to: fresh statistics keep the planner on the partial indexes.
-- Autovacuum never analyzes a partitioned table's parent (discover_outcomes), only its months.
ANALYZE urls, pages, articles, url_sources, article_topics, article_fingerprints, source_health, discover_outcomes

-- name: recompute_source_health
-- Every configured source has a health row, and a backoff that has run out is cleared, so the
-- operator's view (analyst.source_health) shows what the next run will do.
WITH missing AS (
    INSERT INTO source_health (source_id) SELECT source_id FROM sources WHERE enabled
    ON CONFLICT (source_id) DO NOTHING RETURNING source_id
), cleared AS (
    UPDATE source_health SET next_attempt_at = NULL, updated_at = now()
    WHERE next_attempt_at <= now() RETURNING source_id
)
SELECT (SELECT count(*) FROM missing) AS created, (SELECT count(*) FROM cleared) AS backoffs_cleared
