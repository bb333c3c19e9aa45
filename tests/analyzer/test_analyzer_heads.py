"""The accurate model's heads, learnt on the shipped student's embeddings and written into its graph."""

import shutil

import numpy as np
import pytest

from apps.analyzer.heads import BIAS, WEIGHT, HeadSettings, embeddings, fit_heads, student_head, write_heads
from apps.analyzer.model import ARTIFACTS_DIR, MODEL_FILE, TransformerScorer, read_manifest

TEXTS = ["Fire at the market, people trapped", "lovely rain tonight", "Gempa kuat di Cianjur"]


@pytest.fixture
def accurate_copy(tmp_path):
    shutil.copytree(ARTIFACTS_DIR / "accurate", tmp_path / "accurate")
    return tmp_path / "accurate"


def _heads(mode_dir):
    import onnx
    from onnx import numpy_helper

    initializers = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(mode_dir / MODEL_FILE)).graph.initializer}
    return initializers[WEIGHT], initializers[BIAS]


def test_written_heads_are_what_the_graph_computes(accurate_copy):
    max_tokens = read_manifest(accurate_copy)["max_tokens"]
    rng = np.random.default_rng(0)
    weight, bias = rng.normal(0, 0.2, (384, 7)).astype(np.float32), rng.normal(0, 0.2, 7).astype(np.float32)
    write_heads(accurate_copy, weight, bias)
    write_heads(accurate_copy, weight, bias)  # a second time replaces the first, as retraining does
    logits = embeddings(accurate_copy, TEXTS, max_tokens) @ weight + bias
    emergency, categories = TransformerScorer(accurate_copy, max_tokens, threads=1).raw_scores(TEXTS)
    np.testing.assert_allclose(emergency, 1 / (1 + np.exp(-logits[:, 0])), rtol=1e-5, atol=1e-6)
    expected = np.exp(logits[:, 1:]) / np.exp(logits[:, 1:]).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(categories, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_learning_the_heads_again_reproduces_the_shipped_ones(data_dir):
    from apps.analyzer.dataset import load_split, load_written_training

    max_tokens = read_manifest(ARTIFACTS_DIR / "accurate")["max_tokens"]
    fit, written = load_split(data_dir, "fit"), load_written_training()
    weight, bias = fit_heads(
        embeddings(ARTIFACTS_DIR / "accurate", [t.text for t in fit], max_tokens), fit,
        embeddings(ARTIFACTS_DIR / "accurate", [t.text for t in written], max_tokens), written,
        HeadSettings(**read_manifest(ARTIFACTS_DIR / "accurate")["settings"]["heads"]),
        student_head(ARTIFACTS_DIR / "accurate"),
    )
    shipped_weight, shipped_bias = _heads(ARTIFACTS_DIR / "accurate")
    np.testing.assert_allclose(weight, shipped_weight, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bias, shipped_bias, rtol=1e-4, atol=1e-5)
