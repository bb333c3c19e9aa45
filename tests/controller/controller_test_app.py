"""A scalable service for the controller's end-to-end tests: JSON in, JSON out, deliberately slow.

Like the analyzer, it takes ``SERVICE_NAME`` as its service name and costs ``SLOW_DOWN_MS`` per
message, so one instance can be overloaded on purpose; a message's own ``cost_ms`` adds to that (heavier
messages at the same rate: the service slows down while its input does not change). Topics and group
come from ``TEST_*``.
"""

from __future__ import annotations

import os
import time

from pydantic import BaseModel

from fogverse.codec import JsonModelCodec
from fogverse.lifecycle import main_entry, run_until_signalled
from fogverse.runtime import PipelineApp
from fogverse.settings import RuntimeSettings


class Item(BaseModel):
    id: str
    cost_ms: float = 0.0


class Done(BaseModel):
    id: str
    by: str


def build_app(environ=None) -> PipelineApp:
    env = os.environ if environ is None else environ
    settings = RuntimeSettings.from_env(env, service_name="controller-test-app")
    slow_s = float(env.get("SLOW_DOWN_MS", "0")) / 1000

    def process(items: list[Item]) -> list[Done]:
        time.sleep(slow_s * len(items) + sum(item.cost_ms for item in items) / 1000)
        return [Done(id=item.id, by=settings.instance_id) for item in items]

    return PipelineApp(
        service=settings.service_name, source_topic=env["TEST_SOURCE_TOPIC"], target_topic=env["TEST_TARGET_TOPIC"],
        group_id=env["TEST_GROUP_ID"], process=process, input_codec=JsonModelCodec(Item),
        output_codec=JsonModelCodec(Done), settings=settings)


async def _main() -> None:
    await run_until_signalled(build_app())


if __name__ == "__main__":
    main_entry("controller-test-app", _main)
