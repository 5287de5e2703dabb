-- Queries of the extract stage (extract_db.py): pages to extract, articles, extract outcomes.

-- name: pages_to_extract
-- Pages never extracted, or extracted by another extractor version when :version_mismatch is set,
-- whose raw page is still in the archive (the pointer; mediamon.archive_db reads the record).
SELECT p.url_id, p.final_url, p.declared_charset, p.warc_file, p.warc_offset, p.warc_length, p.body_sha256,
       p.fetched_at, u.canonical_url, u.source_id, u.host, u.listed_published_at
FROM pages p JOIN urls u USING (url_id)
WHERE (CAST(:url_ids AS bigint[]) IS NULL OR p.url_id = ANY(:url_ids))
  AND (p.extract_status IS NULL OR (:version_mismatch AND p.extractor_version IS DISTINCT FROM :version))
  AND p.warc_file IS NOT NULL
ORDER BY p.url_id
LIMIT :limit

-- name: forget_extraction
-- Only pages still in the archive: one whose file retention removed keeps its last outcome.
UPDATE pages SET extract_status = NULL, extractor_version = NULL
WHERE extract_status IS NOT NULL AND warc_file IS NOT NULL

-- name: upsert_articles
-- Re-extracting a page updates its article. The caller has already skipped pages whose canonical
-- URL belongs to another page's article (one canonical URL gives one article).
INSERT INTO articles AS a (url_id, canonical_url, source_id, site, title, text, lang, published_at,
    author, editor, site_name, source_attribution, original_title, translation, translation_lang,
    encoding, text_sha256, extractor_version, page_fields, published_at_source)
VALUES %s
ON CONFLICT (url_id) DO UPDATE SET
    canonical_url = EXCLUDED.canonical_url, title = EXCLUDED.title, text = EXCLUDED.text, lang = EXCLUDED.lang,
    published_at = EXCLUDED.published_at, author = EXCLUDED.author, editor = EXCLUDED.editor,
    site_name = EXCLUDED.site_name, source_attribution = EXCLUDED.source_attribution,
    original_title = EXCLUDED.original_title, translation = EXCLUDED.translation,
    translation_lang = EXCLUDED.translation_lang, encoding = EXCLUDED.encoding,
    text_sha256 = EXCLUDED.text_sha256, extractor_version = EXCLUDED.extractor_version,
    page_fields = EXCLUDED.page_fields, published_at_source = EXCLUDED.published_at_source,
    updated_at = now()
RETURNING article_id, (xmax = 0) AS inserted

-- name: mark_pages_extracted
UPDATE pages p SET extract_status = v.status, extract_reason = v.reason,
    extractor_version = v.version, extracted_at = now()
FROM (VALUES %s) AS v(url_id, status, reason, version)
WHERE p.url_id = v.url_id

-- name: canonical_urls_taken
SELECT canonical_url, url_id FROM articles WHERE canonical_url = ANY(:canonical_urls)
