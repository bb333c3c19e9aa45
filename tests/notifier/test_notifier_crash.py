"""No alert lost: the notifier process SIGKILLed while an alert is on its way to a slow FCM."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from fcm_standin import FcmStandIn, service_account_key
from fogverse.kafka_client import client_options
from fogverse.processes import ManagedProcess, python_module
from kafka_helpers import produce
from notifier_harness import analysis_json, notifier_env, poll_json, wait_for_http

REPO = Path(__file__).resolve().parents[2]


async def committed(bootstrap: str, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    answer = offsets.get(TopicPartition(topic, 0))
    return answer.offset if answer is not None else -1


async def until(condition, what: str, timeout_s: float = 30.0, process: ManagedProcess | None = None) -> None:
    """Wait for ``condition()`` (a bool, or a coroutine of one), failing with the notifier's log."""
    deadline = time.monotonic() + timeout_s
    while not await _value(condition()):
        if process is not None and not process.alive():
            raise AssertionError(f"the notifier died while waiting for {what}:\n{process.tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s} s"
                                 + (f":\n{process.tail()}" if process else ""))
        await asyncio.sleep(0.1)


async def test_an_alert_on_its_way_when_the_notifier_is_killed_arrives_once_after_the_restart(
        kafka_bootstrap, topic_name, subprocess_env, tmp_path):
    fcm = await FcmStandIn(delay_s=60.0).start()  # slow: the alert is still unanswered at the kill
    topic = topic_name("client")
    key = service_account_key(tmp_path / "key.json", f"{fcm.url}/token")
    env = {**subprocess_env, **notifier_env(kafka_bootstrap, topic, tmp_path / "state", FIREBASE_KEY=str(key),
                                            FCM_ENDPOINT=fcm.url, DEVICE_TOKENS="phone")}
    base = f"http://127.0.0.1:{env['NOTIFIER_PORT']}"

    def start(run: int) -> ManagedProcess:
        return ManagedProcess("notifier", python_module("apps.notifier"), env=env, cwd=REPO,
                              log_path=tmp_path / f"notifier-{run}.log").start()

    notifier = start(1)
    try:
        await wait_for_http(f"{base}/healthz")
        await produce(kafka_bootstrap, topic, [analysis_json("Huge fire at the Riverside warehouse")])

        async def committed_past_it():
            return await committed(kafka_bootstrap, env["CLIENT_CONSUMER_GROUP_ID"], topic) >= 1

        await until(committed_past_it, "the client group committing past the report", process=notifier)
        await until(lambda: fcm.answering >= 1, "the alert reaching FCM", process=notifier)
        notifier.kill()
        await until(lambda: fcm.abandoned == 1, "FCM seeing the notifier go away")
        assert fcm.delivered() == []

        fcm.delay_s = 0.0
        notifier = start(2)
        await wait_for_http(f"{base}/healthz")
        incidents = await poll_json(f"{base}/api/incidents", lambda body: len(body) == 1, timeout_s=5)

        await until(lambda: fcm.delivered(), "the alert reaching the phone after the restart", process=notifier)
        await asyncio.sleep(2.0)  # a second copy would arrive now
        again = await poll_json(f"{base}/api/incidents", lambda body: True)
        assert notifier.stop() == 0, notifier.tail()
    finally:
        notifier.kill()
        await fcm.stop()

    assert [s.token for s in fcm.delivered()] == ["phone"]
    assert len(fcm.sends) == 1
    assert fcm.delivered()[0].message["notification"] == {"title": "Fire at Riverside warehouse: new incident",
                                                          "body": "Huge fire at the Riverside warehouse"}
    assert fcm.delivered()[0].message["data"]["incident_id"] == incidents[0]["id"]
    assert incidents[0]["count"] == 1 and incidents[0]["samples"][0]["text"] == "Huge fire at the Riverside warehouse"
    assert again == incidents, "the restart regrouped nothing"


async def _value(answer):
    return await answer if asyncio.iscoroutine(answer) else answer
