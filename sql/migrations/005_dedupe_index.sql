-- Near-duplicate index for stories (issue 8): one MinHash fingerprint per article and its LSH band
-- keys. A lookup reads the few rows whose band_key equals one of the new article's keys, so its cost
-- depends on the number of matches, not on the corpus size.

CREATE TABLE article_fingerprints (
    article_id    bigint PRIMARY KEY REFERENCES articles ON DELETE CASCADE,
    -- The DedupeSettings the keys were computed with: keys of other params never match, so a
    -- threshold change needs `rebuild_stories`.
    params        text NOT NULL,
    shingle_count integer NOT NULL,
    band_keys     bigint[] NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per (band key, article). A hash index: a lookup or an insert reads one bucket whatever the
-- table's size (a b-tree grows a level per ~300x), and nearly all lookups find no match, so they
-- never visit the heap. No unique constraint is needed: an article's bands are inserted once, in
-- the transaction that inserts its fingerprint row. No foreign key either, to keep the hot table
-- to two integers per row: rows of a deleted article stay until the next rebuild and are harmless,
-- since lookups join articles.
CREATE TABLE lsh_bands (
    band_key   bigint NOT NULL,
    article_id bigint NOT NULL
);
CREATE INDEX lsh_bands_band_key_idx ON lsh_bands USING hash (band_key);
