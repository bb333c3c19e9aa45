"""``python -m workers``: the control plane's worker and its Temporal Schedules.

Wires the workflows (``workflows/``) to the activities (``activities/``) on one task queue, and
creates the two schedules, or updates them to the current settings if they exist:

- ``<task queue>/evaluate`` every ``INPUT_OUTPUT_REFRESH_RATE`` s: each service is measured,
  decided on and acted upon;
- ``<task queue>/reconcile`` every ``RECONCILE_INTERVAL`` s: registries are matched against the
  providers and heartbeats, and topics short of partitions are grown.

The observer feed records what the apps say; its :class:`~activities.relay.FeedRelay` turns the
two things workflows wait for (a deployed instance's first heartbeat, a consumer joining) into
signals the moment the feed reads them.

With ``CONTROLLER_METRICS_PORT`` set, the Temporal SDK's own Prometheus exporter serves
``/metrics`` there: the SDK's worker and client metrics, and the decisions the workflows count
on its meter (``siaga_scaling_decisions``, README ▸ Metrics).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from datetime import timedelta

from temporalio.client import (Client, Schedule, ScheduleActionStartWorkflow, ScheduleAlreadyRunningError,
                               ScheduleIntervalSpec, ScheduleOverlapPolicy, SchedulePolicy, ScheduleSpec,
                               ScheduleUpdate, ScheduleUpdateInput)
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.control import ControlActivities
from activities.measure.lag import ConsumerLagReader
from activities.measure.observer import ObserverFeed
from activities.act.partitions import PartitionAdmin
from activities.act.providers import Providers
from activities.relay import FeedRelay
from fogverse.kafka_client import BrokerUnreachable, preflight
from fogverse.lifecycle import NeverReached, StartTimeout, sleep_unless
from fogverse.settings import ConfigError, bootstrap_variable
from workers.settings import ControllerSettings
from workers.stack import SEARCH_ATTRIBUTES
from workflows import WORKFLOWS
from workflows.messages import TICK_WORKFLOW, TickRequest

log = logging.getLogger("siaga.controller")


def schedule_ids(settings: ControllerSettings) -> dict[str, str]:
    return {"evaluate": f"{settings.task_queue}/evaluate", "reconcile": f"{settings.task_queue}/reconcile"}


def control_schedules(settings: ControllerSettings) -> dict[str, Schedule]:
    every = {"evaluate": settings.input_output_refresh_rate_s, "reconcile": settings.reconcile_interval_s}
    schedules = {}
    for kind, schedule_id in schedule_ids(settings).items():
        seconds = every[kind]
        schedules[schedule_id] = Schedule(
            action=ScheduleActionStartWorkflow(
                TICK_WORKFLOW, TickRequest(kind), id=f"{settings.task_queue}/tick-{kind}",
                task_queue=settings.task_queue, execution_timeout=timedelta(seconds=max(60.0, 2 * seconds))),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=seconds))]),
            # a tick that is late is useless: skip overlaps and do not replay missed ticks after an outage
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(seconds=10)),
        )
    return schedules


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Register the custom search attributes the workflows upsert (``SiagaService`` …).

    The dev server is started with them; any other Temporal server needs them registered once
    through the operator API, or every upsert fails the workflow task again and again. "Already
    exists" is fine. Returns the names that were added.
    """
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest

    kinds = {"Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT}
    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    missing = {name: kinds[kind] for name, kind in SEARCH_ATTRIBUTES.items() if name not in listed.custom_attributes}
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing))
        except RPCError as exc:
            if exc.status != RPCStatusCode.ALREADY_EXISTS:
                raise
        log.info("registered search attributes %s", ", ".join(sorted(missing)))
    return sorted(missing)


async def ensure_schedules(client: Client, settings: ControllerSettings) -> list[str]:
    """Create the schedules, or bring existing ones to the current settings (idempotent)."""
    for schedule_id, schedule in control_schedules(settings).items():
        try:
            await client.create_schedule(schedule_id, schedule)
            log.info("created schedule %s", schedule_id)
        except ScheduleAlreadyRunningError:
            def replace(_: ScheduleUpdateInput, wanted: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=wanted)

            await client.get_schedule_handle(schedule_id).update(replace)
            log.info("updated schedule %s", schedule_id)
    return list(schedule_ids(settings).values())


