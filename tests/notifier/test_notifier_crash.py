"""No alert lost: the notifier process SIGKILLed while an alert is on its way to a slow FCM; a
store that cannot record stops the notifier before its offsets move."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from apps.notifier.app import SERVICE, Notifier, StoreFailed
from fcm_standin import FcmStandIn, service_account_key
from fogverse.kafka_client import client_options
from fogverse.processes import ManagedProcess, python_module
from apps.notifier.settings import NotifierSettings
from fogverse.settings import RuntimeSettings
from kafka_helpers import produce, read_until
from notifier_harness import analysis_json, notifier_env, poll_json, running_notifier, wait_for_http

REPO = Path(__file__).resolve().parents[2]


async def committed(bootstrap: str, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    except GroupCoordinatorNotAvailableError:  # a group that new has no coordinator yet: nothing committed
        return -1
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


async def test_a_batch_the_store_cannot_record_stops_the_notifier_uncommitted_and_is_read_again(
        kafka_bootstrap, topic_name, tmp_path):
    topic = topic_name("client")
    env = notifier_env(kafka_bootstrap, topic, tmp_path)
    notifier = Notifier(NotifierSettings.from_env(env), RuntimeSettings.from_env(env, service_name=SERVICE))

    def disk_full(batch):
        raise sqlite3.OperationalError("database or disk is full")

    notifier.store.record = disk_full
    run = asyncio.create_task(notifier.run())
    await wait_for_http(f"http://127.0.0.1:{env['NOTIFIER_PORT']}/healthz", run)
    await produce(kafka_bootstrap, topic, [analysis_json("Landslide buries the road to Garut", "natural_hazard")])
    with pytest.raises(StoreFailed, match="disk is full"):
        await asyncio.wait_for(run, 30)
    assert await committed(kafka_bootstrap, env["CLIENT_CONSUMER_GROUP_ID"], topic) == -1
    assert not await read_until(kafka_bootstrap, f"{topic}.dlq", lambda r: False, timeout_s=2), \
        "an unrecorded batch is no dead letter"

    async with running_notifier(env):  # the store works again: the report is read again
        incidents = await poll_json(f"http://127.0.0.1:{env['NOTIFIER_PORT']}/api/incidents", lambda b: len(b) == 1)
    assert incidents[0]["samples"][0]["text"] == "Landslide buries the road to Garut"
