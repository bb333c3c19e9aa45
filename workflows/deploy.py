"""One instance's deploy: create it, wait for its first heartbeat, delete it if none comes.

The instance name is chosen by the service workflow and never changes, so a create retried after
a crash, or replayed, finds the instance it already made instead of making a second one.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.messages import (AWAIT_FIRST_HEARTBEAT, CREATE_INSTANCE, DELETE_INSTANCE, DEPLOY_WORKFLOW,
                                    DeleteResult, DeployOutcome, DeployRequest, HeartbeatSeen, HeartbeatWait,
                                    InstanceInfo)

#: The heartbeat wait runs as short activities, so a worker that dies mid-wait is noticed quickly.
HEARTBEAT_POLL_S = 10.0

CREATE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                           maximum_interval=timedelta(seconds=20), maximum_attempts=5,
                           non_retryable_error_types=["ProviderRefused"])
DELETE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                           maximum_interval=timedelta(seconds=30), maximum_attempts=10)


@workflow.defn(name=DEPLOY_WORKFLOW)
class DeployInstanceWorkflow:
    def __init__(self) -> None:
        self.phase = "creating"

    @workflow.query
    def status(self) -> str:
        return self.phase

    @workflow.run
    async def run(self, request: DeployRequest) -> DeployOutcome:
        instance = request.instance
        started = workflow.now().timestamp()
        try:
            await workflow.execute_activity(
                CREATE_INSTANCE, instance, result_type=InstanceInfo, retry_policy=CREATE_RETRY,
                start_to_close_timeout=timedelta(minutes=5), heartbeat_timeout=timedelta(seconds=15))
        except ActivityError as err:
            return await self._roll_back(request, f"create failed: {_cause(err)}")

        self.phase = "waiting_for_heartbeat"
        deadline = started + request.heartbeat_deadline_s
        while (remaining := deadline - workflow.now().timestamp()) > 0:
            wait = min(remaining, HEARTBEAT_POLL_S)
            try:
                seen = await workflow.execute_activity(
                    AWAIT_FIRST_HEARTBEAT, HeartbeatWait(instance.service, instance.name, wait),
                    result_type=HeartbeatSeen, start_to_close_timeout=timedelta(seconds=wait + 10),
                    schedule_to_close_timeout=timedelta(seconds=remaining + 30), heartbeat_timeout=timedelta(seconds=5),
                    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=1.0))
            except ActivityError as err:  # the deadline still rules: keep waiting until it passes
                workflow.logger.warning("heartbeat wait for %s failed: %s", instance.name, _cause(err))
                continue
            if seen.seen:
                self.phase = "running"
                after = workflow.now().timestamp() - started
                workflow.logger.info("%s heartbeating %.1f s after the deploy started", instance.name, after)
                return DeployOutcome(instance.name, True, "heartbeating", round(after, 3))
        return await self._roll_back(request, f"no heartbeat within {request.heartbeat_deadline_s:.0f} s "
                                              "(HEARBEART_DEPLOY_DELAY)")

    async def _roll_back(self, request: DeployRequest, reason: str) -> DeployOutcome:
        self.phase = "rolling_back"
        workflow.logger.warning("rolling back %s: %s", request.instance.name, reason)
        result = await workflow.execute_activity(
            DELETE_INSTANCE, request.instance, result_type=DeleteResult, retry_policy=DELETE_RETRY,
            start_to_close_timeout=timedelta(minutes=3), heartbeat_timeout=timedelta(seconds=15))
        self.phase = "rolled_back"
        return DeployOutcome(request.instance.name, False,
                             f"{reason}; instance {'deleted' if result.deleted else 'was already gone'}")


def _cause(err: BaseException) -> str:
    while err.__cause__ is not None:
        err = err.__cause__
    return str(err)
