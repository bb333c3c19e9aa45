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
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from temporalio.client import (Client, Schedule, ScheduleActionStartWorkflow, ScheduleAlreadyRunningError,
                               ScheduleIntervalSpec, ScheduleOverlapPolicy, SchedulePolicy, ScheduleSpec,
                               ScheduleUpdate, ScheduleUpdateInput)
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
from fogverse.settings import ControllerSettings
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


async def connect(settings: ControllerSettings, attempts: int = 30) -> Client:
    """Connect, waiting for a Temporal server that is still starting."""
    for attempt in range(1, attempts + 1):
        try:
            return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
        except RuntimeError as exc:
            if attempt == attempts:
                raise
            log.warning("Temporal at %s not reachable yet (%s); retrying", settings.temporal_address, exc)
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


async def run_control_plane(settings: ControllerSettings, stop: asyncio.Event | None = None) -> None:
    stop = stop or _stop_on_signals()
    await _kafka_preflight(settings.bootstrap_servers)
    client = await connect(settings)
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


async def _kafka_preflight(bootstrap: str) -> None:
    """A broker that refuses our security settings stops the worker at start (ConfigError ▸ exit 2)."""
    try:
        await preflight(bootstrap)
    except BrokerUnreachable as exc:
        log.warning("%s; starting anyway (the activities retry)", exc)


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
