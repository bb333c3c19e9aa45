"""The long-lived workflow of one service (``scaler/<service>``): measure ▸ decide ▸ act.

The evaluate schedule signals it every ``INPUT_OUTPUT_REFRESH_RATE`` seconds and the reconcile
schedule every ``RECONCILE_INTERVAL``; both signals only queue work (a newer one replaces an older
one not yet handled), the main loop does it, one at a time. The instance registry, cooldowns and
recent decisions live in one :class:`ScalerState`, which the ``state`` query returns and
continue-as-new carries on. Search attributes and memo keep the Temporal UI's list current.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from workflows.decision import SCALE_IN, SCALE_OUT, Decision, Observation, decide, estimate_capacity
    from workflows.messages import (DELETE_INSTANCE, DEPLOY_WORKFLOW, LAST_HEARTBEATS, LIST_INSTANCES,
                                    MEASURE_SERVICE, SCALER_WORKFLOW, DeleteResult, DeployOutcome, DeployRequest,
                                    EvaluateRequest, Heartbeats, HeartbeatsRequest, InstanceList, InstanceRequest,
                                    ListInstancesRequest, ManualDeploy, MeasureRequest, ReconcileRequest,
                                    ServiceMeasurement, deploy_workflow_id)
    from workflows.state import (DEPLOYING, KEEP_EVENTS, REMOVING, RUNNING, InstanceRecord, ScaleEvent, ScalerInput,
                                 ScalerState)

SERVICE_KEY = SearchAttributeKey.for_keyword("SiagaService")
INSTANCES_KEY = SearchAttributeKey.for_int("SiagaInstances")
LAST_DECISION_KEY = SearchAttributeKey.for_keyword("SiagaLastDecision")

QUICK = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_attempts=3)
DELETE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                           maximum_interval=timedelta(seconds=30), maximum_attempts=10)


@workflow.defn(name=SCALER_WORKFLOW)
class ServiceScalerWorkflow:
    @workflow.init
    def __init__(self, start: ScalerInput) -> None:
        self.state = start.state or ScalerState(service=start.service)
        self.pending_evaluate = start.pending_evaluate
        self.pending_reconcile = start.pending_reconcile
        self.history_limit = start.history_limit
        self.lock = asyncio.Lock()  # guards the state across every await of an action
        self.deploys: dict[str, asyncio.Task] = {}
        self.published: tuple | None = None

    # ── messages ───────────────────────────────────────────────────────────────────────────

    @workflow.signal
    def evaluate(self, request: EvaluateRequest) -> None:
        self.pending_evaluate = request

    @workflow.signal
    def reconcile(self, request: ReconcileRequest) -> None:
        self.pending_reconcile = request

    @workflow.query(name="state")
    def current_state(self) -> ScalerState:
        return self.state

    @workflow.update
    async def request_deploy(self, request: ManualDeploy) -> str:
        """Deploy one instance now (operators, from the Temporal UI or CLI); returns its name."""
        async with self.lock:
            self._check_manual_deploy()
            now = workflow.now().timestamp()
            decision = Decision(SCALE_OUT, "manual", request.reason, {"instances": self._counted()}, None, now)
            self.state.remember(decision)
            name = await self._start_deploy(decision, request.heartbeat_deploy_delay_s)
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
        while True:
            await workflow.wait_condition(
                lambda: self.pending_evaluate is not None or self.pending_reconcile is not None
                or (self._history_is_long() and not self.deploys))
            if self.pending_reconcile is not None:
                request, self.pending_reconcile = self.pending_reconcile, None
                await self._reconcile(request)
            if self.pending_evaluate is not None:
                request, self.pending_evaluate = self.pending_evaluate, None
                await self._evaluate(request)
            if self._history_is_long() and not self.deploys:
                await workflow.wait_condition(workflow.all_handlers_finished)
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
        try:
            measured = await workflow.execute_activity(
                MEASURE_SERVICE, MeasureRequest(request.spec, request.window_s, request.history_s,
                                                request.heartbeat_timeout_s),
                result_type=ServiceMeasurement, start_to_close_timeout=timedelta(seconds=30), retry_policy=QUICK)
        except ActivityError as err:
            workflow.logger.warning("could not measure %s: %s", s.service, err.cause or err)
            return
        async with self.lock:
            now = workflow.now().timestamp()
            policy = replace(request.policy, max_instances=min(request.policy.max_instances,
                                                               request.spec.max_instances))
            s.live_instances = sorted(set(measured.live_instances) - set(s.gone))
            s.capacity_per_instance = estimate_capacity(s.capacity_per_instance, measured.output_rate,
                                                        measured.consuming_instances, measured.lag, policy)
            live = set(s.live_instances)
            removable = [r for r in s.managed(RUNNING) if r.name in live]
            decision = decide(Observation(
                input_rate=measured.input_rate, output_rate=measured.output_rate,
                input_history=measured.input_history, lag=measured.lag, instances=self._counted(),
                deploying=len(s.managed(DEPLOYING)), removable=len(removable),
                capacity_per_instance=s.capacity_per_instance, last_deploy_at=s.last_deploy_at,
                low_load_since=s.low_load_since, consuming=measured.consuming_instances), policy, now)
            previous = s.last_decision
            s.low_load_since = decision.low_load_since
            s.evaluations += 1
            s.remember(decision)
            if previous is None or (previous.action, previous.reason) != (decision.action, decision.reason):
                workflow.logger.info("%s: %s (%s)", s.service, decision.summary(), decision.detail)
            if decision.action == SCALE_OUT:
                await self._start_deploy(decision)
            elif decision.action == SCALE_IN:
                newest = max(removable, key=lambda r: (r.requested_at, _number(r.name)))
                await self._remove(newest, "removed", decision.detail)
        self._publish()

    def _counted(self) -> int:
        """Heartbeating instances plus deploys not heartbeating yet."""
        s = self.state
        return len(set(s.live_instances) | {r.name for r in s.managed(DEPLOYING)})

    async def _start_deploy(self, decision: Decision, heartbeat_deadline_s: float | None = None) -> str:
        s = self.state
        name = f"{s.service}-{s.next_instance_number}"
        s.next_instance_number += 1
        now = workflow.now().timestamp()
        s.instances[name] = InstanceRecord(name, s.spec.cloud_provider, DEPLOYING, now, decision.detail)
        s.last_deploy_at = now
        request = DeployRequest(InstanceRequest(name, s.service, s.spec.cloud_provider, s.spec.machine_type),
                                heartbeat_deadline_s or s.heartbeat_deploy_delay_s, decision.detail)
        try:
            handle = await workflow.start_child_workflow(
                DEPLOY_WORKFLOW, request, id=deploy_workflow_id(name), result_type=DeployOutcome,
                parent_close_policy=ParentClosePolicy.ABANDON)
        except Exception as err:  # e.g. a deploy of that name from a lost registry still runs
            del s.instances[name]
            s.record(ScaleEvent(now, "deploy_failed", name, f"could not start its deploy: {err}"), failure=True)
            return name
        self.deploys[name] = asyncio.create_task(self._follow_deploy(name, handle))
        return name

    async def _follow_deploy(self, name: str, handle) -> None:
        try:
            outcome: DeployOutcome = await handle
        except ChildWorkflowError as err:
            outcome = DeployOutcome(name, False, f"deploy workflow failed: {err.cause or err}")
        async with self.lock:
            s = self.state
            now = workflow.now().timestamp()
            record = s.instances.get(name)
            if outcome.ok and record is not None:
                record.status, record.running_since = RUNNING, now
                s.live_instances = sorted(set(s.live_instances) | {name})
                s.record(ScaleEvent(now, "deployed", name, f"first heartbeat after {outcome.heartbeat_after_s} s"))
            else:
                s.instances.pop(name, None)
                s.record(ScaleEvent(now, "deploy_failed", name, outcome.reason), failure=True)
            self.deploys.pop(name, None)
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
        s = self.state
        s.spec = s.spec or request.spec
        provider = s.spec.cloud_provider
        try:
            listing = await workflow.execute_activity(
                LIST_INSTANCES, ListInstancesRequest(s.service, provider), result_type=InstanceList,
                start_to_close_timeout=timedelta(seconds=60), retry_policy=QUICK)
            beats = await workflow.execute_activity(
                LAST_HEARTBEATS, HeartbeatsRequest(s.service), result_type=Heartbeats,
                start_to_close_timeout=timedelta(seconds=30), retry_policy=QUICK)
        except ActivityError as err:
            workflow.logger.warning("could not reconcile %s: %s", s.service, err.cause or err)
            return
        timeout = request.heartbeat_timeout_s
        if beats.now - beats.watching_since < timeout or beats.now - beats.newest > timeout / 2:
            return  # the feed has not watched long enough, or hears no one: the silence may be ours

        def silent_for(name: str) -> float:
            return beats.now - beats.last_seen.get(name, float("-inf"))

        async with self.lock:
            s.reconciliations += 1
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
        self._publish()

    # ── what the Temporal UI shows ─────────────────────────────────────────────────────────

    def _publish(self) -> None:
        s = self.state
        decision = s.last_decision
        summary = decision.summary() if decision else "none yet"
        names = sorted(set(s.live_instances) | set(s.instances))
        workflow.set_current_details(
            f"**{s.service}**: {self._counted()} instance(s) {', '.join(names) or '-'}\n\n"
            f"last decision: **{summary}** — {decision.detail if decision else ''}\n\n"
            f"evaluations {s.evaluations}, failures {len(s.failures)}")
        key = (self._counted(), summary, tuple(names), tuple((r.name, r.status) for r in s.instances.values()))
        if key == self.published:
            return
        self.published = key
        workflow.upsert_search_attributes([SERVICE_KEY.value_set(s.service), INSTANCES_KEY.value_set(self._counted()),
                                           LAST_DECISION_KEY.value_set(summary)])
        workflow.upsert_memo({
            "instances": {n: (s.instances[n].status if n in s.instances else "running (not deployed by the controller)")
                          for n in names},
            "last_decision": summary,
            "reason": decision.detail if decision else "",
            "numbers": decision.numbers if decision else {},
        })


def _number(name: str) -> int:
    match = re.search(r"-(\d+)$", name)
    return int(match.group(1)) if match else 0
