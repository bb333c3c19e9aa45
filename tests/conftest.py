"""Session fixtures: a real Kafka broker and the real Temporal dev server, on free ports.

The session broker is Apache Kafka (KRaft, from the jars ``python -m workers install-kafka``
put in place) whenever Java 17+ and those jars are here, as ``make test`` arranges; without
them it is tansu, and the tests that need Apache Kafka skip, saying so. ``SIAGA_BROKER``
forces the choice. ``tansu_bootstrap`` is always tansu: the tansu lane, so the no-Java default
stays honest. Set ``KAFKA_BOOTSTRAP_SERVERS`` / ``TEMPORAL_ADDRESS`` to run the suite against
servers that are already running instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: a developer's own .env (settings for their machine) must not change what the tests see; a test
#: of the file names one itself
os.environ["SIAGA_ENV_FILE"] = os.devnull
sys.path.insert(0, str(REPO / "tests"))

from fogverse.processes import free_port, wait_for_port  # noqa: E402
from workers.settings import StackSettings  # noqa: E402
from kafka_helpers import start_kafka_node  # noqa: E402
from workers.kafka_broker import unavailable_reason  # noqa: E402
from workers.stack import choose_broker, tansu_process, temporal_process  # noqa: E402

DATA_DIR = Path(os.environ.get("DISASTER_TWEETS_DIR", REPO.parent / "shared" / "data" / "disaster_tweets"))


def session_broker_kind() -> str:
    """kafka | tansu | given: what the session's ``kafka_bootstrap`` is."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return "given"
    return choose_broker(StackSettings.from_env()).kind


@pytest.fixture(scope="session")
def broker_kind() -> str:
    return session_broker_kind()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory, broker_kind) -> str:
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        yield given
        return
    if broker_kind == "kafka":
        node, broker = start_kafka_node(tmp_path_factory.mktemp("kafka"))
        try:
            yield node.bootstrap
        finally:
            broker.stop()
        return
    with tansu_broker(tmp_path_factory.mktemp("tansu")) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def tansu_bootstrap(tmp_path_factory, broker_kind, kafka_bootstrap) -> str:
    """Always tansu: the lane that keeps the embedded no-Java default honest."""
    if broker_kind == "tansu":
        yield kafka_bootstrap
        return
    with tansu_broker(tmp_path_factory.mktemp("tansu")) as bootstrap:
        yield bootstrap


@contextlib.contextmanager
def tansu_broker(state: Path):
    port = free_port()
    broker = tansu_process("127.0.0.1", port, state / "tansu.log").start()
    try:
        wait_for_port("127.0.0.1", port, 30, broker)
        yield f"127.0.0.1:{port}"
    finally:
        broker.stop()


@pytest.fixture(params=["kafka", "tansu"])
def any_broker(request, broker_kind) -> str:
    """The core runtime tests run on both brokers: Apache Kafka (the session's) and tansu."""
    if request.param == "tansu":
        return request.getfixturevalue("tansu_bootstrap")
    if broker_kind == "tansu":
        pytest.skip(f"Apache Kafka is not available here ({choose_broker_reason()}); the tansu lane runs")
    return request.getfixturevalue("kafka_bootstrap")


def choose_broker_reason() -> str:
    return choose_broker(StackSettings.from_env()).reason


@pytest.fixture
def apache_kafka(broker_kind, kafka_bootstrap) -> str:
    """The session broker, for tests of what only Apache Kafka does; skips, saying why, without it."""
    if broker_kind == "tansu":
        pytest.skip(f"needs Apache Kafka, which cannot run here: {choose_broker_reason()}")
    return kafka_bootstrap


@pytest.fixture
def kafka_installed() -> Path:
    """Where the Apache Kafka jars are, for tests that start (and stop) their own node; skips,
    saying why, when Java 17+ or the jars are not here."""
    home = StackSettings.from_env().kafka_home
    reason = unavailable_reason(home)
    if reason:
        pytest.skip(f"needs its own Apache Kafka node, which cannot run here: {reason}")
    return home


@pytest.fixture(scope="session")
def temporal_address(tmp_path_factory) -> str:
    given = os.environ.get("TEMPORAL_ADDRESS")
    if given:
        yield given
        return
    port = free_port()
    state = tmp_path_factory.mktemp("temporal")
    server = temporal_process("127.0.0.1", port, None, state / "temporal.db", state / "temporal.log").start()
    try:
        wait_for_port("127.0.0.1", port, 60, server)
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def topic_name():
    """A fresh topic name per test, so tests never see each other's messages."""

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    return make


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "labeled.csv").exists():
        pytest.skip(f"the disaster tweets data set is not at {DATA_DIR} (set DISASTER_TWEETS_DIR)")
    return DATA_DIR


@pytest.fixture
def subprocess_env(kafka_bootstrap):
    """Environment for app processes started by a test: the test broker, quick metrics."""
    env = dict(os.environ)
    env.update(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, PYTHONPATH=f"{REPO}:{REPO / 'tests'}", METRICS_INTERVAL="0.5",
               PYTHONUNBUFFERED="1")
    return env
