"""The control plane's reaction time, its scaling decisions under a step and an oscillating load,
and its idle CPU, on an embedded broker and the Temporal dev server.

Every scenario runs a test service (``tests/controller/controller_test_app.py``: each message
costs its ``cost_ms``) with its own control-plane worker (``python -m workers worker``, local
provider) and a feeder; decisions and events are read from Temporal (the ``state`` query of
``scaler/<service>``, polled every 2 s since the state keeps only the last 20 decisions), the
consumer lag with ``activities.measure.lag.ConsumerLagReader`` every second, and first heartbeat /
assignment / output of each instance from the observer topic.

``--scenario reaction`` (default; the slowed service):

1. One instance runs; the feeder sends ``--rate`` messages/s of cheap messages, which it keeps up
   with, for ``--warmup`` s. Its source topic starts with ``--partitions`` (default as ``up``: 1 on
   Apache Kafka, grown by the control plane; 2 on tansu). ``MAX_INSTANCE=2``.
2. At t0 the messages become ``--cost-ms`` expensive at the same rate: one instance can no longer
   keep up, the controller (every ``--refresh`` s) must deploy a second one.
3. Reaction time = t0 ▸ the first observer report of output from the new instance; its first
   heartbeat and first assignment are printed beside it.
4. After the last round the traffic stops and the worker's CPU is measured for ``--idle`` s.

   Runs on each broker of ``--broker`` (default both when Apache Kafka can run here). Targets:
   reaction ≤ 15 s with a 5 s refresh (≤ 10 s on Apache Kafka); idle CPU ≤ 2 % of one core.

``--scenario step`` (the issue's step test; Apache Kafka unless ``--broker`` says otherwise):
one instance, ``WORKER_THREADS=1`` so its capacity is exactly ``1000 / --cost-ms`` msgs/s
(10/s at the default 100 ms), ``MAX_INSTANCE=--max-instance`` (4), ``DEPLOY_DELAY=--deploy-delay``
(20 s), ``SCALE_IN_STABILIZATION=--stabilization`` (60 s), refresh 5 s, 1 source partition. Load is
``--step-from`` (0.8×) capacity for ``--warmup`` s, then steps to ``--step-to`` (3×) until the
backlog is drained (or ``--step-timeout`` s). Run once per ``--rules`` (``count,plus_one``:
``SCALE_OUT_RULE``), each on a fresh service and worker; then the last worker's idle CPU. Prints,
per rule, each scale-out decision and event after the step and the lag (total and per partition)
every 15 s (the series is saved as ``lag-<service>.csv`` in the state dir), then one table:
scale-out decisions until the backlog-free count (ceil(3× ÷ TARGET_UTILIZATION), capped by
MAX_INSTANCE: 4) is reached, the most instances reached, seconds from the step to the first
scale-out decision, from that decision to the first new instance's output, from the step to the
first new instance's output and to all of the backlog-free count producing output, to the lag back
at or under ``BACKLOG_NEAR_ZERO`` (10) and under 10 per instance of that count, the peak lag, and
the reasons the decision held for between the step and its first scale out. The idle CPU line says
when a scale change (a scale in after the traffic stopped) ran during the measurement. Goals: 1 decision (count); step ▸ new instances consuming ≤ 10 s;
idle CPU ≤ 1 % of one core.

``--scenario oscillate``: the same service at ``--low`` (0.5×) capacity for ``--warmup`` s, then
``--periods`` (4) periods of ``--period`` (40 s, shorter than the 60 s stabilization) alternating
``--high`` (1.6×) and low halves; if no scale out came, high until one; then a step down to low for
stabilization + SCALE_IN_COOLDOWN + 6 refreshes; then the idle CPU. Prints every scale change and
event, and the total of scale changes, the most in one stabilization window, whether a scale out
came within the rebalance a scale in triggered (until the survivors' last assignment after it, plus
one refresh), and the idle CPU. Goals: ≤ 1 change per window; never a scale out right after a scale
in; idle CPU ≤ 1 % of one core.

    python -m bench.controller_bench [--scenario reaction|step|oscillate] [--refresh 5] [--cost-ms 100]
                                     [--warmup 30] [--idle 30] [--broker kafka|tansu|both]
        reaction:  [--rate 16] [--rounds 1] [--partitions N]
        step:      [--step-from 0.8] [--step-to 3] [--rules count,plus_one] [--step-timeout 300]
        oscillate: [--low 0.5] [--high 1.6] [--period 40] [--periods 4]
        both:      [--max-instance 4] [--deploy-delay 20] [--stabilization 60]

Logs (worker, instances, broker, Temporal) stay in the printed state directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import tempfile
import time
import uuid
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from aiokafka import AIOKafkaConsumer

from activities.measure.lag import ConsumerLagReader
from bench import brokers
from fogverse.broker import ensure_topics, probe
from fogverse.contracts import ConsumerJoined, Heartbeat, ThroughputReport, parse_observer_message
from fogverse.kafka_client import client_options
from fogverse.lifecycle import sleep_unless
from fogverse.processes import ManagedProcess, free_port, python_module, wait_for_port
from fogverse.publisher import Publisher
from fogverse.settings import RuntimeSettings
from workers.stack import temporal_process
from workflows.messages import scaler_workflow_id

REPO = Path(__file__).resolve().parents[1]
TEST_APPS = REPO / "tests" / "controller"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
REACTION_TIMEOUT_S = 120


#: The apps' default (METRICS_INTERVAL): the idle figure is the controller's cost at what users run.
METRICS_INTERVAL_S = "1.0"


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
               LOCAL_SERVICE_MODULES=f"{service}=controller_test_app", SERVICE_NAME=service, CONTROLLED_SERVICES=service,
               TEST_SOURCE_TOPIC=source, TEST_TARGET_TOPIC=target, TEST_GROUP_ID=f"group-{tag}",
               PYTHONPATH=f"{REPO}:{TEST_APPS}", INPUT_OUTPUT_REFRESH_RATE=str(args.refresh),
               WINDOW_MAX_SECOND="300", METRICS_INTERVAL=METRICS_INTERVAL_S, BATCH_SIZE="5", MAX_INSTANCE="2",
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
        from activities.act.providers.local import LocalProcessProvider

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


# ── the benchmark: step test and oscillating load ─────────────────────────────────────────


async def feed_load(publisher: Publisher, load: dict, stop: asyncio.Event) -> None:
    """Send ``load["rate"]`` messages/s (read every message, so it may change) of ``load["ms"]`` cost each."""
    due, sent = time.monotonic(), 0
    while not stop.is_set():
        rate = load["rate"]
        if rate <= 0:
            await asyncio.sleep(0.2)
            due = time.monotonic()
            continue
        sent += 1
        await publisher.publish_nowait({"id": f"m{sent}", "cost_ms": load["ms"]})
        due += 1.0 / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))


class ObserverLog:
    """What the observer topic says about one service, read in the background (apps' clocks: same machine)."""

    def __init__(self, bootstrap: str, observer: str, service: str):
        self.bootstrap, self.observer, self.service = bootstrap, observer, service
        self.first_output: dict[str, float] = {}  # instance ▸ first report of output
        self.first_heartbeat: dict[str, float] = {}
        self.joins: list[tuple[float, str, int]] = []  # (when, instance, partitions assigned)

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(self.observer, **client_options(), bootstrap_servers=self.bootstrap,
                                    group_id=None, auto_offset_reset="earliest")
        await consumer.start()
        try:
            while not stop.is_set():
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        try:
                            message = parse_observer_message(record.value)
                        except ValueError:
                            continue
                        if getattr(message, "service", None) != self.service:
                            continue
                        who, at = message.instance_id, message.timestamp
                        if isinstance(message, Heartbeat):
                            self.first_heartbeat.setdefault(who, at)
                        elif isinstance(message, ConsumerJoined):
                            self.joins.append((at, who, message.assigned_partitions))
                        elif isinstance(message, ThroughputReport) and message.total_messages:
                            self.first_output.setdefault(who, at)
        finally:
            await consumer.stop()


class ControlLog:
    """The decisions and events of ``scaler/<service>``, from its ``state`` query every ``every_s``.

    The state keeps only the last ``KEEP_DECISIONS`` decisions, so they are collected as they come."""

    def __init__(self, client, service: str):
        self.handle = client.get_workflow_handle(scaler_workflow_id(service))
        self.decisions: dict[float, object] = {}
        self.events: dict[tuple, object] = {}
        self.state = None
        self.paused = False  # while the worker's idle CPU is measured: its queries would count

    async def poll_once(self) -> None:
        from workflows.state import ScalerState

        try:
            self.state = await self.handle.query("state", result_type=ScalerState)
        except Exception:  # not started yet, or busy: the next poll reads it
            return
        for decision in self.state.decisions:
            self.decisions[decision.at] = decision
        for event in self.state.events:
            self.events[(event.at, event.action, event.instance)] = event

    async def run(self, stop: asyncio.Event, every_s: float = 2.0) -> None:
        while not stop.is_set():
            if not self.paused:
                await self.poll_once()
            await sleep_unless(stop, every_s)
        await self.poll_once()

    def ordered(self, since: float = 0.0) -> list:
        return [d for at, d in sorted(self.decisions.items()) if at >= since]

    def changes(self, since: float = 0.0) -> list:
        return [d for d in self.ordered(since) if d.action != "hold"]


class LagLog:
    """The group's consumer lag on the source topic, read every ``every_s`` (``activities.measure.lag``)."""

    def __init__(self, bootstrap: str, group: str, topic: str):
        self.reader = ConsumerLagReader(bootstrap)
        self.group, self.topic = group, topic
        self.samples: list[tuple[float, int]] = []
        self.partitions: list[list[int]] = []  # per sample, the lag of each partition

    async def run(self, stop: asyncio.Event, every_s: float = 1.0) -> None:
        async with self.reader:
            while not stop.is_set():
                lag = await self.reader.read(self.group, self.topic)
                if lag is not None:
                    self.samples.append((time.time(), lag.total))
                    self.partitions.append([p.lag for p in lag.partitions])
                await sleep_unless(stop, every_s)

    def drained_at(self, since: float, near_zero: int, backlog_from: int) -> float | None:
        """When the lag first fell to ``near_zero`` or below after ``since``, once it had passed ``backlog_from``."""
        grown = False
        for at, lag in self.samples:
            if at < since:
                continue
            grown = grown or lag > backlog_from
            if grown and lag <= near_zero:
                return at
        return None

    def peak(self, since: float) -> int:
        return max([lag for at, lag in self.samples if at >= since], default=0)


@dataclass
class ServiceRun:
    service: str
    env: dict
    worker: ManagedProcess
    load: dict
    observer: ObserverLog
    control: ControlLog
    lag: LagLog
    partitions: int


@asynccontextmanager
async def service_under_test(args: argparse.Namespace, bootstrap: str, temporal_address: str, state: Path,
                             label: str, extra_env: dict[str, str]):
    """A fresh service (one instance of the test app, 1 partition as `up` starts it where the broker
    grows them) with its own control-plane worker, a feeder at ``run.load`` and the three logs running."""
    from temporalio.client import Client

    tag = f"{label}-{uuid.uuid4().hex[:6]}"
    service, source, target, observer = f"bench-{tag}", f"in-{tag}", f"out-{tag}", f"observer-{tag}"
    group = f"group-{tag}"
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=bootstrap, TEMPORAL_ADDRESS=temporal_address,
               TEMPORAL_TASK_QUEUE=f"bench-{tag}", OBSERVER_TOPIC=observer, SIAGA_STATE_DIR=str(state),
               LOCAL_SERVICE_MODULES=f"{service}=controller_test_app", SERVICE_NAME=service, CONTROLLED_SERVICES=service,
               TEST_SOURCE_TOPIC=source, TEST_TARGET_TOPIC=target, TEST_GROUP_ID=group,
               PYTHONPATH=f"{REPO}:{TEST_APPS}", INPUT_OUTPUT_REFRESH_RATE=str(args.refresh),
               WINDOW_MAX_SECOND="300", METRICS_INTERVAL=METRICS_INTERVAL_S, BATCH_SIZE="5", WORKER_THREADS="1",
               MAX_INSTANCE=str(args.max_instance), DEPLOY_DELAY=str(args.deploy_delay),
               SCALE_IN_STABILIZATION=str(args.stabilization), HEARBEART_DEPLOY_DELAY="60",
               LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"))
    env.update(extra_env)  # a scenario's settings win over the defaults above
    can_grow = (await probe(bootstrap)).supports("CreatePartitions")
    partitions = args.partitions or (1 if can_grow else 2)
    await ensure_topics(bootstrap, {source: partitions, target: partitions, observer: 1})
    processes: list[ManagedProcess] = []
    stop_logs, stop_feed, tasks = asyncio.Event(), asyncio.Event(), []
    publisher = None
    try:
        processes.append(ManagedProcess("first", python_module("controller_test_app"),
                                        env=dict(env, INSTANCE_ID=f"{service}-0"),
                                        log_path=state / f"first-{tag}.log").start())
        worker = ManagedProcess("worker", python_module("workers", "worker"), env=dict(env, LOG_LEVEL="INFO"),
                                log_path=state / f"worker-{tag}.log", cwd=REPO).start()
        processes.append(worker)
        print(f"  {label}: service {service}, {source} {partitions} partition(s), worker log "
              f"{state / f'worker-{tag}.log'}", flush=True)
        settings = RuntimeSettings.from_env(dict(env, INSTANCE_ID=f"feeder-{tag}"), service_name=f"feeder-{tag}")
        publisher = Publisher(service=f"feeder-{tag}", topic=source, codec=_Dict(), settings=settings)
        await publisher.start()
        client = await Client.connect(temporal_address)
        run = ServiceRun(service, env, worker, {"rate": 0.0, "ms": args.cost_ms},
                         ObserverLog(bootstrap, observer, service), ControlLog(client, service),
                         LagLog(bootstrap, group, source), partitions)
        tasks = [asyncio.create_task(feed_load(publisher, run.load, stop_feed)),
                 asyncio.create_task(run.observer.run(stop_logs)), asyncio.create_task(run.control.run(stop_logs)),
                 asyncio.create_task(run.lag.run(stop_logs))]
        yield run
    finally:
        stop_feed.set()
        stop_logs.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if publisher is not None:
            await publisher.stop()
        from activities.act.providers.local import LocalProcessProvider

        provider = LocalProcessProvider(state)
        for instance in provider._list(service):
            provider._delete(instance.name)
        for process in reversed(processes):
            process.stop(timeout_s=10)


async def idle_cpu(run: ServiceRun, args: argparse.Namespace) -> tuple[float, int, int]:
    """The worker's CPU, % of one core, over ``--idle`` s with no traffic once the backlog is drained
    and the scale in that follows is over (instances still heartbeating), how many instances
    heartbeat meanwhile, and how many scale
    changes the controller made during the measurement (then it was not idle)."""
    run.load["rate"] = 0.0
    stopped = time.time()
    near_zero = int(run.env.get("BACKLOG_NEAR_ZERO", "10"))
    while time.time() - stopped < 120 and not (run.lag.samples and run.lag.samples[-1][0] > stopped
                                               and run.lag.samples[-1][1] <= near_zero):
        await asyncio.sleep(1)
    await asyncio.sleep(args.refresh * 2)  # let the last evaluations settle
    # and the scale in the stopped traffic brings (after SCALE_IN_STABILIZATION), with its cooldown:
    # the idle figure is of a controller with nothing to do, not of one removing instances
    quiet_s = float(run.env.get("SCALE_IN_COOLDOWN", "60")) + 2 * args.refresh
    deadline = time.time() + args.stabilization + 3 * quiet_s + 60
    while time.time() < deadline:
        await run.control.poll_once()
        live = len(run.control.state.live_instances) if run.control.state else 0
        if live <= int(run.env.get("MIN_INSTANCE", "1")) and not run.control.changes(time.time() - quiet_s):
            break
        await asyncio.sleep(2)
    run.control.paused = True  # the bench's own state queries are work the worker does for the bench
    before, started, since = cpu_seconds(run.worker.pid), time.monotonic(), time.time()
    await asyncio.sleep(args.idle)
    cpu = 100 * (cpu_seconds(run.worker.pid) - before) / (time.monotonic() - started)
    run.control.paused = False
    await run.control.poll_once()
    live = len(run.control.state.live_instances) if run.control.state else 0
    return cpu, live, len(run.control.changes(since))


@dataclass
class StepResult:
    rule: str
    decisions_to_goal: int | None  # scale-out decisions until the backlog-free count (None: never reached)
    reached: int  # most instances any decision went to
    first_decision: float | None  # s after the step
    first_consuming: float | None  # first new instance's first output
    goal_consuming: float | None  # when the backlog-free count all consumed
    drained: float | None
    drained_per_instance: float | None  # lag <= BACKLOG_NEAR_ZERO x the backlog-free count
    peak_lag: int
    holds: str  # the reasons held for between the step and the first scale out
    timeline: list[str]


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}"


