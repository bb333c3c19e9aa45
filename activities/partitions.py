"""Growing a topic's partitions to its consumer group's size (DescribeGroups, Metadata, CreatePartitions).

The broker's capabilities are probed first (``fogverse.broker.probe``), so a broker without
CreatePartitions (tansu 0.6.0) gets a clear :class:`UnsupportedByBroker` naming the API, and only
when growth is actually needed: a topic that already has enough partitions is left alone anywhere.
"""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions


from fogverse.broker import probe
from fogverse.kafka_client import client_options
from workflows.messages import PartitionGrowth, PartitionRequest

log = logging.getLogger(__name__)


class PartitionAdmin:
    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap

    async def grow(self, request: PartitionRequest) -> PartitionGrowth:
        capabilities = await probe(self.bootstrap)
        capabilities.require("group membership (DescribeGroups)")
        admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=self.bootstrap, client_id="siaga-controller-partitions")
        await admin.start()
        try:
            members = await self._members(admin, request.group_id)
            before = await self._partitions(admin, request.topic)
            target = min(members, request.max_partitions)
            capped = members > request.max_partitions
            if before >= target:
                return PartitionGrowth(request.topic, request.group_id, members, before, before, capped)
            capabilities.require("partition growth (CreatePartitions)")
            log.warning("growing %s from %d to %d partitions for %d member(s) of %s%s; keys will map to "
                        "different partitions from now on", request.topic, before, target, members, request.group_id,
                        f" (capped by MAX_PARTITIONS={request.max_partitions})" if capped else "")
            await admin.create_partitions({request.topic: NewPartitions(total_count=target)})
            return PartitionGrowth(request.topic, request.group_id, members, before, target, capped)
        finally:
            await admin.close()

    async def sizes(self, topic: str, group_id: str) -> tuple[int, int]:
        """(members of the group, partitions of the topic), to see if growth is needed at all."""
        admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=self.bootstrap, client_id="siaga-controller-partitions")
        await admin.start()
        try:
            return await self._members(admin, group_id), await self._partitions(admin, topic)
        finally:
            await admin.close()

    @staticmethod
    async def _members(admin: AIOKafkaAdminClient, group_id: str) -> int:
        (response,) = await admin.describe_consumer_groups([group_id])
        groups = response.to_object()["groups"]
        if not groups or groups[0]["error_code"]:
            raise RuntimeError(f"DescribeGroups for {group_id} answered {groups}")
        return len(groups[0]["members"])

    @staticmethod
    async def _partitions(admin: AIOKafkaAdminClient, topic: str) -> int:
        (described,) = await admin.describe_topics([topic])
        if described["error_code"]:
            raise RuntimeError(f"Metadata for {topic} answered error code {described['error_code']}")
        return len(described["partitions"])
