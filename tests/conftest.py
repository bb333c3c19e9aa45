"""Session fixtures: the real tansu broker and the real Temporal dev server, on free ports.

Set ``KAFKA_BOOTSTRAP_SERVERS`` / ``TEMPORAL_ADDRESS`` to run the suite against servers that
are already running (for example Apache Kafka from docker-compose) instead.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fogverse.processes import free_port, wait_for_port  # noqa: E402
from workers.stack import tansu_process, temporal_process  # noqa: E402

DATA_DIR = Path(os.environ.get("DISASTER_TWEETS_DIR", REPO.parent / "shared" / "data" / "disaster_tweets"))


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory) -> str:
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        yield given
        return
    port = free_port()
    broker = tansu_process("127.0.0.1", port, tmp_path_factory.mktemp("tansu") / "tansu.log").start()
    try:
        wait_for_port("127.0.0.1", port, 30, broker)
        yield f"127.0.0.1:{port}"
    finally:
        broker.stop()


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
