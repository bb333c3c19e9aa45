"""Partition growth: the partition workflow, started by signal-with-start the way the controller does it,
against a Kafka-protocol stand-in that has CreatePartitions, against tansu (which does not), and against
any real broker given by ``KAFKA_BOOTSTRAP_SERVERS``."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.control import ControlActivities
from activities.partitions import PartitionAdmin
from controller_harness import connect_temporal
from controller_kafka_standin import KafkaStandIn
from fogverse.broker import ensure_topics, probe
from fogverse.settings import ControllerSettings
from workflows.messages import partition_workflow_id
from workflows.partitions import PartitionWorkflow
from workflows.state import PartitionState


def settings_for(bootstrap: str, **extra: str) -> ControllerSettings:
    return ControllerSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "SLEEP_TIME": "0.5",
                                        "TEMPORAL_TASK_QUEUE": f"partitions-{uuid.uuid4().hex[:8]}", **extra})


async def run_partition_worker(temporal_address: str, settings: ControllerSettings):
    client = await connect_temporal(temporal_address)
    control = ControlActivities(settings, client, feed=None, lag=None, providers=None,
                                partitions=PartitionAdmin(settings.bootstrap_servers))
    worker = Worker(client, task_queue=settings.task_queue, workflows=[PartitionWorkflow],
                    activities=[control.grow_partitions])
    return client, control, worker


async def wait_for_growths(client, topic: str, count: int, timeout_s: float = 30) -> PartitionState:
    handle = client.get_workflow_handle(partition_workflow_id(topic))
    for _ in range(int(timeout_s * 5)):
        state = await handle.query("state", result_type=PartitionState)
        if len(state.growths) >= count:
            return state
        await asyncio.sleep(0.2)
    raise AssertionError(f"expected {count} growth(s) of {topic}, state {state}")


async def test_partitions_grow_to_the_group_size_and_stop_at_the_cap(temporal_address):
    topic = f"analyze-{uuid.uuid4().hex[:8]}"
    broker = await KafkaStandIn(topics={topic: 1}, groups={"analyzer": ["m1", "m2", "m3"]}).start()
    settings = settings_for(broker.bootstrap, MAX_PARTITIONS="4")
    client, control, worker = await run_partition_worker(temporal_address, settings)
    try:
        async with worker:
            await control.check_partitions(topic, "analyzer", "m3 joined")
            state = await wait_for_growths(client, topic, 1)
            assert (state.growths[0].partitions_before, state.growths[0].partitions_after) == (1, 3)
            assert broker.topics[topic] == 3

            broker.groups["analyzer"] += ["m4", "m5", "m6"]
            await control.check_partitions(topic, "analyzer", "m6 joined")
            state = await wait_for_growths(client, topic, 2)
            assert state.growths[1].partitions_after == 4 and state.growths[1].capped
            assert broker.topics[topic] == 4, "never past MAX_PARTITIONS"

            broker.groups["analyzer"] = ["m1"]  # growth is one-way: fewer members shrink nothing
            await control.check_partitions(topic, "analyzer", "members left")
            await asyncio.sleep(2)
            assert broker.topics[topic] == 4
            assert broker.create_partitions_calls == [(topic, 3), (topic, 4)]
            await client.get_workflow_handle(partition_workflow_id(topic)).terminate("test done")
    finally:
        await broker.stop()


async def test_enough_partitions_need_no_create_partitions_at_all(temporal_address):
    topic = f"analyze-{uuid.uuid4().hex[:8]}"
    broker = await KafkaStandIn(topics={topic: 4}, groups={"analyzer": ["m1", "m2"]}).start()
    settings = settings_for(broker.bootstrap)
    client, control, worker = await run_partition_worker(temporal_address, settings)
    try:
        async with worker:
            await control.check_partitions(topic, "analyzer", "m2 joined")
            handle = client.get_workflow_handle(partition_workflow_id(topic))
            for _ in range(50):
                if (await handle.query("state", result_type=PartitionState)).checks:
                    break
                await asyncio.sleep(0.2)
            assert (await handle.query("state", result_type=PartitionState)).growths == []
            assert broker.create_partitions_calls == []
            await handle.terminate("test done")
    finally:
        await broker.stop()


async def two_members_on_one_partition(bootstrap: str) -> tuple[str, str, list[AIOKafkaConsumer]]:
    topic, group = f"grow-{uuid.uuid4().hex[:8]}", f"grow-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, {topic: 1})
    consumers = [AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group) for _ in range(2)]
    for consumer in consumers:
        await consumer.start()
    admin = PartitionAdmin(bootstrap)
    for _ in range(120):  # each member takes a few seconds to join on tansu
        await asyncio.gather(*(c.getmany(timeout_ms=100) for c in consumers))
        if (await admin.sizes(topic, group))[0] == 2:
            break
    assert (await admin.sizes(topic, group)) == (2, 1)
    return topic, group, consumers


async def test_partition_growth_fails_naming_the_missing_api_on_a_broker_without_it(kafka_bootstrap,
                                                                                    temporal_address):
    if (await probe(kafka_bootstrap)).supports("CreatePartitions"):
        pytest.skip(f"the broker at {kafka_bootstrap} implements CreatePartitions; this checks brokers that do not")
    topic, group, consumers = await two_members_on_one_partition(kafka_bootstrap)
    settings = settings_for(kafka_bootstrap)
    client, control, worker = await run_partition_worker(temporal_address, settings)
    try:
        async with worker:
            await control.check_partitions(topic, group, "second member joined")
            with pytest.raises(WorkflowFailureError) as failed:
                await asyncio.wait_for(client.get_workflow_handle(partition_workflow_id(topic)).result(), 30)
            cause = failed.value.cause
            assert isinstance(cause, ApplicationError) and cause.type == "UnsupportedByBroker"
            assert cause.non_retryable
            assert "CreatePartitions (Kafka API key 37)" in cause.message
    finally:
        for consumer in consumers:
            await consumer.stop()


async def test_partition_growth_on_a_real_broker_given_by_env(kafka_bootstrap, temporal_address):
    if not (await probe(kafka_bootstrap)).supports("CreatePartitions"):
        pytest.skip(f"the broker at {kafka_bootstrap} has no CreatePartitions (Kafka API key 37), as tansu 0.6.0; "
                    "set KAFKA_BOOTSTRAP_SERVERS to an Apache Kafka broker to run this")
    topic, group, consumers = await two_members_on_one_partition(kafka_bootstrap)
    settings = settings_for(kafka_bootstrap)
    client, control, worker = await run_partition_worker(temporal_address, settings)
    try:
        async with worker:
            await control.check_partitions(topic, group, "second member joined")
            state = await wait_for_growths(client, topic, 1, timeout_s=60)
            assert (state.growths[0].partitions_before, state.growths[0].partitions_after) == (1, 2)
            assert (await PartitionAdmin(kafka_bootstrap).sizes(topic, group))[1] == 2
            await client.get_workflow_handle(partition_workflow_id(topic)).terminate("test done")
    finally:
        for consumer in consumers:
            await consumer.stop()
