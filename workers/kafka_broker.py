"""Apache Kafka as the embedded broker: installed from Maven Central, run in KRaft mode on loopback.

- **Install** (``python -m workers install-kafka``, run by ``make up`` / ``make test``): Maven
  resolves ``workers/kafka/pom.xml`` (the pinned broker version) and copies the jars into
  ``SIAGA_KAFKA_HOME``. This is the only time anything is fetched; run time reads that folder.
- **Run**: one combined broker+controller node (``process.roles=broker,controller``). Its data
  lives under ``<state>/kafka/data``, formatted on the first start by ``kafka.tools.StorageTool``
  (the class ``kafka-storage.sh`` calls) and reused afterwards, so topics, messages and committed
  offsets survive a restart. The properties are written anew at every start from the settings,
  sized for a 2-core machine and quick rebalances.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from fogverse.processes import ManagedProcess, system_env

POM = Path(__file__).with_name("kafka") / "pom.xml"
MIN_JAVA = 17

LOG4J2_YAML = """\
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: kafka
        level: INFO
      - name: org.apache.kafka
        level: WARN
      - name: state.change.logger
        level: WARN
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
"""


def pinned_version() -> str:
    """The broker version ``workers/kafka/pom.xml`` pins."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    found = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)
    if found is None or not found.text:
        raise RuntimeError(f"{POM} has no <kafka.version>")
    return found.text.strip()


def java_version(java: str | None = None) -> int | None:
    """The major version of the ``java`` on PATH (or ``$JAVA_HOME/bin/java``), None when absent."""
    java = java or java_binary()
    if not java:
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8" means 8


def java_binary() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def installed_jars(home: Path) -> list[Path]:
    return sorted((home / "libs").glob("*.jar")) if (home / "libs").is_dir() else []


def is_installed(home: Path) -> bool:
    return (home / "libs" / f"kafka_2.13-{pinned_version()}.jar").exists()


def unavailable_reason(home: Path) -> str | None:
    """Why Apache Kafka cannot run here, or None when it can."""
    version = java_version()
    if version is None:
        return "no Java runtime (java not on PATH, JAVA_HOME unset)"
    if version < MIN_JAVA:
        return f"Java {version} is too old: Apache Kafka {pinned_version()} needs Java {MIN_JAVA} or newer"
    if not is_installed(home):
        return (f"the Apache Kafka {pinned_version()} jars are not installed in {home} "
                "(run `python -m workers install-kafka`, which `make up` does)")
    return None


