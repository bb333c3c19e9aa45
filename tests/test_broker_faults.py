"""The pipeline rides through its Apache Kafka broker going away and coming back on the same data.

Each test starts its own Kafka node (the session's broker stays up for every other test), runs
``runtime_test_app`` as a process, stops the node mid-stream with SIGKILL or SIGTERM, keeps it
down for a real outage and starts it again on the same data and ports. Every input id must reach
the output, with no more duplicates than ``MAX_INFLIGHT_BATCHES × BATCH_SIZE``; the app must
still be running and must have said, once, that it waited for the broker and that it came back.
The output is counted by kcat (librdkafka), a Kafka client we did not write.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from fogverse.contracts import ThroughputReport, parse_observer_message
from fogverse.processes import ManagedProcess, free_port, python_module
from kafka_helpers import kafka_node, produce, read_until, start_kafka_node
from polling import wait_for

REPO = Path(__file__).resolve().parents[1]
BATCH, INFLIGHT = 50, 2
DUPLICATES_BOUND = BATCH * INFLIGHT


def items(ids: list[str], sleep_ms: float = 2) -> list[bytes]:
    return [json.dumps({"id": i, "sleep_ms": sleep_ms}).encode() for i in ids]


def app_process(bootstrap: str, source: str, target: str, log_path: Path, **extra: str) -> ManagedProcess:
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=bootstrap, PYTHONPATH=f"{REPO}:{REPO / 'tests'}",
               PYTHONUNBUFFERED="1", TEST_SOURCE_TOPIC=source, TEST_TARGET_TOPIC=target,
               TEST_GROUP_ID=f"g-{source}", OBSERVER_TOPIC=f"{source}.observer", METRICS_INTERVAL="0.5",
               BATCH_SIZE=str(BATCH), MAX_INFLIGHT_BATCHES=str(INFLIGHT), **extra)
    return ManagedProcess("app", python_module("runtime_test_app"), env=env, log_path=log_path).start()


def log_lines(process: ManagedProcess, text: str) -> list[str]:
    return [line for line in process.log_path.read_text(errors="replace").splitlines() if text in line]


def kcat_values(bootstrap: str, topic: str) -> list[bytes]:
    """Every value in ``topic``, read by kcat from the beginning to the end."""
    result = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                             "-f", "%s\\n"], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return [line for line in result.stdout.splitlines() if line]


@dataclass
class Figures:
    sent: int
    received: int
    unique: int
    outage_s: float
    resumed_s: float  # broker accepting connections ▸ the first output the app sent after that
    complete_s: float  # broker accepting connections ▸ every id in the output
    resent_batches: int  # batches the producer gave up on, which the app sent again

    @property
    def duplicates(self) -> int:
        return self.received - self.unique

    def line(self, what: str) -> str:
        return (f"{what}: sent {self.sent}, received {self.received} ({self.unique} unique, "
                f"{self.duplicates} duplicates, bound {DUPLICATES_BOUND}), outage {self.outage_s:.0f} s, "
                f"resumed {self.resumed_s:.1f} s and complete {self.complete_s:.1f} s after the broker was back, "
                f"{self.resent_batches} batch(es) sent again")


async def reported_outputs(bootstrap: str, observer_topic: str, target: str) -> int:
    """What the app's throughput reports add up to for ``target``."""
    records = await read_until(bootstrap, observer_topic, lambda r: False, timeout_s=3)
    reports = (parse_observer_message(r.value) for r in records)
    # a report whose ack was lost in the outage is sent again with its id: each id counts once
    by_id = {m.report_id: m.total_messages for m in reports
             if isinstance(m, ThroughputReport) and m.target_topic == target}
    return sum(by_id.values())


