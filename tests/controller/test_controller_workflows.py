"""The control plane's workflows in-process, against the real Temporal dev server, with fake
activities registered under the real activity names and short durations.

What is real: the server, the workflows, their timers, signals and updates, the relay that turns
what the observer feed hears into signals, and continue-as-new. What is scripted: what the measure
activity reads and what the provider does, so each story is exact and quick.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.relay import FeedRelay
from controller_harness import REPO, connect_temporal
from fogverse.processes import free_port
from workers.settings import ControllerSettings
from workers.worker import sandbox_runner
from workflows import WORKFLOWS
from workflows.decide.scaling import Measurement, ScalingPolicy
from workflows.messages import (CREATE_INSTANCE, CREATE_PARTITIONS, DELETE_INSTANCE, LAST_HEARTBEATS, LIST_INSTANCES,
                                MEASURE_PARTITIONS, MEASURE_SERVICE, DeleteResult, DeployOutcome, EvaluateRequest,
                                Heartbeats, HeartbeatsRequest, InstanceInfo, InstanceList, InstanceRequest,
                                ListInstancesRequest, ManualDeploy, MeasureRequest, PartitionGrowth,
                                PartitionMeasurement, PartitionRequest, ReconcileRequest, ServiceSpec,
                                deploy_workflow_id, scaler_workflow_id)
from workflows.decide.partitions import PartitionDecision
from workflows.state import ScalerInput, ScalerState

STEADY = [20.0, 21.0, 19.0, 20.0, 20.5, 19.5]
#: One instance handles 10 msgs/s; 20 msgs/s in with a backlog: 3 instances at 80 %.
OVERLOADED = Measurement(input_rate=20.0, output_rate=10.0, input_history=STEADY, lag=130,
                         live_instances=["svc-0"], consuming=1, processing_rate=10.0, partitions=4,
                         partitions_growable=True)


@dataclass
class FakeWorld:
    """What the fake activities read and what they were asked to do, in order."""

    measurement: Measurement = OVERLOADED
    create_delay_s: float = 0.0
    list_delay_s: float = 0.0
    listed: list[InstanceInfo] = field(default_factory=list)
    heartbeats: dict[str, float] = field(default_factory=dict)
    partitions: int = 4
    calls: list[tuple[str, str, float]] = field(default_factory=list)  # (activity, argument, when)

    def names(self, activity_name: str) -> list[str]:
        return [arg for name, arg, _ in self.calls if name == activity_name]

    def activities(self) -> list:
        world = self

        @activity.defn(name=MEASURE_SERVICE)
        async def measure_service(request: MeasureRequest) -> Measurement:
            world.calls.append((MEASURE_SERVICE, request.spec.service, time.time()))
            live = sorted(set(world.measurement.live_instances) | set(world.heartbeats))
            return replace(world.measurement, live_instances=live, partitions=world.partitions,
                           measured_at=time.time())

        @activity.defn(name=LAST_HEARTBEATS)
        async def last_heartbeats(request: HeartbeatsRequest) -> Heartbeats:
            now = time.time()
            return Heartbeats(dict(world.heartbeats), now, now - 3600, now)

        @activity.defn(name=CREATE_INSTANCE)
        async def create_instance(request: InstanceRequest) -> InstanceInfo:
            world.calls.append((CREATE_INSTANCE, request.name, time.time()))
            await asyncio.sleep(world.create_delay_s)
            return InstanceInfo(request.name, request.service, request.provider, "running", time.time())

        @activity.defn(name=DELETE_INSTANCE)
        async def delete_instance(request: InstanceRequest) -> DeleteResult:
            world.calls.append((DELETE_INSTANCE, request.name, time.time()))
            world.heartbeats.pop(request.name, None)
            return DeleteResult(request.name, True)

        @activity.defn(name=LIST_INSTANCES)
        async def list_instances(request: ListInstancesRequest) -> InstanceList:
            listed = list(world.listed)  # the provider's answer is taken now ...
            await asyncio.sleep(world.list_delay_s)  # ... and arrives later
            return InstanceList(listed)

        @activity.defn(name=CREATE_PARTITIONS)
        async def create_partitions(decision: PartitionDecision) -> PartitionGrowth:
            world.calls.append((CREATE_PARTITIONS, str(decision.partitions_after), time.time()))
            before, world.partitions = world.partitions, max(world.partitions, decision.partitions_after)
            return PartitionGrowth(decision.topic, decision.group_id, decision.members, before, world.partitions,
                                   decision.capped, time.time())

        @activity.defn(name=MEASURE_PARTITIONS)
        async def measure_partitions(request: PartitionRequest) -> PartitionMeasurement:
            return PartitionMeasurement(request.topic, request.group_id, 1, world.partitions, [request.topic])

        return [measure_service, last_heartbeats, create_instance, delete_instance, list_instances,
                create_partitions, measure_partitions]


@dataclass
class Plane:
    client: Client
    world: FakeWorld
    settings: ControllerSettings
    relay: FeedRelay
    service: str = "svc"

    @property
    def spec(self) -> ServiceSpec:
        return ServiceSpec(self.service, "in", "out", "group", "LOCAL", max_instances=5)

    def handle(self) -> WorkflowHandle:
        return self.client.get_workflow_handle(scaler_workflow_id(self.service))

    async def start(self, history_limit: int = 4000) -> None:
        await self.client.start_workflow("ServiceScaler", ScalerInput(self.service, history_limit=history_limit),
                                         id=scaler_workflow_id(self.service), task_queue=self.settings.task_queue)

    async def evaluate(self, policy: ScalingPolicy, deadline_s: float = 5.0,
                       measurement: Measurement | None = None) -> None:
        await self.handle().signal("evaluate", EvaluateRequest(self.spec, policy, window_s=5, history_s=30,
                                                               heartbeat_timeout_s=30,
                                                               heartbeat_deploy_delay_s=deadline_s, sleep_time_s=0.2,
                                                               measurement=measurement))

    async def state(self) -> ScalerState:
        return await self.handle().query("state", result_type=ScalerState)

    async def wait(self, condition, what: str, timeout_s: float = 20.0) -> ScalerState:
        state = None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = await self.state()
            if condition(state):
                return state
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; state: {state}")

    def heard(self, *names: str) -> None:
        """The observer feed heard these instances: the world's heartbeats and the relay's signal."""
        for name in names:
            self.world.heartbeats[name] = time.time()
            self.relay.instance_seen(self.service, name, time.time())


@pytest.fixture
async def plane(temporal_address):
    client = await connect_temporal(temporal_address)
    settings = ControllerSettings.from_env({"TEMPORAL_TASK_QUEUE": f"wf-{uuid.uuid4().hex[:8]}",
                                            "TEMPORAL_ADDRESS": temporal_address})
    world = FakeWorld()
    relay = FeedRelay(client, settings)
    async with Worker(client, task_queue=settings.task_queue, workflows=WORKFLOWS, activities=world.activities(),
                      workflow_runner=sandbox_runner()):
        p = Plane(client, world, settings, relay, service=f"svc{uuid.uuid4().hex[:6]}")
        p.world.measurement = replace(OVERLOADED, live_instances=[f"{p.service}-0"])
        yield p
        await relay.stop()
        try:
            await p.handle().terminate("test over")
        except Exception:
            pass


POLICY = ScalingPolicy(deploy_delay_s=3.0, max_instances=5, scale_in_cooldown_s=2.0, stabilization_s=0.0)


async def until(condition, what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def current_details(handle: WorkflowHandle) -> str:
    """What the Temporal UI shows as the workflow's current details (the SDK's metadata query)."""
    metadata = await handle.query("__temporal_workflow_metadata")
    return metadata.current_details if hasattr(metadata, "current_details") else metadata["currentDetails"]


async def timers(handle: WorkflowHandle) -> list[tuple[float, str]]:
    """(seconds, summary) of every timer the workflow started."""
    found = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            attrs = event.timer_started_event_attributes
            summary = ""
            if event.user_metadata.HasField("summary"):
                summary = json.loads(event.user_metadata.summary.data)
            found.append((attrs.start_to_fire_timeout.ToTimedelta().total_seconds(), summary))
    return found


async def test_one_decision_deploys_the_whole_count_then_a_cooldown_timer_holds(plane):
    await plane.start()
    await plane.evaluate(POLICY)
    state = await plane.wait(lambda s: len(s.instances) == 2 and s.cooldown_until, "two deploys from one decision")
    assert state.last_decision.target_instances == 3 and state.last_decision.reason == "overloaded"
    await until(lambda: sorted(plane.world.names(CREATE_INSTANCE)) == sorted(state.instances), "both creates")
    assert state.cooldown_until is not None

    plane.heard(*state.instances)
    state = await plane.wait(lambda s: sum(r.status == "running" for r in s.instances.values()) == 2,
                             "both deploys to report their heartbeat")
    assert [e.action for e in state.events].count("deployed") == 2

    await plane.evaluate(POLICY)  # still overloaded, but cooling down
    state = await plane.wait(lambda s: s.evaluations == 2, "a second evaluation")
    assert state.last_decision.reason == "cooldown", state.last_decision
    fired = await timers(plane.handle())
    assert (3.0, "cooldown after a scale out (DEPLOY_DELAY)") in fired, fired

    await plane.wait(lambda s: s.cooldown_until is None, "the cooldown timer to fire", timeout_s=10)
    plane.world.measurement = replace(plane.world.measurement, input_rate=40.0,
                                      input_history=[40.0, 41.0, 39.0, 40.0])
    await plane.evaluate(POLICY)
    state = await plane.wait(lambda s: s.evaluations == 3, "a third evaluation")
    assert state.last_decision.action == "scale_out" and state.last_decision.target_instances == 5


async def test_a_rise_short_of_spike_hold_is_rechecked_by_a_timer_and_deployed_for_without_a_tick(plane):
    """The tick saw the input rise 2 s ago (SPIKE_HOLD 3): a spike for now. A recheck timer fires once
    the rise would have held, the workflow measures afresh, and deploys, with no second signal."""
    def rising(held_s: float) -> Measurement:
        recent = [8.0] * (20 - int(held_s * 4)) + [30.0] * int(held_s * 4)
        return replace(plane.world.measurement, input_rate=sum(recent) / 20, output_rate=10.0,
                       input_history=[8.0] * 20, lag=60, input_recent=recent, recent_step_s=0.25,
                       report_interval_s=1.0, measured_at=time.time())
    plane.world.measurement = rising(3.5)  # what the fresh measure will read
    await plane.start()
    await plane.evaluate(POLICY, measurement=rising(2.0))
    state = await plane.wait(lambda s: s.evaluations == 1, "the first evaluation")
    assert state.last_decision.reason == "input_spike" and state.last_decision.recheck_in_s == 2.0, \
        state.last_decision
    assert plane.world.names(MEASURE_SERVICE) == []
    state = await plane.wait(lambda s: s.evaluations == 2, "the recheck's evaluation", timeout_s=10)
    assert state.last_decision.action == "scale_out", state.last_decision
    assert plane.world.names(MEASURE_SERVICE) == [plane.service], "the recheck measures afresh"
    assert (2.0, "recheck whether the rise of the input lasts (SPIKE_HOLD)") in await timers(plane.handle())


async def test_a_burst_that_fell_back_sets_no_recheck(plane):
    burst = replace(plane.world.measurement, input_rate=20.0, output_rate=10.0, input_history=[8.0] * 20, lag=60,
                    input_recent=[8.0] * 10 + [150.0] * 4 + [8.0] * 6, recent_step_s=0.25, report_interval_s=1.0,
                    measured_at=time.time())
    await plane.start()
    await plane.evaluate(POLICY, measurement=burst)
    state = await plane.wait(lambda s: s.evaluations == 1, "the first evaluation")
    assert state.last_decision.reason == "input_spike" and state.last_decision.recheck_in_s is None
    await asyncio.sleep(3)
    assert (await plane.state()).evaluations == 1 and await timers(plane.handle()) == []


async def test_a_measurement_the_tick_took_is_decided_on_without_measuring_again(plane):
    await plane.start()
    keeping_up = replace(plane.world.measurement, output_rate=20.0, lag=0, measured_at=time.time())
    await plane.evaluate(POLICY, measurement=keeping_up)
    state = await plane.wait(lambda s: s.evaluations == 1, "the first evaluation")
    assert state.last_decision.reason == "keeping_up"
    assert plane.world.names(MEASURE_SERVICE) == []
    # one older than a window is measured again: the activity's (overloaded) figures are decided on
    stale = replace(keeping_up, measured_at=time.time() - 60)
    await plane.evaluate(POLICY, measurement=stale)
    state = await plane.wait(lambda s: s.evaluations == 2, "the second evaluation")
    assert plane.world.names(MEASURE_SERVICE) == [plane.service]
    assert state.last_decision.action == "scale_out"


async def test_a_measurement_taken_before_the_last_change_is_measured_again(plane):
    await plane.start()
    taken = time.time()
    await plane.evaluate(POLICY)  # overloaded: deploys and records events
    await until(lambda: len(plane.world.names(CREATE_INSTANCE)) == 2, "both instances created")
    plane.heard(*plane.world.names(CREATE_INSTANCE))
    await plane.wait(lambda s: any(e.action == "deployed" for e in s.events), "the deploys to report")
    calls = len(plane.world.names(MEASURE_SERVICE))
    # taken before the instances heartbeat: it does not show them, so it is not decided on
    await plane.evaluate(POLICY, measurement=replace(plane.world.measurement, measured_at=taken))
    await plane.wait(lambda s: s.evaluations == 2, "the second evaluation")
    assert len(plane.world.names(MEASURE_SERVICE)) == calls + 1


async def test_the_current_details_say_what_the_workflow_waits_for_and_until_when(plane):
    await plane.start()
    await plane.evaluate(POLICY, deadline_s=30)
    # the cooldown starts once both deploys are started; the details are published with it
    await plane.wait(lambda s: len(s.instances) == 2 and s.cooldown_until is not None, "two deploys and the cooldown")
    details = await current_details(plane.handle())
    assert "first heartbeat of" in details and "cooldown until" in details and "UTC" in details, details
    name = sorted((await plane.state()).instances)[0]
    details = await current_details(plane.client.get_workflow_handle(deploy_workflow_id(name)))
    assert f"waiting for the first heartbeat of **{name}** until" in details, details


async def one_deploy(plane: Plane, deadline_s: float) -> str:
    """One evaluation whose count is one more instance (10/s in, 5/s out, 10/s per instance)."""
    await plane.start()
    plane.world.measurement = replace(plane.world.measurement, input_rate=10.0, input_history=[10.0] * 5,
                                      output_rate=5.0)
    await plane.evaluate(POLICY, deadline_s=deadline_s)
    (name,) = (await plane.wait(lambda s: len(s.instances) == 1, "one deploy")).instances
    return name


async def test_a_deploy_without_a_heartbeat_is_rolled_back_when_its_deadline_timer_fires(plane):
    name = await one_deploy(plane, deadline_s=2.0)
    started = time.monotonic()
    outcome = await plane.client.get_workflow_handle(deploy_workflow_id(name), result_type=DeployOutcome).result()
    assert not outcome.ok and "no heartbeat within 2 s" in outcome.reason and "deleted" in outcome.reason
    assert time.monotonic() - started < 10
    assert plane.world.names(DELETE_INSTANCE) == [name]
    deadline_timers = [(t, s) for t, s in await timers(plane.client.get_workflow_handle(deploy_workflow_id(name)))
                       if s == f"heartbeat deadline of {name}"]
    assert len(deadline_timers) == 1 and 1.0 < deadline_timers[0][0] <= 2.0, deadline_timers
    state = await plane.wait(lambda s: not s.instances, "the failed deploy to leave the registry")
    assert state.failures[-1].action == "deploy_failed" and state.failures[-1].instance == name


async def test_a_heartbeat_just_before_the_deadline_keeps_the_instance(plane):
    name = await one_deploy(plane, deadline_s=3.0)
    requested = (await plane.state()).instances[name].requested_at
    await asyncio.sleep(max(0.0, requested + 2.5 - time.time()))
    plane.heard(name)
    outcome = await plane.client.get_workflow_handle(deploy_workflow_id(name), result_type=DeployOutcome).result()
    assert outcome.ok and 2.0 <= outcome.heartbeat_after_s < 3.0, outcome
    assert plane.world.names(DELETE_INSTANCE) == []
    await plane.wait(lambda s: s.instances[name].status == "running", "the instance to count as running")


async def test_a_heartbeat_whose_signal_was_lost_is_found_at_the_deadline(plane):
    name = await one_deploy(plane, deadline_s=2.0)
    await asyncio.sleep(0.5)
    plane.world.heartbeats[name] = time.time()  # the feed heard it; no signal reached the deploy
    outcome = await plane.client.get_workflow_handle(deploy_workflow_id(name), result_type=DeployOutcome).result()
    assert outcome.ok and outcome.heartbeat_after_s >= 2.0, outcome


async def test_partitions_grow_before_the_deploys_that_need_them(plane):
    plane.world.partitions = 1
    await plane.start()
    await plane.evaluate(POLICY)
    state = await plane.wait(lambda s: len(s.instances) == 2, "two deploys")
    await until(lambda: len(plane.world.names(CREATE_INSTANCE)) == 2, "both creates")
    calls = plane.world.calls
    grown = [when for name, _, when in calls if name == CREATE_PARTITIONS]
    created = [when for name, _, when in calls if name == CREATE_INSTANCE]
    assert plane.world.names(CREATE_PARTITIONS) == ["3"] and grown[0] < min(created), calls
    assert any(e.action == "partitions_grown" and "1 ▸ 3" in e.reason for e in state.events)


async def test_a_broker_that_cannot_grow_caps_the_count_at_the_partitions(plane):
    plane.world.partitions = 2
    plane.world.measurement = replace(plane.world.measurement, partitions_growable=False)
    await plane.start()
    await plane.evaluate(POLICY)
    state = await plane.wait(lambda s: s.evaluations == 1 and s.instances, "a deploy")
    assert len(state.instances) == 1 and plane.world.names(CREATE_PARTITIONS) == []
    assert "2 partition(s), the broker cannot grow them" in state.last_decision.detail


async def test_continue_as_new_while_an_update_adds_a_deploy_strands_nothing(plane):
    plane.world.measurement = replace(plane.world.measurement, input_rate=0.0, output_rate=0.0, lag=0)
    plane.world.create_delay_s = 1.0
    await plane.start(history_limit=30)
    await plane.evaluate(POLICY, deadline_s=20)
    await plane.wait(lambda s: s.evaluations == 1, "a first evaluation")
    update = asyncio.create_task(plane.handle().execute_update("request_deploy", ManualDeploy("test", 20.0),
                                                               result_type=str))
    for _ in range(6):  # push the history past its limit while the update's deploy is under way
        await plane.evaluate(POLICY, deadline_s=20)
        await asyncio.sleep(0.05)
    name = await update
    state = await plane.wait(lambda s: s.runs >= 2, "a continue-as-new")
    assert state.instances[name].status == "deploying"
    plane.heard(name)
    state = await plane.wait(lambda s: s.instances.get(name) is not None and s.instances[name].status == "running",
                             "the deploy to report to the new run")
    assert [e.action for e in state.events].count("deployed") == 1


async def test_reconcile_adopts_a_heartbeating_stranger_and_removes_a_silent_one(plane):
    now = time.time()
    s = plane.service
    plane.world.listed = [InstanceInfo(f"{s}-7", s, "LOCAL", "running", now - 100),
                          InstanceInfo(f"{s}-8", s, "LOCAL", "running", now - 100)]
    plane.world.heartbeats = {f"{s}-7": now}
    await plane.start()
    await plane.handle().signal("reconcile", ReconcileRequest(plane.spec, heartbeat_timeout_s=30))
    state = await plane.wait(lambda s_: s_.reconciliations == 1, "a reconciliation")
    assert state.instances[f"{s}-7"].status == "running"
    assert f"{s}-8" not in state.instances and plane.world.names(DELETE_INSTANCE) == [f"{s}-8"]
    assert {e.action for e in state.events} == {"adopted", "orphan_deleted"}
    assert state.next_instance_number == 9


async def test_a_deploy_that_lands_while_reconcile_lists_is_not_taken_for_vanished(plane):
    """Reconcile lists and applies under one lock: a deploy reporting in while the provider's
    (older) listing is on its way waits, instead of being judged against a list that predates it."""
    plane.world.measurement = replace(plane.world.measurement, input_rate=0.0, output_rate=0.0, lag=0)
    await plane.start()
    await plane.evaluate(POLICY, deadline_s=20)
    await plane.wait(lambda s: s.evaluations == 1, "a first evaluation")
    name = await plane.handle().execute_update("request_deploy", ManualDeploy("test", 20.0), result_type=str)
    await until(lambda: plane.world.names(CREATE_INSTANCE) == [name], "the create")
    plane.world.list_delay_s = 2.0  # the listing, taken before the instance exists, is slow to arrive
    await plane.handle().signal("reconcile", ReconcileRequest(plane.spec, heartbeat_timeout_s=30))
    await asyncio.sleep(0.5)
    plane.heard(name)  # its deploy reports in while the listing is under way
    plane.world.listed = [InstanceInfo(name, plane.service, "LOCAL", "running", time.time())]
    state = await plane.wait(lambda s: s.reconciliations == 1 and s.instances.get(name) is not None
                             and s.instances[name].status == "running", "the reconcile and the deploy to settle")
    assert all(e.action != "vanished" for e in state.events), state.events


async def run_command(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "workers", *args, env=env, cwd=REPO,
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def test_workers_status_shows_each_service_its_instances_and_what_it_waits_for(plane, temporal_address):
    await plane.start()
    await plane.evaluate(POLICY, deadline_s=30)
    await plane.wait(lambda s: len(s.instances) == 2 and s.cooldown_until, "two deploys and a cooldown")
    env = dict(os.environ, TEMPORAL_ADDRESS=temporal_address, TEMPORAL_TASK_QUEUE=plane.settings.task_queue)
    code, out, err = await run_command(env, "status", "--json")  # the worker answering it runs in this loop
    assert code == 0, err
    (status,) = json.loads(out)
    assert status["service"] == plane.service and status["live"] == [f"{plane.service}-0"]
    assert len(status["deploying"]) == 2 and status["partitions"] == 4 and status["processing_rate"] == 10.0
    assert status["decision"] == "scale_out: overloaded" and "cooldown until" in status["waiting_for"]
    code, table, err = await run_command(env, "status")
    assert code == 0 and f"{plane.service}  (scaler/{plane.service}" in table, err
    assert "1 live" in table and "2 deploying" in table and "waiting for  first heartbeat" in table


def test_workers_status_without_temporal_says_where_it_looked_in_one_line():
    env = dict(os.environ, TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")
    done = subprocess.run([sys.executable, "-m", "workers", "status"], env=env, capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "TEMPORAL_ADDRESS" in done.stderr, done.stderr
