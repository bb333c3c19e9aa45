"""The control plane's reaction time and idle CPU, on the embedded tansu broker and Temporal dev server.

Scenario (the issue's: the service is slowed while the input keeps coming):

1. One instance of a test service runs (``tests/controller/controller_test_app.py``); a feeder
   sends it ``--rate`` messages/s of cheap messages, which it keeps up with, long enough for the
   spike window to fill (``--warmup`` s).
2. At t0 the messages become ``--cost-ms`` expensive at the same rate: one instance can no longer
   keep up. The controller, evaluating every ``--refresh`` s, must deploy a second instance.
3. Reaction time = t0 ▸ the first observer report of output from the new instance (it is consuming).
4. Then the traffic stops and the worker process's CPU is measured for ``--idle`` s
   (schedules still ticking, instances still heartbeating).

    python -m bench.controller_bench [--refresh 5] [--rate 16] [--cost-ms 100] [--warmup 30] [--idle 60]

Targets (the issue's): reaction ≤ 15 s with a 5 s refresh; idle CPU ≤ 2 % of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer


from fogverse.broker import ensure_topics
from fogverse.contracts import ThroughputReport, parse_observer_message
from fogverse.kafka_client import client_options
from fogverse.processes import ManagedProcess, free_port, python_module, wait_for_port
from fogverse.publisher import Publisher
from fogverse.settings import RuntimeSettings
from workers.stack import tansu_process, temporal_process

REPO = Path(__file__).resolve().parents[1]
TEST_APPS = REPO / "tests" / "controller"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


class _Dict:
    def encode(self, value: dict) -> bytes:
        return json.dumps(value).encode()

    def decode(self, raw: bytes) -> dict:
        return json.loads(raw)


async def feed(publisher: Publisher, rate: float, cost: dict, stop: asyncio.Event) -> None:
    due, sent = time.monotonic(), 0
    while not stop.is_set():
        sent += 1
        await publisher.publish_nowait({"id": f"m{sent}", "cost_ms": cost["ms"]})
        due += 1.0 / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))


async def first_output_of_new_instance(bootstrap: str, observer: str, service: str, known: set[str],
                                       since: float, timeout_s: float) -> tuple[str, float] | None:
    consumer = AIOKafkaConsumer(observer, **client_options(), bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    message = parse_observer_message(record.value)
                    if (isinstance(message, ThroughputReport) and message.service == service
                            and message.instance_id not in known and message.total_messages > 0
                            and message.timestamp >= since):
                        return message.instance_id, message.timestamp
        return None
    finally:
        await consumer.stop()


async def run(args: argparse.Namespace) -> None:
    state = Path(tempfile.mkdtemp(prefix="siaga-controller-bench-"))
    kafka_port, temporal_port = free_port(), free_port()
    broker = tansu_process("127.0.0.1", kafka_port, state / "tansu.log").start()
    temporal = temporal_process("127.0.0.1", temporal_port, None, state / "temporal.db", state / "temporal.log").start()
    processes = [broker, temporal]
    tag = uuid.uuid4().hex[:6]
    service, source, target, observer = f"bench-{tag}", f"in-{tag}", f"out-{tag}", f"observer-{tag}"
    bootstrap = f"127.0.0.1:{kafka_port}"
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=bootstrap, TEMPORAL_ADDRESS=f"127.0.0.1:{temporal_port}",
               TEMPORAL_TASK_QUEUE=f"bench-{tag}", OBSERVER_TOPIC=observer, SIAGA_STATE_DIR=str(state),
               LOCAL_SERVICE_MODULES=f"{service}=controller_test_app", SERVICE_NAME=service,
               TEST_SOURCE_TOPIC=source, TEST_TARGET_TOPIC=target, TEST_GROUP_ID=f"group-{tag}",
               PYTHONPATH=f"{REPO}:{TEST_APPS}", INPUT_OUTPUT_REFRESH_RATE=str(args.refresh),
               WINDOW_MAX_SECOND="300", METRICS_INTERVAL="0.5", BATCH_SIZE="5", MAX_INSTANCE="2",
               HEARBEART_DEPLOY_DELAY="60", LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"))
    try:
        wait_for_port("127.0.0.1", kafka_port, 30, broker)
        wait_for_port("127.0.0.1", temporal_port, 60, temporal)
        await ensure_topics(bootstrap, {source: 4, target: 4, observer: 1})
        first = ManagedProcess("first", python_module("controller_test_app"), env=dict(env, INSTANCE_ID=f"{service}-0"),
                               log_path=state / "first.log").start()
        worker = ManagedProcess("worker", python_module("workers", "worker"), env=env, log_path=state / "worker.log",
                                cwd=REPO).start()
        processes += [first, worker]
        settings = RuntimeSettings.from_env(dict(env, INSTANCE_ID=f"feeder-{tag}"), service_name=f"feeder-{tag}")
        publisher = Publisher(service=f"feeder-{tag}", topic=source, codec=_Dict(), settings=settings)
        await publisher.start()
        stop, cost = asyncio.Event(), {"ms": 0.0}
        feeder = asyncio.create_task(feed(publisher, args.rate, cost, stop))
        print(f"warming up: {args.rate:g} msg/s of cheap messages for {args.warmup:g} s", flush=True)
        await asyncio.sleep(args.warmup)
        cost["ms"] = args.cost_ms
        t0 = time.time()
        capacity = 1000 / args.cost_ms
        print(f"t0 = {t0:.3f}"); print(f"t0: messages now cost {args.cost_ms:g} ms: one instance does {capacity:.1f}/s of {args.rate:g}/s",
              flush=True)
        found = await first_output_of_new_instance(bootstrap, observer, service, {f"{service}-0"}, t0, 120)
        if found is None:
            print(f"no new instance consumed within 120 s; worker log: {state / 'worker.log'}")
        else:
            print(f"reaction time: {found[1] - t0:.1f} s (overload ▸ {found[0]} consuming; refresh {args.refresh:g} s)",
                  flush=True)
        stop.set()
        await feeder
        await publisher.stop()
        await asyncio.sleep(args.refresh * 2)  # let the last deploy/evaluations settle
        before, started = cpu_seconds(worker.pid), time.monotonic()
        await asyncio.sleep(args.idle)
        used, wall = cpu_seconds(worker.pid) - before, time.monotonic() - started
        print(f"controller CPU while idle: {100 * used / wall:.2f} % of one core over {wall:.0f} s "
              f"({used:.2f} s CPU; refresh {args.refresh:g} s, {os.cpu_count()} cores)", flush=True)
    finally:
        from activities.providers.local import LocalProcessProvider

        provider = LocalProcessProvider(state)
        for instance in provider._list(service):
            provider._delete(instance.name)
        for process in reversed(processes):
            process.stop(timeout_s=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refresh", type=float, default=5.0, help="INPUT_OUTPUT_REFRESH_RATE, seconds")
    parser.add_argument("--rate", type=float, default=16.0, help="messages per second")
    parser.add_argument("--cost-ms", type=float, default=100.0, help="cost of a message after t0")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of cheap traffic before t0")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle CPU measurement")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
