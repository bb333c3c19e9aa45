"""The lag reader against known numbers: 37 messages on a two-partition topic, offsets committed by hand."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from activities.measure.lag import ConsumerLagReader, PartitionLag
from fogverse.broker import ensure_topics

#: partition ▸ messages produced to it (37 in all)
PRODUCED = {0: 20, 1: 17}


async def topic_with_37_messages(bootstrap: str) -> str:
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, {topic: 2})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for partition, count in PRODUCED.items():
            for i in range(count):  # one at a time: each message its own batch
                await producer.send_and_wait(topic, f"m{i}".encode(), partition=partition)
    finally:
        await producer.stop()
    return topic


async def commit(bootstrap: str, topic: str, offsets: dict[int, int]) -> str:
    """A fresh group that committed ``offsets`` (partition ▸ next offset to read) and left."""
    group = f"lag-{uuid.uuid4().hex[:8]}"
    if not offsets:
        return group
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in offsets])
        await consumer.commit({TopicPartition(topic, p): offset for p, offset in offsets.items()})
    finally:
        await consumer.stop()
    return group


async def test_lag_is_the_high_watermark_minus_the_committed_offset(apache_kafka):
    topic = await topic_with_37_messages(apache_kafka)
    behind = await commit(apache_kafka, topic, {0: 12, 1: 5})
    one_side = await commit(apache_kafka, topic, {0: 20})
    never = await commit(apache_kafka, topic, {})
    async with ConsumerLagReader(apache_kafka) as reader:
        measured = await reader.read(behind, topic)
        assert measured.partitions == [PartitionLag(0, end=20, committed=12, lag=8),
                                       PartitionLag(1, end=17, committed=5, lag=12)]
        assert measured.total == 20 == await reader.lag(behind, topic)

        # a partition the group never committed counts from its beginning, like the group's consumers start
        measured = await reader.read(one_side, topic)
        assert measured.partitions == [PartitionLag(0, end=20, committed=20, lag=0),
                                       PartitionLag(1, end=17, committed=None, lag=17)]
        assert measured.total == 17

        assert await reader.lag(never, topic) == 37
        assert await reader.lag(behind, f"no-such-topic-{uuid.uuid4().hex[:6]}") is None


async def test_lag_on_tansu_with_one_message_per_batch_is_exact_too(tansu_bootstrap):
    """The tansu lane: OffsetFetch by partition answers there (an all-partitions one drops the
    connection). tansu's ListOffsets(latest) is the last batch's base offset + 1, which is the high
    watermark only while every batch holds one message, as here; bigger batches read low."""
    topic = await topic_with_37_messages(tansu_bootstrap)
    behind = await commit(tansu_bootstrap, topic, {0: 12, 1: 5})
    async with ConsumerLagReader(tansu_bootstrap) as reader:
        measured = await reader.read(behind, topic)
    assert measured.partitions == [PartitionLag(0, end=20, committed=12, lag=8),
                                   PartitionLag(1, end=17, committed=5, lag=12)]
