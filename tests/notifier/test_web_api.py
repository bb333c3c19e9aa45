"""The notifier's HTTP API and the receiver's files, over real HTTP (no broker needed)."""

from __future__ import annotations

import json
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer

from apps.discord_bot.limits import AuthorRateLimit
from apps.notifier.devices import DeviceRegistry
from apps.notifier.feed import IncidentFeed
from apps.notifier.incidents import IncidentRules, IncidentTracker
from apps.notifier.store import NotifierStore
from apps.notifier.web import ReceiverApi, build_web_app
from fogverse.contracts import MAX_DEVICE_TOKEN_CHARS, Analysis, Report

WEB_CONFIG = {"apiKey": "public-key", "projectId": "siaga-demo", "appId": "1:2:web:3", "vapidKey": "BKxyz"}


@pytest.fixture
async def client(tmp_path):
    tracker = IncidentTracker(IncidentRules())
    for text, category in [("Fire at the Riverside warehouse", "fire"), ("Car crash on the toll road", "accident")]:
        tracker.observe(Analysis(report=Report(text=text, source="crawler", created_at=time.time()),
                                 emergency=True, emergency_score=0.9, category=category, category_score=0.9,
                                 model_version="test"))
    api = ReceiverApi(tracker=tracker, feed=IncidentFeed(tracker),
                      devices=DeviceRegistry(NotifierStore(tmp_path / "notifier.db"), ("configured-token",),
                                             max_devices=3),
                      firebase_web_config=WEB_CONFIG, push_enabled=True, alert_counts=(5, 20),
                      keepalive_s=15, consuming=lambda: True, device_requests=AuthorRateLimit(0),
                      write_timeout_s=5)
    async with TestClient(TestServer(build_web_app(api))) as http:
        http.store_path = tmp_path / "notifier.db"
        yield http


async def test_incidents_can_be_listed_filtered_and_fetched(client):
    everything = await (await client.get("/api/incidents")).json()
    assert sorted(i["category"] for i in everything) == ["accident", "fire"]
    fires = await (await client.get("/api/incidents?category=fire")).json()
    assert [i["category"] for i in fires] == ["fire"]
    one = await client.get(f"/api/incidents/{fires[0]['id']}")
    assert (await one.json())["samples"][0]["text"] == "Fire at the Riverside warehouse"
    assert len(await (await client.get("/api/incidents?limit=1")).json()) == 1


@pytest.mark.parametrize("path, status, error", [
    ("/api/incidents?category=zombies", 400, "category must be one of"),
    ("/api/incidents?limit=lots", 400, "limit must be a whole number"),
    ("/api/incidents?limit=0", 400, "limit must be between"),
    ("/api/incidents/nope", 404, "no such incident"),
    ("/api/nothing-here", 404, "Not Found"),
    ("/api/events?category=zombies", 400, "category must be one of"),
])
async def test_bad_requests_answer_json_errors(client, path, status, error):
    response = await client.get(path)
    assert response.status == status
    assert error in (await response.json())["error"]


async def test_device_registration_is_idempotent_persisted_and_bounded(client):
    first = await client.post("/api/devices", json={"token": "browser-1"})
    again = await client.post("/api/devices", json={"token": "browser-1"})
    assert (first.status, again.status) == (201, 200)
    assert NotifierStore(client.store_path).device_tokens() == ["browser-1"]
    assert (await client.post("/api/devices", json={"token": "configured-token"})).status == 200
    assert (await client.post("/api/devices", json={"token": "browser-2"})).status == 201
    full = await client.post("/api/devices", json={"token": "browser-3"})
    assert full.status == 507 and "3 devices" in (await full.json())["error"]
    assert (await client.delete("/api/devices", json={"token": "browser-1"})).status == 200
    assert (await client.delete("/api/devices", json={"token": "browser-1"})).status == 404
    configured = await client.delete("/api/devices", json={"token": "configured-token"})
    assert configured.status == 403 and "DEVICE_TOKENS" in (await configured.json())["error"]
    assert DeviceRegistry(NotifierStore(client.store_path)).tokens() == ["browser-2"], "a restart reads them back"
    assert (await (await client.get("/healthz")).json())["devices"] == 2, "the configured token stays"


def test_registrations_an_older_notifier_kept_in_devices_json_are_moved_into_the_store(tmp_path):
    legacy = tmp_path / "devices.json"
    legacy.write_text(json.dumps({"tokens": ["old-phone", "old-browser"]}))
    store = NotifierStore(tmp_path / "notifier.db")
    assert DeviceRegistry(store, legacy_file=legacy).tokens() == ["old-phone", "old-browser"]
    assert not legacy.exists()
    assert DeviceRegistry(store, legacy_file=legacy).tokens() == ["old-phone", "old-browser"]


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'{"token": ""}', b'{"token": "has spaces"}', b'{"device": "x"}', b'{"token": 5}',
    b'{"token": "<script>alert(1)</script>"}', b'{"token": "../../etc/passwd"}', b'{"token": "caf\xc3\xa9"}',
    b'{"token": "a\\u0000b"}', b'{"token": NaN}', b"\xff\xfe{", b"[" * 2500 + b"]" * 2500,
    json.dumps({"token": "x" * (MAX_DEVICE_TOKEN_CHARS + 1)}).encode(),
])
async def test_bad_registrations_answer_400(client, body):
    response = await client.post("/api/devices", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert (await response.json())["error"]


async def test_an_oversized_body_is_refused(client):
    response = await client.post("/api/devices", data=b"x" * 100_000, headers={"Content-Type": "application/json"})
    assert response.status == 413 and "error" in await response.json()


async def test_config_gives_the_receiver_the_firebase_web_config_and_categories(client):
    config = await (await client.get("/api/config")).json()
    assert config["firebase"] == WEB_CONFIG and config["push"] is True
    assert config["categories"] == ["fire", "accident", "natural_hazard", "violence", "hazmat", "other"]


async def test_health_reports_counts(client):
    health = await (await client.get("/healthz")).json()
    assert health == {"status": "ok", "consuming": True, "incidents": 2, "ignored": 0, "duplicates": 0,
                      "devices": 1, "push": True, "feed_subscribers": 0, "feed_evicted": 0}


@pytest.mark.parametrize("path, content_type, contains", [
    ("/", "text/html", "<ol id=\"incidents\""),
    ("/sw.js", "text/javascript", "addEventListener(\"push\""),
    ("/manifest.webmanifest", "application/manifest+json", "\"display\": \"standalone\""),
    ("/static/app.js", "javascript", "EventSource"),
    ("/static/alerts.js", "javascript", "showNotification"),
    ("/static/style.css", "text/css", ".incident"),
    ("/static/icon.svg", "image/svg+xml", "<svg"),
])
async def test_the_receiver_files_are_served(client, path, content_type, contains):
    response = await client.get(path)
    assert response.status == 200
    assert content_type in response.headers["Content-Type"]
    assert contains in await response.text()


async def test_the_install_icons_are_real_pngs_of_the_sizes_the_manifest_claims(client):
    manifest = await (await client.get("/manifest.webmanifest")).json(content_type=None)
    for icon in (i for i in manifest["icons"] if i["type"] == "image/png"):
        body = await (await client.get(icon["src"])).read()
        assert body[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]