async def step_run(args: argparse.Namespace, bootstrap: str, temporal_address: str, state: Path, rule: str,
                   goal: int, measure_idle: bool) -> tuple[StepResult, float | None]:
    capacity = 1000.0 / args.cost_ms
    async with service_under_test(args, bootstrap, temporal_address, state, f"step-{rule.replace('_', '')}",
                                  {"SCALE_OUT_RULE": rule}) as run:
        run.load["rate"] = args.step_from * capacity
        print(f"  {rule}: warming up at {run.load['rate']:g} msg/s for {args.warmup:g} s", flush=True)
        await asyncio.sleep(args.warmup)
        t0 = time.time()
        run.load["rate"] = args.step_to * capacity
        print(f"  {rule}: step to {run.load['rate']:g} msg/s", flush=True)
        near_zero = int(run.env.get("BACKLOG_NEAR_ZERO", "10"))
        deadline = t0 + args.step_timeout
        new = [f"{run.service}-{n}" for n in range(1, goal)]
        while time.time() < deadline:
            await asyncio.sleep(2)
            drained = run.lag.drained_at(t0, near_zero, 4 * near_zero)
            if drained is not None and all(name in run.observer.first_output for name in new):
                break
        await run.control.poll_once()
        outs = [d for d in run.control.changes(t0) if d.action == "scale_out"]
        to_goal, count = None, 0
        for d in outs:
            count += 1
            if d.target_instances >= goal:
                to_goal = count
                break
        firsts = [run.observer.first_output[n] - t0 for n in run.observer.first_output if n != f"{run.service}-0"]
        goal_times = [run.observer.first_output.get(n) for n in new]
        holds = []
        for d in run.control.ordered(t0):
            if d.action != "hold":
                break
            if d.reason not in holds:
                holds.append(d.reason)
        drained = run.lag.drained_at(t0, near_zero, 4 * near_zero)
        per_instance = run.lag.drained_at(t0, near_zero * goal, 4 * near_zero * goal)
        (state / f"lag-{run.service}.csv").write_text("".join(
            f"{at - t0:.1f},{lag},{' '.join(map(str, parts))}\n"
            for (at, lag), parts in zip(run.lag.samples, run.lag.partitions)))
        lags = ", ".join(f"+{at - t0:.0f} s {lag} {parts}" for (at, lag), parts
                         in list(zip(run.lag.samples, run.lag.partitions))[::15] if at >= t0)
        timeline = [f"+{d.at - t0:5.1f} s {d.action} {d.instances}▸{d.target_instances} ({d.reason}; ratio "
                    f"{d.numbers.get('ratio')}, lag {d.numbers.get('lag')}, processing_rate "
                    f"{d.numbers.get('processing_rate')}, needed {d.numbers.get('needed')})" for d in outs]
        timeline += [f"+{e.at - t0:5.1f} s {e.action} {e.instance}: {e.reason}"
                     for key, e in sorted(run.control.events.items()) if e.at >= t0]
        timeline.append(f"lag every 15 s (total [per partition]): {lags}")
        result = StepResult(rule, to_goal, max([d.target_instances for d in outs], default=1),
                            outs[0].at - t0 if outs else None, min(firsts) if firsts else None,
                            (max(goal_times) - t0) if goal_times and None not in goal_times else None,
                            None if drained is None else drained - t0,
                            None if per_instance is None else per_instance - t0, run.lag.peak(t0), ", ".join(holds) or "-",
                            timeline)
        cpu = await idle_cpu(run, args) if measure_idle else None
        return result, cpu


