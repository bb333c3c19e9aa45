"""What the Temporal Schedules start: one short workflow per tick that signals every service.

A schedule can only start new workflows, while each service has one long-lived workflow; so the
tick's activity signal-with-starts ``scaler/<service>`` for every service the apps announced.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.messages import DISPATCH_TICK, TICK_WORKFLOW, TickRequest, TickResult


#: Runs recorded before the dispatch became a local activity take the old path on replay.
LOCAL_DISPATCH = "tick-dispatch-local-activity"


#: Not sandboxed: a schedule starts one run per tick, and building a sandbox for each run was most of
#: the idle controller's CPU; the run is one activity call, with nothing the sandbox guards against.
@workflow.defn(name=TICK_WORKFLOW, sandboxed=False)
class ControlTickWorkflow:
    @workflow.run
    async def run(self, request: TickRequest) -> TickResult:
        retry = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)
        if workflow.patched(LOCAL_DISPATCH):
            # a local activity runs inside the workflow task: one task per tick instead of three
            return await workflow.execute_local_activity(
                DISPATCH_TICK, request, result_type=TickResult, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=retry)
        return await workflow.execute_activity(
            DISPATCH_TICK, request, result_type=TickResult, start_to_close_timeout=timedelta(seconds=30),
            retry_policy=retry)
