"""The FogVerse-style runtime against the real brokers: every test runs on Apache Kafka and on tansu.

The tansu lane keeps the embedded no-Java default honest: end to end, SIGKILL without loss, the
dead-letter topic, metrics and draining all run on both brokers.
"""

from __future__ import annotations

import asyncio
import collections
import json
import signal
import time

import pytest

from fogverse.contracts import DLQ_HEADERS, Heartbeat, ServicePair, ThroughputReport, parse_observer_message
from fogverse.processes import ManagedProcess, free_port, python_module
from fogverse.settings import RuntimeSettings
from kafka_helpers import produce, read_until
from runtime_test_app import build_app


@pytest.fixture
def kafka_bootstrap(any_broker) -> str:
    """This module's broker: each test runs once on Apache Kafka and once on tansu."""
    return any_broker


def items(n: int, prefix: str = "m", **extra) -> list[bytes]:
    return [json.dumps({"id": f"{prefix}{i}", **extra}).encode() for i in range(n)]


def ids(records) -> list[str]:
    return [json.loads(r.value)["id"] for r in records]


def app_env(kafka_bootstrap, source, target, **extra) -> dict[str, str]:
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TEST_SOURCE_TOPIC": source,
           "TEST_TARGET_TOPIC": target, "TEST_GROUP_ID": f"g-{source}", "METRICS_INTERVAL": "0.5",
           "OBSERVER_TOPIC": f"{source}.observer"}
    env.update({k: str(v) for k, v in extra.items()})
    return env


async def stop(app, task):
    app.request_stop()
    await asyncio.wait_for(task, 30)


@pytest.mark.parametrize("parallel", ["0", "1"])
async def test_pipeline_moves_every_message_end_to_end(kafka_bootstrap, topic_name, parallel):
    source, target = topic_name("src"), topic_name("dst")
    n = 1000
    await produce(kafka_bootstrap, source, items(n))
    app = build_app(app_env(kafka_bootstrap, source, target, TEST_PARALLEL=parallel, WORKER_THREADS=2))
    task = asyncio.create_task(app.run())
    try:
        out = await read_until(kafka_bootstrap, target, lambda r: len(set(ids(r))) >= n, timeout_s=60)
    finally:
        await stop(app, task)
    assert set(ids(out)) == {f"m{i}" for i in range(n)}
    assert len(out) == n  # no crash, so no duplicates either


async def test_stop_drains_and_commits_what_was_produced(kafka_bootstrap, topic_name):
    """A graceful stop mid-stream commits exactly what reached the target: a restart resumes there."""
    source, target = topic_name("src"), topic_name("dst")
    n = 400
    await produce(kafka_bootstrap, source, items(n, sleep_ms=5))
    env = app_env(kafka_bootstrap, source, target, BATCH_SIZE=20)
    app = build_app(env)
    task = asyncio.create_task(app.run())
    await read_until(kafka_bootstrap, target, lambda r: len(r) >= 60, timeout_s=60)
    await stop(app, task)
    first_run = await read_until(kafka_bootstrap, target, lambda r: False, timeout_s=2)
    assert 60 <= len(first_run) < n, "the stop should land mid-stream for this test to mean anything"

    app = build_app(env)
    task = asyncio.create_task(app.run())
    try:
        out = await read_until(kafka_bootstrap, target, lambda r: len(set(ids(r))) >= n, timeout_s=90)
    finally:
        await stop(app, task)
    assert set(ids(out)) == {f"m{i}" for i in range(n)}
    assert len(out) == n, "a graceful stop must not cause duplicates"


async def test_sigkill_mid_stream_loses_nothing(kafka_bootstrap, topic_name, subprocess_env, tmp_path):
    source, target = topic_name("src"), topic_name("dst")
    n, batch, inflight = 600, 50, 2
    await produce(kafka_bootstrap, source, items(n, sleep_ms=4))
    env = dict(subprocess_env, **app_env(kafka_bootstrap, source, target, BATCH_SIZE=batch,
                                         MAX_INFLIGHT_BATCHES=inflight))
    first = ManagedProcess("app-1", python_module("runtime_test_app"), env=env, log_path=tmp_path / "1.log").start()
    try:
        await read_until(kafka_bootstrap, target, lambda r: len(r) >= 150, timeout_s=60, watch=first)
    finally:
        first.kill()
    before_restart = await read_until(kafka_bootstrap, target, lambda r: False, timeout_s=2)
    assert len(set(ids(before_restart))) < n, "the kill should land mid-stream for this test to mean anything"

    second = ManagedProcess("app-2", python_module("runtime_test_app"), env=env, log_path=tmp_path / "2.log").start()
    try:
        out = await read_until(kafka_bootstrap, target, lambda r: len(set(ids(r))) >= n, timeout_s=120, watch=second)
    finally:
        second.stop()
    seen = collections.Counter(ids(out))
    assert set(seen) == {f"m{i}" for i in range(n)}, f"lost: {sorted({f'm{i}' for i in range(n)} - set(seen))[:10]}"
    duplicates = sum(count - 1 for count in seen.values())
    assert duplicates <= batch * inflight, f"{duplicates} duplicates, bound is {batch * inflight}"


