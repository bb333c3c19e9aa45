"""Every message Siaga's parts send each other, declared once.

Producers build these models and consumers validate with them, so a field means the same thing
on both sides. Each model carries ``schema_version``; a consumer refuses versions it does not
know (the message goes to the dead-letter topic with the reason) instead of guessing.

Topics:
- ``analyze``: :class:`Report` (crawler, Discord bot, LINE bot ▸ analyzer)
- ``client``: :class:`Analysis` (analyzer ▸ notifier)
- ``observer``: :data:`ObserverMessage` (every app ▸ control plane): the only link between the
  apps and the controller. Field meanings follow the thesis (``target_topic``,
  ``total_messages``, ``timestamp``; ``source_topic``, ``target_topic``, ``deploy_configs``).
- ``<topic>.dlq``: the original bytes, with :data:`DLQ_HEADERS` saying why.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

SCHEMA_VERSION = 1

#: Longest text accepted, in characters. Tweets are 280 and chat messages rarely pass 2,000;
#: anything longer is refused to the DLQ rather than fed to the models truncated without a word.
MAX_TEXT_CHARS = 4000

CATEGORIES: tuple[str, ...] = ("fire", "accident", "natural_hazard", "violence", "hazmat", "other")
Category = Literal["fire", "accident", "natural_hazard", "violence", "hazmat", "other"]
Source = Literal["crawler", "discord", "line", "manual"]


def _now() -> float:
    return time.time()


class _Contract(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: int = SCHEMA_VERSION

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"schema_version {value} is not supported (this build reads {SCHEMA_VERSION})")
        return value


# ─── analyze topic ──────────────────────────────────────────────────────────────────────────


class Report(_Contract):
    """One message from the outside world that may describe an emergency."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    source: Source
    author_id: str | None = None
    channel_id: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: float = Field(default_factory=_now, description="when the author posted it (unix seconds)")
    received_at: float = Field(default_factory=_now, description="when Siaga took it in (unix seconds)")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value


# ─── client topic ───────────────────────────────────────────────────────────────────────────


class Analysis(_Contract):
    """The analyzer's verdict on one report."""

    report: Report
    emergency: bool
    emergency_score: float = Field(ge=0.0, le=1.0)
    category: Category | None = None
    category_score: float | None = Field(default=None, ge=0.0, le=1.0)
    model_version: str
    analyzed_at: float = Field(default_factory=_now)


# ─── observer topic ─────────────────────────────────────────────────────────────────────────


class DeployConfig(BaseModel):
    """How the controller may deploy more of a service (the thesis's ``deploy_configs``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    max_instance: int = Field(ge=1)
    cloud_provider: Literal["LOCAL", "GOOGLE_CLOUD", "AWS"] = "LOCAL"
    machine_type: str = "CPU"


class ThroughputReport(_Contract):
    """Messages one instance produced to ``target_topic`` during one interval."""

    kind: Literal["throughput"] = "throughput"
    target_topic: str
    total_messages: int = Field(ge=0)
    timestamp: float = Field(default_factory=_now)
    interval_s: float = Field(gt=0)
    service: str
    instance_id: str
    #: a report sent again (its ack was lost in a broker outage) keeps its id: readers count each id once
    report_id: str = Field(default_factory=lambda: uuid.uuid4().hex, max_length=64)


class ServicePair(_Contract):
    """Sent once at start: this service turns ``source_topic`` into ``target_topic``."""

    kind: Literal["service_pair"] = "service_pair"
    source_topic: str
    target_topic: str
    consumer_group: str
    deploy_configs: DeployConfig
    service: str
    instance_id: str
    timestamp: float = Field(default_factory=_now)


class Heartbeat(_Contract):
    """Sent every interval while an instance runs: the controller's proof of life."""

    kind: Literal["heartbeat"] = "heartbeat"
    service: str
    instance_id: str
    timestamp: float = Field(default_factory=_now)


class ConsumerJoined(_Contract):
    """A consumer got its assignment in ``group_id`` on ``topic`` (the partition trigger)."""

    kind: Literal["consumer_joined"] = "consumer_joined"
    topic: str
    group_id: str
    assigned_partitions: int = Field(ge=0)
    service: str
    instance_id: str
    timestamp: float = Field(default_factory=_now)


ObserverMessage = Annotated[
    Union[ThroughputReport, ServicePair, Heartbeat, ConsumerJoined], Field(discriminator="kind")
]
observer_message = TypeAdapter(ObserverMessage)


def parse_observer_message(raw: bytes) -> ThroughputReport | ServicePair | Heartbeat | ConsumerJoined:
    return observer_message.validate_json(raw)


# ─── dead-letter topics ─────────────────────────────────────────────────────────────────────

#: Headers on every dead-lettered message; the value is the original bytes, untouched.
DLQ_HEADERS = {
    "reason": "dlq.reason",  # human-readable error, at most 1,000 characters
    "error_type": "dlq.error_type",  # exception class name
    "stage": "dlq.stage",  # decode | process | encode
    "origin_topic": "dlq.origin.topic",
    "origin_partition": "dlq.origin.partition",
    "origin_offset": "dlq.origin.offset",
    "service": "dlq.service",
    "instance_id": "dlq.instance_id",
    "failed_at": "dlq.failed_at",  # ISO 8601, UTC
}


def utc_iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if ts is None else ts, tz=timezone.utc).isoformat()


# ─── notifier ▸ receiver (HTTP and server-sent events) ──────────────────────────────────────

#: Longest text kept in an incident's sample; the full report stays in the ``client`` topic.
MAX_SAMPLE_CHARS = 280
#: Longest device token the notifier accepts (FCM tokens are about 160 characters).
MAX_DEVICE_TOKEN_CHARS = 4096


class IncidentSample(BaseModel):
    """One report an incident was built from, cut to :data:`MAX_SAMPLE_CHARS` for display."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    report_id: str
    text: str = Field(max_length=MAX_SAMPLE_CHARS)
    source: Source
    created_at: float
    emergency_score: float = Field(ge=0.0, le=1.0)


class Incident(_Contract):
    """Reports of one kind, close in time and text, merged: what a person is alerted about."""

    id: str
    category: Category
    count: int = Field(ge=1, description="reports merged into this incident")
    first_seen: float = Field(description="earliest report's created_at (unix seconds)")
    last_seen: float = Field(description="latest report's created_at (unix seconds)")
    keywords: list[str] = Field(default_factory=list, description="its most frequent words, most frequent first")
    samples: list[IncidentSample] = Field(default_factory=list, description="the latest reports, newest first")
    max_score: float = Field(ge=0.0, le=1.0, description="highest emergency score among its reports")
    sources: dict[str, int] = Field(default_factory=dict, description="reports per source")
    alerted_count: int = Field(ge=0, description="count when the last alert went out")


class IncidentEvent(_Contract):
    """A change to an incident, as the receiver's live feed sends it.

    ``alert`` is True when the change deserves a notification: the incident is new, or its
    count just reached one of the alert thresholds (``INCIDENT_ALERT_COUNTS``).
    """

    kind: Literal["created", "updated"]
    alert: bool
    incident: Incident
    sent_at: float = Field(default_factory=_now)


class DeviceRegistration(BaseModel):
    """``POST /api/devices``: a push token the receiver obtained for this browser or phone."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    token: str = Field(min_length=1, max_length=MAX_DEVICE_TOKEN_CHARS, pattern=r"^\S+$")
