"""Evaluate story clustering on labelled pages: ``DIR/html/*.html`` (or ``DIR/*.txt`` main texts)
and ``DIR/clusters.json``, a list of lists of file names, each list one story.

The pages go through the real pipeline against a fresh database created on the server for this
run (and dropped after): stored as fetched pages, extracted by ``extract_db.extract_pages``, grouped
by ``dedupe_db.assign_stories``. A page is "fetched" at the URL it declares (``<link rel=canonical>``,
``og:url``, or a saved-page comment naming its address), else at a made-up host of its own, so
pages of one site share a site as they would in production.
"""
from __future__ import annotations

import html
import itertools
import json
import re
import tempfile
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from mediamon import archive, archive_db, db, dedupe_db, extract_db, store
from mediamon.settings import ArchiveSettings, DedupeSettings, Settings

_DECLARED_URL = (
    re.compile(r"<link[^>]+rel=[\"']canonical[\"'][^>]+href=[\"'](https?://[^\"']+)", re.I),
    re.compile(r"<link[^>]+href=[\"'](https?://[^\"']+)[\"'][^>]+rel=[\"']canonical", re.I),
    re.compile(r"<meta[^>]+property=[\"']og:url[\"'][^>]+content=[\"'](https?://[^\"']+)", re.I),
    re.compile(r"\A\s*<!--\s*(?:saved from url=\(\d+\))?\s*(https?://\S+?)\s*-->", re.I),
)
EVAL_SOURCE = "eval-dedupe"


def _page_files(directory: Path) -> list[Path]:
    pages = sorted((directory / "html").glob("*.html")) if (directory / "html").is_dir() else []
    return pages + sorted(directory.glob("*.txt")) + sorted((directory / "txt").glob("*.txt"))


def _as_page(path: Path) -> bytes:
    """The file as a page body: HTML as is; a .txt main text as one paragraph per line."""
    if path.suffix == ".html":
        return path.read_bytes()
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return f"<html><head><meta charset='utf-8'></head><body><article>{body}</article></body></html>".encode()


def _page_url(path: Path, body: bytes) -> str:
    head = body[:20000].decode("utf-8", "replace")
    for pattern in _DECLARED_URL:
        match = pattern.search(head)
        if match:
            return html.unescape(match.group(1))
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "page"
    return f"http://{slug}.page.invalid/{path.name}"


def load_clusters(path: Path, names: list[str]) -> list[list[str]]:
    """The labelled stories of ``path`` (if it exists); files in no list are stories of their own."""
    clusters = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    listed = {name for cluster in clusters for name in cluster}
    return clusters + [[name] for name in names if name not in listed]


def pairwise_scores(truth: list[list[str]], predicted: dict[str, object]) -> dict:
    """Pairwise precision, recall and F1 of a clustering against labelled clusters.

    ``predicted`` maps each file to its story id (None for a file without an article: a story of
    its own). A pair counts as predicted when both files have the same story.
    """
    label = {name: i for i, cluster in enumerate(truth) for name in cluster}
    names = sorted(label)
    true_pairs = pred_pairs = both = 0
    for a, b in itertools.combinations(names, 2):
        same_truth = label[a] == label[b]
        same_pred = predicted.get(a) is not None and predicted.get(a) == predicted.get(b)
        true_pairs += same_truth
        pred_pairs += same_pred
        both += same_truth and same_pred
    precision = both / pred_pairs if pred_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "true_pairs": true_pairs, "predicted_pairs": pred_pairs, "correct_pairs": both}