async def step_scenario(args: argparse.Namespace, bootstrap: str, temporal_address: str, state: Path) -> None:
    capacity = 1000.0 / args.cost_ms
    utilization = float(os.environ.get("TARGET_UTILIZATION", "0.8"))
    goal = min(args.max_instance, math.ceil(args.step_to * capacity / (utilization * capacity) - 1e-9))
    results, cpu = [], None  # cpu: (% of one core, instances heartbeating)
    rules = args.rules.split(",")
    for i, rule in enumerate(rules):
        result, idle = await step_run(args, bootstrap, temporal_address, state, rule, goal,
                                      measure_idle=i == len(rules) - 1)
        results.append(result)
        cpu = idle if idle is not None else cpu
        print(f"  {rule} timeline (from the step):", flush=True)
        for line in result.timeline:
            print(f"    {line}", flush=True)
    print(f"\nstep test: {args.step_from:g}× ▸ {args.step_to:g}× one instance's capacity ({capacity:g} msg/s at "
          f"{args.cost_ms:g} ms, WORKER_THREADS=1): {args.step_from * capacity:g} ▸ {args.step_to * capacity:g} msg/s; "
          f"backlog-free count {goal} (at TARGET_UTILIZATION {utilization:g}, MAX_INSTANCE {args.max_instance}); "
          f"refresh {args.refresh:g} s, DEPLOY_DELAY {args.deploy_delay:g} s, {os.cpu_count()} cores")
    print(f"  goals: 1 decision to {goal}; step ▸ new instances consuming <= 10 s")
    near_zero = int(os.environ.get("BACKLOG_NEAR_ZERO", "10"))
    header = (f"  {'rule':<9} {'decisions to ' + str(goal):>15} {'reached':>8} {'step▸decision s':>16} "
              f"{'decision▸1st new consuming s':>29} {'step▸1st new consuming s':>25} "
              f"{'step▸' + str(goal) + ' consuming s':>19} {f'step▸lag<={near_zero} s':>15} "
              f"{f'step▸lag<={near_zero * goal} s':>15} {'peak lag':>9}  held before (reasons)")
    print(header)
    for r in results:
        reacted = (None if r.first_consuming is None or r.first_decision is None
                   else r.first_consuming - r.first_decision)
        print(f"  {r.rule:<9} {('never' if r.decisions_to_goal is None else r.decisions_to_goal):>15} "
              f"{r.reached:>8} {_s(r.first_decision):>16} {_s(reacted):>29} {_s(r.first_consuming):>25} "
              f"{_s(r.goal_consuming):>19} {_s(r.drained):>15} {_s(r.drained_per_instance):>15} {r.peak_lag:>9}  "
              f"{r.holds}")
    if cpu is not None:
        busy = f"; NOT idle: {cpu[2]} scale change(s) during it" if cpu[2] else ""
        print(f"  idle controller CPU after the runs: {cpu[0]:.2f} % of one core, {cpu[1]} instance(s) heartbeating "
              f"every {METRICS_INTERVAL_S} s{busy} (goal <= 1 %)", flush=True)


