"""The notifier process against the real broker: incidents, dead letters, the live feed, push."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp

from fcm_standin import FcmStandIn, service_account_key
from fogverse.contracts import DLQ_HEADERS, MAX_TEXT_CHARS, IncidentEvent
from kafka_helpers import produce, read_until
from notifier_harness import analysis_json, notifier_env, poll_json, running_notifier

RIVERSIDE = ["Huge fire at the Riverside warehouse", "Riverside warehouse is burning, smoke everywhere",
             "Firefighters at the Riverside warehouse fire", "Smoke over Riverside warehouse, stay away"]


async def test_reports_on_the_client_topic_become_incidents(kafka_bootstrap, topic_name, tmp_path):
    topic = topic_name("client")
    env = notifier_env(kafka_bootstrap, topic, tmp_path)
    base = f"http://127.0.0.1:{env['NOTIFIER_PORT']}"
    fire = [analysis_json(RIVERSIDE[i % 4] + f" #{i}") for i in range(30)]
    crash = [analysis_json(f"Bus and truck collided on the Cipularang toll road km {i}", category="accident")
             for i in range(5)]
    calm = [analysis_json("this new song is fire", emergency=False) for _ in range(10)]
    async with running_notifier(env):
        await produce(kafka_bootstrap, topic, fire + crash + calm)
        incidents = await poll_json(f"{base}/api/incidents",
                                    lambda body: sum(i["count"] for i in body) >= 35)
        accidents = await poll_json(f"{base}/api/incidents?category=accident", lambda body: True)
        health = await poll_json(f"{base}/healthz", lambda body: body["ignored"] >= 10)

    assert sorted((i["category"], i["count"]) for i in incidents) == [("accident", 5), ("fire", 30)]
    assert [i["category"] for i in accidents] == ["accident"]
    fire_incident = next(i for i in incidents if i["category"] == "fire")
    assert fire_incident["keywords"][0] == "Riverside warehouse"
    assert len(fire_incident["samples"]) == 5 and fire_incident["sources"] == {"crawler": 30}
    assert health["ignored"] == 10 and health["incidents"] == 2 and health["push"] is False


async def test_a_chat_reply_counts_in_the_incident_of_the_report_it_answers(kafka_bootstrap, topic_name, tmp_path):
    """Two fires burn; the LINE group that reported Tambora moves on to Cempaka Putih; a reply to
    its Tambora report, naming nothing, is counted with Tambora (alone it could be either fire)."""
    topic = topic_name("client")
    env = notifier_env(kafka_bootstrap, topic, tmp_path)
    base = f"http://127.0.0.1:{env['NOTIFIER_PORT']}"
    t0 = time.time() - 60
    chat = {"source": "line", "channel_id": "Cwarga-tambora"}
    messages = [
        analysis_json("Kebakaran di Tambora, rumah padat terbakar", at=t0, id="line-101", **chat),
        analysis_json("Fire at Cempaka Putih market, stalls burning", at=t0 + 5, source="discord", channel_id="42"),
        analysis_json("pasar cempaka putih udh padam blm?", at=t0 + 10, id="line-102", **chat),
        analysis_json("masih ada yg kejebak gk?? asapnya tebel bgt", at=t0 + 15, id="line-103", reply_to="line-101",
                      **chat),
    ]
    async with running_notifier(env):
        await produce(kafka_bootstrap, topic, messages)
        incidents = await poll_json(f"{base}/api/incidents", lambda body: sum(i["count"] for i in body) >= 4)
    by_place = {i["keywords"][0]: i for i in incidents}
    assert set(by_place) == {"Tambora", "Cempaka Putih market"}, incidents
    assert by_place["Tambora"]["count"] == 2 and by_place["Cempaka Putih market"]["count"] == 2
    assert "masih ada yg kejebak gk?? asapnya tebel bgt" in [s["text"] for s in by_place["Tambora"]["samples"]]


async def test_bad_input_goes_to_the_dead_letter_topic_with_a_reason(kafka_bootstrap, topic_name, tmp_path):
    topic = topic_name("client")
    env = notifier_env(kafka_bootstrap, topic, tmp_path)
    good = json.loads(analysis_json("Earthquake shook the whole city, buildings cracked", category="natural_hazard"))
    empty, huge, old_version = (json.loads(json.dumps(good)) for _ in range(3))
    empty["report"]["text"] = "   "
    huge["report"]["text"] = "flood " * (MAX_TEXT_CHARS // 6 + 1)
    old_version["schema_version"] = 99
    bad = {
        "empty text": json.dumps(empty).encode(),
        "huge text": json.dumps(huge).encode(),
        "not UTF-8": b'{"report": {"text": "\xff\xfe fire"}}',
        "wrong schema": b'{"hello": "world"}',
        "unknown version": json.dumps(old_version).encode(),
        "not JSON": b"<html>",
    }
    async with running_notifier(env):
        await produce(kafka_bootstrap, topic, list(bad.values()) + [json.dumps(good).encode()])
        dead = await read_until(kafka_bootstrap, f"{topic}.dlq", lambda r: len(r) >= len(bad), timeout_s=30)
        incidents = await poll_json(f"http://127.0.0.1:{env['NOTIFIER_PORT']}/api/incidents", lambda b: len(b) == 1)

    reasons = {r.value: dict(r.headers)[DLQ_HEADERS["reason"]].decode() for r in dead}
    assert sorted(reasons) == sorted(bad.values()), "each bad message, untouched, exactly once"
    assert all(dict(r.headers)[DLQ_HEADERS["stage"]] == b"decode" for r in dead)
    assert "text is blank" in reasons[bad["empty text"]]
    assert f"at most {MAX_TEXT_CHARS} characters" in reasons[bad["huge text"]]
    assert "invalid unicode" in reasons[bad["not UTF-8"]]
    assert "Field required" in reasons[bad["wrong schema"]]
    assert "schema_version 99 is not supported" in reasons[bad["unknown version"]]
    assert "Invalid JSON" in reasons[bad["not JSON"]]
    assert incidents[0]["category"] == "natural_hazard", "the good message after the bad ones still counts"


async def test_the_live_feed_sends_a_snapshot_then_changes_and_keepalives(kafka_bootstrap, topic_name, tmp_path):
    topic = topic_name("client")
    env = notifier_env(kafka_bootstrap, topic, tmp_path, SSE_KEEPALIVE="0.3", INCIDENT_ALERT_COUNTS="3")
    url = f"http://127.0.0.1:{env['NOTIFIER_PORT']}/api/events"
    async with running_notifier(env), aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            frames = _sse_frames(response)
            snapshot = await asyncio.wait_for(anext(frames), 10)
            assert snapshot == ("snapshot", {"incidents": []})
            keepalive = await asyncio.wait_for(anext(frames), 10)
            assert keepalive == ("comment", "keep-alive")

            await produce(kafka_bootstrap, topic, [analysis_json(RIVERSIDE[0])])
            created = await _next_event(frames)
            await produce(kafka_bootstrap, topic, [analysis_json(t) for t in RIVERSIDE[1:3]])
            grown = await _next_event(frames, until=lambda e: e.incident.count == 3)

    assert created.kind == "created" and created.alert and created.incident.count == 1
    assert grown.kind == "updated" and grown.alert, "count 3 is an alert threshold here"
    assert grown.incident.id == created.incident.id


async def test_a_burst_about_one_fire_pushes_one_alert_and_a_few_updates(kafka_bootstrap, topic_name, tmp_path):
    fcm = await FcmStandIn().start()
    topic = topic_name("client")
    key = service_account_key(tmp_path / "key.json", f"{fcm.url}/token")
    env = notifier_env(kafka_bootstrap, topic, tmp_path, FIREBASE_KEY=str(key), FCM_ENDPOINT=fcm.url,
                       DEVICE_TOKENS="phone-a,phone-b", INCIDENT_ALERT_COUNTS="5,20,100")
    burst = [analysis_json(RIVERSIDE[i % 4], at=time.time() + i * 0.01) for i in range(200)]
    try:
        async with running_notifier(env):
            await produce(kafka_bootstrap, topic, burst)
            await poll_json(f"http://127.0.0.1:{env['NOTIFIER_PORT']}/api/incidents",
                            lambda body: body and body[0]["count"] == 200)
            deadline = time.monotonic() + 20
            while len(fcm.delivered()) < 8 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # anything extra would arrive now
    finally:
        await fcm.stop()

    titles = [s.message["notification"]["title"] for s in fcm.sends_to("phone-a")]
    place = "Fire at Riverside warehouse"
    assert titles == [f"{place}: new incident", f"{place}: 5 reports", f"{place}: 20 reports", f"{place}: 100 reports"]
    assert len(fcm.sends_to("phone-b")) == 4


def _sse_frames(response: aiohttp.ClientResponse):
    async def frames():
        event, data = None, []
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith(":"):
                yield "comment", line[1:].strip()
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and event:
                yield event, json.loads("\n".join(data))
                event, data = None, []

    return frames()


async def _next_event(frames, until=lambda event: True, timeout_s: float = 20.0) -> IncidentEvent:
    async def find():
        async for kind, payload in frames:
            if kind == "incident":
                event = IncidentEvent.model_validate(payload)
                if until(event):
                    return event

    return await asyncio.wait_for(find(), timeout_s)


async def test_the_running_notifier_freezes_its_heap_and_hands_it_back_at_stop(kafka_bootstrap, topic_name, tmp_path):
    import gc

    topic = topic_name("client")
    env = notifier_env(kafka_bootstrap, topic, tmp_path, GC_FREEZE_INTERVAL="0.2")
    base = f"http://127.0.0.1:{env['NOTIFIER_PORT']}"
    gc.unfreeze()
    async with running_notifier(env):
        await produce(kafka_bootstrap, topic, [analysis_json(RIVERSIDE[0])])
        await poll_json(f"{base}/api/incidents", lambda body: len(body) == 1)
        deadline = time.monotonic() + 10
        while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        frozen = gc.get_freeze_count()
    assert frozen > 0, "the heap keeper never froze the notifier's survivors"
    assert gc.get_freeze_count() == 0, "a stopped notifier leaves the collector as it found it"