async def test_poison_messages_go_to_dlq_while_good_ones_flow(kafka_bootstrap, topic_name):
    source, target = topic_name("src"), topic_name("dst")
    good = items(50, prefix="good")
    bad = [
        b"{not json",
        b"\xff\xfe\x00 not utf-8",
        json.dumps({"no_id": 1}).encode(),
        json.dumps({"id": "p1", "poison": True}).encode(),
        json.dumps({"id": "p2", "poison": True}).encode(),
    ]
    await produce(kafka_bootstrap, source, good[:25] + bad + good[25:])
    app = build_app(app_env(kafka_bootstrap, source, target, BATCH_SIZE=16))
    task = asyncio.create_task(app.run())
    try:
        out = await read_until(kafka_bootstrap, target, lambda r: len(r) >= 50, timeout_s=60)
        dead = await read_until(kafka_bootstrap, source + ".dlq", lambda r: len(r) >= len(bad), timeout_s=60)
        assert not task.done(), "the app must keep running after bad input"
    finally:
        await stop(app, task)
    assert sorted(ids(out)) == sorted(json.loads(v)["id"] for v in good)
    assert sorted(r.value for r in dead) == sorted(bad), "dead letters carry the original bytes"
    for record in dead:
        headers = dict(record.headers)
        assert headers[DLQ_HEADERS["reason"]], "every dead letter says why"
        assert headers[DLQ_HEADERS["origin_topic"]] == source.encode()
        expected_stage = b"process" if b"poison" in record.value else b"decode"
        assert headers[DLQ_HEADERS["stage"]] == expected_stage
    poison = [dict(r.headers) for r in dead if b"poison" in r.value]
    assert all(b"poison message" in h[DLQ_HEADERS["reason"]] for h in poison)


async def test_metrics_arrive_on_observer_topic_at_expected_rate(kafka_bootstrap, topic_name):
    source, target = topic_name("src"), topic_name("dst")
    n = 300
    await produce(kafka_bootstrap, source, items(n))
    env = app_env(kafka_bootstrap, source, target, METRICS_INTERVAL=0.5, INSTANCE_ID="metrics-test-1")
    app = build_app(env)
    task = asyncio.create_task(app.run())
    started = time.monotonic()
    try:
        await read_until(kafka_bootstrap, target, lambda r: len(r) >= n, timeout_s=60)
        await asyncio.sleep(max(0.0, 4.0 - (time.monotonic() - started)))
    finally:
        await stop(app, task)
    elapsed = time.monotonic() - started
    records = await read_until(kafka_bootstrap, env["OBSERVER_TOPIC"], lambda r: False, timeout_s=3)
    messages = [parse_observer_message(r.value) for r in records]
    heartbeats = [m for m in messages if isinstance(m, Heartbeat)]
    reports = [m for m in messages if isinstance(m, ThroughputReport) and m.target_topic == target]
    pairs = [m for m in messages if isinstance(m, ServicePair)]
    assert pairs and pairs[0].source_topic == source and pairs[0].target_topic == target
    assert pairs[0].deploy_configs.max_instance >= 1
    assert all(h.instance_id == "metrics-test-1" for h in heartbeats)
    # one flush per 0.5 s interval (plus the final one at stop): batched, not per message
    expected = elapsed / 0.5
    assert expected * 0.6 <= len(heartbeats) <= expected * 1.4 + 2, (len(heartbeats), elapsed)
    assert len(reports) == len(heartbeats)
    assert sum(r.total_messages for r in reports) == n
    assert len(records) < n / 3, "metrics must be batched, never one per message"


