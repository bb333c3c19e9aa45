"""The long-lived workflow of one service (``scaler/<service>``): measure ▸ decide ▸ act.

The evaluate schedule signals it every ``INPUT_OUTPUT_REFRESH_RATE`` seconds and the reconcile
schedule every ``RECONCILE_INTERVAL``; both signals only queue work (a newer one replaces an older
one not yet handled), the main loop does it, one at a time, under one lock.

- **measure**: the evaluate tick reads rates, lag, busy time and partitions (``Measurement``) and
  its signal carries them; one older than a window or than this workflow's last change is taken
  again by the ``measure_service`` activity;
- **decide**: ``workflows.decide.scaling.decide``, a pure function, says how many instances (``Decision``);
- **act**: partitions grow first when the count needs them, then one ``deploy/<instance>`` child
  per missing instance starts at once (each signals ``deploy_finished`` back, so a continue-as-new
  never strands one), or the newest instances it deployed are deleted.

A rise of the input that has not held ``SPIKE_HOLD`` yet is rechecked by a **recheck timer** the
moment it would have (measuring afresh), not at the next tick. After every change a **cooldown
timer** runs in this workflow (``DEPLOY_DELAY`` after a scale out, ``SCALE_IN_COOLDOWN`` after a
scale in): its history shows the timer, and the current details and memo say "cooling down
until …". The instance registry, cooldown and recent decisions live in
one :class:`ScalerState`, which the ``state`` query returns and continue-as-new carries on.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from workflows.decide.scaling import SCALE_IN, SCALE_OUT, Decision, Fleet, Measurement, decide, remember
    from workflows.messages import (CREATE_PARTITIONS, DELETE_INSTANCE, DELETE_RETRY, DEPLOY_WORKFLOW,
                                    LAST_HEARTBEATS, LIST_INSTANCES, MEASURE_SERVICE, QUICK_RETRY, SCALER_WORKFLOW,
                                    UNSUPPORTED_BY_BROKER, DeleteResult, DeployOutcome, DeployRequest, EvaluateRequest, Heartbeats,
                                    HeartbeatsRequest, InstanceList, InstanceRequest, ListInstancesRequest,
                                    ManualDeploy, PartitionGrowth, ReconcileRequest,
                                    deploy_workflow_id)
    from workflows.decide.partitions import GROW, plan_growth
    from workflows.meter import count_partitions, count_scaling
    from workflows.state import (DEPLOYING, KEEP_EVENTS, REMOVING, RUNNING, InstanceRecord, ScaleEvent, ScalerInput,
                                 ScalerState)

SERVICE_KEY = SearchAttributeKey.for_keyword("SiagaService")
INSTANCES_KEY = SearchAttributeKey.for_int("SiagaInstances")
LAST_DECISION_KEY = SearchAttributeKey.for_keyword("SiagaLastDecision")

#: Rechecking a rise short of SPIKE_HOLD by a timer (newer than the recorded histories).
RISE_RECHECK = "rise-recheck"
#: A deploy whose child never reported back (its workflow was terminated) stops counting after this.
DEPLOY_REPORT_GRACE_S = 300.0


@workflow.defn(name=SCALER_WORKFLOW)
class ServiceScalerWorkflow:
    @workflow.init
    def __init__(self, start: ScalerInput) -> None:
        self.state = start.state or ScalerState(service=start.service)
        self.pending_evaluate = start.pending_evaluate
        self.pending_reconcile = start.pending_reconcile
        self.history_limit = start.history_limit
        self.lock = asyncio.Lock()  # guards the state across every await of an action
        self.cooldown: asyncio.Task | None = None
        self.recheck: asyncio.Task | None = None
        self.published: tuple | None = None

    # ── messages ───────────────────────────────────────────────────────────────────────────

    @workflow.signal
    def evaluate(self, request: EvaluateRequest) -> None:
        self.pending_evaluate = request

    @workflow.signal
    def reconcile(self, request: ReconcileRequest) -> None:
        self.pending_reconcile = request

    @workflow.signal
    async def deploy_finished(self, outcome: DeployOutcome) -> None:
        """From ``deploy/<instance>``: its instance heartbeats, or it was rolled back."""
        async with self.lock:
            s = self.state
            now = workflow.now().timestamp()
            record = s.instances.get(outcome.instance)
            if record is None or record.status != DEPLOYING:
                return  # already settled (a repeated signal, or reconcile adopted it)
            if outcome.ok:
                record.status, record.running_since = RUNNING, now
                s.live_instances = sorted(set(s.live_instances) | {outcome.instance})
                s.record(ScaleEvent(now, "deployed", outcome.instance,
                                    f"first heartbeat after {outcome.heartbeat_after_s} s"))
            else:
                s.instances.pop(outcome.instance, None)
                s.record(ScaleEvent(now, "deploy_failed", outcome.instance, outcome.reason), failure=True)
        self._publish()

    @workflow.query(name="state")
    def current_state(self) -> ScalerState:
        return self.state

    @workflow.update
    async def request_deploy(self, request: ManualDeploy) -> str:
        """Deploy one instance now (operators, from the Temporal UI or CLI); returns its name."""
        async with self.lock:
            self._check_manual_deploy()
            now = workflow.now().timestamp()
            counted = self._counted()
            decision = Decision(SCALE_OUT, "manual", request.reason, counted, counted + 1, numbers={}, at=now)
            self.state.remember(decision)
            count_scaling(self.state.service, decision)
            (name,) = await self._start_deploys(decision, 1, request.heartbeat_deploy_delay_s)
        self._publish()
        return name

    @request_deploy.validator
    def _validate_manual_deploy(self, request: ManualDeploy) -> None:
        self._check_manual_deploy()

    def _check_manual_deploy(self) -> None:
        s = self.state
        if s.spec is None or s.policy is None:
            raise ApplicationError("the service has not been evaluated yet: its spec is unknown", non_retryable=True)
        limit = min(s.policy.max_instances, s.spec.max_instances)
        if self._counted() >= limit:
            raise ApplicationError(f"already {self._counted()} of {limit} instances (MAX_INSTANCE)", non_retryable=True)

    # ── the loop ───────────────────────────────────────────────────────────────────────────

    @workflow.run
    async def run(self, start: ScalerInput) -> None:
        s = self.state
        if s.cooldown_until is not None:  # carried over a continue-as-new: the timer goes on
            self._cool_down(s.cooldown_until - workflow.now().timestamp(), s.cooldown_reason)
        while True:
            await workflow.wait_condition(
                lambda: self.pending_evaluate is not None or self.pending_reconcile is not None
                or self._history_is_long())
            if self.pending_reconcile is not None:
                request, self.pending_reconcile = self.pending_reconcile, None
                await self._reconcile(request)
            if self.pending_evaluate is not None:
                request, self.pending_evaluate = self.pending_evaluate, None
                await self._evaluate(request)
            if self._history_is_long():
                # every handler done (an update adding a deploy has recorded it in the state), and
                # nothing awaited in between: the state passed on is the whole truth. Deploys in
                # flight report to the next run by signal.
                await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self.lock.locked())
                self.state.runs += 1
                workflow.continue_as_new(ScalerInput(
                    service=self.state.service, state=self.state, pending_evaluate=self.pending_evaluate,
                    pending_reconcile=self.pending_reconcile, history_limit=self.history_limit))

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > self.history_limit

    # ── measure ▸ decide ▸ act ─────────────────────────────────────────────────────────────

    async def _evaluate(self, request: EvaluateRequest) -> None:
        s = self.state
        s.spec, s.policy = request.spec, request.policy
        s.heartbeat_deploy_delay_s = request.heartbeat_deploy_delay_s
        measured = request.measurement
        if measured is None or not self._fresh(measured, request.window_s):
            try:
                measured = await workflow.execute_activity(
                    MEASURE_SERVICE, request.measure_request(), result_type=Measurement,
                    start_to_close_timeout=timedelta(seconds=30), retry_policy=QUICK_RETRY)
            except ActivityError as err:
                workflow.logger.warning("could not measure %s: %s", s.service, err.cause or err)
                return
        async with self.lock:
            now = workflow.now().timestamp()
            policy = replace(request.policy, max_instances=min(request.policy.max_instances,
                                                               request.spec.max_instances))
            s.live_instances = sorted(set(measured.live_instances) - set(s.gone))
            self._forget_lost_deploys(now)
            live = set(s.live_instances)
            removable = [r for r in s.managed(RUNNING) if r.name in live]
            fleet = Fleet(instances=self._counted(), deploying=len(s.managed(DEPLOYING)), removable=len(removable),
                          cooldown_until=s.cooldown_until, recommendations=list(s.recommendations))
            decision = decide(measured, fleet, policy, now)
            count_scaling(s.service, decision)
            s.recommendations = remember(s.recommendations, decision, policy.stabilization_s)
            previous = s.last_decision
            s.evaluations += 1
            s.remember(decision)
            if previous is None or (previous.action, previous.reason) != (decision.action, decision.reason):
                workflow.logger.info("%s: %s (%s)", s.service, decision.summary(), decision.detail)
            if decision.action == SCALE_OUT:
                await self._scale_out(decision, measured, policy, request)
            elif decision.action == SCALE_IN:
                newest_first = sorted(removable, key=lambda r: (r.requested_at, _number(r.name)), reverse=True)
                for record in newest_first[:decision.instances - decision.target_instances]:
                    await self._remove(record, "removed", decision.detail)
                self._cool_down(policy.scale_in_cooldown_s, "a scale in (SCALE_IN_COOLDOWN)")
            elif decision.recheck_in_s is not None and workflow.patched(RISE_RECHECK):
                self._recheck(decision.recheck_in_s, request)
        self._publish()

    def _recheck(self, seconds: float, request: EvaluateRequest) -> None:
        """A rise of the input is short of SPIKE_HOLD: evaluate again, measuring afresh, the moment it
        would have held that long, instead of at the next tick."""
        if self.recheck is not None and not self.recheck.done():
            self.recheck.cancel()
        self.recheck = asyncio.create_task(self._recheck_timer(seconds, replace(request, measurement=None)))

    async def _recheck_timer(self, seconds: float, request: EvaluateRequest) -> None:
        await workflow.sleep(timedelta(seconds=seconds), summary="recheck whether the rise of the input lasts "
                                                                 "(SPIKE_HOLD)")
        if self.pending_evaluate is None:
            self.pending_evaluate = request

    def _fresh(self, measured: Measurement, window_s: float) -> bool:
        """A measurement the tick took is used while it is newer than one window and than every change
        this workflow made since (a deploy or removal it does not show yet)."""
        s = self.state
        changed = max((e.at for e in s.events), default=0.0)
        return workflow.now().timestamp() - measured.measured_at <= window_s and measured.measured_at >= changed

    async def _scale_out(self, decision: Decision, measured: Measurement, policy, request: EvaluateRequest) -> None:
        target = decision.target_instances
        if decision.target_partitions is not None and measured.partitions is not None:
            grown = await self._grow_partitions(measured.partitions, target, policy.max_partitions,
                                                request.sleep_time_s)
            target = min(target, grown)
        missing = target - decision.instances
        if missing <= 0:
            return
        await self._start_deploys(decision, missing)
        self._cool_down(policy.deploy_delay_s, "a scale out (DEPLOY_DELAY)")

    async def _grow_partitions(self, partitions: int, instances: int, max_partitions: int, sleep_s: float) -> int:
        """Grow the source topic so ``instances`` consumers each get a partition; returns the partitions it has."""
        s = self.state
        plan = plan_growth(s.spec.source_topic, s.spec.consumer_group, partitions, instances, max_partitions)
        count_partitions(plan)
        if plan.action != GROW:
            return plan.partitions_after
        workflow.logger.warning("%s", plan.detail)
        now = workflow.now().timestamp()
        try:
            growth = await workflow.execute_activity(
                CREATE_PARTITIONS, plan, result_type=PartitionGrowth, start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=sleep_s), backoff_coefficient=1.0,
                                         maximum_attempts=5, non_retryable_error_types=[UNSUPPORTED_BY_BROKER]))
        except ActivityError as err:
            s.record(ScaleEvent(now, "partitions_failed", s.spec.source_topic,
                                f"could not grow to {plan.partitions_after}: {err.cause or err}; deploying only "
                                f"up to {partitions} instance(s)"), failure=True)
            return partitions
        s.record(ScaleEvent(workflow.now().timestamp(), "partitions_grown", s.spec.source_topic,
                            f"{growth.partitions_before} ▸ {growth.partitions_after} partitions"))
        return growth.partitions_after

    def _counted(self) -> int:
        """Heartbeating instances plus deploys not heartbeating yet."""
        s = self.state
        return len(set(s.live_instances) | {r.name for r in s.managed(DEPLOYING)})

    def _forget_lost_deploys(self, now: float) -> None:
        """A deploy whose workflow never reported back (terminated by hand) must not block forever."""
        s = self.state
        for record in s.managed(DEPLOYING):
            if now - record.requested_at > s.heartbeat_deploy_delay_s + DEPLOY_REPORT_GRACE_S:
                s.instances.pop(record.name, None)
                s.record(ScaleEvent(now, "deploy_failed", record.name, "its deploy workflow never reported back"),
                         failure=True)

    async def _start_deploys(self, decision: Decision, count: int, heartbeat_deadline_s: float | None = None
                             ) -> list[str]:
        """Start ``count`` deploy workflows at once; their outcomes arrive as ``deploy_finished`` signals."""
        s = self.state
        names = []
        for _ in range(count):
            name = f"{s.service}-{s.next_instance_number}"
            s.next_instance_number += 1
            names.append(name)
            now = workflow.now().timestamp()
            s.instances[name] = InstanceRecord(name, s.spec.cloud_provider, DEPLOYING, now, decision.detail)
            request = DeployRequest(InstanceRequest(name, s.service, s.spec.cloud_provider),
                                    heartbeat_deadline_s or s.heartbeat_deploy_delay_s, decision.detail)
            try:
                await workflow.start_child_workflow(
                    DEPLOY_WORKFLOW, request, id=deploy_workflow_id(name), result_type=DeployOutcome,
                    parent_close_policy=ParentClosePolicy.ABANDON, static_summary=f"deploy {name}")
            except Exception as err:  # e.g. a deploy of that name from a lost registry still runs
                del s.instances[name]
                s.record(ScaleEvent(now, "deploy_failed", name, f"could not start its deploy: {err}"), failure=True)
        return names

    def _cool_down(self, seconds: float, why: str) -> None:
        """Start (or restart) the cooldown timer: the decision holds while it runs."""
        s = self.state
        if self.cooldown is not None and not self.cooldown.done():
            self.cooldown.cancel()
        if seconds <= 0:
            s.cooldown_until, s.cooldown_reason = None, ""
            return
        s.cooldown_until = workflow.now().timestamp() + seconds
        s.cooldown_reason = why
        self.cooldown = asyncio.create_task(self._cooldown_timer(seconds, why))

    async def _cooldown_timer(self, seconds: float, why: str) -> None:
        await workflow.sleep(timedelta(seconds=seconds), summary=f"cooldown after {why}")
        self.state.cooldown_until, self.state.cooldown_reason = None, ""
        self._publish()

    async def _remove(self, record: InstanceRecord, event: str, reason: str, failure: bool = False) -> bool:
        s = self.state
        record.status = REMOVING
        try:
            await workflow.execute_activity(
                DELETE_INSTANCE, InstanceRequest(record.name, s.service, record.provider), result_type=DeleteResult,
                start_to_close_timeout=timedelta(minutes=3), heartbeat_timeout=timedelta(seconds=15),
                retry_policy=DELETE_RETRY)
        except ActivityError as err:
            record.status = RUNNING
            s.record(ScaleEvent(workflow.now().timestamp(), "remove_failed", record.name, str(err.cause or err)),
                     failure=True)
            return False
        s.instances.pop(record.name, None)
        s.live_instances = [n for n in s.live_instances if n != record.name]
        s.gone = (s.gone + [record.name])[-KEEP_EVENTS:]
        s.record(ScaleEvent(workflow.now().timestamp(), event, record.name, reason), failure=failure)
        return True

    # ── registry vs reality ────────────────────────────────────────────────────────────────

    async def _reconcile(self, request: ReconcileRequest) -> None:
        async with self.lock:  # list and apply under one lock: no deploy may land in between
            await self._reconcile_locked(request)
        self._publish()

    async def _reconcile_locked(self, request: ReconcileRequest) -> None:
        s = self.state
        s.spec = s.spec or request.spec
        provider = s.spec.cloud_provider
        try:
            listing = await workflow.execute_activity(
                LIST_INSTANCES, ListInstancesRequest(s.service, provider), result_type=InstanceList,
                start_to_close_timeout=timedelta(seconds=60), retry_policy=QUICK_RETRY)
            beats = await workflow.execute_activity(
                LAST_HEARTBEATS, HeartbeatsRequest(s.service), result_type=Heartbeats,
                start_to_close_timeout=timedelta(seconds=30), retry_policy=QUICK_RETRY)
        except ActivityError as err:
            workflow.logger.warning("could not reconcile %s: %s", s.service, err.cause or err)
            return
        timeout = request.heartbeat_timeout_s
        if beats.now - beats.watching_since < timeout or beats.now - beats.newest > timeout / 2:
            return  # the feed has not watched long enough, or hears no one: the silence may be ours

        def silent_for(name: str) -> float:
            return beats.now - beats.last_seen.get(name, float("-inf"))

        present = {i.name: i for i in listing.instances}
        for record in list(s.managed(RUNNING)):
            if record.name not in present:
                s.instances.pop(record.name, None)
                s.record(ScaleEvent(beats.now, "vanished", record.name, f"{provider} no longer lists it"),
                         failure=True)
            elif silent_for(record.name) > timeout and beats.now - (record.running_since or 0) > timeout:
                await self._remove(record, "dead", f"no heartbeat for more than {timeout:.0f} s", failure=True)
        for name, info in present.items():
            if name in s.instances or name in s.gone:
                continue
            s.next_instance_number = max(s.next_instance_number, _number(name) + 1)
            if silent_for(name) <= timeout:
                s.instances[name] = InstanceRecord(name, provider, RUNNING, info.created_at or beats.now,
                                                   "adopted: running but missing from the registry", beats.now)
                s.record(ScaleEvent(beats.now, "adopted", name, "running and heartbeating"))
            else:
                orphan = InstanceRecord(name, provider, RUNNING, info.created_at or beats.now)
                s.instances[name] = orphan
                await self._remove(orphan, "orphan_deleted", "listed by the provider but never heartbeating",
                                   failure=True)
        s.reconciliations += 1  # counted once applied

    # ── what the Temporal UI shows ─────────────────────────────────────────────────────────

    def _publish(self) -> None:
        s = self.state
        decision = s.last_decision
        summary = decision.summary() if decision else "none yet"
        names = sorted(set(s.live_instances) | set(s.instances))
        waiting = s.waiting_for()
        workflow.set_current_details(
            f"**{s.service}**: {self._counted()} instance(s) {', '.join(names) or '-'}\n\n"
            f"waiting for: **{waiting}**\n\n"
            f"last decision: **{summary}** — {decision.detail if decision else ''}\n\n"
            f"evaluations {s.evaluations}, failures {len(s.failures)}")
        key = (self._counted(), summary, waiting, tuple(names), tuple((r.name, r.status) for r in s.instances.values()))
        if key == self.published:
            return
        self.published = key
        workflow.upsert_search_attributes([SERVICE_KEY.value_set(s.service), INSTANCES_KEY.value_set(self._counted()),
                                           LAST_DECISION_KEY.value_set(summary)])
        workflow.upsert_memo({
            "instances": {n: (s.instances[n].status if n in s.instances else "running (not deployed by the controller)")
                          for n in names},
            "last_decision": summary,
            "waiting_for": waiting,
            "reason": decision.detail if decision else "",
            "numbers": decision.numbers if decision else {},
        })


def _number(name: str) -> int:
    match = re.search(r"-(\d+)$", name)
    return int(match.group(1)) if match else 0
