"""The control plane's activities: every place a workflow touches the world goes through here.

One object holds what the activities share for the life of the worker (the observer feed, the lag
reader, the providers, the Temporal client for signal-with-start) and exposes each activity as a
method: ``measure_*`` read the world, ``create_*``/``delete_*``/``list_*`` change it, and
``dispatch_tick`` lets the schedules reach every service's workflow (measuring each as it signals
it). Failures a retry cannot fix become non-retryable ``ApplicationError``s with a type the
workflows can tell apart (``UnsupportedByBroker``, ``ProviderRefused``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import Awaitable, TypeVar

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.measure.lag import ConsumerLagReader
from activities.measure.observer import ObserverFeed
from activities.act.partitions import PartitionAdmin
from activities.act.providers import InstanceSpec, ProviderRefused, Providers, instance_env
from activities.relay import check_partitions
from fogverse.broker import UnsupportedByBroker, probe
from fogverse.contracts import ServicePair, check_service_name
from workers.settings import ControllerSettings
from workflows.decide.scaling import Measurement, ScalingPolicy
from workflows.messages import (CREATE_INSTANCE, CREATE_PARTITIONS, DELETE_INSTANCE, DISPATCH_TICK, GROUP_SPANS_TOPICS,
                                GROW_PARTITIONS, LAST_HEARTBEATS, LIST_INSTANCES, MEASURE_PARTITIONS, MEASURE_SERVICE,
                                SCALER_WORKFLOW, UNSUPPORTED_BY_BROKER, DeleteResult, EvaluateRequest, Heartbeats,
                                HeartbeatsRequest, InstanceInfo, InstanceList, InstanceRequest, ListInstancesRequest,
                                MeasureRequest, PartitionGrowth, PartitionMeasurement, PartitionRequest,
                                ReconcileRequest, ServiceSpec, TickRequest, TickResult, scaler_workflow_id)
from workflows.decide.partitions import GROW, HOLD, REFUSE, PartitionDecision, decide_partitions
from workflows.state import ScalerInput, ScalerState

log = logging.getLogger(__name__)

T = TypeVar("T")
CATCH_UP_TIMEOUT_S = 20.0
#: Busy time is also averaged over this many rate windows (one window of a few batches is noisy);
#: the slower of that and the last window counts, so messages that just got expensive are seen at once.
BUSY_WINDOWS = 6
#: The resolution at which the measure tells how long a rise of the input has held (SPIKE_HOLD).
RECENT_STEP_S = 0.25
#: How long a probe's answer (can the broker grow partitions?) is trusted.
PROBE_TTL_S = 60.0


def policy_from(settings: ControllerSettings) -> ScalingPolicy:
    return ScalingPolicy(
        ratio_threshold=settings.input_output_ratio_threshold, z_value=settings.z_value,
        deploy_delay_s=settings.deploy_delay_s, max_instances=settings.max_instance,
        min_instances=settings.min_instance, stabilization_s=settings.scale_in_stabilization_s,
        scale_in_utilization=settings.scale_in_utilization, backlog_near_zero=settings.backlog_near_zero,
        spike_tolerance=settings.spike_tolerance, target_utilization=settings.target_utilization,
        catch_up_s=settings.catch_up_s, scale_in_cooldown_s=settings.scale_in_cooldown_s,
        max_partitions=settings.max_partitions, scale_out_rule=settings.scale_out_rule,
        spike_hold_s=settings.spike_hold_s)


def spec_from(pair: ServicePair, settings: ControllerSettings) -> ServiceSpec:
    """A controlled service's spec: its topics as its instances announce them, but the provider and
    the limits this controller is configured with (``CLOUD_PROVIDER``, ``MAX_INSTANCE``), never those
    an announcement claims."""
    return ServiceSpec(service=pair.service, source_topic=pair.source_topic, target_topic=pair.target_topic,
                       consumer_group=pair.consumer_group, cloud_provider=settings.cloud_provider,
                       max_instances=settings.max_instance)


def _slower(recent: float | None, longer: float | None) -> float | None:
    """The lower of two processing rates (None: unknown): under-estimating costs an instance more,
    over-estimating leaves a backlog growing."""
    known = [rate for rate in (recent, longer) if rate is not None]
    return min(known) if known else None


class ControlActivities:
    def __init__(self, settings: ControllerSettings, client: Client, feed: ObserverFeed, lag: ConsumerLagReader,
                 providers: Providers, partitions: PartitionAdmin):
        self.settings = settings
        self.client = client
        self.feed = feed
        self.lag_reader = lag
        self.providers = providers
        self.partitions = partitions
        self._remembered: dict[str, ServiceSpec] | None = None  # read from the service workflows once
        self._refused: set[tuple[str, str]] = set()  # (service, reason) already logged
        self._growable: tuple[float, bool] | None = None  # (when probed, the broker has CreatePartitions)

    def all(self) -> list:
        return [self.measure_service, self.last_heartbeats, self.create_instance, self.delete_instance,
                self.list_instances, self.measure_partitions, self.create_partitions, self.grow_partitions,
                self.dispatch_tick]

    # ── measure ────────────────────────────────────────────────────────────────────────────

    @activity.defn(name=MEASURE_SERVICE)
    async def measure_service(self, request: MeasureRequest) -> Measurement:
        await self._caught_up()
        return await self._measure(request)

    async def _measure(self, request: MeasureRequest) -> Measurement:
        spec, ledger, now = request.spec, self.feed.ledger, time.time()
        start = now - request.window_s
        lag = await self.lag_reader.read(spec.consumer_group, spec.source_topic)
        outputs = ledger.instance_outputs(spec.target_topic, spec.service, start, now)
        # a dead-lettered input was handled too: without this, poison messages would look like overload
        dead_letters = ledger.rate(spec.source_topic + self.settings.dlq_suffix, start, now, service=spec.service) or 0.0
        live = ledger.live_instances(spec.service, now, request.heartbeat_timeout_s)
        busy_from = now - min(request.history_s, BUSY_WINDOWS * request.window_s)
        recent, report_interval = ledger.recent_rates(spec.source_topic, now, request.window_s, RECENT_STEP_S)
        return Measurement(
            input_rate=ledger.rate(spec.source_topic, start, now) or 0.0,
            output_rate=sum(outputs.values()) + dead_letters,
            input_history=ledger.history(spec.source_topic, now, request.window_s, request.history_s),
            lag=None if lag is None else lag.total, live_instances=live,
            consuming=len([i for i, rate in outputs.items() if rate > 0 and i in live]),
            processing_rate=_slower(ledger.processing_rate(spec.service, start, now),
                                    ledger.processing_rate(spec.service, busy_from, now)),
            partitions=None if lag is None else len(lag.partitions),
            partitions_growable=await self._partitions_growable(), measured_at=now,
            input_recent=[round(rate, 3) for rate in recent], recent_step_s=RECENT_STEP_S,
            report_interval_s=report_interval)

    @activity.defn(name=LAST_HEARTBEATS)
    async def last_heartbeats(self, request: HeartbeatsRequest) -> Heartbeats:
        await self._caught_up()
        ledger = self.feed.ledger
        return Heartbeats(ledger.last_heartbeats(request.service), time.time(), self.feed.watching_since, ledger.newest)

    async def _partitions_growable(self) -> bool:
        now = time.monotonic()
        if self._growable is None or now - self._growable[0] > PROBE_TTL_S:
            try:
                growable = (await probe(self.settings.bootstrap_servers)).supports("CreatePartitions")
            except Exception as exc:
                log.warning("could not ask the broker whether it grows partitions: %r", exc)
                return self._growable[1] if self._growable else False
            self._growable = (now, growable)
        return self._growable[1]

    # ── act ────────────────────────────────────────────────────────────────────────────────

    @activity.defn(name=CREATE_INSTANCE)
    async def create_instance(self, request: InstanceRequest) -> InstanceInfo:
        provider = self._provider(request.provider)
        env = instance_env(self.settings.providers, request.service, request.name, request.provider)
        try:
            info = await self._heartbeating(provider.create(InstanceSpec(request.name, request.service, env)))
        except ProviderRefused as exc:
            raise ApplicationError(str(exc), type="ProviderRefused", non_retryable=True) from None
        log.info("instance %s of %s is %s on %s", request.name, request.service, info.state, request.provider)
        return info

    @activity.defn(name=DELETE_INSTANCE)
    async def delete_instance(self, request: InstanceRequest) -> DeleteResult:
        deleted = await self._heartbeating(self._provider(request.provider).delete(request.name, request.service))
        log.info("instance %s of %s %s", request.name, request.service, "deleted" if deleted else "was already gone")
        return DeleteResult(request.name, deleted)

    @activity.defn(name=LIST_INSTANCES)
    async def list_instances(self, request: ListInstancesRequest) -> InstanceList:
        return InstanceList(await self._heartbeating(self._provider(request.provider).list(request.service)))

    @activity.defn(name=MEASURE_PARTITIONS)
    async def measure_partitions(self, request: PartitionRequest) -> PartitionMeasurement:
        return await self._broker_call(self.partitions.measure(request.topic, request.group_id))

    @activity.defn(name=CREATE_PARTITIONS)
    async def create_partitions(self, decision: PartitionDecision) -> PartitionGrowth:
        return await self._broker_call(self.partitions.grow_to(decision))

    @activity.defn(name=GROW_PARTITIONS)
    async def grow_partitions(self, request: PartitionRequest) -> PartitionGrowth:
        """Measure, decide and grow in one activity: what partition workflows started before the
        decision moved into the workflow (``workflow.patched``) still call."""
        measured = await self.measure_partitions(request)
        decision = decide_partitions(measured, request.max_partitions)
        if decision.action == REFUSE:
            raise ApplicationError(decision.detail, type=GROUP_SPANS_TOPICS, non_retryable=True)
        if decision.action == HOLD:
            return PartitionGrowth(request.topic, request.group_id, measured.members, measured.partitions,
                                   measured.partitions, decision.capped)
        return await self.create_partitions(decision)

    # ── ticks: the schedules' way to reach every service's workflow ─────────────────────────

    @activity.defn(name=DISPATCH_TICK)
    async def dispatch_tick(self, request: TickRequest) -> TickResult:
        await self._caught_up()
        result = TickResult()
        if self._remembered is None:
            self._remembered = await self._specs_of_running_scalers()
        controlled = self.settings.controlled_services
        specs = {name: replace(spec, cloud_provider=self.settings.cloud_provider,
                               max_instances=self.settings.max_instance)
                 for name, spec in self._remembered.items() if "*" in controlled or name in controlled}
        for pair in self.feed.ledger.pairs():  # newest word wins
            spec = self._admitted(pair)
            if spec is not None:
                specs[spec.service] = spec
        outcomes = await asyncio.gather(*(self._dispatch(request, spec, result) for spec in specs.values()),
                                        return_exceptions=True)
        for spec, outcome in zip(specs.values(), outcomes):
            if isinstance(outcome, BaseException):  # one service's trouble never stops the others
                self._refuse(spec.service, f"could not signal its workflow: {outcome!r}")
        return result

    async def _dispatch(self, request: TickRequest, spec: ServiceSpec, result: TickResult) -> None:
        s = self.settings
        if request.kind == "evaluate":
            signal, argument = "evaluate", EvaluateRequest(
                spec, policy_from(s), window_s=s.input_output_refresh_rate_s, history_s=s.window_max_second,
                heartbeat_timeout_s=s.heartbeat_timeout_s, heartbeat_deploy_delay_s=s.heartbeat_deploy_delay_s,
                sleep_time_s=s.sleep_time_s)
            try:  # measured here, the signal carries it: no measure activity per service per tick
                argument.measurement = await self._measure(argument.measure_request())
            except Exception as exc:  # the workflow measures itself (and retries) instead
                log.warning("could not measure %s in the tick: %r", spec.service, exc)
        else:
            signal, argument = "reconcile", ReconcileRequest(spec, s.heartbeat_timeout_s)
        await self.client.start_workflow(
            SCALER_WORKFLOW, ScalerInput(service=spec.service), id=scaler_workflow_id(spec.service),
            task_queue=s.task_queue, start_signal=signal, start_signal_args=[argument])
        result.services.append(spec.service)
        if request.kind == "reconcile" and await self._short_of_partitions(spec):
            await check_partitions(self.client, s, spec.source_topic, spec.consumer_group, "reconcile")
            result.partition_checks.append(spec.source_topic)

    def _admitted(self, pair: ServicePair) -> ServiceSpec | None:
        """The spec of an announced service, or None (logged once) when it is refused."""
        try:
            check_service_name(pair.service)
        except ValueError as exc:
            self._refuse(pair.service[:80], str(exc))
            return None
        controlled = self.settings.controlled_services
        if "*" not in controlled and pair.service not in controlled:
            self._refuse(pair.service, f"not a controlled service (CONTROLLED_SERVICES={','.join(controlled)})")
            return None
        return spec_from(pair, self.settings)  # the provider is ours (checked at start), never the announcement's

    def _refuse(self, service: str, reason: str) -> None:
        if (service, reason) not in self._refused:
            self._refused.add((service, reason))
            log.warning("service %r refused: %s", service, reason)

    async def _specs_of_running_scalers(self) -> dict[str, ServiceSpec]:
        """Services announced before the feed's read-back window, remembered by their own workflows.

        A service announces itself (``ServicePair``) once per instance start; after a worker restart
        that announcement may be older than the window the feed reads back.
        """
        query = (f"WorkflowType = '{SCALER_WORKFLOW}' AND ExecutionStatus = 'Running' "
                 f"AND TaskQueue = '{self.settings.task_queue}'")
        specs: dict[str, ServiceSpec] = {}
        try:
            async for execution in self.client.list_workflows(query):
                state = await self.client.get_workflow_handle(execution.id).query("state", result_type=ScalerState)
                if state.spec is not None:
                    specs[state.spec.service] = state.spec
        except Exception as exc:  # visibility is a convenience here: the feed still announces services
            log.warning("could not list the running service workflows: %r", exc)
        return specs

    async def _short_of_partitions(self, spec: ServiceSpec) -> bool:
        try:
            measured = await self.partitions.measure(spec.source_topic, spec.consumer_group)
        except Exception as exc:
            log.warning("could not compare %s's partitions with %s's members: %r", spec.source_topic,
                        spec.consumer_group, exc)
            return False
        return decide_partitions(measured, self.settings.max_partitions).action == GROW

    # ── helpers ────────────────────────────────────────────────────────────────────────────

    @staticmethod
    async def _broker_call(work: Awaitable[T]) -> T:
        try:
            return await work
        except UnsupportedByBroker as exc:
            raise ApplicationError(str(exc), type=UNSUPPORTED_BY_BROKER, non_retryable=True) from None

    def _provider(self, name: str):
        try:
            return self.providers.get(name)
        except ProviderRefused as exc:
            raise ApplicationError(str(exc), type="ProviderRefused", non_retryable=True) from None

    async def _caught_up(self) -> None:
        if not await self.feed.wait_caught_up(CATCH_UP_TIMEOUT_S):
            raise ApplicationError("the observer feed is still reading back the observer topic")

    @staticmethod
    async def _heartbeating(work: Awaitable[T], every_s: float = 2.0) -> T:
        """Await ``work`` while heartbeating, so a worker that dies mid-way is noticed within the timeout."""
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=every_s)
                if done:
                    return task.result()
                if activity.in_activity():
                    activity.heartbeat()
        finally:
            if not task.done():
                task.cancel()
