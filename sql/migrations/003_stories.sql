-- Stories: every article belongs to exactly one story (a cluster of copies of one news item).
-- The near-duplicate index that assigns articles to stories comes in a later migration.

CREATE TABLE stories (
    story_id             bigserial PRIMARY KEY,
    canonical_article_id bigint,
    title                text,
    first_seen           timestamptz NOT NULL,
    last_seen            timestamptz NOT NULL,
    article_count        integer NOT NULL DEFAULT 0,
    source_count         integer NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE articles
    ADD COLUMN story_id bigint REFERENCES stories ON DELETE SET NULL,
    -- Copies on spam or low-quality sites, with the rules that fired, so reports can leave them out.
    ADD COLUMN is_spam boolean NOT NULL DEFAULT false,
    ADD COLUMN spam_evidence jsonb;
CREATE INDEX articles_story_id_idx ON articles (story_id);
ALTER TABLE stories ADD FOREIGN KEY (canonical_article_id) REFERENCES articles ON DELETE SET NULL;
