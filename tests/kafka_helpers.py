"""Small, real-broker helpers the tests share: produce a batch, read a topic until a condition."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from pathlib import Path
from typing import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from fogverse.kafka_client import client_options
from fogverse.processes import ManagedProcess, free_port, wait_for_port
from workers.settings import StackSettings
from workers.kafka_broker import KafkaNode
from workers.stack import kafka_node as stack_kafka_node


def kafka_node(state: Path, **overrides) -> KafkaNode:
    """An Apache Kafka node on free loopback ports with its data under ``state`` (not started)."""
    node = stack_kafka_node(StackSettings.from_env())  # home and heap as the settings give them
    return dataclasses.replace(node, state_dir=state, port=free_port(), controller_port=free_port(), **overrides)


def start_kafka_node(state: Path, node: KafkaNode | None = None, **overrides) -> tuple[KafkaNode, ManagedProcess]:
    """Start (or restart, on the same data) an Apache Kafka node; returns once it accepts connections."""
    node = node or kafka_node(state, **overrides)
    broker = node.process(node.state_dir / "kafka.log").start()
    try:
        wait_for_port(node.host, node.port, 90, broker)
    except BaseException:
        broker.kill()
        raise
    return node, broker


async def produce(bootstrap: str, topic: str, values: list[bytes], keys: list[bytes | None] | None = None) -> None:
    producer = AIOKafkaProducer(**client_options(), bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        acks = [await producer.send(topic, v, key=(keys[i] if keys else None)) for i, v in enumerate(values)]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def read_until(bootstrap: str, topic: str, done: Callable[[list[ConsumerRecord]], bool],
                     timeout_s: float = 60.0, watch=None) -> list[ConsumerRecord]:
    """Read ``topic`` from the beginning (no group) until ``done(records)`` or the timeout.

    ``watch``: a ManagedProcess that must stay alive meanwhile (fail fast with its log if not).
    """
    consumer = AIOKafkaConsumer(topic, **client_options(), bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                client_id=f"test-reader-{uuid.uuid4().hex[:6]}")
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not done(records):
            if watch is not None and not watch.alive():
                raise AssertionError(f"{watch.name} exited early:\n{watch.tail()}")
            batch = await consumer.getmany(timeout_ms=300)
            for part in batch.values():
                records.extend(part)
            if not batch:
                # a topic created after subscribe: refresh metadata so new partitions are read
                await consumer._client.force_metadata_update()
        return records
    finally:
        await consumer.stop()
