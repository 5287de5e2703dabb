-- Queries of the ingest spine: sources, discovery, frontier, pages, articles.

-- name: upsert_source
INSERT INTO sources (source_id, name, language, kind, url, settings, enabled)
VALUES (:source_id, :name, :language, :kind, :url, CAST(:settings AS jsonb), :enabled)
ON CONFLICT (source_id) DO UPDATE SET
    name = EXCLUDED.name, language = EXCLUDED.language, kind = EXCLUDED.kind, url = EXCLUDED.url,
    settings = EXCLUDED.settings, enabled = EXCLUDED.enabled,
    updated_at = CASE WHEN (sources.name, sources.language, sources.kind, sources.url, sources.settings, sources.enabled)
                        IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.language, EXCLUDED.kind, EXCLUDED.url, EXCLUDED.settings, EXCLUDED.enabled)
                      THEN now() ELSE sources.updated_at END
RETURNING (xmax = 0) AS inserted

-- name: disable_missing_sources
UPDATE sources SET enabled = false, updated_at = now()
WHERE enabled AND NOT (source_id = ANY(:source_ids))
RETURNING source_id

-- name: enabled_sources
SELECT source_id, name, language, kind, url, settings FROM sources WHERE enabled ORDER BY source_id

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
-- A known URL is never queued again (the canonical URL is unique), but every source that lists
-- it is remembered. Returns the ids of the URLs new to the frontier.
WITH listed (canonical_url, source_id, host, listed_title, listed_published_at) AS (VALUES %s),
new_urls AS (
    INSERT INTO urls (canonical_url, source_id, host, listed_title, listed_published_at)
    SELECT canonical_url, source_id, host, listed_title, CAST(listed_published_at AS timestamptz)
    FROM listed
    ON CONFLICT (canonical_url) DO NOTHING
    RETURNING url_id, canonical_url
),
linked AS (
    INSERT INTO url_sources (url_id, source_id)
    SELECT coalesce(n.url_id, u.url_id), l.source_id
    FROM listed l
    LEFT JOIN new_urls n USING (canonical_url)
    LEFT JOIN urls u USING (canonical_url)
    ON CONFLICT DO NOTHING
)
SELECT url_id FROM new_urls

-- name: pending_urls
SELECT u.url_id, u.source_id, u.host
FROM urls u JOIN sources s USING (source_id)
WHERE u.status = 'pending' AND s.enabled
ORDER BY u.source_id, u.host, u.url_id

-- name: urls_to_fetch
SELECT u.url_id, u.canonical_url, u.source_id, s.settings
FROM urls u JOIN sources s USING (source_id)
WHERE u.url_id = ANY(:url_ids) AND u.status = 'pending'
ORDER BY u.url_id

-- name: commit_without_flush
-- For this transaction only: COMMIT returns before the WAL reaches disk. A server crash can lose
-- the last such commits, never half of one; callers use it where redoing the work is harmless.
SET LOCAL synchronous_commit = off

-- name: save_page
INSERT INTO pages (url_id, final_url, http_status, headers, content_type, declared_charset,
                   body_gzip, body_bytes, body_sha256, fetched_at)
VALUES (:url_id, :final_url, :http_status, CAST(:headers AS jsonb), :content_type, :declared_charset,
        :body_gzip, :body_bytes, :body_sha256, now())
ON CONFLICT (url_id) DO UPDATE SET
    final_url = EXCLUDED.final_url, http_status = EXCLUDED.http_status, headers = EXCLUDED.headers,
    content_type = EXCLUDED.content_type, declared_charset = EXCLUDED.declared_charset,
    body_gzip = EXCLUDED.body_gzip, body_bytes = EXCLUDED.body_bytes,
    body_sha256 = EXCLUDED.body_sha256, fetched_at = now(),
    extract_status = NULL, extract_reason = NULL, extractor_version = NULL, extracted_at = NULL

-- name: mark_url
UPDATE urls SET status = :status, reason = :reason, attempts = attempts + 1, last_attempt_at = now(),
    fetched_at = CASE WHEN :status = 'fetched' THEN now() ELSE fetched_at END
