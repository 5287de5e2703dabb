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
