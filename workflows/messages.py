"""Inputs and outputs of the control plane's workflows, signals, updates and activities.

Small dataclasses, never loose arguments, so each can gain a field without breaking running
workflows. Activities are called by the names below (the workflows never import the modules that
touch the world, which keeps the sandbox clean).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.common import RetryPolicy

from workflows.decide.scaling import Measurement, ScalingPolicy

# ─── names ──────────────────────────────────────────────────────────────────────────────────

SCALER_WORKFLOW = "ServiceScaler"
DEPLOY_WORKFLOW = "DeployInstance"
PARTITION_WORKFLOW = "PartitionGrowth"
TICK_WORKFLOW = "ControlTick"

MEASURE_SERVICE = "measure_service"
LAST_HEARTBEATS = "last_heartbeats"
CREATE_INSTANCE = "create_instance"
DELETE_INSTANCE = "delete_instance"
LIST_INSTANCES = "list_instances"
GROW_PARTITIONS = "grow_partitions"  # measure, decide and grow in one: what histories before the split call
MEASURE_PARTITIONS = "measure_partitions"
CREATE_PARTITIONS = "create_partitions"
DISPATCH_TICK = "dispatch_tick"


#: Retry policies the workflows share: quick reads, and deletes that must end up done.
QUICK_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_attempts=3)
DELETE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                           maximum_interval=timedelta(seconds=30), maximum_attempts=10)

#: Signals: the observer feed saw a deployed instance's first heartbeat (to ``deploy/<instance>``);
#: a deploy ended (from ``deploy/<instance>`` to ``scaler/<service>``).
HEARTBEAT_SEEN = "heartbeat_seen"
DEPLOY_FINISHED = "deploy_finished"

#: Error types a retry cannot fix, so workflows can tell them apart.
UNSUPPORTED_BY_BROKER = "UnsupportedByBroker"  # the broker lacks an API (tansu: CreatePartitions)
GROUP_SPANS_TOPICS = "GroupSpansTopics"  # partition growth refused: the group consumes several topics


def scaler_workflow_id(service: str) -> str:
    return f"scaler/{service}"


def deploy_workflow_id(instance: str) -> str:
    return f"deploy/{instance}"


def partition_workflow_id(topic: str) -> str:
    return f"partitions/{topic}"


# ─── services and instances ─────────────────────────────────────────────────────────────────


@dataclass
class ServiceSpec:
    """A scalable service, as its instances announce it (``ServicePair``)."""

    service: str
    source_topic: str
    target_topic: str
    consumer_group: str
    cloud_provider: str = "LOCAL"
    max_instances: int = 3  # the service's own MAX_INSTANCE, capped by the controller's


@dataclass
class InstanceRequest:
    """One instance to create or delete; ``name`` is deterministic, which makes both idempotent."""

    name: str
    service: str
    provider: str


@dataclass
class InstanceInfo:
    name: str
    service: str
    provider: str
    state: str  # running | pending | stopping (as the provider says)
    created_at: float | None = None


@dataclass
class ListInstancesRequest:
    service: str
    provider: str


@dataclass
class InstanceList:
    instances: list[InstanceInfo] = field(default_factory=list)


@dataclass
class DeleteResult:
    name: str
    deleted: bool  # False: there was nothing to delete


# ─── measuring ──────────────────────────────────────────────────────────────────────────────


@dataclass
class MeasureRequest:
    spec: ServiceSpec
    window_s: float  # the rate window (INPUT_OUTPUT_REFRESH_RATE)
    history_s: float  # the spike window (WINDOW_MAX_SECOND)
    heartbeat_timeout_s: float


@dataclass
class HeartbeatsRequest:
    service: str


@dataclass
class Heartbeats:
    last_seen: dict[str, float] = field(default_factory=dict)  # instance ▸ unix seconds
    now: float = 0.0
    watching_since: float = 0.0  # the feed's heartbeats are complete from this time on
    newest: float = 0.0  # the latest message the feed heard from anyone


@dataclass
class HeartbeatSeen:
    """Signal to a deploy workflow: its instance was heard from (the controller's clock)."""

    instance: str
    at: float


# ─── the service workflow ───────────────────────────────────────────────────────────────────


@dataclass
class EvaluateRequest:
    """Signal from the evaluate schedule: decide and act on what the tick measured.

    The tick's dispatch measures every service as it signals it (``measurement``): one signal
    carries it into the history, without an activity round trip per service per tick. Without one
    (the tick could not measure, or a signal of an older build) the workflow measures itself.
    """

    spec: ServiceSpec
    policy: ScalingPolicy
    window_s: float
    history_s: float
    heartbeat_timeout_s: float
    heartbeat_deploy_delay_s: float
    sleep_time_s: float = 3.0  # SLEEP_TIME: between partition retries
    measurement: Measurement | None = None

    def measure_request(self) -> "MeasureRequest":
        return MeasureRequest(self.spec, self.window_s, self.history_s, self.heartbeat_timeout_s)


@dataclass
class ReconcileRequest:
    """Signal from the reconcile schedule: match the registry against the provider and heartbeats."""

    spec: ServiceSpec
    heartbeat_timeout_s: float


@dataclass
class ManualDeploy:
    """Update from a person (Temporal UI / CLI): deploy one instance now, within the maximum."""

    reason: str = "requested by an operator"
    heartbeat_deploy_delay_s: float | None = None  # None: the last evaluation's setting


@dataclass
class DeployRequest:
    instance: InstanceRequest
    heartbeat_deadline_s: float
    reason: str = ""
    tell_scaler: bool = True  # signal DEPLOY_FINISHED to ``scaler/<service>`` at the end


@dataclass
class DeployOutcome:
    instance: str
    ok: bool
    reason: str
    heartbeat_after_s: float | None = None


# ─── ticks and partitions ───────────────────────────────────────────────────────────────────


@dataclass
class TickRequest:
    kind: str  # evaluate | reconcile


@dataclass
class TickResult:
    services: list[str] = field(default_factory=list)
    partition_checks: list[str] = field(default_factory=list)


@dataclass
class PartitionRequest:
    topic: str
    group_id: str
    max_partitions: int
    sleep_time_s: float
    reason: str = ""


@dataclass
class PartitionMeasurement:
    """A topic and its consumer group, as DescribeGroups and Metadata answer."""

    topic: str
    group_id: str
    members: int
    partitions: int
    group_topics: list[str] = field(default_factory=list)  # every topic the members subscribe to


@dataclass
class PartitionGrowth:
    """What a topic had and has after a growth (``partitions_after == partitions_before``: it had enough)."""

    topic: str
    group_id: str
    members: int
    partitions_before: int
    partitions_after: int
    capped: bool = False
    at: float = 0.0  # unix seconds the broker answered (0: unknown, in histories before it was kept)

    @property
    def grew(self) -> bool:
        return self.partitions_after > self.partitions_before
