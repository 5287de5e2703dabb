-- Queries of the throughput benchmark (bench/run.py); they run only in its scratch databases.

-- name: create_copy_target
-- The article columns the pipeline's upsert writes, without keys or indexes: the plain-COPY baseline.
CREATE UNLOGGED TABLE bench_article_copy (
    url_id bigint, canonical_url text, source_id text, site text, title text, text text, lang text,
    published_at timestamptz, author text, editor text, site_name text, source_attribution text,
    original_title text, translation text, translation_lang text, encoding text, text_sha256 text,
    extractor_version text
)

-- name: copy_articles
COPY bench_article_copy FROM STDIN WITH (FORMAT csv)

-- name: drop_copy_target
DROP TABLE IF EXISTS bench_article_copy
