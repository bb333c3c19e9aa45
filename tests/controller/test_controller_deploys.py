"""Deploys that go wrong, and a control plane that crashes or loses its server, end to end."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from temporalio.client import Client

from activities.act.providers.local import NAME_MARK, STATE_MARK
from controller_harness import (FAST_SETTINGS, ServiceUnderTest, close_out, connect_temporal, start_control_plane,
                                start_first_instance, wait_for_state)
from fogverse.processes import free_port, wait_for_port
from workers.stack import temporal_process
from workflows.messages import SCALER_WORKFLOW, DeployOutcome, ManualDeploy, deploy_workflow_id
from workflows.state import ScalerInput

pytestmark = pytest.mark.slow


@pytest.fixture
async def temporal(temporal_address) -> Client:
    return await connect_temporal(temporal_address)


@pytest.fixture
def sut(kafka_bootstrap, temporal_address, tmp_path) -> ServiceUnderTest:
    return ServiceUnderTest(kafka_bootstrap, temporal_address, tmp_path)


def marked_processes(directory: Path, name: str) -> list[int]:
    """Process-group leaders of LOCAL instance ``name``, straight from /proc (not through the provider)."""
    leaders = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/environ").read_bytes()
            if os.getpgid(int(entry.name)) != int(entry.name):
                continue
        except OSError:
            continue
        env = dict(item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
        if env.get(STATE_MARK.encode()) == str(directory).encode() and env.get(NAME_MARK.encode()) == name.encode():
            leaders.append(int(entry.name))
    return leaders


async def deploy_by_hand(temporal: Client, sut: ServiceUnderTest, reason: str, watch: list):
    """After a first evaluation, one instance through the ``request_deploy`` update:
    (its name, the state once its deploy has heartbeat)."""
    await wait_for_state(temporal, sut, lambda s: s.evaluations >= 1, 60, "a first evaluation", watch=watch)
    name = await temporal.get_workflow_handle(sut.workflow_id).execute_update(
        "request_deploy", ManualDeploy(reason), result_type=str)
    deployed = await wait_for_state(temporal, sut, lambda s: any(e.action == "deployed" for e in s.events), 60,
                                    "the deploy to heartbeat", watch=watch)
    return name, deployed


async def test_instance_that_never_heartbeats_is_rolled_back_within_the_deadline(sut, temporal):
    deadline_s = 5.0
    sut.extra["LOCAL_SERVICE_MODULES"] = f"{sut.service}=controller_silent_app"
    first = start_first_instance(sut)  # the service's own instance announces it; deployed ones stay silent
    plane = start_control_plane(sut)
    try:
        await wait_for_state(temporal, sut, lambda s: s.evaluations >= 1, 60, "a first evaluation",
                             watch=[first, plane])
        handle = temporal.get_workflow_handle(sut.workflow_id)
        started = time.monotonic()
        name = await handle.execute_update("request_deploy", ManualDeploy("test: a silent instance", deadline_s),
                                           result_type=str)
        while not marked_processes(sut.provider().directory, name):
            assert time.monotonic() - started < deadline_s, "the silent instance was never started"
            await asyncio.sleep(0.1)

        outcome = await temporal.get_workflow_handle(deploy_workflow_id(name), result_type=DeployOutcome).result()
        took = time.monotonic() - started
        assert not outcome.ok and "no heartbeat within 5 s" in outcome.reason and "deleted" in outcome.reason
        assert took < deadline_s + 15, f"rolled back {took:.1f} s after the request"
        assert marked_processes(sut.provider().directory, name) == [], "nothing may be left running"
        assert await sut.managed_instances() == []

        state = await wait_for_state(temporal, sut, lambda s: any(e.action == "deploy_failed" for e in s.failures),
                                     20, "the failure to be recorded", watch=[first, plane])
        assert state.instances == {}, "a failed deploy is not counted as an instance"
        assert name in state.failures[-1].instance and "no heartbeat" in state.failures[-1].reason
    finally:
        await close_out(temporal, sut, [plane, first])


async def test_worker_killed_mid_deploy_leaves_exactly_one_instance(sut, temporal):
    sut.extra["SCALE_IN_STABILIZATION"] = "600"  # the idle extra instance must stay for the whole test
    first = start_first_instance(sut)
    plane = start_control_plane(sut)
    try:
        await wait_for_state(temporal, sut, lambda s: s.evaluations >= 1, 60, "a first evaluation",
                             watch=[first, plane])
        handle = temporal.get_workflow_handle(sut.workflow_id)
        name = await handle.execute_update("request_deploy", ManualDeploy("test: deploy, then crash", 60),
                                           result_type=str)
        while not marked_processes(sut.provider().directory, name):  # the instance exists: now crash
            await asyncio.sleep(0.02)
        plane.kill()  # SIGKILL: no shutdown of any kind, with the create just done or still being reported
        deploy = await temporal.get_workflow_handle(deploy_workflow_id(name)).describe()
        assert deploy.status is not None and deploy.close_time is None, "the kill must land before the deploy ends"

        plane = start_control_plane(sut, log_name="worker-restarted")
        outcome = await asyncio.wait_for(
            temporal.get_workflow_handle(deploy_workflow_id(name), result_type=DeployOutcome).result(), 90)
        assert outcome.ok, outcome.reason
        assert [i.name for i in await sut.provider().list(sut.service)] == [name]
        assert len(marked_processes(sut.provider().directory, name)) == 1, "exactly one process for the instance"
        state = await wait_for_state(temporal, sut, lambda s: name in s.instances and
                                     s.instances[name].status == "running", 30, "the registry to show it running",
                                     watch=[first, plane])
        assert list(state.instances) == [name]
        assert state.next_instance_number == 2
    finally:
        await close_out(temporal, sut, [plane, first])


async def test_instance_that_stops_heartbeating_is_reconciled_away(sut, temporal):
    sut.extra["SCALE_IN_STABILIZATION"] = "600"  # only the reconcile may remove it here
    first = start_first_instance(sut)
    plane = start_control_plane(sut)
    try:
        name, _ = await deploy_by_hand(temporal, sut, "test: an instance that will hang", watch=[first, plane])
        (pid,) = marked_processes(sut.provider().directory, name)
        os.killpg(pid, signal.SIGSTOP)  # hung: alive to the provider, silent to the observer topic
        stopped = time.monotonic()
        state = await wait_for_state(temporal, sut, lambda s: any(e.action == "dead" for e in s.events), 60,
                                     "the silent instance to be reconciled away", watch=[first, plane])
        took = time.monotonic() - stopped
        timeout = float(FAST_SETTINGS["HEARTBEAT_TIMEOUT"]) + float(FAST_SETTINGS["RECONCILE_INTERVAL"])
        assert took < timeout + 20, f"took {took:.0f} s"
        assert state.instances == {} and [e.instance for e in state.failures if e.action == "dead"] == [name]
        assert marked_processes(sut.provider().directory, name) == []
        assert await sut.managed_instances() == []
        assert first.alive()
    finally:
        await close_out(temporal, sut, [plane, first])


async def test_services_announced_before_a_restart_are_still_evaluated(sut, temporal):
    """After a restart the feed may not reach back to a service's announcement (a broker that seeks by
    time reads back WINDOW_MAX_SECOND only): the service's own workflow still remembers it."""
    first = start_first_instance(sut)
    plane = start_control_plane(sut)
    try:
        before = await wait_for_state(temporal, sut, lambda s: s.evaluations >= 1, 60, "a first evaluation",
                                      watch=[first, plane])
        plane.stop()
        plane = start_control_plane(sut, log_name="worker-restarted", OBSERVER_TOPIC=f"{sut.observer}-empty")
        after = await wait_for_state(temporal, sut, lambda s: s.evaluations >= before.evaluations + 3, 60,
                                     "evaluations without the announcement", watch=[first, plane])
        assert after.spec == before.spec
    finally:
        await close_out(temporal, sut, [plane, first])