async def oscillate_scenario(args: argparse.Namespace, bootstrap: str, temporal_address: str, state: Path) -> None:
    capacity = 1000.0 / args.cost_ms
    low, high = args.low * capacity, args.high * capacity
    async with service_under_test(args, bootstrap, temporal_address, state, "oscillate", {}) as run:
        run.load["rate"] = low
        print(f"  warming up at {low:g} msg/s for {args.warmup:g} s", flush=True)
        await asyncio.sleep(args.warmup)
        t0 = time.time()
        for period in range(args.periods):
            print(f"  period {period + 1}: {high:g} msg/s then {low:g} msg/s, {args.period / 2:g} s each", flush=True)
            run.load["rate"] = high
            await asyncio.sleep(args.period / 2)
            run.load["rate"] = low
            await asyncio.sleep(args.period / 2)
        await run.control.poll_once()
        if not any(d.action == "scale_out" for d in run.control.changes(t0)):
            print(f"  no scale out yet: {high:g} msg/s until one (at most 90 s)", flush=True)
            run.load["rate"] = high
            waited = time.time()
            while time.time() - waited < 90 and not any(d.action == "scale_out" for d in run.control.changes(t0)):
                await asyncio.sleep(2)
                await run.control.poll_once()
        down = time.time()
        run.load["rate"] = low
        settle = args.stabilization + float(run.env.get("SCALE_IN_COOLDOWN", "60")) + 6 * args.refresh
        print(f"  step down to {low:g} msg/s at +{down - t0:.0f} s, watching {settle:g} s", flush=True)
        await asyncio.sleep(settle)
        await run.control.poll_once()
        changes = run.control.changes(t0)
        cpu, heartbeating, during = await idle_cpu(run, args)
    window = args.stabilization
    per_window = max([sum(1 for c in changes if d.at <= c.at < d.at + window) for d in changes], default=0)
    print("  scale changes (from the start of the oscillation):")
    for d in changes:
        print(f"    +{d.at - t0:5.1f} s {d.action} {d.instances}▸{d.target_instances} ({d.reason}; ratio "
              f"{d.numbers.get('ratio')}, lag {d.numbers.get('lag')}, keep {d.numbers.get('keep')})")
    for key, e in sorted(run.control.events.items()):
        if e.at >= t0:
            print(f"    +{e.at - t0:5.1f} s {e.action} {e.instance}: {e.reason}")
    verdicts = []
    for i, d in enumerate(changes):
        if d.action != "scale_in":
            continue
        removed_at = d.at
        joins = [at for at, who, _ in run.observer.joins if removed_at <= at <= removed_at + 60]
        settled = (max(joins) if joins else removed_at) + args.refresh
        later = [c for c in changes[i + 1:] if c.action == "scale_out"]
        if not later:
            verdicts.append(f"scale in at +{removed_at - t0:.0f} s: no scale out after it (rebalance done "
                            f"+{settled - args.refresh - removed_at:.1f} s after it)")
        else:
            gap = later[0].at - removed_at
            verdicts.append(f"scale in at +{removed_at - t0:.0f} s: scale out {gap:.1f} s later"
                            f"{' WITHIN the rebalance it triggered' if later[0].at <= settled else ''}")
    flapped = any("WITHIN" in v for v in verdicts)
    print(f"\noscillating load: {low:g} ↔ {high:g} msg/s ({args.low:g}× / {args.high:g}× of {capacity:g} msg/s), "
          f"period {args.period:g} s × {args.periods}, then a step down to {low:g} msg/s at +{down - t0:.0f} s; "
          f"SCALE_IN_STABILIZATION {window:g} s, DEPLOY_DELAY {args.deploy_delay:g} s, refresh {args.refresh:g} s, "
          f"{os.cpu_count()} cores")
    print(f"  {'scale changes':>14} {'most in one ' + format(window, 'g') + ' s window':>24} "
          f"{'scale out right after a scale in':>33} {'idle CPU %':>11}")
    print(f"  {len(changes):>14} {per_window:>24} {('yes' if flapped else 'never'):>33} {cpu:>11.2f}")
    for v in verdicts:
        print(f"  {v}")
    print(f"  idle CPU measured with {heartbeating} instance(s) heartbeating every {METRICS_INTERVAL_S} s"
          f"{f'; NOT idle: {during} scale change(s) during it' if during else ''}")
    print("  goals: <= 1 change per window; never a scale out right after a scale in; idle CPU <= 1 % of one core",
          flush=True)


