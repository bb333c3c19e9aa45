"""The observer feed's read-back at start: the last ``keep_s`` seconds, by timestamp, on both brokers."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaProducer

from activities.observer import ObserverFeed
from fogverse.broker import ensure_topics
from fogverse.contracts import Heartbeat

KEEP_S = 2.0


async def heartbeat(producer: AIOKafkaProducer, topic: str, instance: str) -> None:
    beat = Heartbeat(service="analyzer", instance_id=instance)
    await producer.send_and_wait(topic, beat.model_dump_json().encode())


async def test_read_back_covers_the_last_seconds_and_nothing_older(any_broker):
    """Nothing written within ``keep_s``: the feed starts at the end (tansu answers that lookup with
    timestamp -1, Apache Kafka with no offset) and still hears what comes next. Something written
    within it: the feed reads from there, not from the beginning."""
    topic = f"observer-{uuid.uuid4().hex[:8]}"
    await ensure_topics(any_broker, {topic: 1})
    producer = AIOKafkaProducer(bootstrap_servers=any_broker)
    await producer.start()
    try:
        await heartbeat(producer, topic, "old")
        await asyncio.sleep(KEEP_S + 1)
        started = time.time()
        async with ObserverFeed(any_broker, topic, keep_s=KEEP_S) as feed:
            assert await feed.wait_caught_up(20)
            assert feed.ledger.last_heartbeats("analyzer") == {}
            assert started - KEEP_S - 1 <= feed.watching_since <= time.time() - KEEP_S
            await heartbeat(producer, topic, "recent")
            assert await feed.wait_for_heartbeat("analyzer", "recent", 10) is not None

        async with ObserverFeed(any_broker, topic, keep_s=KEEP_S) as feed:
            assert await feed.wait_caught_up(20)
            assert set(feed.ledger.last_heartbeats("analyzer")) == {"recent"}
    finally:
        await producer.stop()
