"""The notifier's HTTP side (aiohttp): the receiver web app, its JSON API, and the live feed.

- ``GET /``: the receiver page; ``/sw.js``, ``/manifest.webmanifest``, ``/static/...``: its files.
- ``GET /api/incidents[?category=fire&limit=50]``: incidents, most recently seen first.
- ``GET /api/incidents/{id}``: one incident.
- ``GET /api/events[?category=fire]``: server-sent events: one ``snapshot`` (every incident), then
  an ``incident`` event per change (an :class:`IncidentEvent`), and a keep-alive comment while idle.
- ``POST /api/devices`` ``{"token": ...}``: register a push token (201 new, 200 known);
  ``DELETE /api/devices`` with the same body forgets it.
- ``GET /api/config``: what the receiver needs: the Firebase web config (or null), categories.
- ``GET /healthz``: liveness and a few counts.
- ``GET /openapi.json``: this API as an OpenAPI 3.1 document (``apps/notifier/openapi.py``).
- ``GET /metrics``: the process's Prometheus metrics (:mod:`fogverse.prometheus`, README ▸ Metrics).

Every error answers JSON ``{"error": "..."}`` with a 4xx/5xx status. What anyone on the network
can do is bounded: bodies are JSON only when sent as ``application/json`` (so a cross-site form
or ``text/plain`` POST gets 415), at most :data:`MAX_BODY_BYTES` and :data:`MAX_BODY_DEPTH` deep;
``/api/devices`` takes ``DEVICE_RATE_LIMIT`` requests a minute per remote address (429 beyond)
and never removes a ``DEVICE_TOKENS`` token (403); the live feed serves ``SSE_MAX_CLIENTS`` at
once (503 beyond) and drops a client that takes longer than ``SSE_WRITE_TIMEOUT`` to accept a
write, so one that stops reading holds at most its queue and the transport's buffer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from aiohttp import web
from pydantic import ValidationError

import receiver
from apps.discord_bot.limits import AuthorRateLimit  # the one per-key rate limit; here the key is an address
from apps.notifier.devices import ConfiguredToken, DeviceRegistry, RegistryFull
from apps.notifier.feed import FeedFull, IncidentFeed
from apps.notifier.incidents import IncidentTracker
from apps.notifier.openapi import openapi_document
from fogverse import prometheus
from fogverse.contracts import CATEGORIES, MAX_DEVICE_TOKEN_CHARS, MAX_TEXT_CHARS, DeviceRegistration

log = logging.getLogger(__name__)

RECEIVER_DIR = Path(receiver.__file__).resolve().parent
STATIC_DIR = RECEIVER_DIR / "static"
MAX_BODY_BYTES = MAX_DEVICE_TOKEN_CHARS + 1024
FEED_SEND_BUFFER_BYTES = 64 * 1024  # the kernel's send buffer of a live-feed socket (else it grows to MBs)
FEED_WRITE_BYTES = 32 * 1024  # queued changes joined into one write, up to this much
MAX_BODY_DEPTH = 8  # {"token": ...} is 1 deep; the depth is checked before parsing (no RecursionError)
INCIDENTS_LIMIT_MAX = 1000
NO_CACHE = {"Cache-Control": "no-cache"}


@dataclass(frozen=True)
class ReceiverApi:
    """What the routes read and change."""

    tracker: IncidentTracker
    feed: IncidentFeed
    devices: DeviceRegistry
    firebase_web_config: dict | None
    push_enabled: bool
    alert_counts: tuple[int, ...]
    keepalive_s: float
    consuming: Callable[[], bool]
    device_requests: AuthorRateLimit  # per remote address, for POST and DELETE /api/devices
    write_timeout_s: float  # a live-feed client slower than this to take a write is dropped


def build_web_app(api: ReceiverApi) -> web.Application:
    app = web.Application(middlewares=[_json_errors], client_max_size=MAX_BODY_BYTES)
    handlers = _Handlers(api)
    app.router.add_get("/", handlers.page)
    app.router.add_get("/sw.js", handlers.service_worker)
    app.router.add_get("/manifest.webmanifest", handlers.manifest)
    app.router.add_get("/static/{file}", handlers.static_file)
    app.router.add_get("/api/incidents", handlers.incidents)
    app.router.add_get("/api/incidents/{incident_id}", handlers.incident)
    app.router.add_get("/api/events", handlers.events)
    app.router.add_post("/api/devices", handlers.register_device)
    app.router.add_delete("/api/devices", handlers.forget_device)
    app.router.add_get("/api/config", handlers.config)
    app.router.add_get("/healthz", handlers.health)
    app.router.add_get("/openapi.json", handlers.openapi)
    app.router.add_get("/metrics", handlers.metrics)
    return app


@web.middleware
async def _json_errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _error(exc.status,
                          exc.reason if exc.text is None or exc.text.startswith(str(exc.status)) else exc.text)
        response.headers.extend((k, v) for k, v in exc.headers.items() if k.lower() in ("retry-after", "allow"))
        return response
    except Exception:  # a bug, not the client's fault: still JSON, and logged with its traceback
        log.exception("%s %s failed", request.method, request.path)
        return _error(500, "internal error")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class _Handlers:
    def __init__(self, api: ReceiverApi):
        self.api = api
        self._openapi = json.dumps(openapi_document(max_body_bytes=MAX_BODY_BYTES, max_body_depth=MAX_BODY_DEPTH,
                                                    incidents_limit_max=INCIDENTS_LIMIT_MAX))

    async def page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(RECEIVER_DIR / "index.html", headers=NO_CACHE)

    async def service_worker(self, request: web.Request) -> web.StreamResponse:
        # Served from the root so its scope covers the whole app; no-cache so updates reach phones.
        return web.FileResponse(RECEIVER_DIR / "sw.js", headers={**NO_CACHE, "Service-Worker-Allowed": "/",
                                                                  "Content-Type": "text/javascript"})

    async def manifest(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(RECEIVER_DIR / "manifest.webmanifest",
                                headers={"Content-Type": "application/manifest+json"})

    async def static_file(self, request: web.Request) -> web.StreamResponse:
        # Not aiohttp's static route: that answers a missing file with an empty 404, not JSON.
        path = (STATIC_DIR / request.match_info["file"]).resolve()
        if not path.is_relative_to(STATIC_DIR) or not path.is_file():
            return _error(404, "no such file")
        return web.FileResponse(path)

    async def incidents(self, request: web.Request) -> web.Response:
        category = _category(request)
        limit = _limit(request)
        incidents = self.api.tracker.incidents(category)[:limit]
        return web.Response(text=_json_list(incidents), content_type="application/json", headers=NO_CACHE)

    async def incident(self, request: web.Request) -> web.Response:
        incident = self.api.tracker.get(request.match_info["incident_id"])
        if incident is None:
            return _error(404, "no such incident")
        return web.Response(text=incident.model_dump_json(), content_type="application/json")

    async def events(self, request: web.Request) -> web.StreamResponse:
        category = _category(request)
        try:
            queue = self.api.feed.subscribe()  # before the snapshot, so no change falls in between
        except FeedFull as exc:
            return _error(503, str(exc))
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
        })
        response.force_close()  # a stream the feed ended frees its connection too (EventSource reconnects)
        stream = _FeedStream(response, self.api.write_timeout_s)
        try:
            _bound_send_buffer(request)
            await response.prepare(request)
            # The snapshot goes out an incident at a time, so an unread one never sits whole in memory.
            await stream.write(b'retry: 2000\nevent: snapshot\ndata: {"incidents":[')
            for i, incident in enumerate(self.api.tracker.incidents(category)):
                await stream.write((b"," if i else b"") + incident.model_dump_json().encode())
            await stream.write(b"]}\n\n")
            ended = False
            while not ended:
                try:
                    async with asyncio.timeout(self.api.keepalive_s):
                        item = await queue.get()
                except TimeoutError:
                    await stream.write(b": keep-alive\n\n")
                    continue
                # What else is queued goes out in the same write (one wake-up and one send, not one each).
                chunk = bytearray()
                while True:
                    if item is None:
                        ended = True
                        break
                    if category is None or item.event.incident.category == category:
                        chunk += item.sse
                    if len(chunk) >= FEED_WRITE_BYTES or queue.empty():
                        break
                    item = queue.get_nowait()
                if chunk:
                    await stream.write(bytes(chunk))
        except _NotReading:
            log.info("dropping a live-feed client at %s: a write waited over %.1f s", request.remote,
                     self.api.write_timeout_s)
            self.api.feed.evict(queue)
            if request.transport is not None:
                request.transport.abort()  # frees what its transport buffered
        except (ConnectionResetError, ConnectionError):
            pass  # the browser went away
        finally:
            self.api.feed.unsubscribe(queue)
        return response

    async def register_device(self, request: web.Request) -> web.Response:
        self._limit_device_requests(request)
        registration = await _registration(request)
        try:
            added = await asyncio.to_thread(self.api.devices.add, registration.token)
        except RegistryFull as exc:
            return _error(507, str(exc))
        return web.json_response({"registered": True, "new": added}, status=201 if added else 200)

    async def forget_device(self, request: web.Request) -> web.Response:
        self._limit_device_requests(request)
        registration = await _registration(request)
        try:
            removed = await asyncio.to_thread(self.api.devices.forget, registration.token)
        except ConfiguredToken as exc:
            return _error(403, str(exc))
        if not removed:
            return _error(404, "no such device")
        return web.json_response({"registered": False})

    def _limit_device_requests(self, request: web.Request) -> None:
        address = request.remote or "unknown"
        if self.api.device_requests.allow(address):
            return
        if self.api.device_requests.first_drop(address):
            log.warning("%s sent over %d device requests in a minute; refusing the rest this minute", address,
                        self.api.device_requests.per_minute)
        raise web.HTTPTooManyRequests(
            text=f"at most {self.api.device_requests.per_minute} device requests a minute from one address",
            headers={"Retry-After": "60"})

    async def config(self, request: web.Request) -> web.Response:
        return web.json_response({
            "firebase": self.api.firebase_web_config,
            "push": self.api.push_enabled,
            "categories": list(CATEGORIES),
            "alert_counts": list(self.api.alert_counts),
            "max_text_chars": MAX_TEXT_CHARS,
        }, headers=NO_CACHE)

    async def openapi(self, request: web.Request) -> web.Response:
        return web.Response(text=self._openapi, content_type="application/json")

    async def health(self, request: web.Request) -> web.Response:
        tracker = self.api.tracker
        return web.json_response({
            "status": "ok", "consuming": self.api.consuming(), "incidents": len(tracker),
            "ignored": tracker.ignored, "duplicates": tracker.duplicates, "devices": len(self.api.devices),
            "push": self.api.push_enabled, "feed_subscribers": self.api.feed.subscribers,
            "feed_evicted": self.api.feed.evicted,
        })

    async def metrics(self, request: web.Request) -> web.Response:
        body, content_type = prometheus.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type, **NO_CACHE})


def _category(request: web.Request) -> str | None:
    category = request.query.get("category") or None
    if category is not None and category not in CATEGORIES:
        raise web.HTTPBadRequest(text=f"category must be one of {', '.join(CATEGORIES)}")
    return category


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit")
    if raw is None:
        return INCIDENTS_LIMIT_MAX
    try:
        limit = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text="limit must be a whole number") from None
    if not 1 <= limit <= INCIDENTS_LIMIT_MAX:
        raise web.HTTPBadRequest(text=f"limit must be between 1 and {INCIDENTS_LIMIT_MAX}")
    return limit


async def _registration(request: web.Request) -> DeviceRegistration:
    body = await _json_body(request)
    try:
        return DeviceRegistration.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise web.HTTPBadRequest(text=problems) from None


async def _json_body(request: web.Request) -> object:
    """The request's JSON; 415 unless it says ``application/json`` (a browser sends that cross-site
    only after a CORS preflight, which this server never grants), 413 if too large, 400 if bad."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="the body must be JSON sent with Content-Type: application/json")
    raw = await request.read()  # at most client_max_size, or 413
    if json_nesting(raw) > MAX_BODY_DEPTH:
        raise web.HTTPBadRequest(text=f"the body is nested more than {MAX_BODY_DEPTH} deep")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # bad JSON or bad UTF-8 (UnicodeDecodeError is a ValueError)
        raise web.HTTPBadRequest(text="the body must be JSON: {\"token\": \"...\"}") from None


def json_nesting(raw: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _bound_send_buffer(request: web.Request) -> None:
    sock = request.transport.get_extra_info("socket") if request.transport is not None else None
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, FEED_SEND_BUFFER_BYTES)


class _NotReading(Exception):
    """A live-feed client did not take a write within the write timeout."""


class _FeedStream:
    """Writes to one live-feed response, each bounded in time: aiohttp's write waits while the
    transport holds more than its high-water mark, forever if the client never reads."""

    def __init__(self, response: web.StreamResponse, timeout_s: float):
        self._response = response
        self._timeout_s = timeout_s

    async def write(self, data: bytes) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):  # no task per write, unlike wait_for
                await self._response.write(data)
        except TimeoutError:
            raise _NotReading from None


def _json_list(models) -> str:
    return "[" + ",".join(m.model_dump_json() for m in models) + "]"
