"""The observer feed's read-back at start: the last ``keep_s`` seconds, by timestamp, on both brokers."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaProducer

from activities.measure.observer import ObserverFeed
from fogverse.broker import ensure_topics
from fogverse.contracts import Heartbeat

KEEP_S = 2.0


class Heard:
    """A feed listener that keeps what it was told."""

    def __init__(self):
        self.seen: list[tuple[str, str, float]] = []
        self.joined = []

    def instance_seen(self, service: str, instance: str, at: float) -> None:
        self.seen.append((service, instance, at))

    def consumer_joined(self, joined) -> None:
        self.joined.append(joined)

    async def wait_for(self, instance: str, timeout_s: float) -> float | None:
        for _ in range(int(timeout_s * 20)):
            for _service, name, at in self.seen:
                if name == instance:
                    return at
            await asyncio.sleep(0.05)
        return None


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
        heard = Heard()
        async with ObserverFeed(any_broker, topic, keep_s=KEEP_S, listener=heard) as feed:
            assert await feed.wait_caught_up(20)
            assert feed.ledger.last_heartbeats("analyzer") == {}
            assert started - KEEP_S - 1 <= feed.watching_since <= time.time() - KEEP_S
            await heartbeat(producer, topic, "recent")
            at = await heard.wait_for("recent", 10)
            assert at is not None and abs(at - time.time()) < 5, "told once, on the controller's clock"
            await heartbeat(producer, topic, "recent")
            await asyncio.sleep(1.5)
            assert [name for _, name, _ in heard.seen] == ["recent"], "told once per instance, not per heartbeat"

        async with ObserverFeed(any_broker, topic, keep_s=KEEP_S) as feed:
            assert await feed.wait_caught_up(20)
            assert set(feed.ledger.last_heartbeats("analyzer")) == {"recent"}
    finally:
        await producer.stop()


async def send(producer: AIOKafkaProducer, topic: str, message, kafka_timestamp: float | None = None) -> None:
    raw = message if isinstance(message, bytes) else message.model_dump_json().encode()
    await producer.send_and_wait(topic, raw, timestamp_ms=None if kafka_timestamp is None else int(kafka_timestamp * 1000))


async def test_windows_and_liveness_run_on_the_controllers_clock(any_broker):
    """Read back or live, a message counts when the controller received it: a sender 40 s behind
    stays live, a future stamp (in the message or on the record) never moves ``newest`` past now,
    and a hostile announcement is refused, counted, and stops nothing."""
    topic = f"observer-{uuid.uuid4().hex[:8]}"
    await ensure_topics(any_broker, {topic: 1})
    producer = AIOKafkaProducer(bootstrap_servers=any_broker)
    await producer.start()
    try:
        now = time.time()
        await send(producer, topic, Heartbeat(service="analyzer", instance_id="behind", timestamp=now - 40))
        await send(producer, topic, Heartbeat(service="analyzer", instance_id="ahead", timestamp=now + 200),
                   kafka_timestamp=now + 120)  # the record itself stamped ahead too
        await send(producer, topic, b'{"kind": "service_pair", "source_topic": "analyze", "target_topic": "client", '
                                    b'"consumer_group": "g", "deploy_configs": {"max_instance": 9}, '
                                    b'"service": "../../../../tmp/x", "instance_id": "x-1"}')
        heard = Heard()
        async with ObserverFeed(any_broker, topic, keep_s=60, listener=heard) as feed:
            assert await feed.wait_caught_up(20)
            read_back = time.time()
            ledger = feed.ledger
            assert set(ledger.last_heartbeats("analyzer")) == {"behind", "ahead"}
            assert "behind" in ledger.live_instances("analyzer", read_back, timeout_s=10)
            assert ledger.newest <= read_back, "a record stamped ahead must not pin the feed as current"
            assert max(ledger.last_heartbeats("analyzer").values()) <= read_back
            assert feed.refused == 1 and ledger.pairs() == []

            sent = time.time()
            await send(producer, topic, Heartbeat(service="analyzer", instance_id="live-behind", timestamp=sent - 40),
                       kafka_timestamp=sent - 40)  # the sender's producer stamps records by its clock too
            seen = await heard.wait_for("live-behind", 10)
            assert seen is not None and sent <= seen <= time.time()
            assert "live-behind" in ledger.live_instances("analyzer", time.time(), timeout_s=10)

            await send(producer, topic, Heartbeat(service="analyzer", instance_id="live-ahead", timestamp=sent + 250),
                       kafka_timestamp=sent + 250)
            seen = await heard.wait_for("live-ahead", 10)
            assert seen is not None and ledger.newest <= time.time()
    finally:
        await producer.stop()
