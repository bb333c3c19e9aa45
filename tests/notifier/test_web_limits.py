"""What anyone on the network can make the notifier's web server do is bounded: over real HTTP
against the real web app, with its live feed running (no broker needed)."""

from __future__ import annotations

import asyncio
import json
import contextlib
import logging
import os
import random
import socket
import string
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from apps.discord_bot.limits import AuthorRateLimit
from apps.notifier.devices import DeviceRegistry
from apps.notifier.feed import IncidentFeed
from apps.notifier.incidents import IncidentRules, IncidentTracker
from apps.notifier.store import NotifierStore
from apps.notifier.web import ReceiverApi, build_web_app, json_nesting
from fogverse.contracts import Analysis, Report
from fogverse.processes import ManagedProcess, python_module
from kafka_helpers import produce
from notifier_harness import analysis_json, notifier_env, wait_for_http

REPO = Path(__file__).resolve().parents[2]


class Served:
    """A running notifier web app and what it serves."""

    def __init__(self, server: TestServer, api: ReceiverApi):
        self.server, self.api = server, api
        self.url = str(server.make_url(""))
        self.port = server.port

    def add_incidents(self, count: int, rng: random.Random) -> None:
        """``count`` new, unrelated incidents, marked for the feed."""
        for _ in range(count):
            words = " ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(9)) for _ in range(28))
            analysis = Analysis(report=Report(text=f"Fire {words}", source="crawler", created_at=time.time()),
                                emergency=True, emergency_score=0.9, category="fire", category_score=0.9,
                                model_version="test")
            self.api.feed.mark(self.api.tracker.observe(analysis))

    async def health(self) -> dict:
        async with aiohttp.ClientSession() as http, http.get(f"{self.url}/healthz") as response:
            return await response.json()


@contextlib.asynccontextmanager
async def serving(tmp_path, *, per_minute: int = 0, max_clients: int | None = None, write_timeout_s: float = 5.0,
                  configured: tuple[str, ...] = ("operator-phone",)):
    tracker = IncidentTracker(IncidentRules())
    feed = IncidentFeed(tracker, max_subscribers=max_clients)
    api = ReceiverApi(tracker=tracker, feed=feed, devices=DeviceRegistry(NotifierStore(tmp_path / "n.db"), configured),
                      firebase_web_config=None, push_enabled=True, alert_counts=(5,), keepalive_s=15,
                      consuming=lambda: True, device_requests=AuthorRateLimit(per_minute),
                      write_timeout_s=write_timeout_s)
    feed_task = asyncio.create_task(feed.run())
    server = TestServer(build_web_app(api), host="127.0.0.1")
    await server.start_server()
    try:
        yield Served(server, api)
    finally:
        feed.close()
        await server.close()
        feed_task.cancel()
        await asyncio.gather(feed_task, return_exceptions=True)


