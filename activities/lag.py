"""Consumer lag of a group on a topic: end offsets (ListOffsets) minus committed ones (OffsetFetch).

Like KEDA's Kafka scaler this only measures; the decision is made elsewhere. A partition the group
never committed counts from its beginning. Any failure answers None ("unknown"), never a guess.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from fogverse.kafka_client import client_options

log = logging.getLogger(__name__)


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
        try:
            return await asyncio.wait_for(self._lag(group_id, topic), self.timeout_s)
        except Exception as exc:
            log.warning("consumer lag of %s on %s unknown: %r", group_id, topic, exc)
            return None

    async def _lag(self, group_id: str, topic: str) -> int | None:
        described = await self._admin.describe_topics([topic])
        if not described or described[0]["error_code"] or not described[0]["partitions"]:
            return None
        tps = [TopicPartition(topic, p["partition"]) for p in described[0]["partitions"]]
        # partitions listed explicitly: tansu drops the connection on an all-partitions OffsetFetch
        committed = await self._admin.list_consumer_group_offsets(group_id, partitions=tps)
        ends = await self._offsets.end_offsets(tps)
        begins = await self._offsets.beginning_offsets(tps)
        total = 0
        for tp in tps:
            done = committed.get(tp)
            position = done.offset if done is not None and done.offset >= 0 else begins[tp]
            total += max(0, ends[tp] - position)
        return total