async def connect(settings: ControllerSettings, stop: asyncio.Event | None = None,
                  runtime: Runtime | None = None) -> Client | None:
    """Connect, waiting (``SIAGA_START_TIMEOUT``) for a Temporal server that is still starting.

    None: a stop came first. :class:`NeverReached` (one line) when no server answered in time.
    """
    timeout, started, said = StartTimeout.from_env(), time.monotonic(), False
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                        runtime=runtime)
        except RuntimeError as exc:
            if timeout.expired(started):
                raise NeverReached(f"no Temporal server answered at {settings.temporal_address} (TEMPORAL_ADDRESS) "
                                   f"within {timeout.seconds:g} s (SIAGA_START_TIMEOUT): start one "
                                   "(python -m workers stack), or point TEMPORAL_ADDRESS at one") from None
            if not said:  # once: the SDK's error is a screenful of gRPC internals
                log.warning("waiting for Temporal at %s (TEMPORAL_ADDRESS): %s", settings.temporal_address,
                            str(exc).split(":", 1)[0])
                said = True
        await sleep_unless(stop, 1.0)
    return None


def metrics_runtime(settings: ControllerSettings) -> Runtime | None:
    """The SDK runtime that exports its metrics to Prometheus (None: CONTROLLER_METRICS_PORT=0, the default's)."""
    if not settings.metrics_port:
        return None
    address = f"{settings.metrics_host}:{settings.metrics_port}"
    try:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
            bind_address=address, counters_total_suffix=True, durations_as_seconds=True)))
    except Exception as exc:  # the core SDK binds at once: a port in use fails here
        raise ConfigError(f"CONTROLLER_METRICS_PORT={settings.metrics_port}: cannot serve /metrics on {address} "
                          f"({exc})") from None
    log.info("metrics at http://%s/metrics", address)
    return runtime


async def run_control_plane(settings: ControllerSettings, stop: asyncio.Event | None = None) -> None:
    stop = stop or _stop_on_signals()
    runtime = metrics_runtime(settings)  # first: a port in use stops the worker before it waits for anything
    if not await _kafka_preflight(settings.bootstrap_servers, stop):
        return
    client = await connect(settings, stop, runtime)
    if client is None:
        return
    partitions = PartitionAdmin(settings.bootstrap_servers)
    lag = ConsumerLagReader(settings.bootstrap_servers)
    providers = Providers(settings.providers)
    relay = FeedRelay(client, settings)  # what the feed hears that workflows wait for, as signals
    feed = ObserverFeed(settings.bootstrap_servers, settings.observer_topic,
                        keep_s=settings.window_max_second + 2 * settings.input_output_refresh_rate_s, listener=relay)
    async with feed, lag:
        control = ControlActivities(settings, client, feed, lag, providers, partitions)
        worker = Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS, activities=control.all(),
                        graceful_shutdown_timeout=timedelta(seconds=5), workflow_runner=sandbox_runner())
        async with worker:
            await ensure_search_attributes(client, settings.temporal_namespace)
            await ensure_schedules(client, settings)
            log.info("control plane on task queue %s (Temporal %s, observer topic %s)", settings.task_queue,
                     settings.temporal_address, settings.observer_topic)
            await stop.wait()
            log.info("stopping the control plane")
    await relay.stop()


async def _kafka_preflight(bootstrap: str, stop: asyncio.Event) -> bool:
    """Wait (``SIAGA_START_TIMEOUT``) for the broker; False: a stop came first.

    A broker that refuses our security settings stops the worker at start (ConfigError ▸ exit 2);
    one that never answers, too (:class:`NeverReached` ▸ exit 1).
    """
    timeout, started, said = StartTimeout.from_env(), time.monotonic(), False
    while not stop.is_set():
        try:
            await preflight(bootstrap, timeout_s=2.0)
            if said:
                log.info("broker at %s answers", bootstrap)
            return True
        except BrokerUnreachable as exc:
            variable = bootstrap_variable("OBSERVER_CONSUMER_SERVERS")
            if timeout.expired(started):
                raise NeverReached(f"no Kafka broker answered at {bootstrap} ({variable}) within {timeout.seconds:g} s "
                                   f"(SIAGA_START_TIMEOUT): start it, or point {variable} at one") from None
            if not said:
                log.warning("waiting for the broker at %s (%s): %s", bootstrap, variable, exc)
                said = True
        await sleep_unless(stop, 1.0)
    return False


def sandbox_runner() -> SandboxedWorkflowRunner:
    """The sandbox, told that ``workflows.*`` holds no mutable module state.

    Every schedule tick starts a new workflow run, and by default the sandbox re-imports the
    workflow modules for each run: passing them through cuts the idle CPU by about a third.
    """
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows"))


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def main() -> int:
    settings = ControllerSettings.from_env()
    asyncio.run(run_control_plane(settings))
    return 0
