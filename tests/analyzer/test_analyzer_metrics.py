"""``python -m apps.analyzer`` with ``ANALYZER_METRICS_PORT``: its /metrics scraped and parsed while it runs."""

from __future__ import annotations

import pytest

from fogverse.contracts import Analysis, Report
from fogverse.processes import ManagedProcess, free_port, python_module
from kafka_helpers import produce, read_until
from prometheus_scrape import scrape_until, value

pytestmark = pytest.mark.slow


async def test_metrics_scraped_and_parsed(kafka_bootstrap, subprocess_env, topic_name, tmp_path):
    source, target = topic_name("analyze"), topic_name("client")
    port = free_port()
    env = {**subprocess_env, "ANALYZER_CONSUMER_TOPIC": source, "ANALYZER_PRODUCER_TOPIC": target,
           "ANALYZER_CONSUMER_GROUP_ID": f"analyzer-{source}", "OBSERVER_TOPIC": f"{source}.observer",
           "MODEL_MODE": "fast", "ANALYZER_METRICS_PORT": str(port), "WORKER_THREADS": "1",
           # 2 records a fetch, 100 ms each: a backlog for a few seconds
           "BATCH_SIZE": "2", "ANALYZER_SLOW_DOWN_MS": "100"}
    reports = [Report(text=f"smoke and fire near the market, report {i}", source="crawler") for i in range(20)]
    await produce(kafka_bootstrap, source, [r.model_dump_json().encode() for r in reports] + [b"not json"])
    process = ManagedProcess("analyzer", python_module("apps.analyzer"), env=env,
                             log_path=tmp_path / "analyzer.log").start()
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        behind = await scrape_until(url, lambda s: (value(s, "siaga_consumer_lag", topic=source) or 0) >= 5,
                                    "the backlog to show as lag", process=process)
        samples = await scrape_until(url, lambda s: value(s, "siaga_messages_in_total", service="analyzer") == 21,
                                     "the 21 inputs to be committed", process=process)
        outputs = await read_until(kafka_bootstrap, target, lambda r: len(r) >= 20, watch=process)
    finally:
        assert process.stop() == 0, process.tail()

    assert {Analysis.model_validate_json(r.value).report.id for r in outputs} == {r.id for r in reports}
    # what was behind then was not yet in (the input series is shown from the start, at 0)
    assert value(behind, "siaga_messages_in_total", topic=source) + value(behind, "siaga_consumer_lag") <= 21
    assert value(samples, "siaga_messages_in_total", service="analyzer", topic=source) == 21
    assert value(samples, "siaga_messages_out_total", service="analyzer", topic=target) == 20
    assert value(samples, "siaga_dead_letters_total", service="analyzer", topic=f"{source}.dlq") == 1
    assert value(samples, "siaga_consumer_lag", service="analyzer", topic=source, partition="0") == 0
    assert value(samples, "siaga_busy_seconds_total", service="analyzer") >= 20 * 0.1, "the slow-down is busy time"
    batches = value(samples, "siaga_batch_latency_seconds_count", service="analyzer")
    assert 11 <= batches <= 21, "one observation per chunk committed (at most 2 records a fetch)"
    assert value(samples, "siaga_batch_latency_seconds_sum", service="analyzer") > 0
    assert value(samples, "siaga_batch_latency_seconds_bucket", service="analyzer", le="+Inf") == batches


def test_a_metrics_port_in_use_stops_the_analyzer_at_start_naming_the_variable(subprocess_env, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {**subprocess_env, "MODEL_MODE": "fast", "ANALYZER_METRICS_PORT": str(taken.getsockname()[1])}
        process = ManagedProcess("analyzer", python_module("apps.analyzer"), env=env,
                                 log_path=tmp_path / "analyzer.log").start()
        assert process.popen.wait(60) == 2, process.tail()
    assert "ANALYZER_METRICS_PORT" in process.tail()
