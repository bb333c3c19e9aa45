"""Consumer lag of a group on a topic: per partition, the high watermark (ListOffsets latest) minus
the committed offset (OffsetFetch), summed.

Like KEDA's Kafka scaler this only measures; the decision is made elsewhere. A partition the group
never committed, or committed below what retention kept, counts from its first kept offset, where
the group's consumers (``auto_offset_reset="earliest"``) start. Any failure answers None
("unknown"), never a guess. tansu 0.6.0 answers ListOffsets(latest) with the last batch's base
offset + 1 rather than the high watermark, so there the lag reads low by up to a batch.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from fogverse.kafka_client import client_options

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    end: int  # the high watermark: the offset the next message will get
    committed: int | None  # None: the group never committed on this partition
    lag: int


@dataclass(frozen=True)
class ConsumerLag:
    group_id: str
    topic: str
    partitions: list[PartitionLag]

    @property
    def total(self) -> int:
        return sum(p.lag for p in self.partitions)


class ConsumerLagReader:
    def __init__(self, bootstrap: str, timeout_s: float = 5.0):
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=self.bootstrap, client_id="siaga-controller-lag")
        await self._admin.start()
        self._offsets = AIOKafkaConsumer(**client_options(), bootstrap_servers=self.bootstrap, group_id=None,
                                         client_id="siaga-controller-offsets")
        await self._offsets.start()

    async def stop(self) -> None:
        if self._offsets:
            await self._offsets.stop()
        if self._admin:
            await self._admin.close()

    async def __aenter__(self) -> "ConsumerLagReader":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def lag(self, group_id: str, topic: str) -> int | None:
        """The group's total lag on the topic; None if it cannot be read."""
        measured = await self.read(group_id, topic)
        return None if measured is None else measured.total

    async def read(self, group_id: str, topic: str) -> ConsumerLag | None:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._read(group_id, topic)
        except Exception as exc:
            log.warning("consumer lag of %s on %s unknown: %r", group_id, topic, exc)
            return None

    async def _read(self, group_id: str, topic: str) -> ConsumerLag | None:
        described = await self._admin.describe_topics([topic])
        if not described or described[0]["error_code"] or not described[0]["partitions"]:
            return None
        tps = [TopicPartition(topic, p["partition"]) for p in sorted(described[0]["partitions"],
                                                                     key=lambda p: p["partition"])]
        # this topic's partitions by name: a group has one topic here, and (for tansu 0.6.0, which
        # drops the connection on an all-partitions OffsetFetch) it is also the only form that works there
        committed = await self._admin.list_consumer_group_offsets(group_id, partitions=tps)
        ends = await self._offsets.end_offsets(tps)
        begins = await self._offsets.beginning_offsets(tps)
        partitions = []
        for tp in tps:
            done = committed.get(tp)
            offset = done.offset if done is not None and done.offset >= 0 else None
            position = begins[tp] if offset is None else max(offset, begins[tp])
            partitions.append(PartitionLag(tp.partition, ends[tp], offset, max(0, ends[tp] - position)))
        return ConsumerLag(group_id, topic, partitions)
