"""The control plane end to end: real worker process, real Temporal dev server, real Apache Kafka, LOCAL instances."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from activities.act.partitions import PartitionAdmin
from controller_harness import (ANALYZER_READY, FAST_SETTINGS, ServiceUnderTest, Traffic, actions, close_out, connect_temporal,
                                start_control_plane, start_first_instance, wait_for_state)
from workflows.messages import ManualDeploy, partition_workflow_id

pytestmark = pytest.mark.slow

#: One instance of the test service does 1000 / 100 = 10 messages/s.
SLOW = {"SLOW_DOWN_MS": "100"}


@pytest.fixture
async def temporal(temporal_address) -> Client:
    return await connect_temporal(temporal_address)


@pytest.fixture
def sut(kafka_bootstrap, temporal_address, tmp_path) -> ServiceUnderTest:
    return ServiceUnderTest(kafka_bootstrap, temporal_address, tmp_path, extra=dict(SLOW))


async def test_overload_deploys_the_count_at_once_then_low_load_removes_them(kafka_bootstrap, temporal_address,
                                                                             tmp_path, temporal):
    """The analyzer slowed to 10 messages/s and fed 16/s ▸ one decision deploys the count its busy
    time says carries 16/s plus the backlog, the topic grows to that count first, every deploy
    heartbeats, the ratio recovers, no further deploy in the cooldown; then low load for the
    stabilization window ▸ the deployed instances are removed and the first one stays."""
    sut = ServiceUnderTest(kafka_bootstrap, temporal_address, tmp_path, extra=dict(SLOW),
                           app="analyzer" if ANALYZER_READY else "controller_test_app")
    first = start_first_instance(sut)
    plane = start_control_plane(sut)
    try:
        async with Traffic(sut) as traffic:
            traffic.rate = 16.0  # 1.6 × what one instance does
            state = await wait_for_state(temporal, sut, lambda s: actions(s, "scale_out")
                                         and not s.managed("deploying") and s.managed("running"),
                                         90, "the deploys of a scale out to heartbeat", watch=[first, plane])
            (scale_out,) = actions(state, "scale_out")
            target = scale_out.target_instances
            assert scale_out.reason == "overloaded" and scale_out.numbers["ratio"] < 0.7
            assert scale_out.numbers["instances"] == 1 and scale_out.numbers["processing_rate"] is not None
            # 16/s at 80 % of about 10/s each is 2; the backlog may make it 3 (MAX_INSTANCE)
            assert 2 <= target <= 3, scale_out.detail
            deployed = [e.instance for e in state.events if e.action == "deployed"]
            assert len(deployed) == target - 1, "one decision deploys the whole count"
            assert sorted(await sut.managed_instances()) == sorted(deployed)
            assert any(e.action == "partitions_grown" and f"1 ▸ {target}" in e.reason for e in state.events), \
                "the topic grows before the deploys, so each newcomer has a partition"

            # what the Temporal UI shows: search attributes to filter on, memo with the reason
            described = await temporal.get_workflow_handle(sut.workflow_id).describe()
            attributes = {key.name: value for key, value in
                          ((p.key, p.value) for p in described.typed_search_attributes)}
            assert attributes["SiagaService"] == sut.service
            assert attributes["SiagaLastDecision"] in ("scale_out: overloaded", "hold: cooldown",
                                                       "hold: deploy_in_progress", "hold: keeping_up",
                                                       "hold: no_backlog", "hold: enough_instances")
            memo = await described.memo()
            assert deployed[0] in memo["instances"] and memo["reason"] and "cooldown until" in memo["waiting_for"]
            for _ in range(50):  # visibility is eventually consistent
                found = [w.id async for w in temporal.list_workflows(f"SiagaService = '{sut.service}'")]
                if found:
                    break
                await asyncio.sleep(0.2)
            assert found == [sut.workflow_id]

            # the ratio recovers, and whatever happens meanwhile, no further deploy
            # (every instance gets work once the group has rebalanced over the grown partitions)
            state = await wait_for_state(
                temporal, sut, lambda s: s.last_decision.reason == "keeping_up" and
                s.last_decision.numbers["ratio"] >= 0.9 and s.last_decision.numbers["consuming"] == target, 60,
                "the ratio to recover with every instance consuming", watch=[first, plane])
            assert state.next_instance_number == target, "only the one decision's deploys were ever started"
            assert state.last_decision.numbers["instances"] == target
            assert (await PartitionAdmin(kafka_bootstrap).measure(sut.source, sut.group)).partitions == target

            traffic.rate = 2.0  # low enough for one instance at 60 %
            state = await wait_for_state(temporal, sut, lambda s: not s.managed() and
                                         any(e.action == "removed" for e in s.events),
                                         90, "the extra instances to be removed", watch=[first, plane])
            assert sorted(e.instance for e in state.events if e.action == "removed") == sorted(deployed)
            assert await sut.managed_instances() == []
            assert first.alive(), "only instances the controller deployed are removed"
            state = await wait_for_state(temporal, sut, lambda s: s.last_decision.reason == "keeping_up"
                                         and s.last_decision.numbers["instances"] == 1, 30, "one instance left")
            assert {e.action for e in state.events} == {"deployed", "removed", "partitions_grown"}
            assert state.next_instance_number == target, "no deploy after the scale in"
    finally:
        await close_out(temporal, sut, [plane, first])


async def test_spike_and_stopped_traffic_do_not_deploy(sut, temporal):
    """A short burst far above a steady input is a spike: no deploy while the backlog drains. Then the
    traffic stops: 0/0 is no traffic, not a low ratio, so still no deploy."""
    first = start_first_instance(sut)
    plane = start_control_plane(sut)
    try:
        async with Traffic(sut) as traffic:
            traffic.rate = 3.0
            await wait_for_state(temporal, sut, lambda s: s.last_decision is not None
                                 and s.last_decision.reason == "keeping_up"
                                 and s.last_decision.numbers["history_windows"] >= 8, 60,
                                 "steady traffic with some history", watch=[first, plane])
            await traffic.burst(150)  # 15 s of work for the one instance, arriving at once
            state = await wait_for_state(temporal, sut, lambda s: any(d.reason == "input_spike" for d in s.decisions),
                                         20, "the burst to be judged a spike", watch=[first, plane])
            spike = next(d for d in state.decisions if d.reason == "input_spike")
            assert spike.numbers["ratio"] < 0.7 and spike.numbers["lag"] > 10, \
                "the burst must look like overload for this test to mean anything"
            state = await wait_for_state(temporal, sut, lambda s: s.last_decision.numbers["lag"] is not None
                                         and s.last_decision.numbers["lag"] <= 10, 60, "the backlog to drain",
                                         watch=[first, plane])
            assert state.next_instance_number == 1, f"a deploy was started: {state.events}"

            traffic.rate = 0.0
            seen = state.evaluations
            state = await wait_for_state(temporal, sut, lambda s: s.evaluations >= seen + 5
                                         and all(d.reason == "no_traffic" for d in s.decisions[-3:]), 40,
                                         "evaluations without traffic", watch=[first, plane])
            assert state.next_instance_number == 1, f"a deploy was started: {state.events}"
            assert await sut.managed_instances() == []
    finally:
        await close_out(temporal, sut, [plane, first])


async def test_low_load_removes_one_instance_at_a_time_never_below_the_minimum(sut, temporal):
    """Three instances, no traffic, MIN_INSTANCE=2: after the stabilization window the newest deployed
    instance goes; the other deployed one stays, however long the load stays low."""
    first = start_first_instance(sut, SLOW_DOWN_MS="0")
    plane = start_control_plane(sut, MIN_INSTANCE="2")
    try:
        await wait_for_state(temporal, sut, lambda s: s.evaluations >= 1, 60, "a first evaluation",
                             watch=[first, plane])
        handle = temporal.get_workflow_handle(sut.workflow_id)
        names = [await handle.execute_update("request_deploy", ManualDeploy("test: two extra instances"),
                                             result_type=str) for _ in range(2)]
        state = await wait_for_state(temporal, sut, lambda s: sum(e.action == "deployed" for e in s.events) == 2,
                                     60, "both deploys to heartbeat", watch=[first, plane])
        assert sorted(await sut.managed_instances()) == sorted(names)
        # consumers joining make the controller check the topic's partitions (signal-with-start)
        partitions = None
        for _ in range(60):
            try:
                partitions = await temporal.get_workflow_handle(partition_workflow_id(sut.source)).describe()
                break
            except RPCError:  # the deployed instances may still be joining their group
                await asyncio.sleep(0.5)
        assert partitions is not None and partitions.workflow_type == "PartitionGrowth"

        state = await wait_for_state(temporal, sut, lambda s: any(e.action == "removed" for e in s.events), 60,
                                     "an instance to be removed", watch=[first, plane])
        removed_at = next(e.at for e in state.events if e.action == "removed")
        assert [e.instance for e in state.events if e.action == "removed"] == [names[1]], "the newest goes first"

        # keep watching for three more stabilization windows: the minimum holds
        stabilization = float(FAST_SETTINGS["SCALE_IN_STABILIZATION"])
        state = await wait_for_state(temporal, sut, lambda s: s.last_decision.at > removed_at + 3 * stabilization,
                                     60, "three more stabilization windows", watch=[first, plane])
        assert [e.instance for e in state.events if e.action == "removed"] == [names[1]]
        assert list(state.instances) == [names[0]]
        assert await sut.managed_instances() == [names[0]]
        assert state.last_decision.numbers["instances"] == 2
    finally:
        await close_out(temporal, sut, [plane, first])