def install(home: Path) -> str:
    """Resolve the pinned broker and its dependencies from Maven Central into ``home``/libs.

    Returns what happened, in one line; raises RuntimeError when Maven fails.
    """
    if is_installed(home):
        return f"Apache Kafka {pinned_version()} already installed in {home}"
    version = java_version()
    if version is None or version < MIN_JAVA:
        return f"Apache Kafka not installed: needs Java {MIN_JAVA}+, found {version or 'none'} (tansu will be used)"
    mvn = shutil.which("mvn")
    if not mvn:
        return "Apache Kafka not installed: Maven (mvn) is not on PATH (tansu will be used)"
    staging = home.with_name(home.name + f".partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    result = subprocess.run([mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
                             "-DincludeScope=runtime", f"-DoutputDirectory={staging / 'libs'}"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"Maven could not resolve {POM}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    (staging / "log4j2.yaml").write_text(LOG4J2_YAML)
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(home)  # whole or not at all: a half-copied folder never looks installed
    return f"Apache Kafka {pinned_version()} installed in {home} ({len(installed_jars(home))} jars)"


@dataclass
class KafkaNode:
    """One KRaft node acting as broker and controller, on loopback by default."""

    home: Path
    state_dir: Path  # its data and properties live in state_dir (usually <SIAGA_STATE_DIR>/kafka)
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    num_partitions: int = 1
    #: more listeners, name ▸ (security protocol, port); e.g. {"SASL_SSL": ("SASL_SSL", 9094)}
    extra_listeners: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: more broker properties (TLS stores, SASL mechanisms ...), written after the defaults
    extra_properties: dict[str, str] = field(default_factory=dict)
    #: SCRAM credentials to create while formatting, e.g. ["SCRAM-SHA-256=[name=u,password=p]"]
    scram_credentials: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def properties_path(self) -> Path:
        return self.state_dir / "server.properties"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def properties(self) -> dict[str, str]:
        listeners = {"PLAINTEXT": ("PLAINTEXT", self.port), "CONTROLLER": ("PLAINTEXT", self.controller_port),
                     **self.extra_listeners}
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listeners": ",".join(f"{name}://{self.host}:{port}" for name, (_, port) in listeners.items()),
            "advertised.listeners": ",".join(f"{name}://{self.host}:{port}" for name, (_, port)
                                             in listeners.items() if name != "CONTROLLER"),
            "listener.security.protocol.map": ",".join(f"{name}:{proto}" for name, (proto, _) in listeners.items()),
            "log.dirs": str(self.data_dir),
            # one node: every internal topic has one replica
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            # a newcomer is assigned work at once instead of after the 3 s default
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": str(self.num_partitions),
            "auto.create.topics.enable": "true",
            # a 2-core machine: few threads, small segments so a restart recovers quickly
            "num.network.threads": "2",
            "num.io.threads": "2",
            "background.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "log.segment.bytes": str(64 * 1024 * 1024),
            "log.retention.hours": "168",
        }
        props.update(self.extra_properties)
        return props

    def write_properties(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        text = "".join(f"{key}={value}\n" for key, value in self.properties().items())
        self.properties_path.write_text("# written by Siaga at every start; edit the settings instead\n" + text)

    def formatted(self) -> bool:
        return (self.data_dir / "meta.properties").exists()

    def _java(self, main_class: str, *args: str) -> list[str]:
        java = java_binary()
        if not java:
            raise RuntimeError("no Java runtime: java is not on PATH and JAVA_HOME is unset")
        return [java, f"-Xmx{self.heap}", f"-Xms{min(self.heap, '256m', key=_mebibytes)}",
                "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.home / 'log4j2.yaml'}",
                "-cp", str(self.home / "libs" / "*"), main_class, *args]

    def format_storage(self) -> None:
        """Format the data folder once (a new cluster id); later starts reuse what is there."""
        if self.formatted():
            return
        import base64

        cluster = "-"
        while cluster.startswith("-"):  # the storage tool would read a leading "-" as an option (as Kafka's own ids avoid)
            cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        argv = self._java("kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(self.properties_path))
        for credential in self.scram_credentials:
            argv += ["--add-scram", credential]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage in {self.data_dir} failed:\n{result.stdout}{result.stderr}")

    def process(self, log_path: Path | None) -> ManagedProcess:
        """Write the properties, format on first use, and return the (not yet started) broker."""
        self.write_properties()
        self.format_storage()
        return ManagedProcess("kafka", self._java("kafka.Kafka", str(self.properties_path)),
                              env=system_env(), log_path=log_path)


def version_listening_at(bootstrap: str, state_dir: Path) -> str | None:
    """``Apache Kafka <version>`` if the embedded node whose properties are in ``state_dir`` listens at ``bootstrap``."""
    try:
        lines = (state_dir / "server.properties").read_text().splitlines()
    except OSError:
        return None
    advertised = next((line.split("=", 1)[1] for line in lines if line.startswith("advertised.listeners=")), "")
    addresses = {listener.split("://", 1)[-1] for listener in advertised.split(",") if listener}
    if not addresses & {server.strip() for server in bootstrap.split(",")}:
        return None
    return f"Apache Kafka {pinned_version()} (embedded, data in {state_dir})"


def _mebibytes(size: str) -> float:
    number, unit = float(size[:-1]), size[-1].lower()
    return number * {"k": 1 / 1024, "m": 1, "g": 1024}.get(unit, 1 / (1024 * 1024))


def main(argv: list[str] | None = None) -> int:
    """``python -m workers install-kafka``."""
    from workers.settings import StackSettings

    settings = StackSettings.from_env()
    try:
        print(install(settings.kafka_home), flush=True)
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0
