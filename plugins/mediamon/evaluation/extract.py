"""Score the extract stage against hand-made ground truth.

A directory is laid out as ``html/<id>.html`` (raw bytes as fetched) and ``truth/<id>.json`` (with
``body`` and optionally ``url``). Each page is extracted by mediamon and by bare
``trafilatura.extract`` on the same raw bytes, in the same run, so the report compares like with like.

Metric: bag-of-tokens precision / recall / F1 per page, macro-averaged over pages, where one token is
one CJK character or one run of other word characters (lower-cased). Chinese is therefore scored per
character and English per word. Pages whose truth has no body are skipped.
"""
from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter
from pathlib import Path

import trafilatura

from mediamon.extract import extract
from mediamon.settings import ExtractSettings
from mediamon.text import HAN

_TOKEN = re.compile(rf"[{HAN}]|[^\W{HAN}]+")


def tokens(text: str | None) -> Counter:
    """Bag of tokens of ``text``: one CJK character or one word per token, lower-cased."""
    return Counter(t.lower() for t in _TOKEN.findall(text or ""))


def precision_recall_f1(predicted: str | None, gold: str | None) -> tuple[float, float, float]:
    """Token-bag precision, recall and F1 of ``predicted`` against ``gold`` (0.0 when undefined)."""
    pred, ref = tokens(predicted), tokens(gold)
    overlap = sum((pred & ref).values())
    precision = overlap / sum(pred.values()) if pred else 0.0
    recall = overlap / sum(ref.values()) if ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _macro(pages: list[dict], system: str) -> dict:
    if not pages:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "seconds": 0.0}
    return {
        "precision": statistics.mean(p[system]["precision"] for p in pages),
        "recall": statistics.mean(p[system]["recall"] for p in pages),
        "f1": statistics.mean(p[system]["f1"] for p in pages),
        "seconds": sum(p[system]["seconds"] for p in pages),
    }


def _score(extract_text, body: bytes, url: str | None, gold: str) -> dict:
    started = time.perf_counter()
    text = extract_text(body, url)
    seconds = time.perf_counter() - started
    precision, recall, f1 = precision_recall_f1(text, gold)
    return {"precision": precision, "recall": recall, "f1": f1, "seconds": seconds, "chars": len(text or "")}


def evaluate_extract(directory: Path, settings: ExtractSettings | None = None) -> dict:
    """Extract every page of ``directory`` with mediamon (``settings``, default
    :class:`ExtractSettings`) and with bare ``trafilatura.extract`` on the raw bytes, and score both.

    Returns ``{"directory", "pages": [{"id", "url", "mediamon": {precision, recall, f1, seconds, chars},
    "trafilatura": {...}}], "macro": {"mediamon": {precision, recall, f1, seconds}, "trafilatura": {...}},
    "speed_ratio"}`` where ``speed_ratio`` is mediamon's total extraction time over trafilatura's.
    """
    directory = Path(directory)
    pages = []
    for html_path in sorted((directory / "html").glob("*.html")):
        truth = json.loads((directory / "truth" / f"{html_path.stem}.json").read_text(encoding="utf-8"))
        gold = truth.get("body")
        if not gold:
            continue
        body, url = html_path.read_bytes(), truth.get("url")
        pages.append({
            "id": html_path.stem,
            "url": url,
            "mediamon": _score(lambda b, u: extract(b, url=u, settings=settings).text, body, url, gold),
            "trafilatura": _score(lambda b, u: trafilatura.extract(b, url=u), body, url, gold),
        })
    macro = {system: _macro(pages, system) for system in ("mediamon", "trafilatura")}
    baseline_seconds = macro["trafilatura"]["seconds"]
    return {
        "directory": str(directory),
        "pages": pages,
        "macro": macro,
        "speed_ratio": macro["mediamon"]["seconds"] / baseline_seconds if baseline_seconds else None,
    }


def format_extract_report(result: dict, worst: int = 10) -> str:
    """Render :func:`evaluate_extract`'s result: the ``worst`` pages by mediamon F1, then macro figures."""
    lines = [f"{result['directory']}: {len(result['pages'])} pages", f"worst {worst} pages (mediamon):"]
    lines.append(f"  {'page':<40} {'P':>6} {'R':>6} {'F1':>6}   trafilatura F1")
    for page in sorted(result["pages"], key=lambda p: p["mediamon"]["f1"])[:worst]:
        ours, theirs = page["mediamon"], page["trafilatura"]
        lines.append(
            f"  {page['id'][:40]:<40} {ours['precision']:6.3f} {ours['recall']:6.3f} {ours['f1']:6.3f}"
            f"   {theirs['f1']:6.3f}"
        )
    lines.append("macro:")
    for system, figures in result["macro"].items():
        lines.append(
            f"  {system:<12} P={figures['precision']:.3f} R={figures['recall']:.3f} F1={figures['f1']:.3f}"
            f" time={figures['seconds']:.2f}s"
        )
    if result["speed_ratio"] is not None:
        lines.append(f"  speed ratio mediamon/trafilatura: {result['speed_ratio']:.2f}")
    return "\n".join(lines)
