"""Messages too large for the producer or the broker end in the dead-letter topic, never in a
crash loop: on Apache Kafka, whose topics enforce ``max.message.bytes`` (tansu does not)."""

from __future__ import annotations

import asyncio
import json

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from fogverse.contracts import DLQ_HEADERS
from fogverse.kafka_client import client_options
from fogverse.runtime import TRUNCATED_HEADER
from kafka_helpers import produce, read_until
from runtime_test_app import build_app
from test_runtime import app_env, ids, items, stop


async def test_outputs_and_dead_letters_too_large_end_in_the_dlq_and_the_app_goes_on(apache_kafka, topic_name):
    """Too large for the producer (raised by send) or for the topic (refused by the broker): the
    output becomes the dead letter of its input; a dead letter too large is cut to fit. No loop."""
    source, target = topic_name("src"), topic_name("dst")
    limit = {"max.message.bytes": str(64 * 1024)}
    admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=apache_kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(source, 1, 1), NewTopic(target, 1, 1, topic_configs=limit),
                                   NewTopic(source + ".dlq", 1, 1, topic_configs=limit)])
    finally:
        await admin.close()
    huge_input = json.dumps({"id": "big-in", "poison": True, "pad": "y" * 300_000}).encode()
    bad = [json.dumps({"id": "big-out", "output_bytes": 200_000}).encode(),  # the broker refuses it
           json.dumps({"id": "huge-out", "output_bytes": 2_000_000}).encode(),  # send() refuses it
           huge_input]  # fails, and its dead letter is too large for the DLQ topic
    await produce(apache_kafka, source, items(20, prefix="a") + bad + items(20, prefix="b"))
    app = build_app(app_env(apache_kafka, source, target, BATCH_SIZE=8))
    task = asyncio.create_task(app.run())
    try:
        out = await read_until(apache_kafka, target, lambda r: len(r) >= 40, timeout_s=60)
        dead = await read_until(apache_kafka, source + ".dlq", lambda r: len(r) >= 3, timeout_s=60)
        await asyncio.sleep(1)
        assert not task.done(), f"the app must keep running: {task.exception() if task.done() else ''}"
    finally:
        await stop(app, task)
    assert sorted(ids(out)) == sorted([f"a{i}" for i in range(20)] + [f"b{i}" for i in range(20)])
    assert len(dead) == 3, [dict(r.headers) for r in dead]
    by_offset = {int(dict(r.headers)[DLQ_HEADERS["origin_offset"]]): r for r in dead}
    assert sorted(by_offset) == [20, 21, 22]
    for offset in (20, 21):  # whole, with the producer's reason
        headers = dict(by_offset[offset].headers)
        assert by_offset[offset].value == bad[offset - 20]
        assert headers[DLQ_HEADERS["stage"]] == b"produce"
        assert b"MessageSizeTooLarge" in headers[DLQ_HEADERS["reason"]]
    cut = by_offset[22]
    headers = dict(cut.headers)
    assert headers[DLQ_HEADERS["stage"]] == b"process" and b"poison message" in headers[DLQ_HEADERS["reason"]]
    assert 0 < len(cut.value) < 64 * 1024 and huge_input.startswith(cut.value)
    assert headers[TRUNCATED_HEADER] == f"{len(cut.value)} of {len(huge_input)} bytes".encode()
