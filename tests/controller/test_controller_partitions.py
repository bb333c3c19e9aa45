"""Partition growth on the real brokers: the partition workflow, started by signal-with-start the way the
controller does it, with its real activities against Apache Kafka (the session broker) and tansu (which has
no CreatePartitions); and the whole story with real app processes deployed by the controller."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.control import ControlActivities
from activities.act.partitions import PartitionAdmin
from activities.relay import check_partitions
from controller_harness import (ServiceUnderTest, Traffic, close_out, connect_temporal, start_control_plane,
                                start_first_instance, wait_for_state)
from fogverse.broker import ensure_topics
from fogverse.contracts import ConsumerJoined, parse_observer_message
from workers.settings import ControllerSettings
from workflows.messages import ManualDeploy, PartitionRequest, partition_workflow_id
from workflows.partitions import PartitionWorkflow
from workflows.state import PartitionState


def settings_for(bootstrap: str, **extra: str) -> ControllerSettings:
    return ControllerSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "SLEEP_TIME": "0.5",
                                        "TEMPORAL_TASK_QUEUE": f"partitions-{uuid.uuid4().hex[:8]}", **extra})


@asynccontextmanager
async def partition_worker(temporal_address: str, settings: ControllerSettings):
    """The partition workflow and its real activities, in-process, on a task queue of its own."""
    client = await connect_temporal(temporal_address)
    control = ControlActivities(settings, client, feed=None, lag=None, providers=None,
                                partitions=PartitionAdmin(settings.bootstrap_servers))
    worker = Worker(client, task_queue=settings.task_queue, workflows=[PartitionWorkflow],
                    activities=[control.measure_partitions, control.create_partitions, control.grow_partitions])
    async with worker:
        yield client, control


async def partition_state(client, topic: str, condition, timeout_s: float = 30, what: str = "") -> PartitionState:
    handle = client.get_workflow_handle(partition_workflow_id(topic))
    state = None
    for _ in range(int(timeout_s * 5)):
        state = await handle.query("state", result_type=PartitionState)
        if condition(state):
            return state
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or 'the partition workflow'}; state {state}")


async def partitions_of(bootstrap: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return len(described["partitions"])
    finally:
        await admin.close()


@asynccontextmanager
async def group_members(bootstrap: str, group: str, count: int, *topics: str):
    """``count`` plain consumers in ``group`` on ``topics``, returned once the group has them all."""
    consumers = [AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=group, heartbeat_interval_ms=300)
                 for _ in range(count)]
    admin = PartitionAdmin(bootstrap)
    try:
        for consumer in consumers:
            await consumer.start()
        for _ in range(120):  # on tansu each member takes a few seconds to join
            await asyncio.gather(*(c.getmany(timeout_ms=100) for c in consumers))
            if (await admin.measure(topics[0], group)).members == count:
                break
        assert (await admin.measure(topics[0], group)).members == count
        yield consumers
    finally:
        for consumer in consumers:
            await consumer.stop()


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_partitions_grow_to_the_group_size_stop_at_the_cap_and_never_shrink(apache_kafka, temporal_address):
    topic, group = fresh("grow"), fresh("grp")
    await ensure_topics(apache_kafka, {topic: 1})
    settings = settings_for(apache_kafka, MAX_PARTITIONS="3")
    async with partition_worker(temporal_address, settings) as (client, control):
        async with group_members(apache_kafka, group, 2, topic):
            await check_partitions(client, control.settings, topic, group, "second member joined")
            state = await partition_state(client, topic, lambda s: len(s.growths) == 1, what="a first growth")
            assert (state.growths[0].partitions_before, state.growths[0].partitions_after) == (1, 2)
            assert not state.growths[0].capped and state.growths[0].at > 0
            assert state.last_decision.remapping.summary() == "50% of keys change partition (p0 ▸ p0 p1)"
            assert await partitions_of(apache_kafka, topic) == 2

        async with group_members(apache_kafka, group, 4, topic):
            await check_partitions(client, control.settings, topic, group, "four members")
            # a new run if the last one went idle meanwhile: each run keeps the growths it made
            state = await partition_state(client, topic, lambda s: any(g.partitions_after == 3 for g in s.growths),
                                          what="a capped growth")
            growth = next(g for g in state.growths if g.partitions_after == 3)
            assert (growth.partitions_before, growth.capped) == (2, True)
            assert await partitions_of(apache_kafka, topic) == 3, "never past MAX_PARTITIONS"
            # it looks again after a growth: still four members, so it holds, saying one stays idle
            state = await partition_state(client, topic, lambda s: s.last_decision.reason == "at_max_partitions",
                                          what="the check after the growth")
            assert "1 member(s) stay idle" in state.last_decision.detail

        async with group_members(apache_kafka, group, 1, topic):  # growth is one-way: fewer members shrink nothing
            await check_partitions(client, control.settings, topic, group, "members left")
            state = await partition_state(client, topic, lambda s: s.last_decision.members == 1,
                                          what="a check with one member")
            assert state.last_decision.reason == "enough_partitions"
            assert await partitions_of(apache_kafka, topic) == 3
        await client.get_workflow_handle(partition_workflow_id(topic)).terminate("test done")


async def test_the_one_activity_growth_of_runs_started_before_the_split_still_grows(apache_kafka):
    """Partition workflows recorded before the decision moved into the workflow call ``grow_partitions``,
    which measures, decides and grows in one; a worker must still serve them."""
    topic, group = fresh("grow"), fresh("grp")
    await ensure_topics(apache_kafka, {topic: 1})
    control = ControlActivities(settings_for(apache_kafka), None, feed=None, lag=None, providers=None,
                                partitions=PartitionAdmin(apache_kafka))
    async with group_members(apache_kafka, group, 2, topic):
        growth = await control.grow_partitions(PartitionRequest(topic, group, 12, 0.5, "second member joined"))
        assert (growth.members, growth.partitions_before, growth.partitions_after) == (2, 1, 2)
        again = await control.grow_partitions(PartitionRequest(topic, group, 12, 0.5, "checked again"))
        assert (again.partitions_before, again.partitions_after, again.grew) == (2, 2, False)
    assert await partitions_of(apache_kafka, topic) == 2


async def test_a_group_on_two_topics_is_refused_saying_why(apache_kafka, temporal_address):
    """The thesis's limitation: one consumer group per topic. A group that also consumes another topic
    fails the workflow, non-retryable, naming the topics, and nothing grows."""
    topic, other, group = fresh("grow"), fresh("other"), fresh("grp")
    await ensure_topics(apache_kafka, {topic: 1, other: 1})
    async with partition_worker(temporal_address, settings_for(apache_kafka)) as (client, control):
        async with group_members(apache_kafka, group, 2, topic, other):
            await check_partitions(client, control.settings, topic, group, "second member joined")
            with pytest.raises(WorkflowFailureError) as failed:
                await asyncio.wait_for(client.get_workflow_handle(partition_workflow_id(topic)).result(), 30)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "GroupSpansTopics" and cause.non_retryable
    assert f"consumer group {group} consumes 2 topics ({', '.join(sorted([topic, other]))})" in cause.message
    assert "one group per topic" in cause.message
    assert await partitions_of(apache_kafka, topic) == 1


async def test_enough_partitions_need_no_create_partitions_even_on_a_broker_without_it(tansu_bootstrap,
                                                                                     temporal_address):
    """Measuring works on any broker: tansu, which cannot grow, is fine while nothing needs to."""
    topic, group = fresh("enough"), fresh("grp")
    await ensure_topics(tansu_bootstrap, {topic: 4})
    async with partition_worker(temporal_address, settings_for(tansu_bootstrap)) as (client, control):
        async with group_members(tansu_bootstrap, group, 2, topic):
            await check_partitions(client, control.settings, topic, group, "second member joined")
            state = await partition_state(client, topic, lambda s: s.last_decision is not None, what="a check")
            assert state.growths == [] and state.last_decision.reason == "enough_partitions"
            await client.get_workflow_handle(partition_workflow_id(topic)).terminate("test done")


async def test_partition_growth_fails_naming_the_missing_api_on_a_broker_without_it(tansu_bootstrap,
                                                                                    temporal_address):
    topic, group = fresh("grow"), fresh("grp")
    await ensure_topics(tansu_bootstrap, {topic: 1})
    async with partition_worker(temporal_address, settings_for(tansu_bootstrap)) as (client, control):
        async with group_members(tansu_bootstrap, group, 2, topic):
            await check_partitions(client, control.settings, topic, group, "second member joined")
            with pytest.raises(WorkflowFailureError) as failed:
                await asyncio.wait_for(client.get_workflow_handle(partition_workflow_id(topic)).result(), 30)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "UnsupportedByBroker"
    assert cause.non_retryable
    assert "CreatePartitions (Kafka API key 37)" in cause.message


# ── the whole story: real instances join one by one ───────────────────────────────────────


@dataclass
class GroupWatch:
    """Reads the observer and output topics as they are written: each instance's assignments and outputs."""

    sut: ServiceUnderTest
    joins: dict[str, list[tuple[float, int]]] = field(default_factory=dict)  # instance ▸ [(when, partitions)]
    first_output: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, int] = field(default_factory=dict)

    async def __aenter__(self) -> "GroupWatch":
        self._consumer = AIOKafkaConsumer(self.sut.observer, self.sut.target, bootstrap_servers=self.sut.kafka_bootstrap,
                                          group_id=None, auto_offset_reset="earliest", metadata_max_age_ms=1000)
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    def assigned(self, instance: str) -> int:
        """Partitions in the instance's latest assignment."""
        return self.joins[instance][-1][1] if self.joins.get(instance) else 0

    def busy_since(self, instance: str, since: float) -> float | None:
        """When the instance announced an assignment with a partition, at or after ``since``."""
        return next((at for at, partitions in self.joins.get(instance, []) if partitions and at >= since), None)

    def all_busy_since(self, instances, since: float) -> float | None:
        """When every one of ``instances`` had been given a partition after ``since``, if they all hold one now."""
        times = [self.busy_since(name, since) for name in instances]
        if any(t is None for t in times) or not all(self.assigned(name) for name in instances):
            return None
        return max(times)

    def timeline(self, instance: str, asked_at: float, grown_at: float | None, all_busy_at: float | None) -> str:
        joins = self.joins.get(instance, [])

        def since(at: float | None) -> str:
            return "     -" if at is None else f"{at - asked_at:6.1f}"

        return (f"{instance:<22} join {since(joins[0][0] if joins else None)}  growth {since(grown_at)}  "
                f"assigned {since(self.busy_since(instance, 0))}  every member assigned {since(all_busy_at)}  "
                f"first output {since(self.first_output.get(instance))}")

    async def _run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=300)
            for tp, records in batch.items():
                for record in records:
                    if tp.topic == self.sut.target:
                        by = json.loads(record.value)["by"]
                        self.outputs[by] = self.outputs.get(by, 0) + 1
                        self.first_output.setdefault(by, record.timestamp / 1000)
                        continue
                    message = parse_observer_message(record.value)
                    if isinstance(message, ConsumerJoined):
                        self.joins.setdefault(message.instance_id, []).append(
                            (message.timestamp, message.assigned_partitions))


