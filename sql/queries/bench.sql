-- Queries of the throughput benchmark (bench/run.py); they run only in its scratch databases.

-- name: create_copy_target
-- The article columns the pipeline's upsert writes, without keys or indexes: the plain-COPY baseline.
CREATE UNLOGGED TABLE bench_article_copy (
    url_id bigint, canonical_url text, source_id text, site text, title text, text text, lang text,
    published_at timestamptz, author text, editor text, site_name text, source_attribution text,
    original_title text, translation text, translation_lang text, encoding text, text_sha256 text,
    extractor_version text, page_fields jsonb, published_at_source text
)

-- name: copy_articles
COPY bench_article_copy FROM STDIN WITH (FORMAT csv)

-- name: drop_copy_target
DROP TABLE IF EXISTS bench_article_copy

-- name: create_search_pool
CREATE TABLE bench_search_pool (n integer PRIMARY KEY, title text, text text)

-- name: drop_search_pool
DROP TABLE bench_search_pool

-- name: drop_search_index
-- A GIN index is built far faster at once than row by row: dropped for the bulk load, then rebuilt.
DROP INDEX articles_search_idx

-- name: create_search_index
CREATE INDEX articles_search_idx ON articles USING gin (mediamon_search_vector(title, text, translation))

-- name: search_sizes
-- Bytes per article: the search index (all the search data there is), and everything else of the
-- articles table (heap, TOAST, its other indexes).
SELECT round(avg(length(text))) AS mean_chars,
       round(pg_relation_size('articles_search_idx')::numeric / count(*)) AS search_bytes_per_article,
       round((pg_total_relation_size('articles') - pg_relation_size('articles_search_idx'))::numeric / count(*))
           AS other_article_bytes_per_article,
       round(pg_relation_size('articles_search_idx') / 1048576.0) AS gin_mb,
       round(pg_total_relation_size('articles') / 1048576.0) AS table_mb
FROM articles

-- name: create_baseline_schema
-- bench/search.py: analyst.search as the earlier migrations left it, timed beside the current one.
CREATE SCHEMA bench_baseline

-- name: keep_baseline_search
ALTER FUNCTION analyst.search(text, integer, integer, text, bigint) SET SCHEMA bench_baseline

-- name: insert_search_pool
-- bench/search.py: the pool of articles the 100,000 rows are made from.
INSERT INTO bench_search_pool (n, title, text) VALUES %s

-- name: make_search_articles
-- :articles rows, each the texts of two pool articles joined by a newline.
WITH source AS (
    INSERT INTO sources (source_id, name, language, kind, url)
    VALUES ('bench-search', 'bench-search', 'zh', 'page', 'http://127.0.0.1/') RETURNING source_id
), frontier AS (
    INSERT INTO urls (canonical_url, source_id, host, status)
    SELECT 'http://127.0.0.1/a/' || i, (SELECT source_id FROM source), '127.0.0.1', 'fetched'
    FROM generate_series(1, :articles) i
    RETURNING url_id, canonical_url
)
INSERT INTO articles (url_id, canonical_url, source_id, site, title, text, published_at, text_sha256,
                      extractor_version)
SELECT f.url_id, f.canonical_url, 'bench-search', '127.0.0.1', a.title, a.text || E'\n' || b.text,
       timestamptz '2024-01-01 08:00+08' + i * interval '5 minutes', md5(i::text), 'bench'
FROM frontier f
CROSS JOIN LATERAL (SELECT substr(f.canonical_url, 20)::integer AS i) k
JOIN bench_search_pool a ON a.n = i % :pool
JOIN bench_search_pool b ON b.n = (i * 7919 + 13) % :pool

-- name: create_index_cost_target
-- The indexing cost: the searched fields of the pipeline's articles written again, into a table
-- without and then with the search index (as articles has it: fastupdate, so the pending list is
-- merged at the end of each fill, inside the timing).
CREATE TABLE bench_search_cost (title text, text text, translation text)

-- name: index_cost_target
CREATE INDEX bench_search_cost_idx ON bench_search_cost
    USING gin (mediamon_search_vector(title, text, translation))

-- name: merge_index_cost_target
SELECT gin_clean_pending_list('bench_search_cost_idx')

