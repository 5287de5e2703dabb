-- Queries of the discover stage (discover_db.py): feed/sitemap documents and the URL frontier.

-- name: source
SELECT source_id, name, language, kind, url, settings, enabled FROM sources WHERE source_id = :source_id

-- name: discovery_document
SELECT etag, last_modified, body_sha256 FROM discovery_documents WHERE url = :url

-- name: source_documents
-- Documents a source led to before (child sitemaps of an index), except those that failed to parse.
SELECT d.url FROM discovery_documents d JOIN sources s USING (source_id)
WHERE d.source_id = :source_id AND d.url <> s.url AND d.last_status <> 'unparseable'
ORDER BY d.url

-- name: save_discovery_document
INSERT INTO discovery_documents (url, source_id, etag, last_modified, body_sha256, last_status, checked_at)
VALUES (:url, :source_id, :etag, :last_modified, :body_sha256, :last_status, now())
ON CONFLICT (url) DO UPDATE SET
    etag = COALESCE(EXCLUDED.etag, discovery_documents.etag),
    last_modified = COALESCE(EXCLUDED.last_modified, discovery_documents.last_modified),
    body_sha256 = COALESCE(EXCLUDED.body_sha256, discovery_documents.body_sha256),
    last_status = EXCLUDED.last_status, checked_at = now()

-- name: insert_urls
-- A known URL is never queued again (the canonical URL is unique). Returns the ids of the URLs new
-- to the frontier. link_url_sources (next, its own statement) remembers every source that lists
-- them: a URL another session inserted concurrently is visible only to a later statement's
-- snapshot, so one statement with both inserts fails with a NULL url_id when two ingests meet.
INSERT INTO urls (canonical_url, source_id, host, listed_title, listed_published_at)
SELECT canonical_url, source_id, host, listed_title, CAST(listed_published_at AS timestamptz)
FROM (VALUES %s) AS listed (canonical_url, source_id, host, listed_title, listed_published_at)
ON CONFLICT (canonical_url) DO NOTHING
RETURNING url_id

-- name: link_url_sources
INSERT INTO url_sources (url_id, source_id)
SELECT u.url_id, :source_id FROM urls u WHERE u.canonical_url = ANY(:canonical_urls)
ORDER BY u.url_id
ON CONFLICT DO NOTHING
