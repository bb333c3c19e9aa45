"""Rebalances while batches are slow: BATCH_SIZE=256 at 100 ms a message is 25 s of work, longer
than a rebalance may take. The runtime processes fetched records in chunks bounded by
``BATCH_TIME_BUDGET``, so a revoke waits for one chunk, commits it, and drops the rest: a second
member gets work at once and nothing is processed (and produced) twice."""

from __future__ import annotations

import asyncio
import collections
import json
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from fogverse.kafka_client import client_options
from fogverse.processes import ManagedProcess, python_module
from kafka_helpers import produce, read_until


def app(env: dict, name: str, tmp_path) -> ManagedProcess:
    return ManagedProcess(name, python_module("runtime_test_app"), env=dict(env, INSTANCE_ID=name),
                          log_path=tmp_path / f"{name}.log").start()


async def test_a_slow_batch_does_not_hold_up_a_rebalance_and_revoked_work_is_dropped(apache_kafka, topic_name,
                                                                                    subprocess_env, tmp_path):
    source, target = topic_name("src"), topic_name("dst")
    admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=apache_kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(source, 2, 1)])
    finally:
        await admin.close()
    n = 300
    await produce(apache_kafka, source, [json.dumps({"id": f"m{i}", "sleep_ms": 100}).encode() for i in range(n)],
                  keys=[str(i).encode() for i in range(n)])
    env = dict(subprocess_env, TEST_SOURCE_TOPIC=source, TEST_TARGET_TOPIC=target, TEST_GROUP_ID=f"g-{source}",
               OBSERVER_TOPIC=f"{source}.observer", BATCH_SIZE="256", BATCH_TIME_BUDGET="2", DRAIN_TIMEOUT="5")
    first = app(env, "first", tmp_path)
    second = None
    try:
        await read_until(apache_kafka, target, lambda r: len(r) >= 10, timeout_s=60, watch=first)
        joined = time.monotonic()
        second = app(env, "second", tmp_path)
        # the second member gets a partition once the first has let go of it: one chunk, not a batch
        await read_until(apache_kafka, target, lambda r: any(json.loads(x.value)["seen_by"] == "second" for x in r),
                         timeout_s=20, watch=second)
        waited = time.monotonic() - joined
        out = await read_until(apache_kafka, target, lambda r: len({json.loads(x.value)["id"] for x in r}) >= n,
                               timeout_s=120, watch=second)
    finally:
        for process in (first, second):
            if process is not None:
                process.stop()
    seen = collections.Counter(json.loads(r.value)["id"] for r in out)
    duplicates = sum(c - 1 for c in seen.values())
    print(f"second member's first output {waited:.1f} s after it started; {duplicates} duplicates")
    # a revoke waits for one chunk (about BATCH_TIME_BUDGET / 2) and a commit, not for 256 × 100 ms
    assert waited < 12, f"the second member waited {waited:.1f} s for work"
    assert set(seen) == {f"m{i}" for i in range(n)}
    # what the first member had fetched from a revoked partition was not processed after the revoke
    assert duplicates == 0, sorted(i for i, c in seen.items() if c > 1)[:20]
    for name in ("first", "second"):
        text = (tmp_path / f"{name}.log").read_text()
        assert "commit skipped after rebalance" not in text, text[-3000:]
        assert "Traceback" not in text, text[-3000:]


async def test_a_revoke_whose_batches_cannot_be_committed_gives_up_within_its_bound(caplog):
    """A batch that is never acked (the broker away) must not hold the coordinator in the revoke
    callback beyond BATCH_TIME_BUDGET + DRAIN_TIMEOUT; that batch is then never committed."""
    from aiokafka import TopicPartition

    from fogverse.runtime import _DrainOnRevoke, _InflightBatch
    from runtime_test_app import build_app

    app = build_app({"TEST_SOURCE_TOPIC": "s", "TEST_TARGET_TOPIC": "t", "BATCH_TIME_BUDGET": "0.5",
                     "DRAIN_TIMEOUT": "1"})
    app._inflight = asyncio.Queue()
    app._committer = asyncio.create_task(asyncio.sleep(3600))  # a committer waiting for acks that never come
    await app._inflight.put(_InflightBatch([], [], {TopicPartition("s", 0): 10}, 0, 0, app._epoch))
    listener = _DrainOnRevoke(app)
    started = time.monotonic()
    try:
        await asyncio.wait_for(listener.on_partitions_revoked({TopicPartition("s", 0)}), 10)
    finally:
        app._committer.cancel()
    took = time.monotonic() - started
    assert took <= app.timing.revoke_wait_s + 0.5, took
    assert app._epoch == 1 and not app._revoking.is_set(), "what was fetched before the revoke is stale now"
    assert "not committed after" in caplog.text
    assert app.timing.rebalance_timeout_ms > app.timing.revoke_wait_s * 1000, "the group waits longer than we do"
