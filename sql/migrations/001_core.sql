-- The ingest spine: sources, the URL frontier, raw pages, articles.
-- Every table has a natural unique key so that each stage can upsert and a re-run adds nothing.

CREATE TABLE sources (
    source_id        text PRIMARY KEY,
    name             text NOT NULL,
    language         text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('rss', 'atom', 'sitemap', 'listing', 'page')),
    url              text NOT NULL,
    settings         jsonb NOT NULL DEFAULT '{}'::jsonb,
    enabled          boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Conditional-GET state of every feed, sitemap and listing document a source points at.
CREATE TABLE discovery_documents (
    url              text PRIMARY KEY,
    source_id        text NOT NULL REFERENCES sources ON DELETE CASCADE,
    etag             text,
    last_modified    text,
    body_sha256      text,
    last_status      text NOT NULL,
    checked_at       timestamptz NOT NULL DEFAULT now()
);

-- The frontier. status: pending -> fetched | failed | blocked (robots, address rules, content type).
CREATE TABLE urls (
    url_id           bigserial PRIMARY KEY,
    canonical_url    text NOT NULL UNIQUE,
    source_id        text NOT NULL REFERENCES sources ON DELETE CASCADE,
    host             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'fetched', 'failed', 'blocked')),
    reason           text,
    attempts         integer NOT NULL DEFAULT 0,
    listed_title     text,
    listed_published_at timestamptz,
    discovered_at    timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    fetched_at       timestamptz
);
CREATE INDEX urls_pending_idx ON urls (source_id, host) WHERE status = 'pending';

-- Raw responses, kept so extraction can be re-run without fetching again.
CREATE TABLE pages (
    url_id            bigint PRIMARY KEY REFERENCES urls ON DELETE CASCADE,
    final_url         text NOT NULL,
    http_status       integer NOT NULL,
    headers           jsonb NOT NULL DEFAULT '{}'::jsonb,
    content_type      text,
    declared_charset  text,
    body_gzip         bytea NOT NULL,
    body_bytes        integer NOT NULL,
    body_sha256       text NOT NULL,
    fetched_at        timestamptz NOT NULL DEFAULT now(),
    -- extraction outcome: NULL = not extracted yet; 'article' or 'no_article' with a reason
    extract_status    text CHECK (extract_status IN ('article', 'no_article')),
    extract_reason    text,
    extractor_version text,
    extracted_at      timestamptz
);
CREATE INDEX pages_unextracted_idx ON pages (url_id) WHERE extract_status IS NULL;

CREATE TABLE articles (
    article_id         bigserial PRIMARY KEY,
    url_id             bigint NOT NULL UNIQUE REFERENCES urls ON DELETE CASCADE,
    canonical_url      text NOT NULL UNIQUE,
    source_id          text NOT NULL REFERENCES sources ON DELETE CASCADE,
    site               text NOT NULL,
    title              text,
    text               text NOT NULL,
    lang               text,
    published_at       timestamptz,
    author             text,
    editor             text,
    site_name          text,
    source_attribution text,
    original_title     text,
    translation        text,
    translation_lang   text,
    encoding           text,
    text_sha256        text NOT NULL,
    -- exact duplicate: the earliest article with the same normalized text
    duplicate_of       bigint REFERENCES articles ON DELETE SET NULL,
    extractor_version  text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX articles_text_sha256_idx ON articles (text_sha256);
CREATE INDEX articles_published_at_idx ON articles (published_at);