def evaluate_dedupe(directory: str | Path, server_url: str, dedupe_settings: DedupeSettings | None = None,
                    clusters_path: str | Path | None = None) -> dict:
    """Cluster the pages of ``directory`` in a temporary database on ``server_url`` and score them.

    Labels come from ``clusters_path`` (default ``directory/clusters.json``), for a directory that
    is not ours to write in.

    Returns ``precision``, ``recall``, ``f1`` (pairwise), ``clusters`` (predicted story count),
    ``true_clusters``, ``assignments`` ``{file: story_id or None}``, ``no_article`` (files the
    extractor found no article in), ``spam`` (files flagged spam) and ``errors``: the wrongly
    joined (``false_merges``) and wrongly split (``missed_pairs``) file pairs.
    """
    directory = Path(directory)
    files = _page_files(directory)
    if not files:
        raise FileNotFoundError(f"{directory}: no html/*.html or *.txt files")
    admin = make_url(db.to_sqlalchemy_url(server_url)).set(database="postgres").render_as_string(hide_password=False)
    name = f"mediamon_eval_{uuid.uuid4().hex[:10]}"
    db.ensure_database(admin, name)
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    archive_dir = tempfile.TemporaryDirectory(prefix="mediamon-eval-archive-")
    try:
        settings = replace(Settings.from_env({}), database_url=url, archive=ArchiveSettings(url=archive_dir.name))
        if dedupe_settings is not None:
            settings = replace(settings, dedupe=dedupe_settings)
        store.upgrade(store.engine_for(url))
        url_files = _load_pages(settings, files)
        extract_db.extract_pages(settings)
        dedupe_db.assign_stories(settings)
        with store.transaction(settings) as conn:
            rows = {row.url_id: row for row in store.rows(conn, "dedupe.assignments")}
    finally:
        archive_dir.cleanup()
        store.engine_for(url).dispose()
        db.drop_database(admin, name)
    assignments = {file: (rows[url_id].story_id if url_id in rows else None) for url_id, file in url_files.items()}
    truth = load_clusters(Path(clusters_path or directory / "clusters.json"), sorted(assignments))
    scores = pairwise_scores(truth, assignments)
    label = {n: i for i, cluster in enumerate(truth) for n in cluster}
    false_merges = [(a, b) for a, b in itertools.combinations(sorted(assignments), 2)
                    if assignments[a] is not None and assignments[a] == assignments[b] and label[a] != label[b]]
    missed = [(a, b) for a, b in itertools.combinations(sorted(assignments), 2)
              if label[a] == label[b] and (assignments[a] is None or assignments[a] != assignments[b])]
    return scores | {
        "files": len(assignments), "clusters": len({s for s in assignments.values() if s is not None})
        + sum(1 for s in assignments.values() if s is None), "true_clusters": len(truth),
        "assignments": assignments, "no_article": sorted(f for f, s in assignments.items() if s is None),
        "spam": sorted(url_files[u] for u, row in rows.items() if row.is_spam),
        "false_merges": false_merges, "missed_pairs": missed}


def _load_pages(settings: Settings, files: list[Path]) -> dict[int, str]:
    """Store each file as a fetched page (its body in the settings' archive); returns {url_id: file name}."""
    url_files: dict[int, str] = {}
    fetched_at = datetime.now(UTC)
    out: archive.ArchiveWriter[tuple[int, archive.ArchivedResponse]]
    with store.transaction(settings) as conn, archive_db.writer(settings) as out:
        store.execute(conn, "dedupe.insert_test_source", {"source_id": EVAL_SOURCE, "url": "http://eval.invalid/",
                                                          "settings": "{}"})
        for path in files:
            body = _as_page(path)
            page_url = _page_url(path, body)
            new = store.execute_many_values(conn, "discover.insert_urls", [
                (page_url, EVAL_SOURCE, urlsplit(page_url).netloc.lower(), None, None)], fetch=True)
            if not new:  # two files declaring one URL: the second gets an address of its own
                page_url = f"{page_url.rstrip('/')}/{path.name}"
                new = store.execute_many_values(conn, "discover.insert_urls", [
                    (page_url, EVAL_SOURCE, urlsplit(page_url).netloc.lower(), None, None)], fetch=True)
            url_id = new[0][0]
            page = archive.ArchivedResponse(url=page_url, status=200, headers={"content-type": "text/html"},
                                            body=body, captured_at=fetched_at)
            out.append(archive.Capture(url=page_url, status=200, headers=page.headers, body=body,
                                       fetched_at=fetched_at, source_id=EVAL_SOURCE, reason="eval"), (url_id, page))
            url_files[url_id] = path.name
        out.close()
        for (url_id, page), pointer in out.durable():
            archive_db.save_page(conn, url_id, page, pointer, fetched_at)
            store.execute(conn, "fetch.mark_url", {"url_id": url_id, "status": "fetched", "reason": None})
    return url_files


def format_dedupe_report(result: dict) -> str:
    """A plain-text summary of :func:`evaluate_dedupe`: the figures, then each error."""
    lines = [f"{result['files']} files, {result['true_clusters']} labelled stories, {result['clusters']} predicted",
             f"pairwise precision {result['precision']:.3f}  recall {result['recall']:.3f}  f1 {result['f1']:.3f}  "
             f"(pairs: {result['true_pairs']} labelled, {result['predicted_pairs']} predicted, "
             f"{result['correct_pairs']} correct)"]
    if result["no_article"]:
        lines.append(f"no article extracted: {', '.join(result['no_article'])}")
    if result["spam"]:
        lines.append(f"flagged spam: {', '.join(result['spam'])}")
    lines += [f"- joined but different stories: {a} + {b}" for a, b in result["false_merges"]]
    lines += [f"- same story but split: {a} + {b}" for a, b in result["missed_pairs"]]
    return "\n".join(lines)
