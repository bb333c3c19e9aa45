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

Everything read from a topic is untrusted: names that end up in paths, scripts, workflow ids or
Kafka requests match one strict pattern each (:data:`ServiceName`, :data:`InstanceId`,
:data:`KafkaName`), every float is finite, observer timestamps are not far in the future, and
free text fields have a size limit. A message that breaks one is refused at decode with the reason.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timezone
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

SCHEMA_VERSION = 1

#: Longest text accepted, in characters. Tweets are 280 and chat messages rarely pass 2,000;
#: anything longer is refused to the DLQ rather than fed to the models truncated without a word.
MAX_TEXT_CHARS = 4000

CATEGORIES: tuple[str, ...] = ("fire", "accident", "natural_hazard", "violence", "hazmat", "other")
Category = Literal["fire", "accident", "natural_hazard", "violence", "hazmat", "other"]
Source = Literal["crawler", "discord", "line", "manual"]


#: A service's name: it becomes instance names, log paths, cloud-init scripts and workflow ids.
SERVICE_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
#: An instance's id: ``<hostname>-<pid>`` by default, ``<service>-<n>`` for instances the controller deploys.
INSTANCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
#: A Kafka topic or consumer group name (Kafka's own rule for topics).
KAFKA_NAME_PATTERN = r"^[A-Za-z0-9._-]{1,249}$"
#: Observer timestamps further ahead of this process's clock than this are refused (a clock that
#: far off, or a forged message, must not pin "the feed is current").
MAX_CLOCK_AHEAD_S = 300.0

#: Free fields of a :class:`Report`: whatever a network hands us, bounded.
MAX_ID_CHARS = 200
MAX_METADATA_ENTRIES = 32
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 1000

_SHOWN_CHARS = 60  # of a refused value, in the error: a 1,100-character name must not flood the log


def _now() -> float:
    return time.time()


def _check(kind: str, pattern: str, rule: str, value: str) -> str:
    # fullmatch: with match, the pattern's ``$`` would let a trailing newline through
    if isinstance(value, str) and re.fullmatch(pattern, value):
        return value
    shown = value if not isinstance(value, str) or len(value) <= _SHOWN_CHARS else \
        f"{value[:_SHOWN_CHARS]}… ({len(value)} characters)"
    raise ValueError(f"{kind} {shown!r} is refused: {rule} (pattern {pattern})")


def check_service_name(name: str) -> str:
    """``name`` if it is a valid service name; otherwise ValueError saying why not."""
    return _check("service name", SERVICE_NAME_PATTERN,
                  "a lowercase letter, then at most 39 lowercase letters, digits, '_' or '-'", name)


def check_instance_id(value: str) -> str:
    """``value`` if it is a valid instance id; otherwise ValueError saying why not."""
    return _check("instance id", INSTANCE_ID_PATTERN,
                  "a letter or digit, then at most 99 letters, digits, '.', '_' or '-'", value)


def check_kafka_name(value: str) -> str:
    """``value`` if it is a valid Kafka topic or consumer group name; otherwise ValueError saying why not."""
    return _check("topic or group name", KAFKA_NAME_PATTERN, "1 to 249 letters, digits, '.', '_' or '-'", value)


def _not_far_ahead(timestamp: float) -> float:
    ahead = timestamp - time.time()
    if ahead > MAX_CLOCK_AHEAD_S:
        raise ValueError(f"timestamp {timestamp} is {ahead:.0f} s in the future (at most {MAX_CLOCK_AHEAD_S:.0f} s "
                         "ahead of the reader's clock is accepted)")
    return timestamp


ServiceName = Annotated[str, AfterValidator(check_service_name)]
InstanceId = Annotated[str, AfterValidator(check_instance_id)]
KafkaName = Annotated[str, AfterValidator(check_kafka_name)]
#: When an app sent an observer message, by its own clock: informative only, since the controller
#: windows and judges liveness by when it received a message (activities.measure.observer).
ObserverTimestamp = Annotated[float, AfterValidator(_not_far_ahead)]

_CONFIG = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)  # every float finite: 1e999 is inf


class _Contract(BaseModel):
    model_config = _CONFIG

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
    author_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    channel_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    reply_to: str | None = Field(default=None, max_length=MAX_ID_CHARS,
                                 description="the id of the report this one answers (a chat reply or quote)")
    metadata: dict[Annotated[str, Field(max_length=MAX_METADATA_KEY_CHARS)],
                   Annotated[str, Field(max_length=MAX_METADATA_VALUE_CHARS)]] = Field(
        default_factory=dict, max_length=MAX_METADATA_ENTRIES)
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
    """How the controller may deploy more of a service (the thesis's ``deploy_configs``), as the
    instance sees it; the controller deploys by its own settings. The seeds' ``machine_type`` is
    no longer sent and is ignored when an older build sends it: the machine type of a deployed
    instance is the controller's (``MACHINE_TYPE``, ``AWS_INSTANCE_TYPE``)."""

    model_config = _CONFIG

    max_instance: int = Field(ge=1)
    cloud_provider: Literal["LOCAL", "GOOGLE_CLOUD", "AWS"] = "LOCAL"


class ThroughputReport(_Contract):
    """Messages one instance produced to ``target_topic`` during one interval."""

    kind: Literal["throughput"] = "throughput"
    target_topic: KafkaName
    total_messages: int = Field(ge=0)
    timestamp: ObserverTimestamp = Field(default_factory=_now)
    interval_s: float = Field(gt=0)
    service: ServiceName
    instance_id: InstanceId
    #: a report sent again (its ack was lost in a broker outage) keeps its id: readers count each id once
    report_id: str = Field(default_factory=lambda: uuid.uuid4().hex, max_length=64)