async def alive_for(process: ManagedProcess, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.alive(), f"{process.name} exited during the outage:\n{process.tail()}"
        await asyncio.sleep(0.5)


async def ride_through(tmp_path: Path, take_down, outage_s: float, what: str) -> Figures:
    """Stream ids through the app, take the broker down with ``take_down(broker)`` mid-stream for
    ``outage_s``, restart it on the same data, stream more ids; return what reached the output."""
    node, broker = start_kafka_node(tmp_path / "kafka")
    source, target = f"src-{uuid.uuid4().hex[:8]}", f"dst-{uuid.uuid4().hex[:8]}"
    before = [f"before-{i}" for i in range(2000)]
    after = [f"after-{i}" for i in range(500)]
    app = None
    try:
        await produce(node.bootstrap, source, items(before))
        app = app_process(node.bootstrap, source, target, tmp_path / "app.log")
        await read_until(node.bootstrap, target, lambda r: len(r) >= 300, timeout_s=90, watch=app)
        take_down(broker)
        went_down = time.monotonic()
        await alive_for(app, outage_s)
        assert log_lines(app, f"waiting for the broker at {node.bootstrap}"), app.tail()

        _, broker = await asyncio.to_thread(start_kafka_node, node.state_dir, node)
        back_wall, back = time.time(), time.monotonic()
        outage = back - went_down
        await produce(node.bootstrap, source, items(after))
        expected = set(before) | set(after)
        records = await read_until(node.bootstrap, target, lambda r: expected <= {json.loads(x.value)["id"] for x in r},
                                   timeout_s=180, watch=app)
        complete = time.monotonic() - back
        resumed = min(r.timestamp / 1000 for r in records if r.timestamp / 1000 >= back_wall) - back_wall
        assert app.alive(), app.tail()
        assert len(log_lines(app, f"waiting for the broker at {node.bootstrap}")) == 1, app.tail(60)
        assert await wait_for(lambda: log_lines(app, f"broker back at {node.bootstrap}"), 10), app.tail(60)
        assert app.stop(30) == 0, f"the app did not stop cleanly after the outage:\n{app.tail()}"
        assert "Traceback" not in app.log_path.read_text(), app.tail(80)

        if shutil.which("kcat") is None:  # the aiokafka read above already found every id
            seen = collections.Counter(json.loads(r.value)["id"] for r in await read_until(
                node.bootstrap, target, lambda r: False, timeout_s=3))
        else:
            seen = collections.Counter(json.loads(v)["id"] for v in kcat_values(node.bootstrap, target))
        figures = Figures(sent=len(expected), received=sum(seen.values()), unique=len(seen), outage_s=outage,
                          resumed_s=resumed, complete_s=complete,
                          resent_batches=len(log_lines(app, "sending them again")))
        print(figures.line(what))
        lost = expected - set(seen)
        assert not lost, f"lost {len(lost)}: {sorted(lost)[:10]}; {figures.line(what)}"
        assert figures.duplicates <= DUPLICATES_BOUND, figures.line(what)
        reported = await reported_outputs(node.bootstrap, f"{source}.observer", target)
        assert figures.unique <= reported <= figures.received, \
            f"the throughput reports count {reported} outputs across the outage; {figures.line(what)}"
        if shutil.which("kcat") is None:
            pytest.skip("kcat (Debian package kcat) is not installed, so the output was counted only by "
                        f"aiokafka, which found every id: {figures.line(what)}")
        return figures
    finally:
        if app is not None:
            app.stop()
        broker.stop()


async def test_sigkill_of_the_broker_for_60_s_loses_nothing(kafka_installed, tmp_path):
    """Longer than the producer's 40 s request timeout: the app sends what was not acked again."""
    await ride_through(tmp_path, lambda broker: broker.kill(), 60, "SIGKILL, 60 s outage")


async def test_sigterm_of_the_broker_loses_nothing(kafka_installed, tmp_path):
    """A controlled shutdown and a shorter outage: the producer's own retries deliver the batches."""
    await ride_through(tmp_path, lambda broker: broker.stop(), 15, "SIGTERM, 15 s outage")


async def test_an_app_started_before_its_broker_waits_and_then_works(kafka_installed, tmp_path):
    node = kafka_node(tmp_path / "kafka")
    source, target = f"src-{uuid.uuid4().hex[:8]}", f"dst-{uuid.uuid4().hex[:8]}"
    app = app_process(node.bootstrap, source, target, tmp_path / "app.log")
    broker = None
    try:
        assert await wait_for(lambda: log_lines(app, f"waiting for the broker at {node.bootstrap}"), 30), app.tail()
        await alive_for(app, 5)
        _, broker = await asyncio.to_thread(start_kafka_node, node.state_dir, node)
        ids = [f"late-{i}" for i in range(300)]
        await produce(node.bootstrap, source, items(ids, sleep_ms=0))
        records = await read_until(node.bootstrap, target, lambda r: {json.loads(x.value)["id"] for x in r} >= set(ids),
                                   timeout_s=90, watch=app)
        assert {json.loads(r.value)["id"] for r in records} == set(ids)
        assert len(log_lines(app, "waiting for the broker at")) == 1, app.tail()
        assert log_lines(app, f"broker back at {node.bootstrap}"), app.tail()
    finally:
        app.stop()
        if broker is not None:
            broker.stop()


async def test_an_app_waiting_for_its_broker_stops_on_sigterm(tmp_path):
    bootstrap = f"127.0.0.1:{free_port()}"  # nothing listens there
    app = app_process(bootstrap, "never", "never.out", tmp_path / "app.log")
    try:
        assert await wait_for(lambda: log_lines(app, f"waiting for the broker at {bootstrap}"), 30), app.tail()
        app.signal(signal.SIGTERM)
        code = await asyncio.to_thread(app.popen.wait, 15)
        assert code == 0, app.tail()
        assert log_lines(app, "test-app stopped"), app.tail()
    finally:
        app.stop()


async def test_sigterm_during_a_broker_outage_stops_within_the_drain_timeout_and_loses_nothing(kafka_installed,
                                                                                               tmp_path):
    """In-flight batches whose acks cannot come: the stop gives up on them after DRAIN_TIMEOUT, says
    so, and exits 0; the next start reads them again (duplicates, not loss)."""
    drain_s = 4
    node, broker = start_kafka_node(tmp_path / "kafka")
    source, target = f"src-{uuid.uuid4().hex[:8]}", f"dst-{uuid.uuid4().hex[:8]}"
    ids = [f"m-{i}" for i in range(2000)]
    app = second = None
    try:
        await produce(node.bootstrap, source, items(ids, sleep_ms=3))
        app = app_process(node.bootstrap, source, target, tmp_path / "app.log", DRAIN_TIMEOUT=str(drain_s))
        await read_until(node.bootstrap, target, lambda r: len(r) >= 200, timeout_s=90, watch=app)
        broker.kill()  # the app goes on with what it had fetched: its outputs wait for acks
        assert await wait_for(lambda: log_lines(app, f"waiting for the broker at {node.bootstrap}"), 30), app.tail()
        await asyncio.sleep(2)
        app.signal(signal.SIGTERM)
        asked = time.monotonic()
        code = await asyncio.to_thread(app.popen.wait, drain_s + 40)  # TimeoutExpired: the stop hung
        took = time.monotonic() - asked
        print(f"stopped {took:.1f} s after SIGTERM with the broker away (DRAIN_TIMEOUT={drain_s})")
        assert code == 0, app.tail(40)
        assert log_lines(app, "not committed after"), app.tail(40)
        assert log_lines(app, "test-app stopped"), app.tail(40)

        _, broker = await asyncio.to_thread(start_kafka_node, node.state_dir, node)
        second = app_process(node.bootstrap, source, target, tmp_path / "second.log")
        records = await read_until(node.bootstrap, target, lambda r: {json.loads(x.value)["id"] for x in r} >= set(ids),
                                   timeout_s=180, watch=second)
        assert {json.loads(r.value)["id"] for r in records} >= set(ids)
    finally:
        for process in (app, second):
            if process is not None:
                process.stop()
        broker.stop()
