"""The control plane's settings: the embedded stack (``python -m workers up`` / ``stack``) and the
Temporal worker (``python -m workers``), whose deploy targets are ``ProviderSettings``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from activities.act.providers.settings import ProviderSettings
from fogverse.settings import (DEFAULT_TEMPORAL, CloudProvider, Choice, CommaList, ConfigError, Port, ResolvedPath, Rule, Settings, broker_env, env, environment, state_dir_env)
Broker = Choice("auto", "kafka", "tansu")  # auto ▸ Apache Kafka when Java 17+ and its jars are there
ScaleOutRule = Choice("count", "plus_one")


def _default_kafka_home() -> Path:
    # inside the active environment, so `make clean` removes the jars with it
    return Path(sys.prefix) / "share" / "siaga-kafka"


class StackSettings(Settings):
    """The embedded stack started by ``python -m workers up``."""

    state_dir: ResolvedPath = state_dir_env()
    broker: Broker = env(
        "SIAGA_BROKER", default="auto",
        meaning="embedded broker: `auto` (Apache Kafka when Java 17+ and its jars are installed, else tansu), "
                "`kafka` (fail at start without them) or `tansu`")
    #: set ▸ use that broker, start none (every app reads it too: RuntimeSettings)
    kafka_bootstrap: str | None = env("KAFKA_BOOTSTRAP_SERVERS", default=None, shown="unset: start one")
    kafka_port: Port = env("KAFKA_PORT", default=9092, meaning="client port of the embedded broker")
    kafka_controller_port: Port = env("KAFKA_CONTROLLER_PORT", default=9093,
                                      meaning="KRaft controller port of the embedded Apache Kafka")
    kafka_heap: Annotated[str, Rule("a JVM heap size such as 512m or 1g")] = env("KAFKA_HEAP", default="512m", pattern=r"^[1-9][0-9]*[kKmMgG]$",
                          meaning="JVM heap of the embedded Apache Kafka (`-Xmx`)")
    kafka_home: ResolvedPath = env(
        "SIAGA_KAFKA_HOME", default_factory=_default_kafka_home, shown="`.venv/share/siaga-kafka`",
        meaning="where `python -m workers install-kafka` puts Apache Kafka's jars, and where the stack runs them from")
    #: set ▸ use that server, start none (the controller reads it too)
    temporal_address: str | None = env(
        "TEMPORAL_ADDRESS", default=None, shown="unset: start one",
        meaning="Temporal server the controller uses (`127.0.0.1:7233` when unset); when set, `make up` starts none")
    temporal_port: Port = env("TEMPORAL_PORT", default=7233, meaning="port of the embedded Temporal dev server")
    temporal_ui_port: Port = env("TEMPORAL_UI_PORT", default=8233, meaning="port of its web UI")
    temporal_namespace: str = env("TEMPORAL_NAMESPACE", default="default", meaning="Temporal namespace")



def _controlled_services(names: tuple[str, ...]) -> tuple[str, ...]:
    from fogverse.contracts import check_service_name

    if not names:
        raise ValueError("must name at least one service (or * for any)")
    for name in names:
        if name != "*":
            try:
                check_service_name(name)
            except ValueError as exc:
                raise ValueError(f": {exc}") from None
    return names


class ControllerSettings(Settings):
    """The Temporal control plane (``python -m workers``): thesis master seeds."""

    bootstrap_servers: str = broker_env("OBSERVER_CONSUMER_SERVERS")
    observer_topic: str = env("OBSERVER_CONSUMER_TOPIC", "OBSERVER_TOPIC", default="observer",
                              meaning="topic the controller reads metrics from")
    temporal_address: str = env("TEMPORAL_ADDRESS", default=DEFAULT_TEMPORAL,
                                meaning="Temporal server; when set, `make up` starts none")
    temporal_namespace: str = env("TEMPORAL_NAMESPACE", default="default")
    task_queue: str = env("TEMPORAL_TASK_QUEUE", default="siaga-control", meaning="the worker's task queue")
    metrics_port: Port = env(
        "CONTROLLER_METRICS_PORT", default=0, shown="`0` (off)",
        meaning="the Temporal SDK's Prometheus exporter serves `/metrics` on this port, scaling decisions included "
                "([Metrics](#metrics))")
    metrics_host: str = env("METRICS_HOST", default="127.0.0.1")
    input_output_ratio_threshold: float = env("INPUT_OUTPUT_RATIO_THRESHOLD", default=0.7, ge=0.0, le=1.0,
                                              meaning="scale out when output/input stays below this")
    z_value: float = env("Z_VALUE", default=2.0, ge=0.0,
                         meaning="… and the input rate's z-score over the window stays below this (not a spike)")
    window_max_second: float = env("WINDOW_MAX_SECOND", default=300.0, ge=1.0,
                                   meaning="seconds of rate history for the z-score")
    input_output_refresh_rate_s: float = env("INPUT_OUTPUT_REFRESH_RATE", default=60.0, ge=1.0,
                                             meaning="seconds between evaluations (a Temporal Schedule)")
    deploy_delay_s: float = env("DEPLOY_DELAY", default=900.0, ge=0.0,
                                meaning="cooldown timer after a scale out: no scale change while it runs")
    #: no scale change this long after a scale in (its rebalance settles)
    scale_in_cooldown_s: float = env("SCALE_IN_COOLDOWN", default=60.0, ge=0.0,
                                     meaning="cooldown timer after a scale in (the rebalance it causes settles)")
    target_utilization: float = env(
        "TARGET_UTILIZATION", default=0.8, ge=0.05, le=1.0,
        meaning="a scale out deploys the instances that carry input and backlog this busy")
    catch_up_s: float = env("CATCH_UP_TIME", default=60.0, ge=1.0,
                            meaning="seconds a scale out plans to drain the backlog in, on top of the input")
    scale_out_rule: ScaleOutRule = env(
        "SCALE_OUT_RULE", default="count",
        meaning="`count`: the instances needed, in one decision; `plus_one`: the thesis's one more per cooldown")
    dlq_suffix: str = env("DLQ_SUFFIX", default=".dlq",
                          meaning="the apps' dead-letter suffix: their dead letters count as handled")
    controlled_services: Annotated[CommaList, AfterValidator(_controlled_services)] = env(
        "CONTROLLED_SERVICES", default=("analyzer", "notifier"),
        meaning="the only services the controller scales (`*`: any); an announcement of another is logged once and "
                "ignored")
    cloud_provider: CloudProvider = env("CLOUD_PROVIDER", default="LOCAL")
    heartbeat_deploy_delay_s: float = env(
        "HEARBEART_DEPLOY_DELAY", default=120.0, ge=1.0,
        meaning="seconds a new instance has to send its first heartbeat before it is rolled back (seed spelling)")
    heartbeat_timeout_s: float = env("HEARTBEAT_TIMEOUT", default=30.0, ge=1.0,
                                     meaning="seconds of silence after which a running instance is reconciled away")
    max_instance: int = env("MAX_INSTANCE", default=3, ge=1, meaning="most instances per service")
    min_instance: int = env(
        "MIN_INSTANCE", default=1, ge=0,
        meaning="fewest instances per service (scale-in floor); above `MAX_INSTANCE` the controller stops at start "
                "naming both")
    scale_in_stabilization_s: float = env(
        "SCALE_IN_STABILIZATION", default=300.0, ge=0.0,
        meaning="scale in to the highest count recommended within this many seconds")
    scale_in_utilization: float = env("SCALE_IN_UTILIZATION", default=0.6, ge=0.0, le=1.0,
                                      meaning="the count scale in keeps carries the input at most this busy")
    backlog_near_zero: int = env("BACKLOG_NEAR_ZERO", default=10, ge=0,
                                 meaning="consumer lag (messages) that still counts as keeping up")
    spike_tolerance: float = env(
        "SPIKE_TOLERANCE", default=0.1, ge=0.0,
        meaning="floor of the rate's std as a share of its mean, so a flat history does not make every change a "
                "spike")
    spike_hold_s: float = env(
        "SPIKE_HOLD", default=3.0, ge=0.0,
        meaning="seconds a rise of the input must hold at the spike level (and longer than two of its producers' "
                "reports) to be a step, not a spike; a rise short of it is rechecked by a timer the moment it would "
                "have held")
    sleep_time_s: float = env("SLEEP_TIME", default=3.0, ge=0.1, meaning="seconds between partition-growth retries")
    max_partitions: int = env("MAX_PARTITIONS", default=12, ge=1, meaning="cap on partition growth")
    reconcile_interval_s: float = env("RECONCILE_INTERVAL", default=60.0, ge=1.0,
                                      meaning="seconds between registry-vs-provider reconciliations")
    providers: ProviderSettings = Field(default_factory=ProviderSettings)

    @model_validator(mode="after")
    def _instances(self) -> "ControllerSettings":
        if self.min_instance > self.max_instance:
            raise ConfigError(f"MIN_INSTANCE={self.min_instance} is above MAX_INSTANCE={self.max_instance}: "
                              "the controller could never keep that many")
        return self

    @classmethod
    def from_env(cls, environ=None, **given: Any) -> "ControllerSettings":
        """The controller's settings and its providers', from one environment (read once)."""
        environ = environment(environ)
        if "providers" not in given:
            given["providers"] = ProviderSettings.from_env(environ)
        return super().from_env(environ, **given)