@pytest.fixture
def own_temporal(tmp_path):
    """A Temporal dev server of this test's own, so it can be restarted on the same database file."""
    port = free_port()
    db, log = tmp_path / "temporal.db", tmp_path / "temporal.log"

    class Server:
        address = f"127.0.0.1:{port}"
        process = None

        def start(self):
            self.process = temporal_process("127.0.0.1", port, None, db, log).start()
            wait_for_port("127.0.0.1", port, 60, self.process)

        def stop(self):
            if self.process:
                self.process.stop()

    server = Server()
    server.start()
    yield server
    server.stop()


async def test_service_workflow_keeps_its_state_across_continue_as_new_and_a_temporal_restart(
        kafka_bootstrap, tmp_path, own_temporal):
    sut = ServiceUnderTest(kafka_bootstrap, own_temporal.address, tmp_path, extra={"SCALE_IN_STABILIZATION": "600"})
    temporal = await connect_temporal(own_temporal.address)
    # started ahead of the schedules with a tiny history limit, so it continues as new within seconds
    await temporal.start_workflow(SCALER_WORKFLOW, ScalerInput(service=sut.service, history_limit=80),
                                  id=sut.workflow_id, task_queue=sut.task_queue)
    first = start_first_instance(sut)
    plane = start_control_plane(sut)
    try:
        name, deployed = await deploy_by_hand(temporal, sut, "test: state to survive", watch=[first, plane])
        before = await wait_for_state(temporal, sut, lambda s: s.runs >= deployed.runs + 1, 90,
                                      "a continue-as-new after the deploy", watch=[first, plane])
        assert list(before.instances) == [name], "continue-as-new carries the registry"
        assert before.events[:len(deployed.events)] == deployed.events
        assert before.evaluations > deployed.evaluations

        own_temporal.stop()
        await asyncio.sleep(2)
        own_temporal.start()
        temporal = await connect_temporal(own_temporal.address)

        after = await wait_for_state(temporal, sut, lambda s: s.evaluations >= before.evaluations + 3, 90,
                                     "evaluations to resume", watch=[first, plane])
        assert list(after.instances) == [name] and after.instances[name].status == "running"
        assert after.next_instance_number == before.next_instance_number
        assert after.events[:len(before.events)] == before.events
        assert after.cooldown_until == before.cooldown_until, "the cooldown timer goes on across both"
        assert after.runs >= before.runs
        assert plane.alive(), "the worker rides out the server restart"
    finally:
        await close_out(temporal, sut, [plane, first])


