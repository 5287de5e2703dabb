"""Event linking: does the cost of a run follow the stories that changed, or all stories?

In a scratch database (the bench's server: ``$MEDIAMON_DATABASE_URL``, else the embedded pgserver),
SQL makes ``--stories`` relevant one-copy stories over ``--days`` days: each with one or two region
pairs among 40 regions, cooperation types, in 30 % of them one agreement of a pool of 300 names, and
a title of random characters (synthetic: only the shape of the data matters here). Then, through
``events_db.link_events``:

1. the first run (every story new: a full link);
2. a run with nothing changed (fingerprints compared, nothing written);
3. one new story on the last day (it shares an agreement with a story of that day), relinked
   incrementally;
4. a full relink in the same run, as the baseline: all events deleted, so every story is new again.

Reported: seconds of each (median of ``--repeat``, steps 2-4) and the ratios to the full relink.

    python bench/events_bench.py [--stories 20000] [--days 365] [--repeat 3]

Writes bench/events_results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent / "plugins"))

from run import scratch_databases, server_admin_url  # noqa: E402

RESULTS_FILE = BENCH_DIR / "events_results.json"

_MAKE_STORIES = """
SELECT setseed(0.13);
INSERT INTO sources (source_id, name, language, kind, url)
VALUES ('bench', 'bench', 'zh', 'page', 'http://127.0.0.1/');
INSERT INTO urls (canonical_url, source_id, host, status)
SELECT 'http://127.0.0.1/' || i, 'bench', '127.0.0.1', 'fetched' FROM generate_series(1, :stories) i;
INSERT INTO articles (url_id, canonical_url, source_id, site, title, text, published_at, text_sha256,
                      extractor_version)
SELECT u.url_id, u.canonical_url, 'bench', 'site' || (u.url_id % 50),
       (SELECT string_agg(chr(19968 + (random() * 3000)::int), '') FROM generate_series(1, 14 + u.url_id % 3 * 0)),
       'text', timestamptz '2024-01-01 10:00+08' + make_interval(days => (random() * (:days - 1))::int),
       u.url_id::text, 'bench'
FROM urls u;
INSERT INTO stories (canonical_article_id, title, first_seen, last_seen, article_count, source_count)
SELECT article_id, title, now(), now(), 1, 1 FROM articles ORDER BY article_id;
INSERT INTO article_stories (article_id, story_id) SELECT canonical_article_id, story_id FROM stories;
INSERT INTO article_topics (article_id, topic_id, topic_version, score, relevant, evidence, cooperation_types,
                            agreements)
SELECT article_id, 'regional_cooperation', 'bench', 0.9, true, '{}',
       (ARRAY['joint_meeting', 'framework_agreement', 'city_cluster_coordination',
              'public_service_integration'])[1 + (random() * 3)::int : 2 + (random() * 2)::int],
       CASE WHEN random() < 0.3 THEN ARRAY['区域' || (random() * 299)::int || '号专项协同发展合作协议'] ELSE '{}' END
FROM articles;
INSERT INTO article_region_pairs (article_id, topic_id, region_a, region_b)
SELECT DISTINCT article_id, 'regional_cooperation', least(a, b), greatest(a, b)
FROM (SELECT article_id, lpad((110000 + (random() * 39)::int * 100)::text, 6, '0') AS a,
             lpad((110000 + (random() * 39)::int * 100)::text, 6, '0') AS b,
             generate_series(1, 1 + (random())::int) FROM articles) p
WHERE a <> b;
ANALYZE;
"""

_ADD_STORY = """
INSERT INTO urls (canonical_url, source_id, host, status)
VALUES ('http://127.0.0.1/new-' || :n, 'bench', '127.0.0.1', 'fetched');
INSERT INTO articles (url_id, canonical_url, source_id, site, title, text, published_at, text_sha256,
                      extractor_version)
SELECT url_id, canonical_url, 'bench', 'site-new', '新来一条报道' || :n, 'text',
       (SELECT max(published_at) FROM articles WHERE source_id = 'bench'), 'new-' || :n, 'bench'
FROM urls WHERE canonical_url = 'http://127.0.0.1/new-' || :n;
INSERT INTO stories (canonical_article_id, title, first_seen, last_seen, article_count, source_count)
SELECT article_id, title, now(), now(), 1, 1 FROM articles WHERE text_sha256 = 'new-' || :n;
INSERT INTO article_stories (article_id, story_id)
SELECT s.canonical_article_id, s.story_id FROM stories s JOIN articles a ON a.article_id = s.canonical_article_id
WHERE a.text_sha256 = 'new-' || :n;
INSERT INTO article_topics (article_id, topic_id, topic_version, score, relevant, evidence, agreements)
SELECT a.article_id, 'regional_cooperation', 'bench', 0.9, true, '{}',
       (SELECT t.agreements FROM article_topics t JOIN articles o USING (article_id)
        WHERE cardinality(t.agreements) > 0 ORDER BY o.published_at DESC LIMIT 1)
FROM articles a WHERE a.text_sha256 = 'new-' || :n;
"""


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> int:
    import sqlalchemy as sa

    from mediamon import events_db, store
    from mediamon.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    with scratch_databases(server_admin_url()) as new:
        settings = replace(Settings.from_env({}), database_url=new("events"))
        with store.transaction(settings) as conn:
            for statement in filter(str.strip, _MAKE_STORIES.split(";\n")):
                conn.execute(sa.text(statement), {"stories": args.stories, "days": args.days})
        first, result = _timed(lambda: events_db.link_events(settings, ["regional_cooperation"]))
        print(f"first run: {first:.2f} s, {result}")
        times: dict[str, list[float]] = {"unchanged": [], "one_new_story": [], "full_relink": []}
        relinked = []
        for n in range(args.repeat):
            times["unchanged"].append(_timed(lambda: events_db.link_events(settings, ["regional_cooperation"]))[0])
            with store.transaction(settings) as conn:
                for statement in filter(str.strip, _ADD_STORY.split(";\n")):
                    conn.execute(sa.text(statement), {"n": n})
            seconds, grown = _timed(lambda: events_db.link_events(settings, ["regional_cooperation"]))
            times["one_new_story"].append(seconds)
            relinked.append(grown.relinked_stories)
            with store.transaction(settings) as conn:
                conn.execute(sa.text("DELETE FROM events"))
            times["full_relink"].append(_timed(lambda: events_db.link_events(settings, ["regional_cooperation"]))[0])
        medians = {name: round(statistics.median(values), 3) for name, values in times.items()}
        results = {
            "stories": result.stories, "events": result.events, "linked_events": result.linked_events,
            "days": args.days, "first_run_s": round(first, 3), "median_s": medians,
            "relinked_stories_for_one_new": relinked,
            "ratio_to_full_relink": {name: round(medians[name] / medians["full_relink"], 4)
                                     for name in ("unchanged", "one_new_story")},
            "load_average": os.getloadavg(),
        }
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
