-- Raw pages move out of Postgres into WARC files (mediamon.archive). A page keeps a pointer to
-- its response record: the file (relative to MEDIAMON_ARCHIVE_URL), the byte range of the
-- record's gzip member, and body_sha256 as the payload digest. Status, headers and final URL
-- stay here as before.
ALTER TABLE pages
    ADD COLUMN warc_file       text,
    ADD COLUMN warc_offset     bigint,
    ADD COLUMN warc_length     integer,
    -- Set when retention removed the page's WARC file: the pointer is cleared, never left dangling.
    ADD COLUMN archived_out_at timestamptz,
    ADD CONSTRAINT pages_warc_pointer_whole
        CHECK ((warc_file IS NULL) = (warc_offset IS NULL) AND (warc_file IS NULL) = (warc_length IS NULL));
ALTER TABLE pages ALTER COLUMN body_gzip DROP NOT NULL;
-- Retention clears the pointers of one file at a time.
CREATE INDEX pages_warc_file_idx ON pages (warc_file) WHERE warc_file IS NOT NULL;

-- A new install has no bodies to move, so the column goes now. An existing one keeps it until
-- `mediamon archive migrate` has written every body to the archive, read each back and compared
-- its digest; that command then drops it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pages WHERE body_gzip IS NOT NULL) THEN
        ALTER TABLE pages DROP COLUMN body_gzip;
    END IF;
END
$$;