@pytest.mark.parametrize("shows_lag", [False, True])
async def test_consumer_lag_is_measured_only_where_metrics_show_it(kafka_bootstrap, topic_name, shows_lag):
    """Lag feeds the siaga_consumer_lag gauge alone (the controller reads it from the broker): an app
    that serves no /metrics, such as every instance the controller deploys, never measures it."""
    from prometheus_client import REGISTRY

    source, target = topic_name("src"), topic_name("dst")
    await produce(kafka_bootstrap, source, items(10))
    app = build_app(app_env(kafka_bootstrap, source, target))
    app.shows_lag = shows_lag
    task = asyncio.create_task(app.run())
    try:
        # lag is measured after the fetch, before its records are processed: by their outputs it is set
        await read_until(kafka_bootstrap, target, lambda r: len(r) >= 10, timeout_s=60)
        series = [sample for family in REGISTRY.collect() if family.name == "siaga_consumer_lag"
                  for sample in family.samples if sample.labels.get("topic") == source]
    finally:
        await stop(app, task)
    assert bool(series) == shows_lag, series


async def test_heartbeats_say_how_long_processing_took_and_how_many_inputs(kafka_bootstrap, topic_name):
    """Busy time covers decode ▸ process ▸ encode; handled counts outputs and dead letters alike."""
    source, target = topic_name("src"), topic_name("dst")
    slow, poison, sleep_ms = 40, 3, 25
    await produce(kafka_bootstrap, source, items(slow, sleep_ms=sleep_ms)
                  + [json.dumps({"id": f"p{i}", "poison": True}).encode() for i in range(poison)] + [b"{not json"])
    env = app_env(kafka_bootstrap, source, target, BATCH_SIZE=8, INSTANCE_ID="busy-test-1")
    app = build_app(env)
    task = asyncio.create_task(app.run())
    started = time.monotonic()
    try:
        await read_until(kafka_bootstrap, target, lambda r: len(r) >= slow, timeout_s=60)
        await asyncio.sleep(1.5)  # idle intervals: busy 0, handled 0
    finally:
        await stop(app, task)
    elapsed = time.monotonic() - started
    records = await read_until(kafka_bootstrap, env["OBSERVER_TOPIC"], lambda r: False, timeout_s=3)
    heartbeats = [m for m in map(parse_observer_message, (r.value for r in records)) if isinstance(m, Heartbeat)]
    assert heartbeats and all(h.interval_s and h.interval_s > 0 for h in heartbeats)
    assert sum(h.handled for h in heartbeats) == slow + poison + 1
    busy = sum(h.busy_s for h in heartbeats)
    assert slow * sleep_ms / 1000 <= busy <= elapsed, (busy, elapsed)
    assert any(h.handled == 0 and h.busy_s == 0 for h in heartbeats), "an idle interval says so"
    assert sum(h.interval_s for h in heartbeats) <= elapsed + 1


async def test_process_signal_sigterm_drains(kafka_bootstrap, topic_name, subprocess_env, tmp_path):
    """SIGTERM on an app process stops it cleanly (exit 0) after committing its work."""
    source, target = topic_name("src"), topic_name("dst")
    await produce(kafka_bootstrap, source, items(100))
    env = dict(subprocess_env, **app_env(kafka_bootstrap, source, target))
    proc = ManagedProcess("app", python_module("runtime_test_app"), env=env, log_path=tmp_path / "app.log").start()
    await read_until(kafka_bootstrap, target, lambda r: len(r) >= 100, timeout_s=60, watch=proc)
    proc.signal(signal.SIGTERM)
    code = await asyncio.get_running_loop().run_in_executor(None, proc.popen.wait, 30)
    assert code == 0, proc.tail()
    assert "test-app stopped" in proc.tail()



async def test_the_fetch_wait_setting_reaches_the_consumer():
    """FETCH_MAX_WAIT_MS is what the broker may hold a fetch on a quiet topic: aiokafka's 500 ms
    default would be a report's wait at every hop on a broker that holds it."""
    assert RuntimeSettings.from_env({}).fetch_max_wait_ms == 20
    app = build_app({"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}", "TEST_SOURCE_TOPIC": "s",
                     "TEST_TARGET_TOPIC": "t", "FETCH_MAX_WAIT_MS": "7"})
    task = asyncio.create_task(app.run())  # waits for a broker that never answers
    try:
        while app.consumer is None:
            await asyncio.sleep(0.01)
        assert app.consumer._fetch_max_wait_ms == 7  # aiokafka keeps it there until it builds its fetcher
        assert app.consumer._fetch_min_bytes == 1  # a fetch still returns with the first record
    finally:
        await stop(app, task)
