"""Run-time emergency model: loads a mode's artifacts and scores texts with onnxruntime.

Needs only numpy, onnxruntime and tokenizers. Modes (see ``artifacts/<mode>/manifest.json``):
- ``fast``: word and character TF-IDF with linear heads, all inside one ONNX graph.
- ``accurate``: a two-layer student distilled from MiniLM-L6 fine-tuned on the tweets (int8,
  tokenized with the shipped tokenizer), its emergency score blended with ``fast``'s; a text in
  Indonesian is ``fast``'s alone (the manifest's ``indonesian_by``, :mod:`apps.analyzer.language`).
- ``cascade``: ``fast`` decides the texts it is sure of and those in Indonesian, ``accurate`` the others.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from apps.analyzer.language import is_indonesian
from fogverse.contracts import CATEGORIES, MAX_TEXT_CHARS

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
MODES = ("fast", "accurate", "cascade")
DEFAULT_MODE = "accurate"
# What ``train`` rebuilds: ``accurate-heads`` learns the accurate model's heads again (no torch).
TRAIN_MODES = ("fast", "accurate", "accurate-heads", "cascade", "all")
MANIFEST_FILE = "manifest.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Prediction:
    emergency: bool
    emergency_score: float  # 0..1
    category: str | None  # one of CATEGORIES when emergency, else None
    category_score: float | None


@dataclass(frozen=True)
class Scores:
    """What a scorer returns for a batch: one row per text."""

    emergency: np.ndarray  # bool [n]
    emergency_score: np.ndarray  # float32 [n]
    category_scores: np.ndarray  # float32 [n, len(CATEGORIES)]


def normalize_for_linear(text: str) -> str:
    """Lower-cased, whitespace-collapsed text: the form the fast model's n-grams are counted on."""
    return " ".join(text.lower().split())


def normalize_for_transformer(text: str) -> str:
    """Links become one word: a t.co link is ~10 meaningless word pieces, a quarter of the cost."""
    return " ".join(_URL.sub("http", text).split())


def configure_tokenizer(tokenizer: Tokenizer, max_tokens: int) -> Tokenizer:
    """Truncate to ``max_tokens``; padding is done per batch by :func:`pad_batch`."""
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.no_padding()
    return tokenizer


def pad_batch(token_ids: list[list[int]]) -> dict[str, np.ndarray]:
    """The transformer's inputs for one batch, padded (id 0) to its longest sequence."""
    width = max(len(ids) for ids in token_ids)
    input_ids = np.zeros((len(token_ids), width), dtype=np.int64)
    attention_mask = np.zeros((len(token_ids), width), dtype=np.int64)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = ids
        attention_mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def read_manifest(mode_dir: Path) -> dict:
    path = mode_dir / MANIFEST_FILE
    if not path.is_file():
        raise FileNotFoundError(f"model artifact missing: {path} (run `python -m apps.analyzer train`)")
    return json.loads(path.read_text())


def _session(path: Path, threads: int) -> ort.InferenceSession:
    if not path.is_file():
        raise FileNotFoundError(f"model artifact missing: {path} (run `python -m apps.analyzer train`)")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # idle threads sleep instead of spinning: a spinning pool takes the cores the broker and the
    # other apps need, which costs more latency than a wake-up does
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class LinearScorer:
    """The fast model: one ONNX graph from normalized text to both heads."""

    def __init__(self, mode_dir: Path, threshold: float, threads: int = 1) -> None:
        # One thread: the graph is mostly string work that does not parallelize inside a call.
        self._session = _session(mode_dir / MODEL_FILE, threads)
        self.threshold = threshold

    def score(self, texts: list[str]) -> Scores:
        batch = np.array([normalize_for_linear(text) for text in texts], dtype=object)
        emergency_score, category_scores = self._session.run(None, {"text": batch})
        return Scores(emergency_score >= self.threshold, emergency_score, category_scores)


