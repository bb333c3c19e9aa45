"""The state each long-lived workflow carries, in one dataclass so continue-as-new passes it whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from workflows.decide.scaling import Decision, Recommendation, ScalingPolicy
from workflows.messages import EvaluateRequest, PartitionGrowth, PartitionRequest, ReconcileRequest, ServiceSpec
from workflows.decide.partitions import PartitionDecision

#: How much recent history the state keeps for people reading it in the Temporal UI.
KEEP_DECISIONS = 20
KEEP_EVENTS = 50
KEEP_FAILURES = 20

Status = Literal["deploying", "running", "removing"]
DEPLOYING: Status = "deploying"
RUNNING: Status = "running"
REMOVING: Status = "removing"

EventAction = Literal["deployed", "deploy_failed", "removed", "remove_failed", "vanished", "adopted", "dead",
                      "orphan_deleted", "partitions_grown", "partitions_failed"]


@dataclass
class InstanceRecord:
    """An instance this controller deployed (the service's first instances are not in here)."""

    name: str
    provider: str
    status: Status
    requested_at: float
    reason: str = ""
    running_since: float | None = None


@dataclass
class ScaleEvent:
    at: float
    action: EventAction
    instance: str
    reason: str


@dataclass
class ScalerState:
    service: str
    spec: ServiceSpec | None = None
    policy: ScalingPolicy | None = None
    heartbeat_deploy_delay_s: float = 120.0
    instances: dict[str, InstanceRecord] = field(default_factory=dict)
    next_instance_number: int = 1
    cooldown_until: float | None = None  # a DEPLOY_DELAY / SCALE_IN_COOLDOWN timer runs until then
    cooldown_reason: str = ""
    recommendations: list[Recommendation] = field(default_factory=list)  # for scale-in stabilization
    live_instances: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # deleted here: their last heartbeats no longer count
    last_decision: Decision | None = None
    decisions: list[Decision] = field(default_factory=list)
    events: list[ScaleEvent] = field(default_factory=list)
    failures: list[ScaleEvent] = field(default_factory=list)
    evaluations: int = 0
    reconciliations: int = 0
    runs: int = 1  # 1 + how many times the workflow continued as new

    def managed(self, *statuses: str) -> list[InstanceRecord]:
        return [r for r in self.instances.values() if not statuses or r.status in statuses]

    def record(self, event: ScaleEvent, failure: bool = False) -> None:
        self.events = (self.events + [event])[-KEEP_EVENTS:]
        if failure:
            self.failures = (self.failures + [event])[-KEEP_FAILURES:]

    def remember(self, decision: Decision) -> None:
        self.last_decision = decision
        self.decisions = (self.decisions + [decision])[-KEEP_DECISIONS:]

    def waiting_for(self) -> str:
        """What the workflow waits for, and until when: its current details, memo and ``workers status``."""
        deploying = [r.name for r in self.managed(DEPLOYING)]
        parts = []
        if deploying:
            parts.append(f"first heartbeat of {', '.join(deploying)} (see deploy/<instance>)")
        if self.cooldown_until is not None:
            parts.append(f"cooldown until {utc_clock(self.cooldown_until)} after {self.cooldown_reason}")
        return "; ".join(parts) or "the next evaluation"


def utc_clock(unix: float) -> str:
    return datetime.fromtimestamp(unix, timezone.utc).strftime("%H:%M:%S UTC")


@dataclass
class ScalerInput:
    service: str
    state: ScalerState | None = None
    pending_evaluate: EvaluateRequest | None = None
    pending_reconcile: ReconcileRequest | None = None
    history_limit: int = 4000  # continue as new past this many events (or when Temporal suggests it)


@dataclass
class PartitionState:
    topic: str
    growths: list[PartitionGrowth] = field(default_factory=list)
    checks: int = 0
    last_decision: PartitionDecision | None = None


@dataclass
class PartitionInput:
    topic: str
    state: PartitionState | None = None
    pending: list[PartitionRequest] = field(default_factory=list)
