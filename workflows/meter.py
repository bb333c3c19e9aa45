"""What the workflows count on the Temporal SDK's metric meter: each decision, by action and reason.

The controller's runtime exports that meter to Prometheus with the SDK's own metrics
(``CONTROLLER_METRICS_PORT``, ``workers/worker.py``); with no exporter it is a no-op. The SDK
does not record while a workflow replays its history, so a decision is counted once, when made.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.decide.partitions import PartitionDecision
    from workflows.decide.scaling import Decision


def count_scaling(service: str, decision: Decision) -> None:
    workflow.metric_meter().create_counter(
        "siaga_scaling_decisions", "Scaling decisions, by service, action and reason",
    ).with_additional_attributes({"service": service, "action": decision.action, "reason": decision.reason}).add(1)


def count_partitions(decision: PartitionDecision) -> None:
    workflow.metric_meter().create_counter(
        "siaga_partition_decisions", "Partition-growth decisions, by topic, action and reason",
    ).with_additional_attributes({"topic": decision.topic, "action": decision.action,
                                  "reason": decision.reason}).add(1)