WHERE url_id = :url_id

-- name: pages_to_extract
-- Pages never extracted, or extracted by another extractor version when :version_mismatch is set.
SELECT p.url_id, p.final_url, p.declared_charset, p.body_gzip, u.canonical_url, u.source_id, u.host
FROM pages p JOIN urls u USING (url_id)
WHERE (CAST(:url_ids AS bigint[]) IS NULL OR p.url_id = ANY(:url_ids))
  AND (p.extract_status IS NULL OR (:version_mismatch AND p.extractor_version IS DISTINCT FROM :version))
ORDER BY p.url_id
LIMIT :limit

-- name: forget_extraction
UPDATE pages SET extract_status = NULL, extractor_version = NULL WHERE extract_status IS NOT NULL

-- name: upsert_articles
-- Re-extracting a page updates its article. The caller has already skipped pages whose canonical
-- URL belongs to another page's article (one canonical URL gives one article).
INSERT INTO articles AS a (url_id, canonical_url, source_id, site, title, text, lang, published_at,
    author, editor, site_name, source_attribution, original_title, translation, translation_lang,
    encoding, text_sha256, extractor_version, page_fields)
VALUES %s
ON CONFLICT (url_id) DO UPDATE SET
    canonical_url = EXCLUDED.canonical_url, title = EXCLUDED.title, text = EXCLUDED.text, lang = EXCLUDED.lang,
    published_at = EXCLUDED.published_at, author = EXCLUDED.author, editor = EXCLUDED.editor,
    site_name = EXCLUDED.site_name, source_attribution = EXCLUDED.source_attribution,
    original_title = EXCLUDED.original_title, translation = EXCLUDED.translation,
    translation_lang = EXCLUDED.translation_lang, encoding = EXCLUDED.encoding,
    text_sha256 = EXCLUDED.text_sha256, extractor_version = EXCLUDED.extractor_version,
    page_fields = EXCLUDED.page_fields, updated_at = now()
RETURNING article_id, (xmax = 0) AS inserted

-- name: mark_pages_extracted
UPDATE pages p SET extract_status = v.status, extract_reason = v.reason,
    extractor_version = v.version, extracted_at = now()
FROM (VALUES %s) AS v(url_id, status, reason, version)
WHERE p.url_id = v.url_id

-- name: canonical_urls_taken
SELECT canonical_url, url_id FROM articles WHERE canonical_url = ANY(:canonical_urls)

-- name: link_exact_duplicates
-- Identical normalized text at different URLs: every later copy points at the earliest article.
WITH firsts AS (
    SELECT DISTINCT ON (text_sha256) text_sha256, article_id
    FROM articles ORDER BY text_sha256, article_id
)
UPDATE articles a SET duplicate_of = CASE WHEN f.article_id = a.article_id THEN NULL ELSE f.article_id END
FROM firsts f
WHERE a.text_sha256 = f.text_sha256
  AND a.duplicate_of IS DISTINCT FROM (CASE WHEN f.article_id = a.article_id THEN NULL ELSE f.article_id END)
RETURNING a.article_id, a.duplicate_of

-- name: source_summary
SELECT s.source_id, s.kind,
       count(u.url_id) AS discovered,
       count(u.url_id) FILTER (WHERE u.status = 'fetched') AS fetched,
       count(u.url_id) FILTER (WHERE u.status IN ('failed', 'blocked')) AS failed,
       count(a.article_id) AS articles,
       count(a.article_id) FILTER (WHERE a.duplicate_of IS NOT NULL) AS duplicates
FROM sources s
LEFT JOIN url_sources us USING (source_id)
LEFT JOIN urls u ON u.url_id = us.url_id
LEFT JOIN articles a ON a.url_id = u.url_id
WHERE s.enabled
GROUP BY s.source_id, s.kind
ORDER BY s.source_id

-- name: table_counts
SELECT (SELECT count(*) FROM sources) AS sources, (SELECT count(*) FROM urls) AS urls,
       (SELECT count(*) FROM pages) AS pages, (SELECT count(*) FROM articles) AS articles,
       (SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL) AS duplicates
