"""What the controller's end-to-end tests share: the control plane as a real process, a first
(unmanaged) instance of a test service, steady traffic with real metrics, and ways to look.

Everything runs for real: ``python -m workers worker`` against the session's broker (Apache Kafka)
and Temporal dev server, LOCAL instances as ``python -m controller_test_app`` processes. A test
topic starts with the broker's one partition and grows as instances join, as in production.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from activities.act.providers.local import LocalProcessProvider
from fogverse.processes import ManagedProcess, python_module
from fogverse.publisher import Publisher
from fogverse.settings import RuntimeSettings
from workflows.messages import scaler_workflow_id
from workflows.state import ScalerState

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
HISTORIES = HERE / "histories"

#: Short settings so a whole scaling story fits in well under a minute.
FAST_SETTINGS = {
    "INPUT_OUTPUT_REFRESH_RATE": "2",
    "WINDOW_MAX_SECOND": "60",
    "DEPLOY_DELAY": "40",
    "HEARBEART_DEPLOY_DELAY": "25",
    "SCALE_IN_STABILIZATION": "6",
    "SCALE_IN_COOLDOWN": "5",
    "HEARTBEAT_TIMEOUT": "6",
    "RECONCILE_INTERVAL": "5",
    "SLEEP_TIME": "1",
    "MAX_INSTANCE": "3",
    "MIN_INSTANCE": "1",
    "BACKLOG_NEAR_ZERO": "10",
    "METRICS_INTERVAL": "0.5",
    "BATCH_SIZE": "5",  # a slowed instance must report output every fraction of a second, not once a minute
    "LOG_LEVEL": "INFO",
}


ANALYZER_READY = (REPO / "apps" / "analyzer" / "app.py").exists() and \
    (REPO / "apps" / "analyzer" / "artifacts" / "fast" / "manifest.json").exists()


@dataclass
class ServiceUnderTest:
    """One test service: its names, topics and the environment every process of it shares.

    ``app`` is ``controller_test_app`` (JSON items, ``SLOW_DOWN_MS``) or ``analyzer`` (the real
    ``python -m apps.analyzer`` on Reports, slowed with ``ANALYZER_SLOW_DOWN_MS``, fast model).
    """

    kafka_bootstrap: str
    temporal_address: str
    state_dir: Path
    extra: dict[str, str] = field(default_factory=dict)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    app: str = "controller_test_app"

    @property
    def module(self) -> str:
        return "apps.analyzer" if self.app == "analyzer" else self.app

    def message(self, i: int) -> dict:
        if self.app == "analyzer":
            return {"id": f"m{i}", "text": f"smoke and fire seen near the market, report {i}", "source": "crawler"}
        return {"id": f"m{i}"}

    @property
    def service(self) -> str:
        return f"svc-{self.tag}"

    @property
    def source(self) -> str:
        return f"in-{self.tag}"

    @property
    def target(self) -> str:
        return f"out-{self.tag}"

    @property
    def group(self) -> str:
        return f"grp-{self.tag}"

    @property
    def observer(self) -> str:
        return f"observer-{self.tag}"

    @property
    def task_queue(self) -> str:
        return f"control-{self.tag}"

    @property
    def workflow_id(self) -> str:
        return scaler_workflow_id(self.service)

    def env(self, **overrides: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(FAST_SETTINGS)
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.kafka_bootstrap, TEMPORAL_ADDRESS=self.temporal_address,
            TEMPORAL_TASK_QUEUE=self.task_queue, OBSERVER_TOPIC=self.observer, SIAGA_STATE_DIR=str(self.state_dir),
            LOCAL_SERVICE_MODULES=f"{self.service}={self.module}", TEST_SOURCE_TOPIC=self.source,
            TEST_TARGET_TOPIC=self.target, TEST_GROUP_ID=self.group, SERVICE_NAME=self.service,
            PYTHONPATH=f"{REPO}:{HERE}", PYTHONUNBUFFERED="1", CONTROLLED_SERVICES=self.service)
        if self.app == "analyzer":
            env.update(ANALYZER_CONSUMER_TOPIC=self.source, ANALYZER_PRODUCER_TOPIC=self.target,
                       ANALYZER_CONSUMER_GROUP_ID=self.group, MODEL_MODE="fast", WORKER_THREADS="1")
            if "SLOW_DOWN_MS" in self.extra:
                env["ANALYZER_SLOW_DOWN_MS"] = self.extra["SLOW_DOWN_MS"]
        env.update(self.extra)
        env.update(overrides)
        return env

    def provider(self) -> LocalProcessProvider:
        return LocalProcessProvider(self.state_dir)

    async def managed_instances(self) -> list[str]:
        return [i.name for i in await self.provider().list(self.service)]


def start_control_plane(sut: ServiceUnderTest, log_name: str = "worker", **overrides: str) -> ManagedProcess:
    return ManagedProcess(f"control-plane-{sut.tag}", python_module("workers", "worker"), env=sut.env(**overrides),
                          log_path=sut.state_dir / "logs" / f"{log_name}.log", cwd=REPO).start()


def start_first_instance(sut: ServiceUnderTest, **overrides: str) -> ManagedProcess:
    """The service's first instance, started by hand the way ``make up`` starts it (not by the controller)."""
    env = sut.env(INSTANCE_ID=f"{sut.service}-first", **overrides)
    return ManagedProcess(f"{sut.service}-first", python_module(sut.module), env=env,
                          log_path=sut.state_dir / "logs" / "first-instance.log", cwd=REPO).start()