class TransformerScorer:
    """The distilled MiniLM student: ``emergency_score`` [n] and ``category_scores`` [n, 6] from ONNX."""

    def __init__(self, mode_dir: Path, max_tokens: int, threads: int) -> None:
        self._session = _session(mode_dir / MODEL_FILE, threads)
        tokenizer_path = mode_dir / TOKENIZER_FILE
        if not tokenizer_path.is_file():
            raise FileNotFoundError(f"model artifact missing: {tokenizer_path}")
        self._tokenizer = configure_tokenizer(Tokenizer.from_file(str(tokenizer_path)), max_tokens)

    def raw_scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        emergency_score = np.zeros(len(texts), dtype=np.float32)
        category_scores = np.zeros((len(texts), len(CATEGORIES)), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([normalize_for_transformer(t) for t in texts])
        # One text per call: int8 activations are scaled per call, so a batch would make a text's
        # score depend on its neighbours; and on 2 cores batches of 8-64 ran no faster.
        for row, encoding in enumerate(encodings):
            emergency, categories = self._session.run(None, pad_batch([encoding.ids]))
            emergency_score[row], category_scores[row] = emergency[0], categories[0]
        return emergency_score, category_scores


class AccurateScorer:
    """The transformer's emergency score blended with the fast model's; categories from the
    transformer, the fast model or the mean of both (``category_from``; both in the manifest)."""

    def __init__(
        self, transformer: TransformerScorer, fast: LinearScorer, fast_weight: float, category_from: str,
        threshold: float, indonesian_by_fast: bool = False,
    ) -> None:
        self._transformer = transformer
        self._fast = fast
        self.fast_weight = fast_weight
        self.category_from = category_from
        self.threshold = threshold
        self.indonesian_by_fast = indonesian_by_fast  # the manifest's ``indonesian_by`` is "fast"

    def by_fast(self, texts: list[str]) -> np.ndarray:
        """Texts the fast model alone judges (bool [n]): those in Indonesian, when the manifest says so."""
        return np.array([self.indonesian_by_fast and is_indonesian(t) for t in texts], dtype=bool)

    def score(self, texts: list[str]) -> Scores:
        scores = self._fast.score(texts)
        self.blend_into(scores, texts, np.flatnonzero(~self.by_fast(texts)))
        return scores

    def blend_into(self, scores: Scores, texts: list[str], rows: np.ndarray) -> None:
        """Replace ``rows`` of ``scores``, the fast model's scores of ``texts``, with the blend and
        its verdicts; the other rows keep the fast model's."""
        if not rows.size:
            return
        transformer_emergency, transformer_categories = self._transformer.raw_scores([texts[i] for i in rows])
        fast_emergency, fast_categories = scores.emergency_score[rows], scores.category_scores[rows]
        blended = (1 - self.fast_weight) * transformer_emergency + self.fast_weight * fast_emergency
        emergency_score = np.clip(blended, 0.0, 1.0)  # rounding must not step outside the contract's 0..1
        if self.category_from == "both":
            categories = (fast_categories + transformer_categories) / 2
        else:
            categories = fast_categories if self.category_from == "fast" else transformer_categories
        scores.emergency[rows] = emergency_score >= self.threshold
        scores.emergency_score[rows] = emergency_score.astype(np.float32)
        scores.category_scores[rows] = categories


class CascadeScorer:
    """``fast`` answers when its score lies outside the band; ``accurate`` scores the rest, judged
    at the cascade's own ``threshold`` (accurate's own when the manifest names none)."""

    def __init__(self, fast: LinearScorer, accurate: AccurateScorer, band: tuple[float, float],
                 threshold: float | None = None) -> None:
        self._fast = fast
        self._accurate = accurate
        self.band = band
        self.threshold = accurate.threshold if threshold is None else threshold

    def score(self, texts: list[str]) -> Scores:
        scores = self._fast.score(texts)
        low, high = self.band
        # a text the accurate model would leave to the fast one is not sent to it
        unsure = np.flatnonzero((scores.emergency_score >= low) & (scores.emergency_score <= high)
                                & ~self._accurate.by_fast(texts))
        self._accurate.blend_into(scores, texts, unsure)  # (the fast scores it blends are these)
        scores.emergency[unsure] = scores.emergency_score[unsure] >= self.threshold
        return scores


def _default_threads() -> int:
    return min(2, os.cpu_count() or 1)


Scorer = LinearScorer | AccurateScorer | CascadeScorer


def _load_scorer(mode: str, artifacts_dir: Path, threads: int) -> tuple[str, Scorer]:
    manifest = read_manifest(artifacts_dir / mode)
    fast_manifest = manifest if mode == "fast" else read_manifest(artifacts_dir / "fast")
    fast = LinearScorer(artifacts_dir / "fast", fast_manifest["emergency_threshold"])
    if mode == "fast":
        return manifest["version"], fast
    accurate_manifest = manifest if mode == "accurate" else read_manifest(artifacts_dir / "accurate")
    accurate = AccurateScorer(
        TransformerScorer(artifacts_dir / "accurate", accurate_manifest["max_tokens"], threads),
        fast,
        accurate_manifest["fast_weight"],
        accurate_manifest["category_from"],
        accurate_manifest["emergency_threshold"],
        accurate_manifest.get("indonesian_by") == "fast",  # since 2026.12.07.2
    )
    if mode == "accurate":
        return manifest["version"], accurate
    return manifest["version"], CascadeScorer(fast, accurate, tuple(manifest["band"]),
                                              manifest.get("emergency_threshold"))


class EmergencyModel:
    """Scores messages for emergencies; thread-safe (onnxruntime runs without the GIL)."""

    def __init__(self, version: str, scorer: Scorer) -> None:
        self.version = version
        self._scorer = scorer

    @classmethod
    def load(
        cls, mode: str = DEFAULT_MODE, artifacts_dir: Path | None = None, threads: int | None = None
    ) -> "EmergencyModel":
        if mode not in MODES:
            raise ValueError(f"unknown analyzer mode {mode!r}; expected one of {MODES}")
        version, scorer = _load_scorer(mode, Path(artifacts_dir or ARTIFACTS_DIR), threads or _default_threads())
        return cls(version, scorer)

    def scores(self, texts: list[str]) -> Scores:
        if not texts:
            empty = np.zeros(0, dtype=np.float32)
            return Scores(empty.astype(bool), empty, np.zeros((0, len(CATEGORIES)), dtype=np.float32))
        # Lone surrogates (possible in decoded JSON) cannot reach onnxruntime as UTF-8.
        clean = [text[:MAX_TEXT_CHARS].encode("utf-8", "replace").decode("utf-8") for text in texts]
        return self._scorer.score(clean)

    def predict(self, texts: list[str]) -> list[Prediction]:
        scores = self.scores(texts)
        best = scores.category_scores.argmax(axis=1)
        return [
            Prediction(
                emergency=bool(is_emergency),
                emergency_score=float(score),
                category=CATEGORIES[category] if is_emergency else None,
                category_score=float(row[category]) if is_emergency else None,
            )
            for is_emergency, score, category, row in zip(
                scores.emergency, scores.emergency_score, best, scores.category_scores
            )
        ]
