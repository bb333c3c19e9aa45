"""One workflow per topic (``partitions/<topic>``) grows its partitions to its consumers.

Started, or signalled if running, with signal-with-start whenever a consumer joins a group on the
topic, so there is never more than one grower per topic: this replaces the thesis's lock server on
``MASTER_HOST:MASTER_PORT``, which had no lease and could stay locked forever.

Each check is measure ▸ decide ▸ act: an activity reads the group's members and the topic's
partitions, ``workflows.decide.partitions.decide_partitions`` decides, and only a growth calls the
activity that grows. Growth is one-way and changes which partition a key maps to, so it is capped
(``MAX_PARTITIONS``) and logged with the keys it moves. Two failures end the workflow, non-retryable,
saying why, instead of retrying forever: a broker without CreatePartitions (tansu), and a group
that consumes more than one topic (refused by the decision).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.messages import (CREATE_PARTITIONS, GROUP_SPANS_TOPICS, GROW_PARTITIONS, MEASURE_PARTITIONS,
                                    PARTITION_WORKFLOW, UNSUPPORTED_BY_BROKER, PartitionGrowth, PartitionMeasurement,
                                    PartitionRequest)
    from workflows.decide.partitions import GROW, REFUSE, decide_partitions
    from workflows.meter import count_partitions
    from workflows.state import PartitionInput, PartitionState

#: Runs recorded before the decision moved out of the growing activity take the old path on replay.
DECISION_IN_WORKFLOW = "partition-decision-in-workflow"
#: After a growth, members may still be joining: look again this many times, SLEEP_TIME apart.
RECHECKS = 3
IDLE_CHECKS = 10  # with nothing to do for this many SLEEP_TIMEs the workflow completes
KEEP_GROWTHS = 20


@workflow.defn(name=PARTITION_WORKFLOW)
class PartitionWorkflow:
    @workflow.init
    def __init__(self, start: PartitionInput) -> None:
        self.state = start.state or PartitionState(topic=start.topic)
        self.pending: list[PartitionRequest] = list(start.pending)

    @workflow.signal
    def consumer_joined(self, request: PartitionRequest) -> None:
        # one pending check per group is enough: it reads the group's current size
        self.pending = [p for p in self.pending if p.group_id != request.group_id] + [request]

    @workflow.query(name="state")
    def current_state(self) -> PartitionState:
        return self.state

    @workflow.run
    async def run(self, start: PartitionInput) -> PartitionState:
        sleep_s = start.pending[0].sleep_time_s if start.pending else 3.0
        while True:
            try:
                await workflow.wait_condition(lambda: bool(self.pending), timeout=timedelta(seconds=IDLE_CHECKS * sleep_s))
            except asyncio.TimeoutError:
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self.pending:
                    return self.state
            request = self.pending.pop(0)
            sleep_s = request.sleep_time_s
            for _ in range(RECHECKS):
                if not await self._check(request):
                    break
                await workflow.sleep(timedelta(seconds=request.sleep_time_s))
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(PartitionInput(self.state.topic, self.state, self.pending))

    async def _check(self, request: PartitionRequest) -> bool:
        """Measure ▸ decide ▸ act once; True if the topic grew."""
        self.state.checks += 1
        if not workflow.patched(DECISION_IN_WORKFLOW):
            growth = await self._activity(GROW_PARTITIONS, request, PartitionGrowth, request)
            self._record(growth, growth.grew or growth.capped)
            return growth.grew
        measured = await self._activity(MEASURE_PARTITIONS, request, PartitionMeasurement, request)
        decision = decide_partitions(measured, request.max_partitions)
        count_partitions(decision)
        previous, self.state.last_decision = self.state.last_decision, decision
        if decision.action == REFUSE:
            raise ApplicationError(decision.detail, type=GROUP_SPANS_TOPICS, non_retryable=True)
        if decision.action != GROW:
            if previous is None or previous.reason != decision.reason:
                workflow.logger.info("%s: %s", decision.reason, decision.detail)
            return False
        workflow.logger.warning("%s (%s)", decision.detail, request.reason)
        growth = await self._activity(CREATE_PARTITIONS, decision, PartitionGrowth, request)
        self._record(growth, growth.grew)
        return growth.grew

    async def _activity(self, name: str, argument, result_type, request: PartitionRequest):
        try:
            return await workflow.execute_activity(
                name, argument, result_type=result_type, start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=request.sleep_time_s),
                                         backoff_coefficient=1.0, maximum_attempts=5,
                                         non_retryable_error_types=[UNSUPPORTED_BY_BROKER]))
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type in (UNSUPPORTED_BY_BROKER, GROUP_SPANS_TOPICS):
                raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from None
            raise

    def _record(self, growth: PartitionGrowth, keep: bool) -> None:
        if keep:
            self.state.growths = (self.state.growths + [growth])[-KEEP_GROWTHS:]
