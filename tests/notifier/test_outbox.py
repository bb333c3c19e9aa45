"""The durable alert outbox: independent retries, bounded concurrency, resuming from the store.

The decision (what becomes of an alert after an attempt) is a table; the rest runs the real
firebase-admin client against the FCM stand-in, with alerts queued in a real SQLite store.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import firebase_admin
import pytest

from apps.notifier.devices import DeviceRegistry
from apps.notifier.outbox import AlertOutbox, NextAttempt, OutboxSettings, RetryPolicy, next_attempt
from apps.notifier.push import AttemptResult, FcmPush, firebase_app
from apps.notifier.store import BatchRecord, NotifierStore, QueuedAlert
from fcm_standin import service_account_key
from fogverse.contracts import Incident, IncidentSample
from fogverse.settings import ConfigError
from apps.notifier.settings import NotifierSettings

POLICY = RetryPolicy(max_retries=3, backoff_s=1.0, backoff_max_s=4.0)
NOW = 1_700_000_000.0


@pytest.mark.parametrize("attempts_before, result, expected", [
    (0, AttemptResult(sent=["a", "b"]), NextAttempt("sent", (), NOW)),
    (0, AttemptResult(), NextAttempt("sent", (), NOW)),  # nobody to alert: nothing to retry
    (0, AttemptResult(sent=["a"], failed=["b"]), NextAttempt("sent", (), NOW)),
    (0, AttemptResult(failed=["b"]), NextAttempt("failed", (), NOW)),
    (0, AttemptResult(sent=["a"], retry=["b"]), NextAttempt("pending", ("b",), NOW + 1.0)),
    (2, AttemptResult(retry=["b"]), NextAttempt("pending", ("b",), NOW + 4.0)),  # 1, 2, 4: doubling, capped
    (2, AttemptResult(retry=["b"], retry_after_s=30.0), NextAttempt("pending", ("b",), NOW + 30.0)),
    (2, AttemptResult(retry=["b"], retry_after_s=9999.0), NextAttempt("pending", ("b",), NOW + 300.0)),
    (3, AttemptResult(retry=["b"]), NextAttempt("failed", (), NOW)),  # retries exhausted
])
def test_what_becomes_of_an_alert_after_an_attempt(attempts_before, result, expected):
    assert next_attempt(attempts_before, result, POLICY, NOW) == expected


def test_outbox_settings_name_the_variable():
    assert OutboxSettings.from_env({}).concurrency == 8
    with pytest.raises(ConfigError, match="PUSH_CONCURRENCY"):
        OutboxSettings.from_env({"PUSH_CONCURRENCY": "0"})
    with pytest.raises(ConfigError, match="PUSH_BACKOFF_MAX"):
        OutboxSettings.from_env({"PUSH_BACKOFF": "10", "PUSH_BACKOFF_MAX": "1"})


def incident(incident_id: str, count: int = 1) -> Incident:
    sample = IncidentSample(report_id="r1", text=f"Fire report for {incident_id}", source="crawler",
                            created_at=NOW, emergency_score=0.9)
    return Incident(id=incident_id, category="fire", count=count, first_seen=NOW, last_seen=NOW,
                    samples=[sample], max_score=0.9, sources={"crawler": count}, alerted_count=count)


def queued(incident_id: str, tokens: tuple[str, ...] = ("phone",), level: int = 1) -> QueuedAlert:
    return QueuedAlert(incident_id, level, level == 1, incident(incident_id, level).model_dump_json(), tokens,
                       next_at=time.time())


@pytest.fixture
def outbox_for(fcm, tmp_path):
    """outbox_for(store, **PUSH_* env) ▸ an async context manager running an outbox on ``store``."""
    apps = []
    key = service_account_key(tmp_path / "key.json", f"{fcm.url}/token")

    @contextlib.asynccontextmanager
    async def run(store: NotifierStore, **env):
        environ = {"FIREBASE_KEY": str(key), "FCM_ENDPOINT": fcm.url, "PUSH_BACKOFF": "0.05", **env}
        settings = NotifierSettings.from_env(environ)
        app = firebase_app(settings)
        apps.append(app)
        outbox = AlertOutbox(store, FcmPush(app, DeviceRegistry(store)), OutboxSettings.from_env(environ, settings))
        task = asyncio.create_task(outbox.run())
        try:
            yield outbox
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    yield run
    for app in apps:
        firebase_admin.delete_app(app)


def record(store: NotifierStore, *alerts: QueuedAlert) -> None:
    store.record(BatchRecord([], [], [], list(alerts)))


async def until(condition, timeout_s: float = 60.0) -> float:
    """Wait for ``condition()``; returns how long it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_slow_alert_does_not_hold_back_the_next(fcm, outbox_for, tmp_path):
    fcm.slow["slow-fire"] = 3.0
    store = NotifierStore(tmp_path / "notifier.db")
    record(store, queued("slow-fire"))
    record(store, queued("quick-fire"))
    async with outbox_for(store):
        quick = await until(lambda: fcm.delivered_for("quick-fire"))
        assert not fcm.delivered_for("slow-fire"), "the slow alert must still be on its way"
        await until(lambda: fcm.delivered_for("slow-fire"))
    assert quick < 2.0, f"the quick alert waited {quick:.1f} s behind the slow one"


