-- Alerts: events recorded once under a key (see 010_operators.sql), then delivered in batches.

-- name: record_new_pairs
-- A region pair never seen before in a relevant, non-spam article of the topic; the earliest article
-- tells it. title is the pair, detail the article's title (messages group pairs by article).
INSERT INTO alerts (alert_key, kind, title, detail, url)
SELECT DISTINCT ON (p.region_a, p.region_b)
       'pair:' || p.topic_id || ':' || p.region_a || '-' || p.region_b, 'new_pair',
       coalesce(ra.name, p.region_a) || ' – ' || coalesce(rb.name, p.region_b),
       coalesce(nullif(a.title, ''), a.canonical_url), a.canonical_url
FROM article_region_pairs p
JOIN article_topics t USING (article_id, topic_id)
JOIN articles a USING (article_id)
LEFT JOIN article_stories d USING (article_id)
LEFT JOIN regions ra ON ra.code = p.region_a
LEFT JOIN regions rb ON rb.code = p.region_b
WHERE p.topic_id = :topic_id AND t.relevant AND d.is_spam IS NOT TRUE
  AND NOT EXISTS (SELECT FROM alerts k WHERE k.alert_key = 'pair:' || p.topic_id || ':' || p.region_a || '-' || p.region_b)
ORDER BY p.region_a, p.region_b, a.published_at NULLS LAST, a.article_id
ON CONFLICT (alert_key) DO NOTHING

-- name: record_new_agreements
INSERT INTO alerts (alert_key, kind, title, detail, url)
SELECT DISTINCT ON (lower(agreement))
       'agreement:' || t.topic_id || ':' || lower(agreement), 'new_agreement',
       agreement, coalesce(nullif(a.title, ''), a.canonical_url), a.canonical_url
FROM article_topics t
CROSS JOIN LATERAL unnest(t.agreements) AS agreement
JOIN articles a USING (article_id)
LEFT JOIN article_stories d USING (article_id)
WHERE t.topic_id = :topic_id AND t.relevant AND d.is_spam IS NOT TRUE
  AND NOT EXISTS (SELECT FROM alerts k WHERE k.alert_key = 'agreement:' || t.topic_id || ':' || lower(agreement))
ORDER BY lower(agreement), a.published_at NULLS LAST, a.article_id
ON CONFLICT (alert_key) DO NOTHING

-- name: record_source_events
-- One alert per silence and per auto-disable of a source (a later one has another start time).
INSERT INTO alerts (alert_key, kind, title, detail, url)
SELECT 'silent:' || h.source_id || ':' || floor(extract(epoch FROM h.silent_since)), 'source_silent', h.source_id,
       format('no new URL for %s; usually one every %s', justify_interval(make_interval(secs => round(h.observed_gap_s))),
              justify_interval(make_interval(secs => round(h.expected_gap_s)))), s.url
FROM source_health h JOIN sources s USING (source_id)
WHERE h.silent_since IS NOT NULL AND s.enabled
UNION ALL
SELECT 'disabled:' || h.source_id || ':' || floor(extract(epoch FROM h.disabled_at)), 'source_disabled', h.source_id,
       h.disabled_reason, s.url
FROM source_health h JOIN sources s USING (source_id)
WHERE h.disabled_at IS NOT NULL AND s.enabled
ON CONFLICT (alert_key) DO NOTHING

-- name: pending
SELECT alert_key, kind, title, detail, url FROM alerts
WHERE sent_at IS NULL
ORDER BY created_at, alert_key
LIMIT :limit

-- name: mark_sent
UPDATE alerts SET sent_at = now(), sent_to = :channel WHERE alert_key = ANY(:keys) AND sent_at IS NULL
