"""What the connected Kafka-protocol broker can do, and the topics Siaga needs on it.

The probe speaks ApiVersions (API key 18, version 0) on a plain socket (in TLS when
``KAFKA_SECURITY_PROTOCOL`` is ``SSL`` or ``SASL_SSL``; brokers answer ApiVersions before SASL
authentication), so it answers the same way for Apache Kafka, tansu or any stand-in, whatever
the client library version. The rest of
Siaga asks :class:`BrokerCapabilities` before relying on an optional API (tansu 0.6.0 has no
CreatePartitions) and says clearly what is missing instead of failing obscurely.

``python -m fogverse.broker`` prints the report as JSON.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import sys
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from fogverse.kafka_client import client_options, refused_settings
from fogverse.settings import ConfigError, KafkaSecurity


log = logging.getLogger(__name__)

#: The Kafka APIs Siaga uses, by key (https://kafka.apache.org/protocol#protocol_api_keys).
API_NAMES: dict[int, str] = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
    10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
    15: "DescribeGroups", 16: "ListGroups", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics",
    37: "CreatePartitions",
}
API_KEYS = {name: key for key, name in API_NAMES.items()}

#: What each Siaga feature needs beyond produce/fetch.
FEATURES: dict[str, tuple[str, ...]] = {
    "pipeline (produce, consume, commit)": ("Produce", "Fetch", "Metadata", "OffsetCommit", "OffsetFetch",
                                            "FindCoordinator", "JoinGroup", "SyncGroup", "Heartbeat"),
    "consumer lag (ListOffsets + OffsetFetch)": ("ListOffsets", "OffsetFetch"),
    "group membership (DescribeGroups)": ("DescribeGroups",),
    "topic creation": ("CreateTopics",),
    "partition growth (CreatePartitions)": ("CreatePartitions",),
}


class BrokerUnavailable(ConnectionError):
    pass


@dataclass(frozen=True)
class BrokerCapabilities:
    bootstrap: str
    api_versions: dict[int, tuple[int, int]]  # api key ▸ (min version, max version)

    def supports(self, api_name: str) -> bool:
        return API_KEYS[api_name] in self.api_versions

    def missing(self, *api_names: str) -> list[str]:
        return [name for name in api_names if not self.supports(name)]

    def flavor(self) -> str:
        """Apache Kafka answers the KRaft APIs (DescribeQuorum, key 55); tansu 0.6.0 does not."""
        return "Apache Kafka" if 55 in self.api_versions else "a Kafka-protocol broker (not Apache Kafka)"

    def require(self, feature: str) -> None:
        """Raise :class:`UnsupportedByBroker` naming the missing API(s) of ``feature``."""
        missing = self.missing(*FEATURES[feature])
        if missing:
            raise UnsupportedByBroker(self.bootstrap, feature, missing)

    def report(self) -> dict:
        return {
            "bootstrap": self.bootstrap,
            "broker": self.flavor(),
            "features": {
                feature: {"supported": not self.missing(*apis), "missing_apis": [
                    f"{name} (API key {API_KEYS[name]})" for name in self.missing(*apis)]}
                for feature, apis in FEATURES.items()
            },
            "apis": {API_NAMES.get(key, f"key {key}"): list(versions)
                     for key, versions in sorted(self.api_versions.items())},
        }


class UnsupportedByBroker(RuntimeError):
    def __init__(self, bootstrap: str, feature: str, missing: list[str]):
        self.feature = feature
        self.missing = missing
        keys = ", ".join(f"{name} (Kafka API key {API_KEYS[name]})" for name in missing)
        super().__init__(f"the broker at {bootstrap} does not implement {keys}, needed for {feature}")


async def probe(bootstrap: str, timeout_s: float = 5.0, security: KafkaSecurity | None = None) -> BrokerCapabilities:
    """Ask the first reachable bootstrap server which API versions it implements.

    Raises :class:`BrokerUnavailable` when none answers, and :class:`ConfigError` naming the
    setting when one refuses our TLS settings (an untrusted certificate, say).
    """
    security = security or KafkaSecurity.from_env()
    tls = security.ssl_context()
    errors = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            async with asyncio.timeout(timeout_s):
                versions = await _api_versions(host.strip("[]"), int(port), tls)
            return BrokerCapabilities(bootstrap, versions)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            answered = isinstance(exc, (OSError, asyncio.IncompleteReadError))  # not our own parse errors
            refusal = refused_settings(exc, server.strip(), security) if answered else None
            if refusal is not None:
                raise refusal from None
            errors.append(f"{server}: {exc!r}")
    raise BrokerUnavailable(f"no Kafka broker answered ApiVersions at {bootstrap}: {'; '.join(errors)}")


async def _api_versions(host: str, port: int, tls=None) -> dict[int, tuple[int, int]]:
    reader, writer = await asyncio.open_connection(host, port, ssl=tls)
    try:
        client_id = b"siaga-probe"
        body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
        writer.write(struct.pack(">i", len(body)) + body)
        await writer.drain()
        (size,) = struct.unpack(">i", await reader.readexactly(4))
        payload = await reader.readexactly(size)
        _correlation, error_code, count = struct.unpack_from(">ihi", payload, 0)
        if error_code:
            raise ValueError(f"ApiVersions answered error code {error_code}")
        versions = {}
        for i in range(count):
            key, low, high = struct.unpack_from(">hhh", payload, 10 + 6 * i)
            versions[key] = (low, high)
        return versions
    finally:
        writer.close()


async def ensure_topics(bootstrap: str, partitions_by_topic: dict[str, int]) -> list[str]:
    """Create the topics that do not exist yet; returns the names it created."""
    admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=bootstrap, client_id="siaga-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(name, n, 1) for name, n in partitions_by_topic.items() if name not in existing]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
        return [t.name for t in wanted]
    finally:
        await admin.close()


def main(argv: list[str] | None = None) -> int:
    from fogverse.settings import RuntimeSettings

    argv = sys.argv[1:] if argv is None else argv
    bootstrap = argv[0] if argv else RuntimeSettings.from_env().bootstrap_servers
    try:
        caps = asyncio.run(probe(bootstrap))
    except (BrokerUnavailable, ConfigError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    report = caps.report()
    report["version"] = _embedded_version(bootstrap) or "unknown (the Kafka protocol does not say; not the embedded broker)"
    print(json.dumps(report, indent=2))
    return 0


def _embedded_version(bootstrap: str) -> str | None:
    """The version of the embedded Apache Kafka, when ``bootstrap`` is where it listens."""
    from workers.settings import StackSettings
    from workers.kafka_broker import version_listening_at

    return version_listening_at(bootstrap, StackSettings.from_env().state_dir / "kafka")


if __name__ == "__main__":
    raise SystemExit(main())
