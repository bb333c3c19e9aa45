"""The control plane end to end: real worker process, real Temporal dev server, real tansu, LOCAL instances."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client

from controller_harness import (ServiceUnderTest, Traffic, actions, close_out, start_control_plane,
                                start_first_instance, wait_for_state)

pytestmark = pytest.mark.slow

#: One instance of the test service does 1000 / 100 = 10 messages/s.
SLOW = {"SLOW_DOWN_MS": "100"}


@pytest.fixture
async def temporal(temporal_address) -> Client:
    return await Client.connect(temporal_address)


@pytest.fixture
def sut(kafka_bootstrap, temporal_address, tmp_path) -> ServiceUnderTest:
    return ServiceUnderTest(kafka_bootstrap, temporal_address, tmp_path, extra=dict(SLOW))


async def test_overload_deploys_one_instance_then_low_load_removes_it(sut, temporal):
    """Overload ▸ exactly one deploy, it heartbeats, the ratio recovers, no second deploy in the cooldown;
    then low load for the stabilization window ▸ that instance is removed and the first one stays."""
    first = start_first_instance(sut)
    plane = start_control_plane(sut)
    try:
        async with Traffic(sut) as traffic:
            traffic.rate = 16.0  # 1.6 × what one instance does; two instances do 20/s
            state = await wait_for_state(temporal, sut, lambda s: any(e.action == "deployed" for e in s.events),
                                         90, "a deployed instance to heartbeat", watch=[first, plane])
            deployed = [e for e in state.events if e.action == "deployed"]
            assert len(deployed) == 1
            (scale_out,) = actions(state, "scale_out")
            assert scale_out.reason == "overloaded" and scale_out.numbers["ratio"] < 0.7
            assert scale_out.numbers["instances"] == 1
            assert await sut.managed_instances() == [deployed[0].instance]

            # the ratio recovers with two instances, and whatever happens meanwhile, no third deploy
            state = await wait_for_state(
                temporal, sut, lambda s: s.last_decision.reason == "keeping_up" and
                s.last_decision.numbers["ratio"] >= 0.9, 60, "the ratio to recover", watch=[first, plane])
            assert len(actions(state, "scale_out")) == 1
            assert len(state.instances) == 1
            assert state.last_decision.numbers["instances"] == 2

            traffic.rate = 2.0  # low enough for one instance at 60 %
            state = await wait_for_state(temporal, sut, lambda s: any(e.action == "removed" for e in s.events),
                                         60, "the extra instance to be removed", watch=[first, plane])
            assert [e.instance for e in state.events if e.action == "removed"] == [deployed[0].instance]
            assert await sut.managed_instances() == []
            assert first.alive(), "only instances the controller deployed are removed"
            state = await wait_for_state(temporal, sut, lambda s: s.last_decision.reason == "keeping_up"
                                         and s.last_decision.numbers["instances"] == 1, 30, "one instance left")
            assert len(actions(state, "scale_in")) == 1
            assert len(actions(state, "scale_out")) == 1
    finally:
        await close_out(temporal, sut, [plane, first])
