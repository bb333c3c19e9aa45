"""Throughput of each analyzer mode next to its eval F1, measured side by side in one run.

    python bench/analyzer_bench.py [--data DIR] [--texts 2048] [--modes fast,accurate,cascade] [--threads N]

msgs/s are measured on unlabeled.csv texts, for several batch sizes, serial (one caller) and
parallel (a ThreadPoolExecutor with 2 threads, each predicting one batch at a time, with one
onnxruntime thread per call, as the analyzer's parallel ANALYZER_MODE loads it).
F1 is the emergency F1 on the eval split (rows of labeled.csv with id divisible by 5); "cat" and
"em/not" are the category accuracy on the written held-out set's emergencies and the
emergency/not accuracy on all of it (the set ``MEASURED_SET`` names in apps/analyzer/data/, never trained on).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.analyzer.dataset import MEASURED_SET, load_split, load_unlabeled, load_written, resolve_data_dir  # noqa: E402
from apps.analyzer.evaluation import evaluate, evaluate_written  # noqa: E402
from apps.analyzer.model import MODES, EmergencyModel  # noqa: E402

BATCH_SIZES = (1, 32, 128)


def throughput(model: EmergencyModel, texts: list[str], batch_size: int, workers: int) -> float:
    batches = [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]
    model.predict(texts[:batch_size])  # warm-up: first calls allocate
    started = time.perf_counter()
    if workers == 1:
        for batch in batches:
            model.predict(batch)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(model.predict, batches))
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="disaster-tweets directory")
    parser.add_argument("--texts", type=int, default=2048, help="unlabeled texts per measurement")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--threads", type=int, help="onnxruntime intra-op threads (default: the model's)")
    args = parser.parse_args()

    data_dir = resolve_data_dir(args.data)
    texts = [t.text for t in load_unlabeled(data_dir)][: args.texts]
    eval_tweets = load_split(data_dir, "eval")
    held_out = load_written(MEASURED_SET)
    print(
        f"{len(texts)} unlabeled texts per measurement; F1 on {len(eval_tweets)} eval tweets; "
        f"held-out: {len(held_out)} written messages\n"
    )
    header = f"{'mode':<9} {'eval F1':>7} {'cat':>6} {'em/not':>6}  " + "  ".join(
        f"{f'b={b} ' + kind:>15}" for b in BATCH_SIZES for kind in ("serial", "par×2")
    )
    print(header + "   (msgs/s)")
    for mode in args.modes.split(","):
        models = {  # callers -> model; the parallel one gets one onnxruntime thread per call
            1: EmergencyModel.load(mode, threads=args.threads),
            2: EmergencyModel.load(mode, threads=args.threads or 1),
        }
        f1 = evaluate(models[1], eval_tweets)["emergency"]["f1"]
        written = evaluate_written(models[1], held_out)
        cells = [
            f"{throughput(models[workers], texts, batch, workers):>15,.0f}"
            for batch in BATCH_SIZES
            for workers in (1, 2)
        ]
        quality = f"{f1:>7.4f} {written['category_accuracy']:>6.1%} {written['emergency_accuracy']:>6.1%}"
        print(f"{mode:<9} {quality}  " + "  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
