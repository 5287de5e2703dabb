"""``mediamon``: the command line. Every command calls the same library functions the DAGs call."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from mediamon.errors import ConfigError, SettingsError
from mediamon.settings import Settings

log = logging.getLogger("mediamon")

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediamon", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply pending migrations from sql/migrations")
    db.add_parser("url", help="print the database URL (starts the embedded server if needed)")
    db.add_parser("stop", help="stop the embedded PostgreSQL server if it runs")

    sources = commands.add_parser("sources", help="the source list").add_subparsers(
        dest="sources_command", required=True)
    check = sources.add_parser("check", help="validate the source file and print its sources")
    check.add_argument("--sources", type=Path, help="source file (default: $MEDIAMON_SOURCES or seeds/sources.yaml)")
    add = sources.add_parser("add", help="scan a site for feeds, sitemaps and listings; print source stanzas")
    add.add_argument("url", help="the site's home page")
    add.add_argument("--allow-private", action="append", default=[], metavar="HOST:PORT",
                     help="let the scan reach this private/loopback host:port (copied into the stanzas)")
    add.add_argument("--write", type=Path, metavar="FILE", help="append the stanzas to this source file")
    add.add_argument("--crawl-delay", type=float, metavar="SECONDS",
                     help="seconds between two requests (default: robots.txt, at least 1)")
    enable = sources.add_parser("enable", help="re-enable a source the pipeline disabled after repeated failures")
    enable.add_argument("source_id")

    demo = commands.add_parser("demo-site", help="serve the offline demo news site on 127.0.0.1")
    demo.add_argument("--news-port", type=int, help="default 8701")
    demo.add_argument("--repost-port", type=int, help="default 8702")

    ingest = commands.add_parser("ingest", help="run the ingest steps in-process, without a scheduler")
    ingest.add_argument("--sources", type=Path, help="source file (default: $MEDIAMON_SOURCES or seeds/sources.yaml)")

    extract = commands.add_parser("extract", help="extract one HTML file and print the result")
    extract.add_argument("file", type=Path)
    extract.add_argument("--url", help="the page's URL (helps metadata and relative links)")
    extract.add_argument("--json", action="store_true", help="print one JSON object")

    run = commands.add_parser("run", help="what `make run` does: database, demo site, the ingest DAG in Airflow")
    run.add_argument("--no-airflow", action="store_true",
                     help="run the steps in-process instead of `airflow dags test`")

    imp = commands.add_parser("import-warc", help="import the HTML pages of WARC files (CC-NEWS, ours) as articles")
    imp.add_argument("inputs", nargs="+", metavar="PATH_OR_URL", help="WARC files, folders, globs or fsspec URLs")
    imp.add_argument("--host", action="append", dest="hosts", help="keep records of this host (repeatable)")
    imp.add_argument("--source", action="append", dest="source_ids",
                     help="keep records of this source's host (repeatable)")
    imp.add_argument("--since", type=_utc_date, help="keep records captured at or after (ISO date or time, UTC)")
    imp.add_argument("--until", type=_utc_date, help="keep records captured before (ISO date or time, UTC)")
    imp.add_argument("--sources", type=Path, help="source file (default: $MEDIAMON_SOURCES or seeds/sources.yaml)")

    exp = commands.add_parser("export-warc", help="write archived pages (by source, date range or story) as one WARC")
    exp.add_argument("out", help="the WARC file to write (path or fsspec URL, .warc.gz)")
    exp.add_argument("--source", action="append", dest="source_ids", help="pages of this source (repeatable)")
    exp.add_argument("--since", type=_utc_date, help="pages fetched at or after (ISO date or time, UTC)")
    exp.add_argument("--until", type=_utc_date, help="pages fetched before (ISO date or time, UTC)")
    exp.add_argument("--story", type=int, dest="story_id", help="pages of this story's articles")

    arc = commands.add_parser("archive", help="the raw-page WARC archive").add_subparsers(
        dest="archive_command", required=True)
    arc.add_parser("migrate", help="move page bodies still in Postgres into WARC files, verify, drop them")
    arc.add_parser("retention", help="delete archive files past their retention; clear their pointers")

    rep = commands.add_parser("report", help="build the report on coverage new since the last one")
    rep.add_argument("--out", type=Path, help="reports directory (default: $MEDIAMON_REPORTS_DIR or .mediamon/reports)")
    rep.add_argument("--collection", metavar="NAME",
                     help="report on the sources of this collection only (its own watermark and ledger)")

    bench = commands.add_parser("bench", help="benchmarks").add_subparsers(dest="bench_command", required=True)
    bench_dedupe = bench.add_parser("dedupe", help="story lookup+insert cost at 10k, 100k and 1M fingerprints")
    bench_dedupe.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated corpus sizes")

    ui = commands.add_parser("airflow", help="the Airflow UI (airflow standalone) on the `make run` setup")
    ui.add_argument("--port", type=int, default=8080)

    evaluate = commands.add_parser("eval", help="score a stage against labelled data").add_subparsers(
        dest="eval_command", required=True)
    eval_extract = evaluate.add_parser("extract", help="score extraction on DIR/html + DIR/truth")
    eval_extract.add_argument("directory", type=Path)
    eval_extract.add_argument("--json", action="store_true")
    eval_dedupe = evaluate.add_parser("dedupe", help="score story clustering on DIR/html (or *.txt) + clusters.json")
    eval_dedupe.add_argument("directory", type=Path)
    eval_dedupe.add_argument("--clusters", type=Path, help="labels file (default: DIR/clusters.json)")
    eval_dedupe.add_argument("--json", action="store_true")
    eval_topic = evaluate.add_parser("topic", help="score topic classification on a labelled JSONL file")
    eval_topic.add_argument("file", type=Path)
    eval_topic.add_argument("--topic", default="regional_cooperation", help="topic id (a file in the topics dir)")
    eval_topic.add_argument("--json", action="store_true")
    eval_topic.add_argument("--fit", action="store_true",
                            help="fit the topic's model on FILE, print its cross-validated figures and weights")
    eval_topic.add_argument("--write", action="store_true", help="with --fit: write the weights into the topic file")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    settings = Settings.from_env()
    if getattr(args, "sources", None):
        settings = replace(settings, sources_file=args.sources)
    try:
        return COMMANDS[args.command](args, settings) or 0
    except (ConfigError, SettingsError) as exc:
        print(f"mediamon: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _utc_date(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO date or time (2026-01-31, 2026-01-31T08:00)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _db(args, settings: Settings) -> int:
    from mediamon import archive_db, db, pipeline

    if args.db_command == "upgrade":
        applied = pipeline.migrate(settings)
        print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
        left = archive_db.bodies_left(settings)
        if left:
            print(f"{left} pages still hold their body in Postgres: run `mediamon archive migrate`")
    elif args.db_command == "stop":
        print("embedded PostgreSQL stopped" if db.stop_embedded(settings) else "embedded PostgreSQL was not running")
    else:
        print(db.redact(db.database_url(settings)))
    return 0


def _sources(args, settings: Settings) -> int:
    from mediamon.sources import load_sources

    if args.sources_command == "add":
        return _sources_add(args, settings)
    if args.sources_command == "enable":
        from mediamon import health_db
        from mediamon.errors import UnknownSource

        try:
            health_db.reenable_source(settings, args.source_id)
        except UnknownSource as exc:
            print(f"mediamon: {exc}", file=sys.stderr)
            return 2
        print(f"source {args.source_id} re-enabled: the next run tries it again")
        return 0

    found = load_sources(settings.sources_file)
    for source in found:
        print(f"{source.source_id:28} {source.kind:8} {source.language:3} {source.url}")
    print(f"{settings.sources_file}: {len(found)} sources OK")
    return 0


def _sources_add(args, settings: Settings) -> int:
    import yaml

    from mediamon import site_scan
    from mediamon.fetch import Fetcher
    from mediamon.sources import append_sources, load_sources

    allow = tuple(a.lower() for a in args.allow_private)
    for entry in allow:
        host, sep, port = entry.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ConfigError("--allow-private", f"{entry!r} is not an exact 'host:port' pair")
    try:
        with Fetcher(settings.fetch, allow_private=allow, crawl_delay_s=args.crawl_delay) as fetcher:
            scan = site_scan.scan_site(args.url, fetcher)
    except site_scan.ScanError as exc:
        print(f"mediamon: {exc}", file=sys.stderr)
        return 1
    print(f"# {scan.home_url}: {scan.title!r}, language {scan.language}")
    for candidate in scan.candidates:
        state = (f"{candidate.articles} article links" if candidate.works
                 else f"skipped: {candidate.problem or 'no article links'}")
        print(f"#   {candidate.kind:8} {candidate.url}  ({candidate.found_via}; {state})")
    existing = load_sources(args.write) if args.write and args.write.exists() else []
    known_urls = {s.url for s in existing}
    found = [s for s in site_scan.stanzas(scan, allow, taken={s.source_id for s in existing})
             if s["url"] not in known_urls]
    if not found:
        already = f" that is not already in {args.write}" if existing else ""
        print(f"# no working feed, sitemap or listing found{already}")
        return 1
    print(yaml.safe_dump(found, allow_unicode=True, sort_keys=False, width=1000), end="")
    if args.write:
        total = append_sources(args.write, found)
        print(f"# appended {len(found)} source(s) to {args.write} ({len(total)} in all)")
    return 0


def _demo_site(args, settings: Settings) -> int:
    import time

    from mediamon.demo_site import DemoSite

    ports = settings.demo_site
    with DemoSite(ports.host, args.news_port or ports.news_port, args.repost_port or ports.repost_port) as site:
        print(f"demo site: {site.news_url} (news) and {site.repost_url} (reposts); Ctrl-C stops it", flush=True)
        while True:
            time.sleep(3600)


def _ingest(args, settings: Settings) -> int:
    from mediamon import pipeline, sources_db
    from mediamon.sources import format_summary

    counts = pipeline.ingest(settings)
    print(format_summary(sources_db.summary(settings)))
    print("run: " + ", ".join(f"{k}={v}" for k, v in counts.to_xcom().items()))
    return 0


def _extract(args, settings: Settings) -> int:
    from mediamon.extract import extract

    result = extract(args.file.read_bytes(), url=args.url, settings=settings.extract)
    if args.json:
        print(json.dumps(result.to_json_dict(), ensure_ascii=False))
    else:
        print(result.title or "(no title)")
        print(f"published_at={result.published_at} author={result.author} lang={result.lang}")
        print()
        print(result.text or f"(no article: {result.failure_reason})")
    return 0


def _run(args, settings: Settings) -> int:
    from mediamon.runner import run_demo

    return run_demo(settings, use_airflow=not args.no_airflow)


def _import_warc(args, settings: Settings) -> int:
    from mediamon import pipeline, sources_db
    from mediamon.errors import UnknownSource
    from mediamon.results import ImportResult

    pipeline.migrate(settings)
    sources_db.sync_sources(settings)

    def show(counts: ImportResult) -> None:
        print(f"import: {counts.records_read} records read, {counts.kept} kept, {counts.skipped} skipped, "
              f"{counts.corrupt} corrupt, {counts.already_known} already known, {counts.articles_new} new articles, "
              f"{counts.records_per_s:.0f} records/s", file=sys.stderr, flush=True)

    try:
        counts = pipeline.import_warc(settings, args.inputs, hosts=args.hosts, source_ids=args.source_ids,
                                      since=args.since, until=args.until, progress=show)
    except (FileNotFoundError, UnknownSource) as exc:
        print(f"mediamon: {exc}", file=sys.stderr)
        return 2
    show(counts)
    print(json.dumps(counts.to_xcom() | {"records_per_s": round(counts.records_per_s, 1)}))
    return 0


def _export_warc(args, settings: Settings) -> int:
    from mediamon import archive_db, pipeline

    pipeline.migrate(settings)
    result = archive_db.export_pages(settings, args.out, source_ids=args.source_ids, since=args.since,
                                     until=args.until, story_id=args.story_id)
    print(f"{result.pages} pages written to {result.path}")
    return 0


def _archive(args, settings: Settings) -> int:
    from mediamon import archive_db, pipeline

    pipeline.migrate(settings)
    if args.archive_command == "migrate":
        moved = archive_db.migrate_blobs(settings)
        print(json.dumps(moved.to_xcom()))
        return 1 if moved.left else 0
    print(json.dumps(archive_db.apply_retention(settings).to_xcom()))
    return 0


def _report(args, settings: Settings) -> int:
    from mediamon import pipeline, report_db

    if args.out:
        settings = replace(settings, reports_dir=args.out)
    pipeline.migrate(settings)
    summary = report_db.build_report(settings, collection=args.collection)
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    print(summary["paths"]["html"])
    return 0


def _bench(args, settings: Settings) -> int:
    from mediamon import db
    from mediamon.evaluation.dedupe_bench import format_dedupe_bench, run_dedupe_bench

    sizes = tuple(int(size) for size in args.sizes.split(","))
    print(format_dedupe_bench(run_dedupe_bench(db.database_url(settings), sizes=sizes)))
    return 0


def _airflow(args, settings: Settings) -> int:
    from mediamon.runner import serve_airflow_ui

    return serve_airflow_ui(settings, port=args.port)


def _eval(args, settings: Settings) -> int:
    if args.eval_command == "extract":
        from mediamon.evaluation.extract import evaluate_extract, format_extract_report

        result = evaluate_extract(args.directory)
        print(json.dumps(result, ensure_ascii=False, default=str) if args.json else format_extract_report(result))
    elif args.eval_command == "dedupe":
        from mediamon import db
        from mediamon.evaluation.dedupe import evaluate_dedupe, format_dedupe_report

        result = evaluate_dedupe(args.directory, db.database_url(settings), clusters_path=args.clusters)
        if args.json:
            print(json.dumps({k: result[k] for k in ("assignments", "precision", "recall", "f1")},
                             ensure_ascii=False, default=str))
        else:
            print(format_dedupe_report(result))
    elif args.eval_command == "topic":
        from mediamon.evaluation.topics import evaluate_topics, format_topics_report
        from mediamon.topics import load_topic

        topic_path = settings.topics_dir / f"{args.topic}.yaml"
        topic = load_topic(topic_path)
        if args.fit:
            from mediamon.evaluation.topic_fit import fit_topic, model_yaml, write_model

            fitted = fit_topic(args.file, topic)
            block = model_yaml(fitted, args.file.name)
            if args.json:
                print(json.dumps(fitted, ensure_ascii=False))
            else:
                print(block, end="")
            if args.write:
                write_model(topic_path, block)
                print(f"written to {topic_path}; bump its version so mediamon_reprocess re-classifies history",
                      file=sys.stderr)
            return 0
        result = evaluate_topics(args.file, topic)
        if args.json:
            print(json.dumps({k: result[k] for k in ("predictions", "precision", "recall", "f1")},
                             ensure_ascii=False, default=str))
        else:
            print(format_topics_report(result))
    return 0


COMMANDS = {"db": _db, "sources": _sources, "demo-site": _demo_site, "ingest": _ingest,
            "import-warc": _import_warc, "export-warc": _export_warc, "archive": _archive,
            "extract": _extract, "run": _run, "report": _report, "bench": _bench, "airflow": _airflow, "eval": _eval}

if __name__ == "__main__":
    sys.exit(main())