class ServicePair(_Contract):
    """Sent once at start: this service turns ``source_topic`` into ``target_topic``."""

    kind: Literal["service_pair"] = "service_pair"
    source_topic: KafkaName
    target_topic: KafkaName
    consumer_group: KafkaName
    deploy_configs: DeployConfig
    service: ServiceName
    instance_id: InstanceId
    timestamp: ObserverTimestamp = Field(default_factory=_now)


class Heartbeat(_Contract):
    """Sent every interval while an instance runs: the controller's proof of life.

    An app that processes a stream also says how busy the interval kept it: ``busy_s`` seconds
    spent decoding, processing and encoding ``handled`` inputs (outputs, dead letters and inputs
    with no output) during the ``interval_s`` seconds since its previous heartbeat, so its true
    processing rate (``handled / busy_s``) is known without waiting for an overload. Apps that
    only publish (crawler, bots) send no busy figures; messages from before these fields are valid.
    """

    kind: Literal["heartbeat"] = "heartbeat"
    service: ServiceName
    instance_id: InstanceId
    timestamp: ObserverTimestamp = Field(default_factory=_now)
    interval_s: float | None = Field(default=None, gt=0, description="seconds since the previous heartbeat")
    busy_s: float | None = Field(default=None, ge=0, description="seconds spent processing in that interval")
    handled: int | None = Field(default=None, ge=0, description="inputs handled in that interval")

    @model_validator(mode="after")
    def _busy_figures_complete(self) -> "Heartbeat":
        if (self.busy_s is None) != (self.handled is None):
            raise ValueError("busy_s and handled come together (both or neither)")
        if self.busy_s is not None and self.interval_s is None:
            raise ValueError("busy figures need the interval_s they cover")
        return self


class ConsumerJoined(_Contract):
    """A consumer got its assignment in ``group_id`` on ``topic`` (the partition trigger)."""

    kind: Literal["consumer_joined"] = "consumer_joined"
    topic: KafkaName
    group_id: KafkaName
    assigned_partitions: int = Field(ge=0)
    service: ServiceName
    instance_id: InstanceId
    timestamp: ObserverTimestamp = Field(default_factory=_now)


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
    "stage": "dlq.stage",  # decode | process | encode | produce
    "origin_topic": "dlq.origin.topic",
    "origin_partition": "dlq.origin.partition",
    "origin_offset": "dlq.origin.offset",
    "service": "dlq.service",
    "instance_id": "dlq.instance_id",
    "failed_at": "dlq.failed_at",  # ISO 8601, UTC
    "truncated": "dlq.truncated",  # "KEPT of ORIGINAL bytes" when the original did not fit
    # on a record ``python -m fogverse.dlq replay`` sent back to its origin topic: which dead letter
    # it was (``TOPIC[PARTITION]@OFFSET``) and when; the runtime copies ``replayed_from`` onto the
    # dead letter of a replayed record that fails again, so replay never sends it round a loop
    "replayed_from": "dlq.replayed_from",
    "replayed_at": "dlq.replayed_at",  # ISO 8601, UTC
}


def utc_iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if ts is None else ts, tz=timezone.utc).isoformat()


# ─── notifier ▸ receiver (HTTP and server-sent events) ──────────────────────────────────────

#: Longest text kept in an incident's sample; the full report stays in the ``client`` topic.
MAX_SAMPLE_CHARS = 280
#: Longest device token the notifier accepts (FCM tokens are about 160 characters).
MAX_DEVICE_TOKEN_CHARS = 4096
#: What FCM and web-push registration tokens are made of (base64url, ``:``, ``.``); nothing else is one.
DEVICE_TOKEN_PATTERN = r"^[A-Za-z0-9_:.\-]+$"


class IncidentSample(BaseModel):
    """One report an incident was built from, cut to :data:`MAX_SAMPLE_CHARS` for display."""

    model_config = _CONFIG

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
    title: str = Field("", max_length=MAX_SAMPLE_CHARS,
                       description="what a person would call it: its kind and the place its reports name most "
                                   "(\"Fire at Jalan Sudirman\"), else the city they name (\"Flood in Samarinda\"), "
                                   "else its kind")
    summary: str = Field("", max_length=MAX_SAMPLE_CHARS,
                         description="its most representative report: the one most like the others")
    keywords: list[str] = Field(default_factory=list, description="its most frequent words, most frequent first")
    samples: list[IncidentSample] = Field(default_factory=list, description="the latest reports, newest first")
    max_score: float = Field(ge=0.0, le=1.0, description="highest emergency score among its reports")
    sources: dict[str, int] = Field(default_factory=dict, description="reports per source")
    alerted_count: int = Field(ge=0, description="count when the last alert went out")


class IncidentEvent(_Contract):
    """A change to an incident, as the receiver's live feed sends it.

    ``alert`` is True when the change deserves a notification: the incident is new, or its
    count just reached one of the alert thresholds (``INCIDENT_ALERT_COUNTS``). ``absorbed``:
    the incidents merged into it (a report showed them to be one event), gone from now on.
    """

    kind: Literal["created", "updated"]
    alert: bool
    incident: Incident
    # incidents found to be this one's event and merged into it: a receiver drops them
    absorbed: list[str] = Field(default_factory=list, max_length=1000)
    sent_at: float = Field(default_factory=_now)


class DeviceRegistration(BaseModel):
    """``POST /api/devices``: a push token the receiver obtained for this browser or phone."""

    model_config = _CONFIG

    token: str = Field(min_length=1, max_length=MAX_DEVICE_TOKEN_CHARS, pattern=DEVICE_TOKEN_PATTERN)