class Traffic:
    """Messages to the service's source topic at a set rate, reported to the observer like the crawler does."""

    def __init__(self, sut: ServiceUnderTest, message=None):
        settings = RuntimeSettings.from_env(sut.env(INSTANCE_ID=f"feeder-{sut.tag}"), service_name=f"feeder-{sut.tag}")
        self._message = message or sut.message
        self.publisher = Publisher(service=f"feeder-{sut.tag}", topic=sut.source, codec=_DictCodec(),
                                   settings=settings)
        self.rate = 0.0
        self.sent = 0
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> "Traffic":
        await self.publisher.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.publisher.stop()

    async def burst(self, count: int) -> None:
        acks = [await self.publisher.publish_nowait(self._message(self._next())) for _ in range(count)]
        await asyncio.gather(*acks)

    def _next(self) -> int:
        self.sent += 1
        return self.sent

    async def _run(self) -> None:
        due = time.monotonic()
        while True:
            if self.rate <= 0:
                await asyncio.sleep(0.1)
                due = time.monotonic()
                continue
            due += 1.0 / self.rate
            await self.publisher.publish_nowait(self._message(self._next()))
            await asyncio.sleep(max(0.0, due - time.monotonic()))


class _DictCodec:
    def encode(self, value: dict) -> bytes:
        return json.dumps(value).encode()

    def decode(self, raw: bytes) -> dict:
        return json.loads(raw)


async def connect_temporal(address: str, timeout_s: float = 60.0) -> Client:
    """A client, once the dev server's frontend is healthy (its port opens a little before that)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await Client.connect(address)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def scaler_state(client: Client, sut: ServiceUnderTest) -> ScalerState | None:
    try:
        return await client.get_workflow_handle(sut.workflow_id).query("state", result_type=ScalerState)
    except RPCError:
        return None


async def wait_for_state(client: Client, sut: ServiceUnderTest, condition, timeout_s: float, what: str,
                         watch: list[ManagedProcess] = ()) -> ScalerState:
    deadline = time.monotonic() + timeout_s
    state = None
    while time.monotonic() < deadline:
        for process in watch:
            if not process.alive():
                raise AssertionError(f"{process.name} exited while waiting for {what}:\n{process.tail(60)}")
        state = await scaler_state(client, sut)
        if state is not None and condition(state):
            return state
        await asyncio.sleep(0.5)
    summary = None if state is None else {
        "instances": state.instances, "last": state.last_decision, "events": state.events[-5:],
        "decisions": [(d.action, d.reason, d.numbers) for d in state.decisions[-6:]]}
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}; state: {summary}")


def actions(state: ScalerState, action: str) -> list:
    return [d for d in state.decisions if d.action == action]


async def close_out(client: Client, sut: ServiceUnderTest, processes: list[ManagedProcess]) -> None:
    """Stop what the test started: schedules, workflows, processes, LOCAL instances."""
    for schedule in ("evaluate", "reconcile"):
        try:
            await client.get_schedule_handle(f"{sut.task_queue}/{schedule}").delete()
        except RPCError:
            pass
    if os.environ.get("SIAGA_RECORD_HISTORIES"):
        await record_histories(client, sut)
    async for execution in client.list_workflows(f"TaskQueue = '{sut.task_queue}' AND ExecutionStatus = 'Running'"):
        try:
            await client.get_workflow_handle(execution.id, run_id=execution.run_id).terminate("test finished")
        except RPCError:
            pass
    for process in processes:
        process.stop(timeout_s=10)
    provider = sut.provider()
    for instance in await provider.list(sut.service):
        await provider.delete(instance.name)


async def record_histories(client: Client, sut: ServiceUnderTest) -> None:
    """Save this test's workflow histories for the replay test (``SIAGA_RECORD_HISTORIES=1``)."""
    HISTORIES.mkdir(exist_ok=True)
    async for execution in client.list_workflows(f"TaskQueue = '{sut.task_queue}'"):
        if execution.workflow_type == "ControlTick" and any(HISTORIES.glob("ControlTick-*")):
            continue
        history = await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()
        name = f"{execution.workflow_type}-{execution.id.replace('/', '_')}-{execution.run_id[:8]}.json.gz"
        (HISTORIES / name).write_bytes(gzip.compress(history.to_json().encode()))


def is_running(status) -> bool:
    return status == WorkflowExecutionStatus.RUNNING
