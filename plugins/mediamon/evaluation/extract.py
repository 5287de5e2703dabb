"""Score the extract stage against hand-made ground truth.

A dev set is a directory laid out as ``html/<id>.html`` (raw bytes as fetched) and
``truth/<id>.json`` (with ``body`` and optionally ``url`` and ``publish_time``); a directory of such
sets is scored set by set. Each page is extracted by mediamon and by bare ``trafilatura.extract`` on
the same raw bytes, in the same run, so the report compares like with like.

Metric: bag-of-tokens precision / recall / F1 per page, macro-averaged over pages, where one token is
one CJK character or one run of other word characters (lower-cased). Chinese is therefore scored per
character and English per word. Pages whose truth has no body are skipped. The publication day is
right when the day of ``published_at`` (in its own offset) is the truth's; pages whose
``publish_time`` is not a full date are not counted.

A second metric in the manner of trafilatura's own evaluation (its 990-page corpus gives per page a
few "with" snippets, which the text must contain, and "without" ones, which it must not): up to
``SNIPPETS`` sentences of the truth spread over it are the "with" snippets, up to ``SNIPPETS`` text
blocks of the page that the truth does not contain (menus, teasers, footers, comments) are the
"without" ones, matched as whitespace-normalised substrings; precision, recall and F1 are pooled
over the set's snippets.

The one fitted choice of the stage, the net gain in prose a main-text candidate must bring to win
(``ExtractSettings.alternative_gain``), is also scored leave-one-set-out: for each set, the gain
that does best on the other sets (macro F1 over sets) is applied to it.
"""
from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter
from datetime import date
from pathlib import Path

import trafilatura

from mediamon.extract import Extraction, extract
from mediamon.extract.candidates import Comparison, second_wins
from mediamon.extract.decode import decode_html
from mediamon.extract.parse import parse_html
from mediamon.outcomes import MainTextCandidate
from mediamon.settings import ExtractSettings
from mediamon.text import HAN

_TOKEN = re.compile(rf"[{HAN}]|[^\W{HAN}]+")
SNIPPETS = 5
# A snippet is a sentence of the truth or the own text of one element of the page, of this length.
_SNIPPET_CHARS = (20, 200)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？])\s*|\n")
_BLOCK_TAGS = ("p", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "a", "span", "div", "dt", "dd",
               "figcaption", "blockquote", "label", "button")


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


# The gains the leave-one-set-out view chooses from.
GAIN_GRID = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
_TRUTH_DAY = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})")


def _truth_day(value: str | None) -> date | None:
    """The day of a truth's ``publish_time`` ("2005-5-7 21:23:57", "2023-12-22"), None when it is
    not a full date ("2018", "2003-5")."""
    match = _TRUTH_DAY.match(value or "")
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def _normalized(text: str | None) -> str:
    return " ".join((text or "").split())


def _spread(items: list[str], count: int) -> list[str]:
    if len(items) <= count:
        return items
    return [items[round(index * (len(items) - 1) / (count - 1))] for index in range(count)]


def snippets(body: bytes, gold: str) -> tuple[list[str], list[str]]:
    """The page's "with" snippets (sentences of ``gold``) and "without" snippets (text of the
    page's elements that ``gold`` does not contain), at most ``SNIPPETS`` of each, spread over
    their text."""
    shortest, longest = _SNIPPET_CHARS
    sentences = [sentence for part in _SENTENCE_SPLIT.split(gold)
                 if shortest <= len(sentence := _normalized(part)) <= longest]
    tree = parse_html(decode_html(body)[0])
    normalized_gold = _normalized(gold)
    blocks = [] if tree is None else [
        text for element in tree.iter(*_BLOCK_TAGS)
        if shortest <= len(text := _normalized(element.text)) <= longest and text not in normalized_gold]
    return _spread(sentences, SNIPPETS), _spread(list(dict.fromkeys(blocks)), SNIPPETS)


def snippet_counts(text: str | None, with_snippets: list[str], without_snippets: list[str]) -> list[int]:
    """``[true positives, false negatives, false positives]`` of ``text`` on the snippets."""
    found = _normalized(text)
    kept = sum(snippet in found for snippet in with_snippets)
    return [kept, len(with_snippets) - kept, sum(snippet in found for snippet in without_snippets)]


def _pooled_snippet_f1(pages: list[dict], system: str) -> float:
    true_positive, false_negative, false_positive = (sum(p[system]["snippets"][i] for p in pages) for i in range(3))
    found, expected = true_positive + false_positive, true_positive + false_negative
    precision = true_positive / found if found else 0.0
    recall = true_positive / expected if expected else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _scored(text: str | None, gold: str, seconds: float, page_snippets: tuple[list[str], list[str]]) -> dict:
    precision, recall, f1 = precision_recall_f1(text, gold)
    return {"precision": precision, "recall": recall, "f1": f1, "seconds": seconds, "chars": len(text or ""),
            "snippets": snippet_counts(text, *page_snippets)}


