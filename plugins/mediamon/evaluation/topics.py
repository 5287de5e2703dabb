"""Evaluate a topic against labelled articles: ``{"id", "title", "text", "label"}`` per JSON line."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from mediamon.regions import gazetteer
from mediamon.topics import Topic, classify


def evaluate_topics(jsonl_path: str | Path, topic: Topic) -> dict:
    """Classify every line of ``jsonl_path`` and compare with its ``label`` (1 relevant, 0 not).

    Returns ``precision``, ``recall``, ``f1``, the counts, ``predictions`` ``{id: {label, score,
    regions, parties}}`` (``regions`` as gazetteer codes, ``parties`` those of them taking part) and
    ``misclassified`` ``{id: {expected, score, title, evidence}}``. Precision is 1.0 when nothing is
    predicted relevant, recall 1.0 when nothing is labelled relevant, so an empty side never divides
    by zero.
    """
    predictions, misclassified = {}, {}
    true_pos = false_pos = false_neg = 0
    with Path(jsonl_path).open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            result = classify(topic, row.get("title", ""), row.get("text", ""))
            label, expected = int(result.relevant), int(row["label"])
            predictions[row["id"]] = {"label": label, "score": result.score,
                                      "regions": [mention.code for mention in result.regions],
                                      "parties": [m.code for m in result.regions if m.role == "party"]}
            true_pos += label and expected
            false_pos += label and not expected
            false_neg += expected and not label
            if label != expected:
                misclassified[row["id"]] = {"expected": expected, "score": result.score,
                                            "title": row.get("title", ""), "evidence": result.evidence}
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 1.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"topic_id": topic.id, "topic_version": topic.version, "articles": len(predictions),
            "true_positives": true_pos, "false_positives": false_pos, "false_negatives": false_neg,
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "predictions": predictions, "misclassified": misclassified}


def format_topics_report(result: dict) -> str:
    """A plain-text summary of :func:`evaluate_topics`: the figures, then each misclassified article."""
    lines = [
        f"topic {result['topic_id']} v{result['topic_version']}: {result['articles']} articles",
        f"precision {result['precision']:.3f}  recall {result['recall']:.3f}  f1 {result['f1']:.3f}  "
        f"(tp {result['true_positives']}, fp {result['false_positives']}, fn {result['false_negatives']})",
    ]
    for article_id, miss in sorted(result["misclassified"].items()):
        kind = "false negative" if miss["expected"] else "false positive"
        evidence = miss["evidence"]
        terms = ", ".join(f"{term}x{info['count']}" for term, info in evidence["matched_terms"].items())
        lines += [f"- {article_id} ({kind}, score {miss['score']}): {miss['title'][:60]}",
                  f"    terms: {terms or '-'}",
                  f"    parties: {', '.join(evidence['parties']) or '-'}; "
                  f"clusters: {', '.join(evidence['clusters']) or '-'}; "
                  f"conditions met: {evidence['conditions_met'] or '-'}",
                  f"    sentence: {evidence['trigger_sentence'][:120]}",
                  f"    log-odds {evidence['log_odds']:+.2f}: " + ", ".join(
                      f"{name} {entry['contribution']:+.2f}" for name, entry in sorted(
                          evidence["features"].items(), key=lambda item: -abs(item[1]["contribution"]))[:4])]
    return "\n".join(lines)


def evaluate_parties(labels_path: str | Path, texts: dict[str, tuple[str, str]], topic: Topic,
                     split: str | None = None) -> dict:
    """Precision and recall of the regions marked ``party`` against labelled parties.

    ``labels_path`` holds ``{"id", "split", "codes"}`` per line (the labelled parties as GB/T codes);
    ``texts`` maps an id to its ``(title, text)``; labels without a text are skipped. Roles are scored
    as if each article were relevant, so a relevance miss does not hide a party miss. ``strict`` needs
    the same code; ``lenient`` also accepts a region above or below a labelled one (广州市 for 南沙区).
    ``listed_precision`` is the share of all regions found that are parties: the precision of marking
    every region a party, as before roles existed.
    """
    regions = gazetteer()
    as_relevant = replace(topic, threshold=0.0)

    def related(one: str, other: str) -> bool:
        return one == other or one in regions.ancestors(other) or other in regions.ancestors(one)

    counts = dict.fromkeys(("articles", "marked", "labelled", "hits", "lenient_hits",
                            "lenient_found", "listed", "listed_hits"), 0)
    errors = {}
    with Path(labels_path).open(encoding="utf-8") as lines:
        for line in lines:
            label = json.loads(line)
            if (split and label["split"] != split) or label["id"] not in texts:
                continue
            result = classify(as_relevant, *texts[label["id"]])
            listed = {mention.code for mention in result.regions}
            marked = {mention.code for mention in result.regions if mention.role == "party"}
            gold = set(label["codes"])
            counts["articles"] += 1
            counts["marked"] += len(marked)
            counts["labelled"] += len(gold)
            counts["hits"] += len(marked & gold)
            counts["lenient_hits"] += sum(any(related(code, g) for g in gold) for code in marked)
            counts["lenient_found"] += sum(any(related(g, code) for code in marked) for g in gold)
            counts["listed"] += len(listed)
            counts["listed_hits"] += len(listed & gold)
            if marked != gold:
                errors[label["id"]] = {"marked_not_labelled": sorted(marked - gold),
                                       "labelled_not_marked": sorted(gold - marked)}

    def ratio(part: int, whole: int) -> float:
        return round(part / whole, 3) if whole else 1.0

    return {**counts, "precision": ratio(counts["hits"], counts["marked"]),
            "recall": ratio(counts["hits"], counts["labelled"]),
            "lenient_precision": ratio(counts["lenient_hits"], counts["marked"]),
            "lenient_recall": ratio(counts["lenient_found"], counts["labelled"]),
            "listed_precision": ratio(counts["listed_hits"], counts["listed"]),
            "listed_recall": ratio(counts["listed_hits"], counts["labelled"]), "errors": errors}
