-- Near-duplicate index for stories (issue 8): one MinHash fingerprint per article and its LSH band
-- keys. A lookup reads the few rows whose band_key equals one of the new article's keys through the
-- primary key's b-tree, so its cost depends on the number of matches, not on the corpus size.

CREATE TABLE article_fingerprints (
    article_id    bigint PRIMARY KEY REFERENCES articles ON DELETE CASCADE,
    -- The DedupeSettings the keys were computed with: keys of other params never match, so a
    -- threshold change needs `rebuild_stories`.
    params        text NOT NULL,
    shingle_count integer NOT NULL,
    band_keys     bigint[] NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- No foreign key, to keep the hot index to two integers per row: rows of a deleted article stay
-- until the next rebuild and are harmless, since lookups join articles.
CREATE TABLE lsh_bands (
    band_key   bigint NOT NULL,
    article_id bigint NOT NULL,
    PRIMARY KEY (band_key, article_id)
);
