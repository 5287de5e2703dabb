"""Fit a topic's relevance model on labelled articles, and say how well it does on articles it never saw.

The model is a logistic regression over the features :func:`mediamon.topics.article_features` computes
(how much cooperation vocabulary, how many parties and clusters, how many sentences name the sides, ...).
It is fitted with numpy by Newton's method on the L2-penalized log-loss, on standardized features, so the
weights are comparable and a feature that barely varies cannot get a huge weight. Borderline articles
(reasonable annotators could disagree) count with ``borderline_weight``.

How good it is comes from stratified k-fold cross-validation, repeated with different shuffles: each
article is predicted by a model fitted without it. In-sample figures are printed beside, never alone.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mediamon.topics import FEATURES, Topic, article_features

_NEWTON_STEPS = 50
_NEWTON_TOLERANCE = 1e-9


@dataclass(frozen=True)
class FitSettings:
    # L2 penalty on the standardized weights (not on the intercept). 1.0 is the textbook default; the CV
    # figures move by less than 0.01 between 0.3 and 3 on the dev set, so it is not tuned.
    l2: float = 1.0
    # Weight of a borderline article in the loss: half, as its label is half as sure.
    borderline_weight: float = 0.5
    folds: int = 5
    repeats: int = 10
    seed: int = 0
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if self.l2 < 0 or not 0 <= self.borderline_weight <= 1 or self.folds < 2 or self.repeats < 1:
            raise ValueError(f"bad fit settings: {self}")


@dataclass
class Labelled:
    """Feature matrix and labels of a labelled JSONL file, rows in file order."""
    ids: list[str]
    features: np.ndarray
    labels: np.ndarray
    borderline: np.ndarray


def load_labelled(jsonl_path: str | Path, topic: Topic, names: tuple[str, ...]) -> Labelled:
    ids, rows, labels, borderline = [], [], [], []
    with Path(jsonl_path).open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            values = article_features(topic, row.get("title", ""), row.get("text", ""))
            ids.append(row["id"])
            rows.append([values[name] for name in names])
            labels.append(float(row["label"]))
            borderline.append(bool(row.get("borderline", False)))
    return Labelled(ids, np.array(rows, dtype=float).reshape(len(ids), len(names)), np.array(labels),
                    np.array(borderline, dtype=bool))


def fit_logistic(features: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray, l2: float
                 ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """``(intercept, weights, mean, scale)`` minimizing weighted log-loss + l2/2 * |weights|^2."""
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0  # a constant feature gets weight 0 under the penalty anyway
    design = np.hstack([np.ones((len(features), 1)), (features - mean) / scale])
    penalty = l2 * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    beta = np.zeros(design.shape[1])
    for _ in range(_NEWTON_STEPS):
        prob = 1.0 / (1.0 + np.exp(-design @ beta))
        gradient = design.T @ (sample_weight * (prob - labels)) + penalty @ beta
        hessian = (design * (sample_weight * prob * (1 - prob))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < _NEWTON_TOLERANCE:
            break
    return float(beta[0]), beta[1:], mean, scale


def _predict(model, features: np.ndarray) -> np.ndarray:
    intercept, weights, mean, scale = model
    return 1.0 / (1.0 + np.exp(-(intercept + ((features - mean) / scale) @ weights)))


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold number per row: each class shuffled, then dealt round-robin, so each fold keeps the class mix."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=int)
    for value in np.unique(labels):
        rows = np.flatnonzero(labels == value)
        rng.shuffle(rows)
        assignment[rows] = np.arange(len(rows)) % folds
    return assignment


def _precision_recall(predicted: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    true_pos = int((predicted & (labels == 1)).sum())
    predicted_pos, actual_pos = int(predicted.sum()), int((labels == 1).sum())
    return (true_pos / predicted_pos if predicted_pos else 1.0,
            true_pos / actual_pos if actual_pos else 1.0)


def _figures(predicted: np.ndarray, data: Labelled) -> dict:
    """Precision and recall on all articles and on the clear ones (borderline left out of the scoring)."""
    clear = ~data.borderline
    all_p, all_r = _precision_recall(predicted, data.labels)
    clear_p, clear_r = _precision_recall(predicted[clear], data.labels[clear])
    return {"precision": all_p, "recall": all_r, "clear_precision": clear_p, "clear_recall": clear_r}


def cross_validate(data: Labelled, settings: FitSettings) -> dict:
    """Mean, min and max of each figure over ``repeats`` stratified ``folds``-fold cross-validations."""
    weights = np.where(data.borderline, settings.borderline_weight, 1.0)
    runs = []
    for repeat in range(settings.repeats):
        assignment = stratified_folds(data.labels, settings.folds, settings.seed + repeat)
        prob = np.zeros(len(data.labels))
        for fold in range(settings.folds):
            train, test = assignment != fold, assignment == fold
            model = fit_logistic(data.features[train], data.labels[train], weights[train], settings.l2)
            prob[test] = _predict(model, data.features[test])
        runs.append(_figures(prob >= settings.threshold, data))
    return {name: {"mean": round(float(np.mean([run[name] for run in runs])), 3),
                   "min": round(float(min(run[name] for run in runs)), 3),
                   "max": round(float(max(run[name] for run in runs)), 3)} for name in runs[0]}


def source_of(article_id: str) -> str:
    """The set an article comes from: its id without the trailing number ("xwlb-12" -> "xwlb")."""
    return article_id.rsplit("-", 1)[0]


def leave_one_source_out(data: Labelled, settings: FitSettings) -> dict:
    """Each source predicted by a model fitted on all the others: does the fit carry to a new kind of site?"""
    sources = np.array([source_of(article_id) for article_id in data.ids])
    weights = np.where(data.borderline, settings.borderline_weight, 1.0)
    prob = np.zeros(len(data.labels))
    for source in sorted(set(sources)):
        train, test = sources != source, sources == source
        model = fit_logistic(data.features[train], data.labels[train], weights[train], settings.l2)
        prob[test] = _predict(model, data.features[test])
    predicted = prob >= settings.threshold
    per_source = {}
    for source in sorted(set(sources)):
        rows = sources == source
        true_pos = int((predicted[rows] & (data.labels[rows] == 1)).sum())
        per_source[source] = {"articles": int(rows.sum()), "relevant": int(data.labels[rows].sum()),
                              "true_positives": true_pos,
                              "false_positives": int((predicted[rows] & (data.labels[rows] == 0)).sum()),
                              "false_negatives": int((~predicted[rows] & (data.labels[rows] == 1)).sum())}
    overall = {name: round(value, 3) for name, value in _figures(predicted, data).items()}
    return {"overall": overall, "by_source": per_source}


def fit_topic(jsonl_path: str | Path, topic: Topic, settings: FitSettings | None = None,
              names: tuple[str, ...] | None = None) -> dict:
    """Fit the features ``names`` (the topic's own model features, else all) and cross-validate the fit."""
    settings = settings or FitSettings()
    names = names or tuple(topic.model) or FEATURES
    data = load_labelled(jsonl_path, topic, names)
    weights = np.where(data.borderline, settings.borderline_weight, 1.0)
    model = fit_logistic(data.features, data.labels, weights, settings.l2)
    in_sample = _figures(_predict(model, data.features) >= settings.threshold, data)
    intercept, coefficients, mean, scale = model
    return {
        "intercept": round(intercept, 4),
        "features": {name: {"weight": round(float(w), 4), "mean": round(float(m), 4), "scale": round(float(s), 4)}
                     for name, w, m, s in zip(names, coefficients, mean, scale)},
        "fit": {"articles": len(data.ids), "relevant": int(data.labels.sum()),
                "borderline": int(data.borderline.sum()), "l2": settings.l2,
                "borderline_weight": settings.borderline_weight, "folds": settings.folds,
                "repeats": settings.repeats, "seed": settings.seed,
                "cv": cross_validate(data, settings),
                "leave_one_source_out": leave_one_source_out(data, settings)["overall"],
                "in_sample": {name: round(value, 3) for name, value in in_sample.items()}},
    }


def model_yaml(fitted: dict, source: str) -> str:
    """The ``model:`` block of a topic file for ``fitted`` (as :func:`fit_topic` returns it)."""
    fit = fitted["fit"]
    cv = fit["cv"]
    lines = [
        "model:",
        f"  # Fitted by `mediamon eval topic {source} --fit --write`: L2-penalized logistic regression",
        f"  # (l2 {fit['l2']}, borderline articles weighted {fit['borderline_weight']}) on standardized features.",
        f"  # {fit['repeats']}x stratified {fit['folds']}-fold CV on {fit['articles']} articles ({fit['relevant']}"
        f" relevant, {fit['borderline']} borderline):",
        f"  #   all articles     P {cv['precision']['mean']:.3f}  R {cv['recall']['mean']:.3f}",
        f"  #   clear ones only  P {cv['clear_precision']['mean']:.3f}  R {cv['clear_recall']['mean']:.3f}"
        "  (borderline left out of the scoring)",
        f"  #   leave one source out  P {fit['leave_one_source_out']['precision']:.3f}"
        f"  R {fit['leave_one_source_out']['recall']:.3f}",
        f"  intercept: {fitted['intercept']}",
        "  features:",
    ]
    for name, values in fitted["features"].items():
        lines.append(f"    {name}: {{weight: {values['weight']}, mean: {values['mean']}, scale: {values['scale']}}}")
    lines.append("  fit: " + json.dumps(fit, sort_keys=True))
    return "\n".join(lines) + "\n"


_MODEL_BLOCK = re.compile(r"^model:\n(?: .*\n)*", re.MULTILINE)


def write_model(topic_path: str | Path, block: str) -> None:
    """Replace the topic file's ``model:`` block (or append one); everything else stays as written."""
    path = Path(topic_path)
    text = path.read_text(encoding="utf-8")
    match = _MODEL_BLOCK.search(text)
    text = text[:match.start()] + block + text[match.end():] if match else text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")
