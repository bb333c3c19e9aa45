"""Quality figures of a model on labelled tweets: emergency detection and category."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from apps.analyzer.dataset import Tweet
from fogverse.contracts import CATEGORIES


def binary_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    truth, predicted = truth.astype(bool), predicted.astype(bool)
    true_positives = int((truth & predicted).sum())
    precision = true_positives / max(int(predicted.sum()), 1)
    recall = true_positives / max(int(truth.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = float((truth == predicted).mean()) if truth.size else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": accuracy}


def best_f1_threshold(truth: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold with the highest F1 (ties: the one nearest 0.5)."""
    candidates = np.round(np.arange(0.05, 0.951, 0.01), 2)
    f1s = [binary_metrics(truth, scores >= t)["f1"] for t in candidates]
    best = max(f1s)
    return float(min((t for t, f in zip(candidates, f1s) if f == best), key=lambda t: abs(t - 0.5)))


def category_metrics(truth: list[str], predicted: list[str]) -> dict:
    per_class = {}
    for category in CATEGORIES:
        is_true = np.array([t == category for t in truth])
        is_predicted = np.array([p == category for p in predicted])
        per_class[category] = round(binary_metrics(is_true, is_predicted)["f1"], 4)
    accuracy = float(np.mean([t == p for t, p in zip(truth, predicted)])) if truth else 0.0
    return {
        "macro_f1": round(float(np.mean(list(per_class.values()))), 4),
        "accuracy": round(accuracy, 4),
        "per_class_f1": per_class,
        "support": len(truth),
    }


def precision_recall_curve(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and threshold at every distinct score, highest threshold first: a
    message counts as an emergency when its score is at least the threshold."""
    truth = truth.astype(bool)
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_truth = scores[order], truth[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1]  # ties go together
    true_positives = np.cumsum(sorted_truth)[last_of_each]
    predicted = last_of_each + 1
    precision = true_positives / predicted
    recall = true_positives / max(int(truth.sum()), 1)
    return precision, recall, sorted_scores[last_of_each]


def confusion_matrix(truth: list, predicted: list, labels: list) -> np.ndarray:
    """``[i, j]``: how many with true label ``labels[i]`` were predicted ``labels[j]``."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(truth, predicted):
        matrix[index[t], index[p]] += 1
    return matrix


@dataclass(frozen=True)
class EvaluationDetail:
    """What the figures are computed from, kept for the picture (``evaluation_plot``)."""

    truth: np.ndarray  # bool [n]: a real emergency
    emergency_score: np.ndarray  # float [n]
    predicted: np.ndarray  # bool [n]: the model's verdict at its own threshold
    category_truth: list[str]  # per real emergency with a category
    category_predicted: list[str]


def evaluate(model, tweets: list[Tweet]) -> dict:
    """Emergency metrics over all tweets; category metrics over real emergencies with a keyword."""
    return evaluate_detail(model, tweets)[0]


def evaluate_detail(model, tweets: list[Tweet]) -> tuple[dict, EvaluationDetail]:
    """:func:`evaluate`'s figures and what they were computed from.

    The category is judged on every real emergency, whatever the emergency verdict, so the two
    figures measure the two heads separately.
    """
    scores = model.scores([t.text for t in tweets])
    truth = np.array([t.emergency for t in tweets], dtype=bool)
    emergency = {k: round(v, 4) for k, v in binary_metrics(truth, scores.emergency).items()}
    emergency["support"] = len(tweets)
    rows = [i for i, t in enumerate(tweets) if t.emergency and t.category]
    predicted = [CATEGORIES[int(j)] for j in scores.category_scores[rows].argmax(axis=1)]
    category_truth = [tweets[i].category for i in rows]
    report = {
        "model_version": model.version,
        "emergency": emergency,
        "category": category_metrics(category_truth, predicted),
    }
    detail = EvaluationDetail(truth, np.asarray(scores.emergency_score, dtype=float),
                              np.asarray(scores.emergency, dtype=bool), category_truth, predicted)
    return report, detail


def evaluate_written(model, messages: list[Tweet]) -> dict:
    """Figures on a written set: emergency/not accuracy over all messages, category accuracy over
    its emergencies (judged whatever the emergency verdict, as in :func:`evaluate`)."""
    scores = model.scores([m.text for m in messages])
    truth = np.array([m.emergency for m in messages])
    emergency = {k: round(v, 4) for k, v in binary_metrics(truth, scores.emergency).items()}
    emergency["support"] = len(messages)
    rows = [i for i, m in enumerate(messages) if m.emergency]
    predicted = [CATEGORIES[int(j)] for j in scores.category_scores[rows].argmax(axis=1)]
    category = category_metrics([messages[i].category for i in rows], predicted)
    figurative = [i for i, m in enumerate(messages) if not m.emergency]
    return {
        "emergency_accuracy": emergency["accuracy"],
        "category_accuracy": category["accuracy"],
        "false_alarm_rate": round(float(scores.emergency[figurative].mean()), 4) if figurative else 0.0,
        "emergency": emergency,
        "category": category,
    }