@pytest.mark.slow
async def test_instances_joining_one_by_one_grow_the_topic_and_each_gets_work(apache_kafka, temporal_address,
                                                                              tmp_path):
    """The thesis's dynamic partitions, on Apache Kafka, with nothing but real processes: the topic
    starts with one partition; the first instance is started by hand, two more are deployed by the
    controller (LOCAL provider) one after the other. Each newcomer joins without a partition, its
    ConsumerJoined makes the partition workflow grow the topic to the member count, the group
    rebalances, and it produces output. The timeline of each instance is printed."""
    # no scaling of its own: the test deploys, and nothing is removed or added meanwhile
    sut = ServiceUnderTest(apache_kafka, temporal_address, tmp_path, extra={
        "SCALE_IN_STABILIZATION": "3600", "DEPLOY_DELAY": "3600", "MAX_PARTITIONS": "12"})
    await ensure_topics(apache_kafka, {sut.source: 1})
    temporal = await connect_temporal(temporal_address)
    plane = start_control_plane(sut)
    processes = [plane]
    try:
        async with GroupWatch(sut) as watch, Traffic(sut) as traffic:
            traffic.rate = 10.0  # keyless: the producer spreads it over every partition it knows
            first = f"{sut.service}-first"
            asked, grown, all_busy = {first: time.time()}, {first: None}, {}
            processes.append(start_first_instance(sut))
            await wait_until(lambda: first in watch.first_output, 60, "the first instance's output", processes)
            all_busy[first] = watch.busy_since(first, 0)
            await wait_for_state(temporal, sut, lambda s: s.evaluations >= 1, 60, "a first evaluation",
                                 watch=processes)
            handle = temporal.get_workflow_handle(sut.workflow_id)
            for members in (2, 3):
                started = time.time()
                name = await handle.execute_update("request_deploy", ManualDeploy(f"test: member {members}"),
                                                   result_type=str)
                asked[name] = started
                growth = await growth_to(temporal, sut.source, members, 90, processes)
                assert growth.partitions_before == members - 1 and not growth.capped
                await wait_until(lambda: name in watch.first_output and watch.all_busy_since(asked, growth.at),
                                 60, f"every member to hold a partition and {name} to produce", processes)
                # the topic grew because the newcomer joined: after it was asked for, for a group of that size.
                # (The growth may come a moment before the newcomer reports its own assignment: the group
                # counts it as a member from its JoinGroup on, and another member's rejoin can trigger the check.)
                assert asked[name] <= growth.at and growth.members == members, growth
                grown[name], all_busy[name] = growth.at, watch.all_busy_since(asked, growth.at)
                assert await partitions_of(apache_kafka, sut.source) == members

            # at the end every member holds one partition, and each keeps producing
            assert all(watch.assigned(n) == 1 for n in asked), watch.joins
            counts = dict(watch.outputs)
            await wait_until(lambda: all(watch.outputs.get(n, 0) > counts.get(n, 0) for n in asked), 30,
                             "output from every member", processes)
        print("\npartition growth timeline (seconds since the instance was asked for):")
        for name, at in asked.items():
            print("  " + watch.timeline(name, at, grown[name], all_busy[name]))
        log = (sut.state_dir / "logs" / "worker.log").read_text()
        assert f"growing {sut.source} from 1 to 2 partitions" in log and "50% of keys change partition" in log
        assert f"growing {sut.source} from 2 to 3 partitions" in log and "67% of keys change partition" in log
    finally:
        await close_out(temporal, sut, processes)


async def growth_to(temporal, topic: str, partitions: int, timeout_s: float, watch: list):
    """The growth of ``topic`` to ``partitions``, once the partition workflow has made it."""
    handle = temporal.get_workflow_handle(partition_workflow_id(topic))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = await handle.query("state", result_type=PartitionState)
            found = [g for g in state.growths if g.partitions_after == partitions]
            if found:
                return found[0]
        except RPCError:  # not started yet
            pass
        await wait_until(lambda: True, 0, "", watch)
        await asyncio.sleep(0.3)
    raise AssertionError(f"{topic} did not grow to {partitions} partitions within {timeout_s:.0f} s")


async def wait_until(condition, timeout_s: float, what: str, watch: list) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        for process in watch:
            if not process.alive():
                raise AssertionError(f"{process.name} exited while waiting for {what}:\n{process.tail(60)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)
