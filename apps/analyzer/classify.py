"""The ``classify`` command: one text per line on stdin, one JSON verdict per line on stdout."""

from __future__ import annotations

import dataclasses
import json
from typing import IO

from apps.analyzer.model import EmergencyModel

BATCH_LINES = 64  # verdicts go out every this many lines, so a pipe sees steady progress


def classify_stream(model: EmergencyModel, lines: IO[str], out: IO[str]) -> int:
    """Returns how many texts were classified; blank lines are skipped."""
    count = 0
    batch: list[str] = []

    def flush() -> None:
        for text, prediction in zip(batch, model.predict(batch)):
            out.write(json.dumps({"text": text, **dataclasses.asdict(prediction)}, ensure_ascii=False) + "\n")
        out.flush()
        batch.clear()

    for line in lines:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        batch.append(text)
        count += 1
        if len(batch) >= BATCH_LINES:
            flush()
    if batch:
        flush()
    return count
