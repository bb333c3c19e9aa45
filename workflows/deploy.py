"""One instance's deploy: create it, wait for its first heartbeat, delete it if none comes.

The heartbeat deadline (``HEARBEART_DEPLOY_DELAY``) is a durable timer in this workflow: the
first heartbeat arrives as the ``heartbeat_seen`` signal, which the controller's observer feed sends
the moment it hears the instance, so nothing polls. When the timer fires first, one last look at
the feed's heartbeats (a signal may have been lost while Temporal was away) decides, and the
instance is deleted if it never spoke. Either way the service's workflow hears the outcome by the
``deploy_finished`` signal, which reaches whichever run of it is current.

The instance name is chosen by the service workflow and never changes, so a create retried after
a crash, or replayed, finds the instance it already made instead of making a second one.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.messages import (CREATE_INSTANCE, DELETE_INSTANCE, DELETE_RETRY, DEPLOY_FINISHED, DEPLOY_WORKFLOW,
                                    HEARTBEAT_SEEN, LAST_HEARTBEATS, QUICK_RETRY, DeleteResult, DeployOutcome,
                                    DeployRequest, Heartbeats, HeartbeatSeen, HeartbeatsRequest, InstanceInfo,
                                    scaler_workflow_id)
    from workflows.state import utc_clock

CREATE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                           maximum_interval=timedelta(seconds=20), maximum_attempts=5,
                           non_retryable_error_types=["ProviderRefused"])


@workflow.defn(name=DEPLOY_WORKFLOW)
class DeployInstanceWorkflow:
    def __init__(self) -> None:
        self.phase = "creating"
        self.seen: HeartbeatSeen | None = None

    @workflow.signal(name=HEARTBEAT_SEEN)
    def heartbeat_seen(self, seen: HeartbeatSeen) -> None:
        if self.seen is None:
            self.seen = seen

    @workflow.query
    def status(self) -> str:
        return self.phase

    @workflow.run
    async def run(self, request: DeployRequest) -> DeployOutcome:
        instance = request.instance
        started = workflow.now().timestamp()
        deadline = started + request.heartbeat_deadline_s
        workflow.set_current_details(f"creating **{instance.name}** on {instance.provider}")
        try:
            await workflow.execute_activity(
                CREATE_INSTANCE, instance, result_type=InstanceInfo, retry_policy=CREATE_RETRY,
                start_to_close_timeout=timedelta(minutes=5), heartbeat_timeout=timedelta(seconds=15))
        except ActivityError as err:
            return await self._finish(request, await self._roll_back(request, f"create failed: {_cause(err)}"))

        self.phase = "waiting_for_heartbeat"
        workflow.set_current_details(f"waiting for the first heartbeat of **{instance.name}** until "
                                     f"{utc_clock(deadline)} (HEARBEART_DEPLOY_DELAY {request.heartbeat_deadline_s:.0f} s)")
        remaining = deadline - workflow.now().timestamp()
        try:
            await workflow.wait_condition(lambda: self.seen is not None, timeout=timedelta(seconds=max(remaining, 0.001)),
                                          timeout_summary=f"heartbeat deadline of {instance.name}")
        except asyncio.TimeoutError:
            if not await self._heard_meanwhile(request, started):
                return await self._finish(request, await self._roll_back(
                    request, f"no heartbeat within {request.heartbeat_deadline_s:.0f} s (HEARBEART_DEPLOY_DELAY)"))
        self.phase = "running"
        after = round(workflow.now().timestamp() - started, 3)
        workflow.set_current_details(f"**{instance.name}** heartbeating {after} s after the deploy started")
        workflow.logger.info("%s heartbeating %.1f s after the deploy started", instance.name, after)
        return await self._finish(request, DeployOutcome(instance.name, True, "heartbeating", after))

    async def _heard_meanwhile(self, request: DeployRequest, started: float) -> bool:
        """At the deadline, one look at what the feed heard: its signal may not have reached us."""
        try:
            beats = await workflow.execute_activity(
                LAST_HEARTBEATS, HeartbeatsRequest(request.instance.service), result_type=Heartbeats,
                start_to_close_timeout=timedelta(seconds=30), retry_policy=QUICK_RETRY)
        except ActivityError as err:
            workflow.logger.warning("could not read the heartbeats of %s: %s", request.instance.name, _cause(err))
            return False
        seen = beats.last_seen.get(request.instance.name)
        return seen is not None and seen >= started

    async def _roll_back(self, request: DeployRequest, reason: str) -> DeployOutcome:
        self.phase = "rolling_back"
        workflow.set_current_details(f"rolling back **{request.instance.name}**: {reason}")
        workflow.logger.warning("rolling back %s: %s", request.instance.name, reason)
        result = await workflow.execute_activity(
            DELETE_INSTANCE, request.instance, result_type=DeleteResult, retry_policy=DELETE_RETRY,
            start_to_close_timeout=timedelta(minutes=3), heartbeat_timeout=timedelta(seconds=15))
        self.phase = "rolled_back"
        return DeployOutcome(request.instance.name, False,
                             f"{reason}; instance {'deleted' if result.deleted else 'was already gone'}")

    async def _finish(self, request: DeployRequest, outcome: DeployOutcome) -> DeployOutcome:
        if request.tell_scaler:
            try:
                await workflow.get_external_workflow_handle(scaler_workflow_id(request.instance.service)).signal(
                    DEPLOY_FINISHED, outcome)
            except Exception as err:  # the service's workflow is gone: reconcile adopts or removes the instance
                workflow.logger.warning("could not tell the scaler of %s: %s", request.instance.service, err)
        return outcome


def _cause(err: BaseException) -> str:
    while err.__cause__ is not None:
        err = err.__cause__
    return str(err)