-- name: fill_index_cost_target
INSERT INTO bench_search_cost SELECT title, text, translation FROM articles

-- name: empty_index_cost_target
TRUNCATE bench_search_cost

-- name: drop_index_cost_target
DROP TABLE bench_search_cost

-- name: article_writes
-- Row versions the pipeline wrote into articles: each insert and each non-HOT update (one that
-- changes an indexed column) writes the search index too; a HOT update writes no index entry.
-- Since migration 017 dedupe writes article_stories, not articles.
SELECT n_tup_ins AS inserts, n_tup_upd - n_tup_hot_upd AS non_hot_updates, n_tup_hot_upd AS hot_updates
FROM pg_stat_user_tables WHERE relid = 'articles'::regclass

-- name: search_index_bytes
SELECT pg_relation_size('articles_search_idx') AS bytes

-- name: reindex_search
REINDEX INDEX articles_search_idx

-- The Airflow metadata queries below run against the scale check's scratch metadata database.

-- name: dag_run_state
SELECT state, extract(epoch FROM end_date - start_date) AS seconds
FROM dag_run WHERE dag_id = :dag_id AND run_id = :run_id

-- name: task_instances_of_run
SELECT task_id, map_index, state, hostname, external_executor_id, duration
FROM task_instance WHERE dag_id = :dag_id AND run_id = :run_id
ORDER BY task_id, map_index

-- name: classified_counts
SELECT count(*) AS classified, count(*) FILTER (WHERE relevant) AS relevant FROM article_topics

-- name: public_table_bytes
-- Heap, TOAST and indexes of every table of the scratch database's public schema.
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) AS bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT LIKE 'bench_%'

-- name: table_bytes
SELECT pg_total_relation_size(CAST(:table_name AS regclass))

-- name: create_pages_before
-- `pages` as it was before the archive (bodies as gzip-1 blobs), for the bytes it would take.
CREATE TABLE bench_pages_before (
    url_id bigint PRIMARY KEY, final_url text NOT NULL, http_status integer NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}'::jsonb, content_type text, declared_charset text,
    body_gzip bytea NOT NULL, body_bytes integer NOT NULL, body_sha256 text NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now(), extract_status text, extract_reason text,
    extractor_version text, extracted_at timestamptz
)

-- name: insert_pages_before
INSERT INTO bench_pages_before (url_id, final_url, http_status, headers, content_type, declared_charset,
    body_gzip, body_bytes, body_sha256, fetched_at, extract_status, extract_reason, extractor_version, extracted_at)
SELECT v.url_id, p.final_url, p.http_status, p.headers, p.content_type, p.declared_charset, v.body_gzip,
       p.body_bytes, p.body_sha256, p.fetched_at, p.extract_status, p.extract_reason, p.extractor_version, p.extracted_at
FROM (VALUES %s) AS v(url_id, body_gzip) JOIN pages p ON p.url_id = v.url_id

-- name: drop_pages_before
DROP TABLE IF EXISTS bench_pages_before

-- name: archived_pages
SELECT url_id, warc_file, warc_offset, warc_length, body_sha256 FROM pages WHERE warc_file IS NOT NULL ORDER BY url_id

-- name: relation_bytes
-- Per table of the public schema: heap, TOAST, and each index, for the breakdown of bytes per article.
SELECT c.relname AS table_name, 'heap' AS part, pg_relation_size(c.oid) AS bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT LIKE 'bench_%'
UNION ALL
SELECT c.relname, 'toast', coalesce(pg_total_relation_size(c.reltoastrelid), 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT LIKE 'bench_%'
UNION ALL
SELECT c.relname, 'index ' || i.relname, pg_relation_size(i.oid)
FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT LIKE 'bench_%'
ORDER BY 1, 2

-- name: search_bytes
-- What full-text search stores (issue 13), reported apart: every column named search_vector* as
-- stored (inline or TOAST) and every index whose definition uses one. Dead row versions not counted.
SELECT coalesce((SELECT sum(pg_relation_size(x.indexrelid)) FROM pg_index x
                 JOIN pg_namespace n ON n.oid = (SELECT relnamespace FROM pg_class WHERE oid = x.indrelid)
                 WHERE n.nspname = 'public' AND pg_get_indexdef(x.indexrelid) LIKE '%search_vector%'), 0) AS index_bytes
