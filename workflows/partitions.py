"""One workflow per topic (``partitions/<topic>``) grows its partitions to its consumers.

Started, or signalled if running, with signal-with-start whenever a consumer joins a group on the
topic, so there is never more than one grower per topic: this replaces the thesis's lock server on
``MASTER_HOST:MASTER_PORT``, which had no lease and could stay locked forever.

Growth is one-way and changes which partition a key maps to, so it is capped (``MAX_PARTITIONS``)
and every change is logged. A broker without CreatePartitions (tansu) fails the workflow with a
non-retryable error naming the missing API instead of retrying forever.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.messages import GROW_PARTITIONS, PARTITION_WORKFLOW, PartitionGrowth, PartitionRequest
    from workflows.state import PartitionInput, PartitionState

UNSUPPORTED = "UnsupportedByBroker"
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
                growth = await self._grow(request)
                if not growth.grew:
                    break
                await workflow.sleep(timedelta(seconds=request.sleep_time_s))
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(PartitionInput(self.state.topic, self.state, self.pending))

    async def _grow(self, request: PartitionRequest) -> PartitionGrowth:
        self.state.checks += 1
        try:
            growth = await workflow.execute_activity(
                GROW_PARTITIONS, request, result_type=PartitionGrowth, start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=request.sleep_time_s),
                                         backoff_coefficient=1.0, maximum_attempts=5,
                                         non_retryable_error_types=[UNSUPPORTED]))
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == UNSUPPORTED:
                raise ApplicationError(cause.message, type=UNSUPPORTED, non_retryable=True) from None
            raise
        if growth.grew or growth.capped:
            self.state.growths = (self.state.growths + [growth])[-KEEP_GROWTHS:]
        return growth