def stalled_client(port: int, path: str = "/api/events") -> socket.socket:
    """A client that sends its GET and never reads (a tiny receive buffer, so it fills soon)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock


async def wait_until(condition, what: str, timeout_s: float = 15.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout_s} s")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          None])
async def test_a_body_not_sent_as_application_json_is_refused_415(tmp_path, content_type):
    """A cross-site page may POST text/plain or a form without a CORS preflight; neither registers."""
    async with serving(tmp_path) as served, aiohttp.ClientSession() as http:
        headers = {"Content-Type": content_type} if content_type else {}
        for method in ("POST", "DELETE"):
            token = "operator-phone" if method == "DELETE" else "cross-site-token"
            async with http.request(method, f"{served.url}/api/devices", data=f'{{"token": "{token}"}}'.encode(),
                                    headers=headers, skip_auto_headers=["Content-Type"]) as response:
                assert response.status == 415, await response.text()
                assert "application/json" in (await response.json())["error"]
        assert served.api.devices.tokens() == ["operator-phone"]


async def test_device_requests_from_one_address_beyond_the_rate_limit_get_429_and_other_addresses_go_on(tmp_path):
    """One address cannot fill DEVICE_MAX: after DEVICE_RATE_LIMIT requests a minute it gets 429."""
    async with serving(tmp_path, per_minute=3) as served:
        statuses = []
        async with aiohttp.ClientSession() as http:
            for i in range(10):
                async with http.post(f"{served.url}/api/devices", json={"token": f"flood-{i}"}) as response:
                    statuses.append(response.status)
                    if response.status == 429:
                        assert response.headers["Retry-After"] == "60"
                        assert "3 device requests a minute" in (await response.json())["error"]
            async with http.delete(f"{served.url}/api/devices", json={"token": "flood-0"}) as response:
                assert response.status == 429, "deletes count too"
        assert statuses == [201] * 3 + [429] * 7
        # Linux routes all of 127/8 to loopback: a second client address is a real, different peer.
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=connector) as other, \
                other.post(f"{served.url}/api/devices", json={"token": "real-user"}) as response:
            assert response.status == 201
        assert sorted(served.api.devices.tokens()) == ["flood-0", "flood-1", "flood-2", "operator-phone", "real-user"]


async def test_the_operators_configured_tokens_cannot_be_deleted_through_the_api(tmp_path):
    async with serving(tmp_path) as served, aiohttp.ClientSession() as http:
        async with http.delete(f"{served.url}/api/devices", json={"token": "operator-phone"}) as response:
            assert response.status == 403 and "DEVICE_TOKENS" in (await response.json())["error"]
        async with http.post(f"{served.url}/api/devices", json={"token": "browser"}) as response:
            assert response.status == 201
        async with http.delete(f"{served.url}/api/devices", json={"token": "browser"}) as response:
            assert response.status == 200, "a registered one can still unregister"
        assert served.api.devices.tokens() == ["operator-phone"]


@pytest.mark.parametrize("body", [
    b"[" * 2500 + b"]" * 2500,  # a RecursionError inside json.loads answered a plain-text 500
    b'{"token": ' + b'{"a": ' * 2000 + b"1" + b"}" * 2000 + b"}",
    b'{"token": "x"' + b"," * 3000 + b"}",
    b'{"token": "x", "token": ["y"]}',
    b'{"token": "' + "\U0001F525".encode() * 50 + b'"}',
    b"\x00" * 4000,
    b"",
])
async def test_every_bad_body_answers_a_4xx_json_error(tmp_path, body):
    async with serving(tmp_path) as served, aiohttp.ClientSession() as http:
        for method in ("POST", "DELETE"):
            async with http.request(method, f"{served.url}/api/devices", data=body,
                                    headers={"Content-Type": "application/json"}) as response:
                assert 400 <= response.status < 500, (response.status, await response.text())
                assert response.content_type == "application/json"
                assert (await response.json())["error"]


@pytest.mark.parametrize("text, depth", [
    (b"{}", 1), (b'{"token": "x"}', 1), (b"[[[]]]", 3), (b'["[[[[", "\\"[["]', 1), (b"5", 0),
    (b'{"a": [{"b": []}]}', 4), (b"[" * 2500, 2500),
])
def test_json_nesting_counts_brackets_outside_strings(text, depth):
    assert json_nesting(text) == depth


async def test_live_feed_connections_beyond_the_cap_get_503_json_and_a_closed_one_frees_its_place(tmp_path):
    async with serving(tmp_path, max_clients=2) as served, aiohttp.ClientSession() as http:
        first = await http.get(f"{served.url}/api/events")
        second = await http.get(f"{served.url}/api/events")
        assert (first.status, second.status) == (200, 200)
        async with http.get(f"{served.url}/api/events") as third:
            assert third.status == 503 and "2 live-feed clients" in (await third.json())["error"]
        first.close()
        await wait_until(lambda: _subscribers_at_most(served, 1), "the closed stream leaving the feed")
        async with http.get(f"{served.url}/api/events") as again:
            assert again.status == 200
            assert (await again.content.readline()).startswith(b"retry:")
        second.close()


async def _subscribers_at_most(served: Served, count: int) -> bool:
    return (await served.health())["feed_subscribers"] <= count


async def test_a_live_feed_client_that_stops_reading_is_dropped_and_a_reading_one_gets_every_change(
        tmp_path, caplog):
    """Without a bounded write, the stalled client's handler waited in aiohttp's drain forever."""
    caplog.set_level(logging.INFO, logger="apps.notifier.web")
    rng = random.Random(13)
    async with serving(tmp_path, write_timeout_s=0.5) as served, aiohttp.ClientSession() as http:
        stalled = stalled_client(served.port)
        try:
            async with http.get(f"{served.url}/api/events") as reader:
                await wait_until(lambda: _subscribers_at_least(served, 2), "both clients subscribing")
                seen: set[str] = set()
                reading = asyncio.create_task(_read_incident_ids(reader, seen))
                sent = 0
                # A few small rounds, so the stalled client's queue never fills: its write times out first.
                while (await served.health())["feed_evicted"] == 0 and sent < 3000:
                    served.add_incidents(40, rng)
                    sent += 40
                    await asyncio.sleep(0.06)
                health = await served.health()
                expected = {i.id for i in served.api.tracker.incidents()}
                await wait_until(lambda: _contains(seen, expected), "the reading client getting every change")
                reading.cancel()
        finally:
            stalled.close()
    assert health["feed_evicted"] == 1 and health["feed_subscribers"] == 1, health
    assert any("dropping a live-feed client" in r.getMessage() and "waited over 0.5 s" in r.getMessage()
               for r in caplog.records)
    print(f"the stalled client was dropped after {sent} changes ({sent * 0.8:.0f} KB of events)")


async def _subscribers_at_least(served: Served, count: int) -> bool:
    return (await served.health())["feed_subscribers"] >= count


async def _contains(seen: set[str], expected: set[str]) -> bool:
    return expected <= seen


async def _read_incident_ids(response: aiohttp.ClientResponse, seen: set[str]) -> None:
    async for line in response.content:
        if line.startswith(b"data: "):
            data = json.loads(line[6:])
            for incident in data.get("incidents", [data.get("incident")]):
                seen.add(incident["id"])


def connections_from(pid: int, ports: set[int]) -> int:
    """How many TCP connections from these client ports the process still holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except FileNotFoundError:
            continue  # closed meanwhile
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    held = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()  # sl local_address rem_address st ... uid timeout inode
        if int(fields[2].split(":")[1], 16) in ports and fields[9] in inodes:
            held += 1
    return held


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