@contextmanager
def broker_and_temporal(name: str, state: Path) -> Iterator[tuple[str, str]]:
    """The broker ``name`` and a Temporal dev server of its own: (bootstrap, Temporal address)."""
    with brokers.started(name, log_dir=state) as bootstrap:
        port = free_port()
        temporal = temporal_process("127.0.0.1", port, None, state / "temporal.db", state / "temporal.log").start()
        try:
            wait_for_port("127.0.0.1", port, 60, temporal)
            yield bootstrap, f"127.0.0.1:{port}"
        finally:
            temporal.stop(timeout_s=10)


async def run_reaction(args: argparse.Namespace) -> None:
    results: dict[str, tuple[list[float | None], float | None]] = {}
    for name in brokers.requested(args.broker):
        state = Path(tempfile.mkdtemp(prefix=f"siaga-controller-bench-{name}-"))
        with broker_and_temporal(name, state) as (bootstrap, temporal_address):
            reactions, idle = [], None
            for round_ in range(1, args.rounds + 1):
                print(f"{name} round {round_} (logs in {state}):", flush=True)
                seen, cpu = await scenario(args, bootstrap, temporal_address, state,
                                           measure_idle=round_ == args.rounds)
                print(f"  {describe(seen, args.refresh)}", flush=True)
                reactions.append(seen.consuming)
                idle = cpu if cpu is not None else idle
            results[name] = (reactions, idle)
    print(f"\nrefresh {args.refresh:g} s, {args.rate:g} msg/s at {args.cost_ms:g} ms each after t0, "
          f"{os.cpu_count()} cores; targets: reaction <= 15 s (10 s on Apache Kafka), idle CPU <= 2 % of one core")
    print(f"  {'broker':<8} {'reaction s, each round':<28} {'median':>7} {'idle CPU %':>11}")
    for name, (reactions, idle) in results.items():
        found = [r for r in reactions if r is not None]
        each = ", ".join("none" if r is None else f"{r:.1f}" for r in reactions)
        median = f"{statistics.median(found):.1f}" if found else "-"
        idle_text = "-" if idle is None else f"{idle:.2f}"
        print(f"  {name:<8} {each:<28} {median:>7} {idle_text:>11}")


