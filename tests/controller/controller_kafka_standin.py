"""A small Kafka-protocol server for partition growth: ApiVersions, Metadata, FindCoordinator,
DescribeGroups and CreatePartitions, at the versions it advertises, encoded with aiokafka's own
protocol classes. tansu has no CreatePartitions, so this is how the growth path meets a broker
that has one; it keeps topics and group members in memory and applies CreatePartitions to them.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from io import BytesIO

from aiokafka.protocol.admin import (ApiVersionResponse_v0, CreatePartitionsRequest_v0, CreatePartitionsResponse_v0,
                                     DescribeGroupsRequest_v0, DescribeGroupsResponse_v0)
from aiokafka.protocol.coordination import FindCoordinatorRequest_v0, FindCoordinatorResponse_v0
from aiokafka.protocol.metadata import MetadataRequest_v1, MetadataResponse_v1

NODE_ID = 1
INVALID_PARTITIONS = 37
UNKNOWN_TOPIC_OR_PARTITION = 3
UNSUPPORTED_VERSION = 35

#: api key ▸ (request class, handler name); each advertised at exactly one version.
REQUESTS = {
    3: MetadataRequest_v1,
    10: FindCoordinatorRequest_v0,
    15: DescribeGroupsRequest_v0,
    37: CreatePartitionsRequest_v0,
}


@dataclass
class KafkaStandIn:
    topics: dict[str, int] = field(default_factory=dict)  # topic ▸ partitions
    groups: dict[str, list[str]] = field(default_factory=dict)  # group ▸ member ids
    host: str = "127.0.0.1"
    port: int = 0
    create_partitions_calls: list[tuple[str, int]] = field(default_factory=list)
    _server: asyncio.AbstractServer | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> "KafkaStandIn":
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (size,) = struct.unpack(">i", await reader.readexactly(4))
                frame = BytesIO(await reader.readexactly(size))
                api_key, api_version, correlation_id, client_len = struct.unpack(">hhih", frame.read(10))
                frame.read(max(client_len, 0))
                body = self._answer(api_key, api_version, frame)
                payload = struct.pack(">i", correlation_id) + body
                writer.write(struct.pack(">i", len(payload)) + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _answer(self, api_key: int, api_version: int, frame: BytesIO) -> bytes:
        if api_key == 18:  # ApiVersions: answered in v0 whatever was asked, as brokers do for old clients
            versions = [(18, 0, 0)] + [(key, cls.API_VERSION, cls.API_VERSION) for key, cls in REQUESTS.items()]
            return ApiVersionResponse_v0(0, versions).encode()
        request_class = REQUESTS.get(api_key)
        if request_class is None or request_class.API_VERSION != api_version:
            raise ConnectionError(f"unsupported api {api_key} v{api_version}")  # a real broker closes too
        request = request_class.decode(frame)
        return getattr(self, f"_api_{api_key}")(request).encode()

    def _api_3(self, request: MetadataRequest_v1):  # Metadata
        names = list(self.topics) if request.topics is None else request.topics
        topics = []
        for name in names:
            if name not in self.topics:
                topics.append((UNKNOWN_TOPIC_OR_PARTITION, name, False, []))
                continue
            partitions = [(0, p, NODE_ID, [NODE_ID], [NODE_ID]) for p in range(self.topics[name])]
            topics.append((0, name, False, partitions))
        return MetadataResponse_v1([(NODE_ID, self.host, self.port, None)], NODE_ID, topics)

    def _api_10(self, request: FindCoordinatorRequest_v0):  # FindCoordinator
        return FindCoordinatorResponse_v0(0, NODE_ID, self.host, self.port)

    def _api_15(self, request: DescribeGroupsRequest_v0):  # DescribeGroups
        groups = []
        for group in request.groups:
            members = [(m, f"client-{m}", "/127.0.0.1", b"", b"") for m in self.groups.get(group, [])]
            groups.append((0, group, "Stable" if members else "Empty", "consumer", "range", members))
        return DescribeGroupsResponse_v0(groups)

    def _api_37(self, request: CreatePartitionsRequest_v0):  # CreatePartitions
        errors = []
        for topic, (count, _assignment) in request.topic_partitions:
            if topic not in self.topics:
                errors.append((topic, UNKNOWN_TOPIC_OR_PARTITION, f"no topic {topic}"))
            elif count <= self.topics[topic]:
                errors.append((topic, INVALID_PARTITIONS, f"{topic} has {self.topics[topic]} partitions already"))
            else:
                if not request.validate_only:
                    self.topics[topic] = count
                    self.create_partitions_calls.append((topic, count))
                errors.append((topic, 0, None))
        return CreatePartitionsResponse_v0(0, errors)