def _macro(pages: list[dict], system: str) -> dict:
    if not pages:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "seconds": 0.0}
    return {
        "precision": statistics.mean(p[system]["precision"] for p in pages),
        "recall": statistics.mean(p[system]["recall"] for p in pages),
        "f1": statistics.mean(p[system]["f1"] for p in pages),
        "seconds": sum(p[system]["seconds"] for p in pages),
    }


def _f1_at_gain(page: dict, gain: float) -> float:
    """The page's F1 had ``alternative_gain`` been ``gain``: its evidence decides which of its two
    candidates that gain would keep."""
    candidates = page.get("candidates")
    if candidates is None:
        return page["mediamon"]["f1"]
    chosen = second_wins(Comparison(**candidates["comparison"]), gain, candidates["min_added_prose_lines"],
                         candidates["min_text_chars"])
    return candidates["second_f1" if chosen else "first_f1"]


def _score_page(html_path: Path, truth: dict, settings: ExtractSettings) -> dict:
    gold = truth["body"]
    body, url = html_path.read_bytes(), truth.get("url")
    started = time.perf_counter()
    ours: Extraction = extract(body, url=url, settings=settings)
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    theirs = trafilatura.extract(body, url=url)
    theirs_seconds = time.perf_counter() - started
    page_snippets = snippets(body, gold)
    page = {"id": html_path.stem, "url": url, "mediamon": _scored(ours.text, gold, ours_seconds, page_snippets),
            "trafilatura": _scored(theirs, gold, theirs_seconds, page_snippets)}
    if ours.candidate_comparison is not None:
        # Both candidates' F1, for the leave-one-set-out view.
        switched = ours.main_text_candidate != MainTextCandidate.FIRST
        first, second = (ours.other_candidate, ours.text) if switched else (ours.text, ours.other_candidate)
        page["candidates"] = {
            "comparison": vars(ours.candidate_comparison),
            "min_added_prose_lines": settings.min_added_prose_lines,
            "min_text_chars": settings.min_text_chars,
            "first_f1": precision_recall_f1(first, gold)[2],
            "second_f1": precision_recall_f1(second, gold)[2],
        }
    truth_day = _truth_day(truth.get("publish_time"))
    if truth_day is not None:
        found = ours.published_at.date() if ours.published_at else None
        page["date"] = {"truth": truth_day.isoformat(), "found": found.isoformat() if found else None,
                        "source": str(ours.published_at_source), "right": found == truth_day}
    return page


def _evaluate_set(directory: Path, settings: ExtractSettings) -> dict:
    pages = []
    for html_path in sorted((directory / "html").glob("*.html")):
        truth = json.loads((directory / "truth" / f"{html_path.stem}.json").read_text(encoding="utf-8"))
        if truth.get("body"):
            pages.append(_score_page(html_path, truth, settings))
    macro = {system: _macro(pages, system) for system in ("mediamon", "trafilatura")}
    dated = [p["date"] for p in pages if "date" in p]
    return {
        "name": directory.name,
        "directory": str(directory),
        "pages": pages,
        "macro": macro,
        "snippet_f1": {system: _pooled_snippet_f1(pages, system) for system in ("mediamon", "trafilatura")},
        "switched": sum(1 for p in pages if p.get("candidates", {}).get("comparison", {}).get("second_chosen")),
        "second_candidates": sum(1 for p in pages if "candidates" in p),
        "dates": {"pages": len(dated), "right": sum(1 for d in dated if d["right"])},
    }


def _leave_one_set_out(sets: list[dict], default_gain: float) -> None:
    """Add ``loso`` to each set: the gain chosen on the other sets and this set's F1 with it. Ties
    go to the gain nearest the default."""
    by_gain = {gain: [statistics.mean(_f1_at_gain(p, gain) for p in s["pages"]) if s["pages"] else 0.0
                      for s in sets] for gain in GAIN_GRID}
    for index, held_out in enumerate(sets):
        def training_f1(gain: float, index: int = index) -> float:
            others = [f1 for i, f1 in enumerate(by_gain[gain]) if i != index]
            return statistics.mean(others) if others else 0.0
        best = max(GAIN_GRID, key=lambda gain: (round(training_f1(gain), 9), -abs(gain - default_gain)))
        held_out["loso"] = {"gain": best, "f1": by_gain[best][index]}


