"""Evaluate a topic against labelled articles: ``{"id", "title", "text", "label"}`` per JSON line."""
from __future__ import annotations

import json
from pathlib import Path

from mediamon.topics import Topic, classify


def evaluate_topics(jsonl_path: str | Path, topic: Topic) -> dict:
    """Classify every line of ``jsonl_path`` and compare with its ``label`` (1 relevant, 0 not).

    Returns ``precision``, ``recall``, ``f1``, the counts, ``predictions`` ``{id: {label, score,
    regions}}`` (``regions`` as gazetteer codes) and ``misclassified`` ``{id: {expected, score, title,
    evidence}}``. Precision is 1.0 when nothing is predicted relevant, recall 1.0 when nothing is
    labelled relevant, so an empty side never divides by zero.
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
                                      "regions": [mention.code for mention in result.regions]}
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
                  f"    sentence: {evidence['trigger_sentence'][:120]}"]
    return "\n".join(lines)
