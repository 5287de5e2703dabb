-- Fewer bytes per article (issue 14, docs/scaling.md "Bytes per article"). Same data, same answers.

-- 1. The LSH index is a GIN index on the band keys each fingerprint row already holds. lsh_bands
-- kept every key twice (in article_fingerprints.band_keys and as a row of its own: a 40-byte heap
-- tuple plus a hash-index entry, ~80 bytes a key); a GIN entry is ~32 bytes a key. fastupdate off:
-- a lookup then never scans a pending list. `mediamon bench dedupe`: as fast as lsh_bands up to
-- 100k articles, 3.8x slower at 1M (docs/scaling.md). A key of a deleted article now goes with its
-- fingerprint row (the foreign key cascades).
CREATE INDEX article_fingerprints_band_keys_idx ON article_fingerprints USING gin (band_keys)
    WITH (fastupdate = off);
DROP TABLE lsh_bands;

-- 2. The dedupe settings a fingerprint was made with: a 16-hex-digit digest of the JSON that
-- mediamon.dedupe.params_key hashed (186 bytes a row before, the same on every row).
UPDATE article_fingerprints SET params = left(encode(sha256(convert_to(params, 'UTF8')), 'hex'), 16)
WHERE params LIKE '{%';

-- 3. pages.headers is a summary: the headers no other column holds (mediamon.archive.SUMMARY_HEADERS;
-- keep the list below equal to it). The whole header block is in the page's WARC response record.
-- Rows whose body has not been moved to the archive yet keep theirs: `mediamon archive migrate`
-- writes them into the record first, then trims them.
UPDATE pages SET headers = coalesce((
    SELECT jsonb_object_agg(lower(h.key), h.value) FROM jsonb_each(headers) h
    WHERE lower(h.key) IN ('etag', 'last-modified', 'content-language', 'server', 'x-robots-tag')), '{}'::jsonb)
WHERE warc_file IS NOT NULL;

-- 4. LZ4 for the long texts where the server has it (PostgreSQL 14+ built --with-lz4: Debian's and
-- the postgres:16 image do; the embedded pgserver does not, and keeps pglz). pglz gives up on
-- Chinese text (it wants 25 % saved and reaches ~2 %): measured on the bench's articles, LZ4
-- stores text in 86 % of its UTF-8 bytes. Values already stored keep their compression until
-- rewritten (an UPDATE of the value, or a re-extraction).
DO $$
BEGIN
    ALTER TABLE articles ALTER COLUMN text SET COMPRESSION lz4,
                         ALTER COLUMN translation SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 not available on this server: articles.text keeps pglz';
END
$$;
