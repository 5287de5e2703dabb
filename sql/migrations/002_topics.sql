-- Which sources listed each URL (a URL belongs to the first source that found it, but several
-- sources may list it), and the classification stage: regions, topic results and their evidence.

CREATE TABLE url_sources (
    url_id      bigint NOT NULL REFERENCES urls ON DELETE CASCADE,
    source_id   text NOT NULL REFERENCES sources ON DELETE CASCADE,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (url_id, source_id)
);
INSERT INTO url_sources (url_id, source_id) SELECT url_id, source_id FROM urls;

-- GB/T 2260 administrative divisions, loaded from the gazetteer shipped with the package.
CREATE TABLE regions (
    code         char(6) PRIMARY KEY,
    name         text NOT NULL,
    level        text NOT NULL CHECK (level IN ('province', 'prefecture', 'county')),
    parent_code  char(6),
    short_name   text,
    english      text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE article_topics (
    article_id        bigint NOT NULL REFERENCES articles ON DELETE CASCADE,
    topic_id          text NOT NULL,
    topic_version     text NOT NULL,
    score             real NOT NULL,
    relevant          boolean NOT NULL,
    evidence          jsonb NOT NULL,
    cooperation_types text[] NOT NULL DEFAULT '{}',
    agreements        text[] NOT NULL DEFAULT '{}',
    classified_at     timestamptz NOT NULL DEFAULT now(),
    -- When the article first became relevant; kept while it stays relevant across re-classification,
    -- so reports (which cover "became relevant since the last report") never count it twice.
    relevant_since    timestamptz,
    PRIMARY KEY (article_id, topic_id)
);
CREATE INDEX article_topics_relevant_since_idx ON article_topics (topic_id, relevant_since) WHERE relevant;

CREATE TABLE article_regions (
    article_id   bigint NOT NULL REFERENCES articles ON DELETE CASCADE,
    topic_id     text NOT NULL,
    region_code  char(6) NOT NULL,
    surface      text NOT NULL,
    mentions     integer NOT NULL,
    PRIMARY KEY (article_id, topic_id, region_code)
);

-- Who cooperates with whom: unordered pairs (region_a < region_b) of relevant articles.
CREATE TABLE article_region_pairs (
    article_id   bigint NOT NULL REFERENCES articles ON DELETE CASCADE,
    topic_id     text NOT NULL,
    region_a     char(6) NOT NULL,
    region_b     char(6) NOT NULL,
    PRIMARY KEY (article_id, topic_id, region_a, region_b),
    CHECK (region_a < region_b)
);
CREATE INDEX article_region_pairs_regions_idx ON article_region_pairs (region_a, region_b);
