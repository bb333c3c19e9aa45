"""The control plane's reaction time and idle CPU, on an embedded broker and the Temporal dev server.

Scenario (the issue's: the service is slowed while the input keeps coming):

1. One instance of a test service runs (``tests/controller/controller_test_app.py``); a feeder
   sends it ``--rate`` messages/s of cheap messages, which it keeps up with, long enough for the
   spike window to fill (``--warmup`` s). Its source topic starts with ``--partitions``
   (default as ``up``: 1 on Apache Kafka, grown by the control plane; 2 on tansu).
2. At t0 the messages become ``--cost-ms`` expensive at the same rate: one instance can no longer
   keep up. The controller, evaluating every ``--refresh`` s, must deploy a second instance (and,
   on Apache Kafka, grow the topic when that instance joins the group).
3. Reaction time = t0 ▸ the first observer report of output from the new instance (it is consuming).
   Its first heartbeat (process up) and first assignment (rebalance done) are printed beside it.
4. After the last round the traffic stops and the worker process's CPU is measured for ``--idle``
   s (schedules still ticking, instances still heartbeating).

    python -m bench.controller_bench [--refresh 5] [--rate 16] [--cost-ms 100] [--warmup 30] [--idle 30]
                                     [--rounds 1] [--partitions N] [--broker kafka|tansu|both]

Each broker (``bench.brokers``) gets its own Temporal dev server and runs its rounds in turn.
Targets (the issue's): reaction ≤ 15 s with a 5 s refresh (≤ 10 s on Apache Kafka); idle CPU ≤ 2 %
of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from bench import brokers
from fogverse.broker import ensure_topics, probe
from fogverse.contracts import ConsumerJoined, Heartbeat, ThroughputReport, parse_observer_message
from fogverse.kafka_client import client_options
from fogverse.processes import ManagedProcess, free_port, python_module, wait_for_port
from fogverse.publisher import Publisher
from fogverse.settings import RuntimeSettings
from workers.stack import temporal_process

REPO = Path(__file__).resolve().parents[1]
TEST_APPS = REPO / "tests" / "controller"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
REACTION_TIMEOUT_S = 120


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


@dataclass
class Milestones:
    """When the new instance first did each thing, in seconds after t0 (None: not yet)."""

    instance: str | None = None
    heartbeat: float | None = None  # its process runs
    assigned: float | None = None  # a rebalance gave it partitions
    consuming: float | None = None  # it reported output


async def watch_new_instance(bootstrap: str, observer: str, service: str, known: set[str], t0: float,
                             timeout_s: float) -> Milestones:
    """Read the observer topic until an instance not in ``known`` reports output (or the timeout)."""
    consumer = AIOKafkaConsumer(observer, **client_options(), bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest")
    await consumer.start()
    seen = Milestones()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and seen.consuming is None:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    message = parse_observer_message(record.value)
                    if message.service != service or message.instance_id in known or message.timestamp < t0:
                        continue
                    seen.instance = seen.instance or message.instance_id
                    after = message.timestamp - t0
                    if isinstance(message, Heartbeat) and seen.heartbeat is None:
                        seen.heartbeat = after
                    elif isinstance(message, ConsumerJoined) and message.assigned_partitions and seen.assigned is None:
                        seen.assigned = after
                    elif isinstance(message, ThroughputReport) and message.total_messages and seen.consuming is None:
                        seen.consuming = after
        return seen
    finally:
        await consumer.stop()


async def scenario(args: argparse.Namespace, bootstrap: str, temporal_address: str, state: Path,
                   measure_idle: bool) -> tuple[Milestones, float | None]:
    """One overload on a fresh service: the new instance's milestones, and the worker's idle CPU %."""
    tag = uuid.uuid4().hex[:6]
    service, source, target, observer = f"bench-{tag}", f"in-{tag}", f"out-{tag}", f"observer-{tag}"
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=bootstrap, TEMPORAL_ADDRESS=temporal_address,
               TEMPORAL_TASK_QUEUE=f"bench-{tag}", OBSERVER_TOPIC=observer, SIAGA_STATE_DIR=str(state),
               LOCAL_SERVICE_MODULES=f"{service}=controller_test_app", SERVICE_NAME=service,
               TEST_SOURCE_TOPIC=source, TEST_TARGET_TOPIC=target, TEST_GROUP_ID=f"group-{tag}",
               PYTHONPATH=f"{REPO}:{TEST_APPS}", INPUT_OUTPUT_REFRESH_RATE=str(args.refresh),
               WINDOW_MAX_SECOND="300", METRICS_INTERVAL="0.5", BATCH_SIZE="5", MAX_INSTANCE="2",
               HEARBEART_DEPLOY_DELAY="60", LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"))
    can_grow = (await probe(bootstrap)).supports("CreatePartitions")
    # as `up` starts topics: one partition where the control plane grows them, room for two where it cannot
    partitions = args.partitions or (1 if can_grow else 2)
    grows = partitions < 2 and can_grow
    await ensure_topics(bootstrap, {source: partitions, target: partitions, observer: 1})
    print(f"  {source}: {partitions} partition(s){', to be grown by the control plane' if grows else ''}",
          flush=True)
    processes: list[ManagedProcess] = []
    try:
        first = ManagedProcess("first", python_module("controller_test_app"), env=dict(env, INSTANCE_ID=f"{service}-0"),
                               log_path=state / f"first-{tag}.log").start()
        processes.append(first)
        worker = ManagedProcess("worker", python_module("workers", "worker"), env=env,
                                log_path=state / f"worker-{tag}.log", cwd=REPO).start()
        processes.append(worker)
        settings = RuntimeSettings.from_env(dict(env, INSTANCE_ID=f"feeder-{tag}"), service_name=f"feeder-{tag}")
        publisher = Publisher(service=f"feeder-{tag}", topic=source, codec=_Dict(), settings=settings)
        await publisher.start()
        stop, cost = asyncio.Event(), {"ms": 0.0}
        feeder = asyncio.create_task(feed(publisher, args.rate, cost, stop))
        print(f"  warming up: {args.rate:g} msg/s of cheap messages for {args.warmup:g} s", flush=True)
        await asyncio.sleep(args.warmup)
        cost["ms"] = args.cost_ms
        t0 = time.time()
        print(f"  t0: messages now cost {args.cost_ms:g} ms: one instance does {1000 / args.cost_ms:.1f}/s "
              f"of {args.rate:g}/s", flush=True)
        seen = await watch_new_instance(bootstrap, observer, service, {f"{service}-0"}, t0, REACTION_TIMEOUT_S)
        stop.set()
        await feeder
        await publisher.stop()
        if not measure_idle:
            return seen, None
        await asyncio.sleep(args.refresh * 2)  # let the last deploy/evaluations settle
        before, started = cpu_seconds(worker.pid), time.monotonic()
        await asyncio.sleep(args.idle)
        used, wall = cpu_seconds(worker.pid) - before, time.monotonic() - started
        return seen, 100 * used / wall
    finally:
        from activities.providers.local import LocalProcessProvider

        provider = LocalProcessProvider(state)
        for instance in provider._list(service):
            provider._delete(instance.name)
        for process in reversed(processes):
            process.stop(timeout_s=10)


def describe(seen: Milestones, refresh: float) -> str:
    if seen.consuming is None:
        return (f"no new instance consumed within {REACTION_TIMEOUT_S:g} s "
                f"(heartbeat {_at(seen.heartbeat)}, partitions {_at(seen.assigned)})")
    return (f"reaction time {seen.consuming:.1f} s (overload ▸ {seen.instance} consuming; refresh {refresh:g} s): "
            f"heartbeat {_at(seen.heartbeat)}, partitions assigned {_at(seen.assigned)}")


def _at(seconds: float | None) -> str:
    return "never" if seconds is None else f"+{seconds:.1f} s"


async def run(args: argparse.Namespace) -> None:
    results: dict[str, tuple[list[float | None], float | None]] = {}
    for name in brokers.requested(args.broker):
        state = Path(tempfile.mkdtemp(prefix=f"siaga-controller-bench-{name}-"))
        with brokers.started(name, log_dir=state) as bootstrap:
            temporal_port = free_port()
            temporal = temporal_process("127.0.0.1", temporal_port, None, state / "temporal.db",
                                        state / "temporal.log").start()
            try:
                wait_for_port("127.0.0.1", temporal_port, 60, temporal)
                reactions, idle = [], None
                for round_ in range(1, args.rounds + 1):
                    print(f"{name} round {round_} (logs in {state}):", flush=True)
                    seen, cpu = await scenario(args, bootstrap, f"127.0.0.1:{temporal_port}", state,
                                               measure_idle=round_ == args.rounds)
                    print(f"  {describe(seen, args.refresh)}", flush=True)
                    reactions.append(seen.consuming)
                    idle = cpu if cpu is not None else idle
                results[name] = (reactions, idle)
            finally:
                temporal.stop(timeout_s=10)
    print(f"\nrefresh {args.refresh:g} s, {args.rate:g} msg/s at {args.cost_ms:g} ms each after t0, "
          f"{os.cpu_count()} cores; targets: reaction <= 15 s (10 s on Apache Kafka), idle CPU <= 2 % of one core")
    print(f"  {'broker':<8} {'reaction s, each round':<28} {'median':>7} {'idle CPU %':>11}")
    for name, (reactions, idle) in results.items():
        found = [r for r in reactions if r is not None]
        each = ", ".join("none" if r is None else f"{r:.1f}" for r in reactions)
        median = f"{statistics.median(found):.1f}" if found else "-"
        idle_text = "-" if idle is None else f"{idle:.2f}"
        print(f"  {name:<8} {each:<28} {median:>7} {idle_text:>11}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refresh", type=float, default=5.0, help="INPUT_OUTPUT_REFRESH_RATE, seconds")
    parser.add_argument("--rate", type=float, default=16.0, help="messages per second")
    parser.add_argument("--cost-ms", type=float, default=100.0, help="cost of a message after t0")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of cheap traffic before t0")
    parser.add_argument("--idle", type=float, default=30.0,
                        help="seconds of idle CPU measurement, after the last round")
    parser.add_argument("--rounds", type=int, default=1, help="overloads per broker, each on a fresh service")
    parser.add_argument("--partitions", type=int, default=0,
                        help="source partitions at start; default as `up`: 1 where the control plane grows them "
                             "(Apache Kafka), else 2")
    brokers.add_argument(parser)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