def evaluate_extract(directory: Path, settings: ExtractSettings | None = None) -> dict:
    """Extract every page of ``directory`` with mediamon (``settings``, default
    :class:`ExtractSettings`) and with bare ``trafilatura.extract`` on the raw bytes, and score both.

    ``directory`` is one dev set (it has ``html/``) or a directory of dev sets. Returns ``{"directory",
    "sets": [{"name", "pages": [{"id", "url", "mediamon": {precision, recall, f1, seconds, chars,
    snippets: [tp, fn, fp]}, "trafilatura": {...}, "date"?: {truth, found, source, right},
    "candidates"?: {...}}], "macro": {"mediamon": {precision, recall, f1, seconds}, "trafilatura":
    {...}}, "snippet_f1": {"mediamon", "trafilatura"}, "switched",
    "second_candidates", "dates": {pages, right}, "loso": {gain, f1}}], "pages" (all sets'),
    "macro" (over all pages), "speed_ratio"}`` where ``speed_ratio`` is mediamon's total extraction
    time over trafilatura's.
    """
    settings = settings or ExtractSettings()
    directory = Path(directory)
    set_dirs = [directory] if (directory / "html").is_dir() else sorted(
        child for child in directory.iterdir() if (child / "html").is_dir())
    sets = [_evaluate_set(set_dir, settings) for set_dir in set_dirs]
    _leave_one_set_out(sets, settings.alternative_gain)
    pages = [page for s in sets for page in s["pages"]]
    macro = {system: _macro(pages, system) for system in ("mediamon", "trafilatura")}
    baseline_seconds = macro["trafilatura"]["seconds"]
    return {
        "directory": str(directory),
        "sets": sets,
        "pages": pages,
        "macro": macro,
        "speed_ratio": macro["mediamon"]["seconds"] / baseline_seconds if baseline_seconds else None,
    }


def format_extract_report(result: dict, worst: int = 5) -> str:
    """Render :func:`evaluate_extract`'s result: per set the ``worst`` pages by mediamon F1, then
    one table of sets (F1 of bare trafilatura and mediamon, leave-one-set-out F1 and the gain it
    chose, second candidates made and taken, publication days right, snippet F1 of both)."""
    lines = [f"{result['directory']}: {len(result['pages'])} pages in {len(result['sets'])} set(s)"]
    for s in result["sets"]:
        lines.append(f"{s['name']}: worst {worst} pages (mediamon P R F1 | trafilatura F1)")
        for page in sorted(s["pages"], key=lambda p: p["mediamon"]["f1"])[:worst]:
            ours, theirs = page["mediamon"], page["trafilatura"]
            lines.append(f"  {page['id'][:40]:<40} {ours['precision']:6.3f} {ours['recall']:6.3f} {ours['f1']:6.3f}"
                         f" | {theirs['f1']:6.3f}")
    lines.append("")
    lines.append(f"{'set':<22} {'pages':>5} {'trafilatura':>11} {'mediamon':>9} {'LOSO F1':>8} {'gain':>5}"
                 f" {'2nd cand.':>9} {'day right':>10} {'snippet F1 traf/ours':>21}")
    for s in result["sets"]:
        dates = s["dates"]
        day = f"{dates['right']}/{dates['pages']}" if dates["pages"] else "-"
        lines.append(
            f"{s['name'][:22]:<22} {len(s['pages']):>5} {s['macro']['trafilatura']['f1']:>11.3f}"
            f" {s['macro']['mediamon']['f1']:>9.3f} {s['loso']['f1']:>8.3f} {s['loso']['gain']:>5g}"
            f" {s['switched']:>4}/{s['second_candidates']:<4} {day:>10}"
            f" {s['snippet_f1']['trafilatura']:>15.3f}/{s['snippet_f1']['mediamon']:.3f}"
        )
    sets_with_pages = [s for s in result["sets"] if s["pages"]]
    if len(sets_with_pages) > 1:
        mean = statistics.mean
        dated = sum(s["dates"]["pages"] for s in result["sets"])
        right = sum(s["dates"]["right"] for s in result["sets"])
        lines.append(
            f"{'macro over sets':<22} {len(result['pages']):>5}"
            f" {mean(s['macro']['trafilatura']['f1'] for s in sets_with_pages):>11.3f}"
            f" {mean(s['macro']['mediamon']['f1'] for s in sets_with_pages):>9.3f}"
            f" {mean(s['loso']['f1'] for s in sets_with_pages):>8.3f} {'':>5} {'':>9}"
            f" {f'{right}/{dated}' if dated else '-':>10}"
        )
    for system, figures in result["macro"].items():
        lines.append(f"all pages {system:<12} P={figures['precision']:.3f} R={figures['recall']:.3f}"
                     f" F1={figures['f1']:.3f} time={figures['seconds']:.2f}s")
    if result["speed_ratio"] is not None:
        lines.append(f"speed ratio mediamon/trafilatura: {result['speed_ratio']:.2f}")
    return "\n".join(lines)
