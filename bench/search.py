"""``make bench-search``: analyst.search against LIKE at 100,000 articles, and the cost of indexing.

Two measurements, in scratch databases on the bench's server (``$MEDIAMON_DATABASE_URL``, else the
embedded pgserver), dropped at the end:

1. Search. A pool of articles is made from the bench corpus's sentences (bench/corpus.py: the seed
   documents and, when ``../shared`` is there, real Chinese news sentences); SQL then makes
   ``--articles`` rows, each the text of two pool articles joined by a newline, and builds the
   search index (migration 014: a GIN expression index, the only search data stored). Each query
   runs as ``analyst.search``, as the baseline (``analyst.search`` as the migrations before
   ``BASELINE_MIGRATION`` left it, kept under the schema ``bench_baseline`` in the same database:
   the same index, so the two are paired) and as the LIKE query over title, text and translation
   with the same meaning; all must return the same articles. Reported: the median of 3 runs after
   one warm-up, all matches and the first page (50, newest first); the index's bytes per article.
2. Indexing. ``pipeline.ingest`` of a served corpus (``--pages``, as ``make bench``); its articles'
   title, text and translation are then written again into a table without and with the search
   index (median of 5 each). Reported: that difference per row (tokens and GIN insert) times the
   row versions the pipeline wrote per article (insert and non-HOT updates: each writes the index),
   as a share of the pipeline's wall time per article; and the index's bytes per article after the
   ingest, after VACUUM and after REINDEX (the updates leave dead entries behind).

    python bench/search.py [--articles 100000] [--pages 200] [--skip-search]

Writes bench/search_results.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import corpus  # noqa: E402
import run as bench_run  # noqa: E402

RESULTS_FILE = BENCH_DIR / "search_results.json"
# ../shared as seen from the project; MEDIAMON_SHARED_DIR points elsewhere (a git worktree's parent).
SHARED_DIR = Path(os.environ.get("MEDIAMON_SHARED_DIR") or corpus.SHARED_DIR)
POOL = 4000
# Two-word queries (ANDed), from frequent (a third of the corpus) to rare, then - and OR. The corpus
# is made of cooperation news, so its terms are far more frequent than in a general news stream.
QUERIES = ["合作 发展", "长三角 一体化", "上海 浙江", "对口支援 新疆", "沪 苏", "粤港澳 大湾区 -香港", "京津冀 OR 成渝"]
TARGETS = {"speedup_two_word": 20.0, "indexing_share": 0.03}
# The migration that restated analyst.search last: the bench times the function before it too.
BASELINE_MIGRATION = 18

log = logging.getLogger("bench.search")


def _like_condition(query: str) -> tuple[str, dict]:
    """The LIKE query with the meaning of ``query`` (the grammar of analyst.search)."""
    clauses, params, joined = [], {}, False
    for word in query.split():
        if word == "OR":
            joined = True
            continue
        negated = word.startswith("-")
        name = f"t{len(params)}"
        params[name] = "%" + word.lstrip("-") + "%"          # Chinese terms: no case to fold
        test = "(" + " OR ".join(f"coalesce({f}, '') LIKE :{name}" for f in ("title", "text", "translation")) + ")"
        test = f"NOT {test}" if negated else test
        if joined:
            clauses[-1] = f"({clauses[-1]} OR {test})"
            joined = False
        else:
            clauses.append(test)
    return " AND ".join(clauses), params


def _median_s(conn, statement, params, runs: int = 3) -> tuple[float, list]:
    import sqlalchemy as sa

    rows = conn.execute(sa.text(statement), params).fetchall()      # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        rows = conn.execute(sa.text(statement), params).fetchall()
        times.append(time.perf_counter() - start)
    return statistics.median(times), rows


def keep_baseline(url: str) -> None:
    """In a database migrated up to BASELINE_MIGRATION (excluded): move analyst.search aside as
    bench_baseline.search, then apply the remaining migrations."""
    from mediamon import store

    engine = store.engine_for(url)
    with engine.begin() as conn:
        store.execute(conn, "bench.create_baseline_schema")
        store.execute(conn, "bench.keep_baseline_search")
    store.upgrade(engine)


def measure_search(url: str, articles: int) -> dict:
    from mediamon import store

    rng = random.Random(11)
    sentences = corpus.chinese_sentences([*corpus.seed_sentences(), *corpus.shared_texts(SHARED_DIR)])
    pool = []
    for n in range(POOL):
        paragraphs = corpus.article_paragraphs(rng, sentences)
        pool.append((n, paragraphs[0][: rng.randint(12, 24)], "\n".join(paragraphs)))
    engine = store.engine_for(url)
    with engine.begin() as conn:
        store.execute(conn, "bench.create_search_pool")
        store.execute_many_values(conn, "bench.insert_search_pool", pool)
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        store.execute(conn, "bench.drop_search_index")
        store.execute(conn, "bench.make_search_articles", {"articles": articles, "pool": POOL})
        loaded = time.perf_counter() - start
        store.execute(conn, "bench.create_search_index")
        store.execute(conn, "bench.drop_search_pool")
    index_build = time.perf_counter() - start - loaded
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE articles")
    results = {"articles": articles, "pool": POOL, "load_s": round(loaded, 1), "gin_build_s": round(index_build, 1),
               "mean_chars": None, "queries": []}
    with engine.connect() as conn:
        results.update({k: float(v) for k, v in store.rows(conn, "bench.search_sizes")[0]._mapping.items()})
        for query in QUERIES:
            condition, params = _like_condition(query)
            like_all, like_rows = _median_s(conn, f"SELECT article_id FROM articles WHERE {condition}", params)
            like_page, like_first = _median_s(
                conn, f"SELECT article_id FROM articles WHERE {condition} "
                      "ORDER BY published_at DESC NULLS LAST, article_id DESC LIMIT 50", params)
            timed = {"query": query, "matches": len(like_rows),
                     "like_all_ms": round(1000 * like_all, 1), "like_page_ms": round(1000 * like_page, 1)}
            for label, function in (("search", "analyst.search"), ("baseline", "bench_baseline.search")):
                found_all, found_rows = _median_s(conn, f"SELECT article_id FROM {function}(:q, 1000000)", {"q": query})
                if {r[0] for r in like_rows} != {r[0] for r in found_rows}:
                    raise SystemExit(f"bench: {function}({query!r}) and LIKE disagree")
                found_page, found_first = _median_s(conn, f"SELECT article_id FROM {function}(:q, 50)", {"q": query})
                if [r[0] for r in like_first] != [r[0] for r in found_first]:
                    raise SystemExit(f"bench: first pages of {function}({query!r}) and LIKE differ")
                prefix = "" if label == "search" else "baseline_"
                timed.update({f"{label}_all_ms": round(1000 * found_all, 1),
                              f"{prefix}speedup_all": round(like_all / found_all, 1),
                              f"{label}_page_ms": round(1000 * found_page, 1),
                              f"{prefix}speedup_page": round(like_page / found_page, 1)})
            results["queries"].append(timed)
    return results


def phase_pipeline(args: dict) -> dict:
    """``pipeline.ingest`` (as bench/run.py's library phase), then the cost of the search index on
    its articles: the same rows written into a table without and with the index."""
    from mediamon import store

    # Without the re-extraction run.py measures after the ingest: its upserts are row writes too,
    # and they are not the pipeline's (counting them gave 3.07 writes an article instead of 2.15).
    library = bench_run.phase_library({**args, "skip_reprocess": True})
    settings = bench_run._settings(args["database_url"], Path(args["sources"]), Path(args["state_dir"]))
    time.sleep(2)                   # other backends flush their table statistics within a second
    gin = {}
    with store.transaction(settings) as conn:
        writes = store.rows(conn, "bench.article_writes")[0]._mapping
        gin["after_ingest"] = store.rows(conn, "bench.search_index_bytes")[0].bytes
    with store.engine(settings).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM articles")
        gin["after_vacuum"] = store.rows(conn, "bench.search_index_bytes")[0].bytes
        store.execute(conn, "bench.reindex_search")
        gin["after_reindex"] = store.rows(conn, "bench.search_index_bytes")[0].bytes

    def fill_s(merge: bool) -> float:
        times = []
        for _ in range(5):
            with store.transaction(settings) as conn:
                store.execute(conn, "bench.empty_index_cost_target")
            start = time.perf_counter()
            with store.transaction(settings) as conn:
                store.execute(conn, "bench.fill_index_cost_target")
                if merge:
                    store.execute(conn, "bench.merge_index_cost_target")
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    with store.transaction(settings) as conn:
        store.execute(conn, "bench.create_index_cost_target")
    bare = fill_s(merge=False)
    with store.transaction(settings) as conn:
        store.execute(conn, "bench.index_cost_target")
    indexed = fill_s(merge=True)
    with store.transaction(settings) as conn:
        store.execute(conn, "bench.drop_index_cost_target")
    return {"pipeline_wall_s": library["wall_s"], "articles": library["table_counts"]["articles"],
            "write_s": bare, "write_indexed_s": indexed, "index_s": max(indexed - bare, 0.0),
            "inserts": writes["inserts"], "non_hot_updates": writes["non_hot_updates"],
            "hot_updates": writes["hot_updates"], "gin_bytes": gin,
            "step_s": library["step_s"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--skip-search", action="store_true",
                        help="only the indexing measurement (minutes), not the search at --articles (the GIN build)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("phase_args", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        bench_run._quiet_logging()
        print(json.dumps({"pipeline": phase_pipeline}[args.phase](json.loads(args.phase_args)), default=str))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench: %(message)s", stream=sys.stderr)
    logging.getLogger("mediamon").setLevel(logging.WARNING)
    workdir = bench_run.PROJECT_ROOT / ".mediamon" / "bench-search"
    import shutil


    shutil.rmtree(workdir, ignore_errors=True)
    corpus_dir, state_dir = workdir / "corpus", workdir / "state"
    state_dir.mkdir(parents=True)
    results = {}
    with bench_run.scratch_databases(bench_run.server_admin_url()) as new_db:
        if not args.skip_search:
            log.info("search: %d articles", args.articles)
            url = new_db("search", BASELINE_MIGRATION - 1)
            keep_baseline(url)
            results["search"] = measure_search(url, args.articles)
        manifest = corpus.build(corpus_dir, corpus.CorpusSpec(pages=args.pages),
                                html_dir=SHARED_DIR / "corpus" / "gne-zh" / "html", shared_dir=SHARED_DIR)
        with bench_run.served_corpus(corpus_dir) as ports:
            sources = workdir / "sources.yaml"
            sources.write_text(corpus.sources_yaml(manifest, ports), encoding="utf-8")
            log.info("indexing: pipeline.ingest of %d pages, then its articles written without and with the index", args.pages)
            command = [sys.executable, str(Path(__file__).resolve()), "--phase", "pipeline", json.dumps(
                {"database_url": new_db("pipeline"), "sources": str(sources), "state_dir": str(state_dir)})]
            import subprocess

            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=bench_run.PROJECT_ROOT, check=True)
            pipeline = json.loads(done.stdout.strip().splitlines()[-1])
    per_article = pipeline["pipeline_wall_s"] / max(pipeline["articles"], 1)
    pipeline["pipeline_ms_per_article"] = round(1000 * per_article, 2)
    articles = max(pipeline["articles"], 1)
    pipeline["index_ms_per_article"] = round(1000 * pipeline["index_s"] / articles, 3)
    # Every row version written pays the index: the insert and each non-HOT update.
    pipeline["index_writes_per_article"] = round((pipeline["inserts"] + pipeline["non_hot_updates"]) / articles, 2)
    pipeline["indexing_share"] = round(pipeline["index_s"] / articles * pipeline["index_writes_per_article"]
                                       / per_article, 4)
    results["indexing"] = pipeline
    results["summary"] = {"indexing_share": pipeline["indexing_share"], "targets": TARGETS}
    if "search" in results:
        two_word = [q for q in results["search"]["queries"] if len(q["query"].split()) == 2]
        results["summary"].update({
            "speedup_two_word_all_min": min(q["speedup_all"] for q in two_word),
            "speedup_two_word_page_min": min(q["speedup_page"] for q in two_word),
            "baseline_speedup_two_word_all_min": min(q["baseline_speedup_all"] for q in two_word),
            "baseline_speedup_two_word_page_min": min(q["baseline_speedup_page"] for q in two_word),
            "search_bytes_per_article": results["search"]["search_bytes_per_article"]})
    RESULTS_FILE.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(format_table(results))
    return 0


def format_table(results: dict) -> str:
    lines = _search_lines(results["search"]) + [""] if "search" in results else []
    i = results["indexing"]
    articles = max(i["articles"], 1)
    lines += [f"indexing: pipeline {i['pipeline_ms_per_article']} ms/article over {i['articles']} articles; "
              f"search index {i['index_ms_per_article']} ms per write x {i['index_writes_per_article']} "
              f"writes/article = {100 * i['indexing_share']:.2f} % (target <= 3 %)",
              "search index bytes per article after the ingest {after_ingest}, after VACUUM {after_vacuum}, "
              "after REINDEX {after_reindex}".format(**{k: round(v / articles) for k, v in i["gin_bytes"].items()})]
    return "\n".join(lines)


def _search_lines(s: dict) -> list[str]:
    lines = [f"search over {s['articles']:,} articles (mean {s['mean_chars']} chars; table {s['table_mb']} MB, "
             f"search GIN {s['gin_mb']} MB = {s['search_bytes_per_article']:.0f} B/article, built in "
             f"{s['gin_build_s']} s; the rest of the table {s['other_article_bytes_per_article']:.0f} B/article)",
             f"(baseline: analyst.search before migration {BASELINE_MIGRATION:03d}, same database and index)",
             f"{'query':<22}{'matches':>9}{'LIKE all':>11}{'search all':>12}{'x':>7}{'baseline':>10}{'x':>7}"
             f"{'LIKE p1':>10}{'search p1':>11}{'x':>7}{'baseline':>10}{'x':>7}"]
    for q in s["queries"]:
        lines.append(f"{q['query']:<22}{q['matches']:>9}{q['like_all_ms']:>9} ms{q['search_all_ms']:>10} ms"
                     f"{q['speedup_all']:>7}{q['baseline_all_ms']:>8} ms{q['baseline_speedup_all']:>7}"
                     f"{q['like_page_ms']:>8} ms{q['search_page_ms']:>9} ms{q['speedup_page']:>7}"
                     f"{q['baseline_page_ms']:>8} ms{q['baseline_speedup_page']:>7}")
    return lines

if __name__ == "__main__":
    sys.exit(main())
