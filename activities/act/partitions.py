"""A topic's partitions and its consumer group: measured with DescribeGroups and Metadata, grown with CreatePartitions.

The broker's capabilities are probed first (``fogverse.broker.probe``), so a broker without
CreatePartitions (tansu 0.6.0) gets a clear :class:`UnsupportedByBroker` naming the API, and only
when growth is actually needed: measuring works on any broker. What to grow to is decided by
``workflows.decide.partitions.decide_partitions``, not here.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import AsyncIterator

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
from aiokafka.coordinator.protocol import ConsumerProtocol
from aiokafka.errors import InvalidPartitionsError

from fogverse.broker import probe
from fogverse.kafka_client import client_options
from workflows.messages import PartitionGrowth, PartitionMeasurement
from workflows.decide.partitions import PartitionDecision, key_remapping

log = logging.getLogger(__name__)


class PartitionAdmin:
    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap

    async def measure(self, topic: str, group_id: str) -> PartitionMeasurement:
        (await probe(self.bootstrap)).require("group membership (DescribeGroups)")
        async with self._admin() as admin:
            members, group_topics = await self._group(admin, group_id)
            return PartitionMeasurement(topic, group_id, members, await self._partitions(admin, topic), group_topics)

    async def grow_to(self, decision: PartitionDecision) -> PartitionGrowth:
        """Give ``decision.topic`` at least ``decision.partitions_after`` partitions (idempotent)."""
        (await probe(self.bootstrap)).require("partition growth (CreatePartitions)")
        topic, target = decision.topic, decision.partitions_after
        async with self._admin() as admin:
            before = await self._partitions(admin, topic)
            if before < target:
                log.warning("growing %s from %d to %d partitions for %d member(s) of %s%s; %s", topic, before, target,
                            decision.members, decision.group_id, " (capped by MAX_PARTITIONS)" if decision.capped else "",
                            key_remapping(before, target).summary())
                try:
                    await admin.create_partitions({topic: NewPartitions(total_count=target)})
                except InvalidPartitionsError:  # grown meanwhile (a retry after a lost answer, another controller)
                    if await self._partitions(admin, topic) < target:
                        raise
            after = max(before, target)
            return PartitionGrowth(topic, decision.group_id, decision.members, before, after, decision.capped,
                                   time.time())

    @contextlib.asynccontextmanager
    async def _admin(self) -> AsyncIterator[AIOKafkaAdminClient]:
        admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=self.bootstrap,
                                    client_id="siaga-controller-partitions")
        await admin.start()
        try:
            yield admin
        finally:
            await admin.close()

    @staticmethod
    async def _group(admin: AIOKafkaAdminClient, group_id: str) -> tuple[int, list[str]]:
        """(members, every topic they subscribe to) of a consumer group."""
        (response,) = await admin.describe_consumer_groups([group_id])
        groups = response.to_object()["groups"]
        if not groups or groups[0]["error_code"]:
            raise RuntimeError(f"DescribeGroups for {group_id} answered {groups}")
        members = groups[0]["members"]
        topics: set[str] = set()
        if groups[0]["protocol_type"] == "consumer":
            for member in members:
                try:
                    topics.update(ConsumerProtocol.METADATA.decode(member["member_metadata"]).subscription)
                except Exception:  # metadata a consumer of another kind wrote: its topics are unknown
                    log.debug("unreadable subscription of %s in %s", member["member_id"], group_id)
        return len(members), sorted(topics)

    @staticmethod
    async def _partitions(admin: AIOKafkaAdminClient, topic: str) -> int:
        (described,) = await admin.describe_topics([topic])
        if described["error_code"]:
            raise RuntimeError(f"Metadata for {topic} answered error code {described['error_code']}")
        return len(described["partitions"])

