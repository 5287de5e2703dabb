-- What the page spam rules read besides the article (mediamon.extract.page_fields): the page's
-- <title>, meta keywords and breadcrumb trail, where spam domains show what they rank for. Kept with
-- the article so that dedupe never has to decompress and parse the raw page again.
-- NULL for articles extracted before this column existed until they are re-extracted.
ALTER TABLE articles ADD COLUMN page_fields jsonb;
