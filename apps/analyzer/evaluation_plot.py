"""The evaluation as a picture (``python -m apps.analyzer evaluate --plot PNG``): the
precision-recall curve of the emergency score with the model's own threshold marked, and the two
confusion matrices, emergency yes/no and category (needs the ``plot`` extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from apps.analyzer.evaluation import EvaluationDetail, binary_metrics, confusion_matrix, precision_recall_curve
from fogverse.contracts import CATEGORIES
from fogverse.plotting import pyplot

EMERGENCY_LABELS = ["not", "emergency"]


def plot_evaluation(detail: EvaluationDetail, png: Path, title: str) -> Path:
    """Draws the three panels into ``png``; returns it."""
    plt = pyplot()
    fig, (curve, emergency, category) = plt.subplots(1, 3, figsize=(16, 5.5), width_ratios=(1.1, 0.8, 1.3))

    precision, recall, _ = precision_recall_curve(detail.truth, detail.emergency_score)
    curve.plot(recall, precision, color="tab:blue", label="emergency score")
    at = binary_metrics(detail.truth, detail.predicted)
    curve.plot([at["recall"]], [at["precision"]], marker="o", color="tab:red", linestyle="none",
               label=f"the model's threshold (F1 {at['f1']:.3f})")
    curve.set_xlim(0, 1.01)
    curve.set_ylim(0, 1.01)
    curve.set_xlabel("recall")
    curve.set_ylabel("precision")
    curve.set_title(f"precision-recall, {detail.truth.size} messages")
    curve.legend(loc="lower left")
    curve.grid(alpha=0.3)

    _matrix(emergency, confusion_matrix(detail.truth.tolist(), detail.predicted.tolist(), [False, True]),
            EMERGENCY_LABELS, "emergency yes/no")
    _matrix(category, confusion_matrix(detail.category_truth, detail.category_predicted, list(CATEGORIES)),
            list(CATEGORIES), f"category, {len(detail.category_truth)} real emergencies")

    fig.suptitle(title)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png


def _matrix(axes, counts: np.ndarray, labels: list[str], title: str) -> None:
    axes.imshow(counts, cmap="Blues")
    ticks = range(len(labels))
    axes.set_xticks(ticks, labels, rotation=30, ha="right")
    axes.set_yticks(ticks, labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    dark = counts.max() / 2 if counts.size else 0
    for (i, j), n in np.ndenumerate(counts):
        axes.text(j, i, str(n), ha="center", va="center", color="white" if n > dark else "black", fontsize=9)