async def run(args: argparse.Namespace) -> None:
    if args.scenario == "reaction":
        await run_reaction(args)
        return
    # the benchmark: Apache Kafka unless told otherwise (the control plane grows its partitions)
    for name in brokers.requested(args.broker or "kafka"):
        state = Path(tempfile.mkdtemp(prefix=f"siaga-controller-bench-{args.scenario}-{name}-"))
        with broker_and_temporal(name, state) as (bootstrap, temporal_address):
            print(f"{name}, {args.scenario} (logs in {state}):", flush=True)
            chosen = step_scenario if args.scenario == "step" else oscillate_scenario
            await chosen(args, bootstrap, temporal_address, state)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=("reaction", "step", "oscillate"), default="reaction",
                        help="reaction: the slowed service (default); step: the step test, count vs plus_one; "
                             "oscillate: oscillating load, then a step down")
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
    step = parser.add_argument_group("step and oscillate")
    step.add_argument("--max-instance", type=int, default=4, help="MAX_INSTANCE")
    step.add_argument("--deploy-delay", type=float, default=20.0, help="DEPLOY_DELAY, seconds")
    step.add_argument("--stabilization", type=float, default=60.0, help="SCALE_IN_STABILIZATION, seconds")
    step.add_argument("--step-from", type=float, default=0.8, help="load before the step, x one instance's capacity")
    step.add_argument("--step-to", type=float, default=3.0, help="load after the step, x one instance's capacity")
    step.add_argument("--step-timeout", type=float, default=300.0,
                      help="seconds after the step to wait for the backlog to drain")
    step.add_argument("--rules", default="count,plus_one", help="SCALE_OUT_RULEs to compare, in turn")
    step.add_argument("--low", type=float, default=0.5, help="oscillation's low load, x capacity")
    step.add_argument("--high", type=float, default=1.6, help="oscillation's high load, x capacity")
    step.add_argument("--period", type=float, default=40.0, help="oscillation period, seconds")
    step.add_argument("--periods", type=int, default=4, help="oscillation periods before the step down")
    brokers.add_argument(parser)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