#: As long as the issue's fault test asks: longer than the heartbeat deadline and the relay's retries.
OUTAGE_S = 60


async def test_a_deploy_in_flight_rides_out_temporal_stopped_for_a_minute(kafka_bootstrap, tmp_path, own_temporal):
    """The new instance's first heartbeat arrives while Temporal is down, so the relay's signal is
    lost; when the server returns, the deadline timer (long past due) fires and its last look finds
    the heartbeat: the instance is kept, nothing is deployed twice, and the worker never exits."""
    # the idle extra instance must stay for the whole test
    sut = ServiceUnderTest(kafka_bootstrap, own_temporal.address, tmp_path, extra={"SCALE_IN_STABILIZATION": "600"})
    temporal = await connect_temporal(own_temporal.address)
    first = start_first_instance(sut)
    plane = start_control_plane(sut)
    try:
        await wait_for_state(temporal, sut, lambda s: s.evaluations >= 1, 60, "a first evaluation",
                             watch=[first, plane])
        name = await temporal.get_workflow_handle(sut.workflow_id).execute_update(
            "request_deploy", ManualDeploy("test: deploy across an outage"), result_type=str)
        while not marked_processes(sut.provider().directory, name):  # created: its heartbeats are coming
            await asyncio.sleep(0.02)
        own_temporal.stop()
        stopped = time.monotonic()
        while time.monotonic() - stopped < OUTAGE_S:
            assert plane.alive(), f"the worker exited during the outage:\n{plane.tail(40)}"
            await asyncio.sleep(1)
        own_temporal.start()
        temporal = await connect_temporal(own_temporal.address)

        after = await wait_for_state(temporal, sut, lambda s: any(e.instance == name for e in s.events), 120,
                                     "the deploy to settle", watch=[first, plane])
        settled = [e for e in after.events if e.instance == name]
        assert [e.action for e in settled] == ["deployed"], settled
        assert after.instances[name].status == "running"
        assert len(marked_processes(sut.provider().directory, name)) == 1, "one process of the instance, not two"
        resumed = await wait_for_state(temporal, sut, lambda s: s.evaluations >= after.evaluations + 3, 60,
                                       "evaluations to resume", watch=[first, plane])
        assert [i.name for i in await sut.provider().list(sut.service)] == [name], "no second deploy"
        assert resumed.next_instance_number == after.next_instance_number
    finally:
        await close_out(temporal, sut, [plane, first])
