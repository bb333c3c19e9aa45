"""``python -m apps.notifier``: /metrics on its HTTP port, scraped and parsed while it consumes and pushes."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from fcm_standin import FcmStandIn, service_account_key
from fogverse.processes import ManagedProcess, python_module
from kafka_helpers import produce
from notifier_harness import analysis_json, notifier_env, wait_for_http
from prometheus_scrape import scrape_until, value

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


async def test_metrics_scraped_and_parsed(kafka_bootstrap, topic_name, subprocess_env, tmp_path):
    fcm = await FcmStandIn(gone={"old-phone"}).start()
    topic = topic_name("client")
    key = service_account_key(tmp_path / "key.json", f"{fcm.url}/token")
    env = {**subprocess_env, **notifier_env(kafka_bootstrap, topic, tmp_path / "state", FIREBASE_KEY=str(key),
                                            FCM_ENDPOINT=fcm.url, DEVICE_TOKENS="phone,old-phone")}
    base = f"http://127.0.0.1:{env['NOTIFIER_PORT']}"
    notifier = ManagedProcess("notifier", python_module("apps.notifier"), env=env, cwd=REPO,
                              log_path=tmp_path / "notifier.log").start()
    try:
        await wait_for_http(f"{base}/healthz")
        await produce(kafka_bootstrap, topic, [
            analysis_json("Huge fire at the Riverside warehouse"),
            analysis_json("Fire at the Riverside warehouse, thick smoke"),
            analysis_json("Lovely weather at the beach today", emergency=False),
            b"not an analysis",
        ])
        samples = await scrape_until(
            f"{base}/metrics", lambda s: value(s, "siaga_messages_in_total", service="notifier") == 4
            and value(s, "siaga_pushes_sent_total") == 1, "the four reports and the alert's pushes", process=notifier)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/api/incidents") as response:
                incidents = await response.json()
    finally:
        assert notifier.stop() == 0, notifier.tail()
        await fcm.stop()

    assert len(incidents) == 1 and incidents[0]["count"] == 2
    assert value(samples, "siaga_incidents_open") == 1
    assert value(samples, "siaga_messages_in_total", service="notifier", topic=topic) == 4
    # a sink: what it consumed without a dead letter counts as its output
    assert value(samples, "siaga_messages_out_total", service="notifier", topic="notifier") == 3
    assert value(samples, "siaga_dead_letters_total", service="notifier", topic=f"{topic}.dlq") == 1
    assert [s.token for s in fcm.delivered()] == ["phone"]
    assert value(samples, "siaga_pushes_sent_total") == 1
    assert value(samples, "siaga_pushes_failed_total", reason="unregistered") == 1
    assert value(samples, "siaga_pushes_failed_total", reason="retry") == 0
    assert value(samples, "siaga_consumer_lag", service="notifier", topic=topic, partition="0") == 0
    assert value(samples, "siaga_busy_seconds_total", service="notifier") > 0
    assert value(samples, "siaga_batch_latency_seconds_count", service="notifier") >= 1
