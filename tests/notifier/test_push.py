"""Push with the real firebase-admin client against a local stand-in of FCM v1 and Google OAuth."""

from __future__ import annotations

import asyncio
import time

import firebase_admin
import pytest

from apps.notifier.devices import DeviceRegistry
from apps.notifier.push import FcmPush, alert_text, firebase_app
from apps.notifier.store import NotifierStore
from fcm_standin import ACCESS_TOKEN, service_account_key
from fogverse.contracts import Incident, IncidentSample
from fogverse.settings import ConfigError
from apps.notifier.settings import NotifierSettings


def incident(count: int = 1) -> Incident:
    sample = IncidentSample(report_id="r1", text="Huge fire at the Riverside warehouse", source="crawler",
                            created_at=time.time(), emergency_score=0.97)
    return Incident(id="inc123", category="fire", count=count, first_seen=sample.created_at,
                    last_seen=sample.created_at, keywords=["riverside", "warehouse"], samples=[sample],
                    max_score=0.97, sources={"crawler": count}, alerted_count=count)


@pytest.fixture
def make_push(fcm, tmp_path):
    apps = []

    def make(tokens: list[str], **env) -> FcmPush:
        key = service_account_key(tmp_path / "key.json", f"{fcm.url}/token")
        settings = NotifierSettings.from_env({"FIREBASE_KEY": str(key), "FCM_ENDPOINT": fcm.url,
                                              "SIAGA_STATE_DIR": str(tmp_path), **env})
        app = firebase_app(settings)
        apps.append(app)
        devices = DeviceRegistry(NotifierStore(tmp_path / "notifier.db"), max_devices=100_000)
        for token in tokens:
            devices.add(token)
        return FcmPush(app, devices)

    yield make
    for app in apps:
        firebase_admin.delete_app(app)


async def test_an_alert_reaches_every_token_in_multicasts_of_at_most_500(fcm, make_push):
    tokens = [f"device-{i}" for i in range(1001)]
    push = make_push(tokens)
    result = await push.attempt(incident(), True, tokens)

    assert len(result.sent) == 1001 and result.failed == [] and result.gone == [] and result.retry == []
    assert sorted(s.token for s in fcm.delivered()) == sorted(tokens)
    first = fcm.sends[0]
    assert first.authorization == f"Bearer {ACCESS_TOKEN}"
    assert first.message["notification"] == {"title": "Fire: new incident",
                                             "body": "Huge fire at the Riverside warehouse"}
    assert first.message["data"] == {"incident_id": "inc123", "category": "fire", "count": "1", "kind": "created"}


async def test_gone_tokens_are_removed_and_throttled_ones_come_back_to_retry(fcm, make_push, tmp_path):
    fcm.gone.add("gone")
    fcm.invalid.add("not-a-token")
    fcm.scripted.update({"busy": [429], "flaky": [503]})
    tokens = ["ok", "gone", "not-a-token", "busy", "flaky"]
    push = make_push(tokens)

    result = await push.attempt(incident(20), False, tokens)

    assert sorted(result.sent) == ["flaky", "ok"], "firebase-admin retries a 503 itself"
    assert result.retry == ["busy"] and result.failed == []
    assert sorted(result.gone) == ["gone", "not-a-token"]
    assert sorted(push.devices.tokens()) == ["busy", "flaky", "ok"]
    assert sorted(NotifierStore(tmp_path / "notifier.db").device_tokens()) == ["busy", "flaky", "ok"]
    assert [s.status for s in fcm.sends_to("busy")] == [429]
    assert [s.status for s in fcm.sends_to("flaky")] == [503, 200]
    assert fcm.delivered()[0].message["notification"]["title"] == "Fire: 20 reports"


async def test_sending_never_blocks_the_event_loop(fcm, make_push):
    fcm.delay_s = 1.0
    push = make_push(["slow-1", "slow-2"])
    gaps = []

    async def tick():
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.02)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    result = await push.attempt(incident(), True, ["slow-1", "slow-2"])
    elapsed = time.monotonic() - started
    ticker.cancel()
    assert len(result.sent) == 2
    assert elapsed >= 1.0, "the stand-in's delay must have been felt for this test to mean anything"
    assert max(gaps) < 0.5, f"the event loop stalled for {max(gaps):.2f} s while pushing"


def test_a_bad_firebase_key_stops_the_process_naming_the_variable_not_the_key(tmp_path):
    secret = '{"type": "service_account", "private_key": "TOP-SECRET"}'
    with pytest.raises(ConfigError) as error:
        firebase_app(NotifierSettings.from_env({"FIREBASE_KEY": secret}))
    assert "FIREBASE_KEY" in str(error.value) and "TOP-SECRET" not in str(error.value)
    with pytest.raises(ConfigError, match="FIREBASE_KEY"):
        firebase_app(NotifierSettings.from_env({"FIREBASE_KEY": str(tmp_path / "missing.json")}))
    assert firebase_app(NotifierSettings.from_env({})) is None


def test_alert_words_say_what_and_how_many():
    assert alert_text(incident(1), created=True) == ("Fire: new incident", "Huge fire at the Riverside warehouse")
    assert alert_text(incident(100), created=False)[0] == "Fire: 100 reports"
    assert alert_text(incident(5), False, "Jalan Sudirman", "Fire on Jalan Sudirman, shops burning") == (
        "Fire at Jalan Sudirman: 5 reports", "Fire on Jalan Sudirman, shops burning")
    # an incident's own title and summary (what the tracker's snapshots carry) come first
    titled = incident(5).model_copy(update={"title": "Fire in Samarinda", "summary": "Kebakaran pasar di Samarinda"})
    assert alert_text(titled, False) == ("Fire in Samarinda: 5 reports", "Kebakaran pasar di Samarinda")