STALLED_CLIENTS = 300
CHANGES = 3000  # each stalled client is due ~2.4 MB of events, far more than its buffers hold
# The 3,000 reports alone grow the notifier by about 36 MiB (measured here with no client). Each
# stalled connection may add its queue (references to events every subscriber shares), what
# aiohttp's transport buffers before a write waits (64 KiB, plus one joined write of up to 32 KiB),
# its request objects and the allocator's slack: a few hundred KiB, so 300 add well under 100 MiB.
# Measured here: +70 to +104 MiB in all. Without the write timeout the feed dropped them from its
# set (their queues overflowed) but their handlers waited in aiohttp's drain for ever, connections open.
RSS_GROWTH_BOUND_KIB = 200 * 1024


@pytest.mark.slow
async def test_300_live_feed_clients_that_never_read_leave_healthz_answering_and_memory_bounded(
        kafka_bootstrap, topic_name, subprocess_env, tmp_path):
    topic = topic_name("client")
    env = {**subprocess_env, **notifier_env(kafka_bootstrap, topic, tmp_path / "state", SSE_WRITE_TIMEOUT="2")}
    base = f"http://127.0.0.1:{env['NOTIFIER_PORT']}"
    notifier = ManagedProcess("notifier", python_module("apps.notifier"), env=env, cwd=REPO,
                              log_path=tmp_path / "notifier.log").start()
    sockets: list[socket.socket] = []
    try:
        await wait_for_http(f"{base}/healthz")
        before = rss_kib(notifier.pid)
        port = int(env["NOTIFIER_PORT"])
        sockets = await asyncio.to_thread(lambda: [stalled_client(port) for _ in range(STALLED_CLIENTS)])
        client_ports = {sock.getsockname()[1] for sock in sockets}
        rng = random.Random(300)
        reports = [analysis_json("Fire " + " ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(9))
                                                   for _ in range(28))) for _ in range(CHANGES)]
        slowest, peak, connected, polls, health, held = 0.0, before, before, 0, {}, STALLED_CLIENTS
        producing = None
        deadline = time.monotonic() + 120
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            while time.monotonic() < deadline:
                started = time.monotonic()
                async with http.get(f"{base}/healthz") as response:
                    health = await response.json()
                slowest = max(slowest, time.monotonic() - started)
                polls += 1
                peak = max(peak, rss_kib(notifier.pid))
                assert notifier.alive(), notifier.tail()
                if producing is None and health["feed_subscribers"] == STALLED_CLIENTS:
                    connected = rss_kib(notifier.pid)
                    producing = asyncio.create_task(produce(kafka_bootstrap, topic, reports))
                # Dropped from the feed is not enough: the handler must give the connection up too,
                # and nothing reads the clients, so only the server can close them.
                held = connections_from(notifier.pid, client_ports)
                if producing is not None and producing.done() and health["feed_evicted"] == STALLED_CLIENTS \
                        and health["incidents"] == 1000 and held <= 0:
                    break
                await asyncio.sleep(0.1)
            await producing
            async with http.get(f"{base}/api/events") as fresh:  # the feed still serves a new client
                assert fresh.status == 200 and (await fresh.content.readline()).startswith(b"retry:")
        after = rss_kib(notifier.pid)
        assert notifier.stop() == 0, notifier.tail()
    finally:
        for sock in sockets:
            sock.close()
        notifier.kill()
    print(f"{STALLED_CLIENTS} stalled live-feed clients, {CHANGES} reports: slowest /healthz {slowest * 1000:.0f} ms "
          f"over {polls} polls; RSS {before // 1024} MiB at start, {connected // 1024} MiB with the clients "
          f"connected, peak {peak // 1024} MiB (+{(peak - before) // 1024} MiB), {after // 1024} MiB at the end; "
          f"evicted {health['feed_evicted']}, connections still held {held}")
    assert health["feed_evicted"] == STALLED_CLIENTS and health["feed_subscribers"] == 0, health
    assert held <= 0, f"{held} connections of clients that never read are still open"
    assert slowest < 1.0, f"/healthz took {slowest:.2f} s"
    assert peak - before < RSS_GROWTH_BOUND_KIB, f"RSS grew {(peak - before) // 1024} MiB"
