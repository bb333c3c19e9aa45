"""A pipeline app for the runtime's own tests: JSON in, JSON out, with knobs to misbehave.

Input ``{"id": "...", "poison": false, "sleep_ms": 0}``; output ``{"id": "...", "seen_by": ...}``.
``poison: true`` makes ``process`` raise, so the runtime must dead-letter it and carry on;
``output_bytes: N`` pads the output to about N bytes (too large for the producer or the broker).
"""

from __future__ import annotations

import os
import time

from pydantic import BaseModel

from fogverse.codec import JsonModelCodec
from fogverse.lifecycle import main_entry, run_until_signalled
from fogverse.runtime import BatchTiming, PipelineApp
from fogverse.settings import RuntimeSettings


class Item(BaseModel):
    id: str
    poison: bool = False
    sleep_ms: float = 0.0
    output_bytes: int = 0


class Seen(BaseModel):
    id: str
    seen_by: str
    pad: str = ""


def build_app(environ=None) -> PipelineApp:
    env = os.environ if environ is None else environ
    settings = RuntimeSettings.from_env(env, service_name="test-app")

    def process(items: list[Item]) -> list[Seen]:
        out = []
        for item in items:
            if item.poison:
                raise ValueError(f"poison message {item.id}")
            if item.sleep_ms:
                time.sleep(item.sleep_ms / 1000)
            out.append(Seen(id=item.id, seen_by=settings.instance_id, pad="x" * item.output_bytes))
        return out

    return PipelineApp(
        service="test-app", source_topic=env["TEST_SOURCE_TOPIC"], target_topic=env["TEST_TARGET_TOPIC"],
        group_id=env.get("TEST_GROUP_ID", "test-app"), process=process,
        input_codec=JsonModelCodec(Item), output_codec=JsonModelCodec(Seen), settings=settings,
        parallel=env.get("TEST_PARALLEL") == "1", timing=BatchTiming.from_env(env),
    )


async def _main() -> None:
    await run_until_signalled(build_app())


if __name__ == "__main__":
    main_entry("test-app", _main)