async def test_a_throttled_alert_retries_on_its_own_while_others_go_out(fcm, outbox_for, tmp_path):
    fcm.throttled["busy-fire"] = 3
    store = NotifierStore(tmp_path / "notifier.db")
    record(store, queued("busy-fire"), queued("calm-fire"))
    async with outbox_for(store, PUSH_BACKOFF="0.5") as outbox:  # the busy alert's retries take 0.5 + 1 + 2 s
        await until(lambda: fcm.delivered_for("calm-fire"))
        assert not fcm.delivered_for("busy-fire"), "the calm alert went out while the busy one was retrying"
        await until(lambda: fcm.delivered_for("busy-fire"))
        assert await outbox.idle(5), "the outbox records a delivery after the stand-in has it"
    statuses = {(i, status, attempts) for i, _, status, attempts, _ in store.alert_statuses()}
    assert statuses == {("busy-fire", "sent", 4), ("calm-fire", "sent", 1)}
    assert len(fcm.delivered_for("busy-fire")) == 1


async def test_an_alert_is_given_up_after_the_configured_retries_and_its_token_kept(fcm, outbox_for, tmp_path):
    fcm.throttled["busy-fire"] = 10
    store = NotifierStore(tmp_path / "notifier.db")
    store.add_device("phone", 1)
    record(store, queued("busy-fire"))
    async with outbox_for(store, PUSH_MAX_RETRIES="2", PUSH_BACKOFF="0.01") as outbox:
        await until(lambda: store.alert_statuses()[0][2] != "pending")
        assert await outbox.idle(5)
    assert store.alert_statuses() == [("busy-fire", 1, "failed", 3, 0)]
    assert len(fcm.sends) == 3 and fcm.delivered() == []
    assert store.device_tokens() == ["phone"], "a throttled token is not a dead one"


async def test_no_more_alerts_are_sent_at_once_than_the_concurrency(fcm, outbox_for, tmp_path):
    fcm.delay_s = 0.5
    store = NotifierStore(tmp_path / "notifier.db")
    record(store, *(queued(f"fire-{i}") for i in range(6)))
    widest = 0
    deadline = time.monotonic() + 60
    async with outbox_for(store, PUSH_CONCURRENCY="2") as outbox:
        while len(fcm.delivered()) < 6:
            assert time.monotonic() < deadline, f"only {len(fcm.delivered())} of 6 alerts delivered"
            widest = max(widest, outbox.sending, fcm.answering)
            await asyncio.sleep(0.01)
    assert widest == 2


async def test_alerts_pending_in_the_store_are_sent_by_the_next_outbox_and_only_once(fcm, outbox_for, tmp_path):
    path = tmp_path / "notifier.db"
    store = NotifierStore(path)
    record(store, queued("fire-1", ("phone-a", "phone-b")))
    record(store, queued("fire-1", ("phone-a", "phone-b")))  # the same level again: ignored
    store.close()

    reopened = NotifierStore(path)
    async with outbox_for(reopened) as outbox:
        await until(lambda: len(fcm.delivered()) == 2)
        assert await outbox.idle(5)
        await asyncio.sleep(0.3)
    assert sorted(s.token for s in fcm.delivered()) == ["phone-a", "phone-b"]
    assert reopened.alert_statuses() == [("fire-1", 1, "sent", 1, 2)]


async def test_one_incidents_alerts_go_out_in_level_order(fcm, outbox_for, tmp_path):
    fcm.slow["fire-1"] = 0.3
    store = NotifierStore(tmp_path / "notifier.db")
    record(store, queued("fire-1", level=1), queued("fire-1", level=5), queued("fire-1", level=20))
    async with outbox_for(store):
        await until(lambda: len(fcm.delivered()) == 3)
    assert [s.message["data"]["count"] for s in fcm.delivered()] == ["1", "5", "20"]


async def test_an_outbox_woken_as_it_is_cancelled_still_stops(tmp_path):
    """A send finishing (which wakes the outbox) as the notifier stops it: on Python 3.11,
    asyncio.wait_for swallows a cancellation that arrives as the awaited event is set, and the
    outbox went on polling forever (a hang seen in this file's teardowns)."""
    store = NotifierStore(tmp_path / "notifier.db")
    outbox = AlertOutbox(store, push=None, settings=OutboxSettings.from_env({}))
    for attempt in range(10):
        task = asyncio.create_task(outbox.run())
        await asyncio.sleep(0.05)  # idle: nothing is due, it waits to be woken
        outbox.wake()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=3)
        assert done, f"attempt {attempt}: the outbox did not stop"
    store.close()
