"""The notifier's settings (``python -m apps.notifier``): incidents, push, and the receiver web app."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BeforeValidator, model_validator

from fogverse.settings import (CommaList, ConfigError, OptionalSecret, Port, ResolvedPath, Rule, Settings, broker_env, env, state_dir_env)


def _alert_counts(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        counts = tuple(sorted({int(item.strip()) for item in value.split(",") if item.strip()}))
    except ValueError:
        raise ValueError(f"must be comma-separated whole numbers, got {value!r}") from None
    if not counts:
        raise ValueError("must list at least one count")
    if counts[0] < 2:
        raise ValueError(f"values must be at least 2, got {counts[0]}")
    return counts


def _json_object(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ValueError("must be a JSON object")
    return parsed


AlertCounts = Annotated[tuple[int, ...], BeforeValidator(_alert_counts), Rule("comma-separated whole numbers ≥ 2")]
JsonObject = Annotated[dict | None, BeforeValidator(_json_object), Rule("a JSON object")]


class NotifierSettings(Settings):
    bootstrap_servers: str = broker_env("CLIENT_CONSUMER_SERVERS")
    consumer_topic: str = env("CLIENT_CONSUMER_TOPIC", default="client", meaning="input topic")
    consumer_group_id: str = env("CLIENT_CONSUMER_GROUP_ID", default="client", meaning="consumer group")
    http_host: str = env("NOTIFIER_HOST", default="127.0.0.1",
                         meaning="address the receiver page and API listen on (`0.0.0.0` for phones on the LAN)")
    http_port: Port = env("NOTIFIER_PORT", default=8000, meaning="their port")
    #: device registrations, incidents and pending pushes persist under ``<state_dir>/notifier``
    state_dir: ResolvedPath = state_dir_env()
    firebase_key: OptionalSecret = env("FIREBASE_KEY", default=None, shown="unset (push off)",
                                       meaning="**secret**: service-account key, a path or the JSON itself")
    firebase_web_config: JsonObject = env(
        "FIREBASE_WEB_CONFIG", default=None,
        meaning="public Firebase web config JSON (with `vapidKey`) for web push registration")
    device_tokens: CommaList = env("DEVICE_TOKENS", default=(), shown="none",
                                   meaning="FCM registration tokens to alert, comma-separated")
    max_devices: int = env("DEVICE_MAX", default=10_000, ge=1, meaning="most registered devices kept")
    device_requests_per_minute: int = env(
        "DEVICE_RATE_LIMIT", default=10, ge=0,
        meaning="`POST`/`DELETE /api/devices` requests a minute per remote address (429 beyond; `0`: no limit). "
                "Behind a reverse proxy every browser shares the proxy's address")
    fcm_endpoint: str | None = env("FCM_ENDPOINT", default=None, shown="Google's",
                                   meaning="FCM v1 base URL (tests point it at a local stand-in)")
    push_max_retries: int = env("PUSH_MAX_RETRIES", default=5, ge=0, le=20, meaning="retries of a 429/5xx push")
    push_backoff_s: float = env("PUSH_BACKOFF", default=1.0, ge=0.0, meaning="first retry delay, seconds (doubles)")
    push_backoff_max_s: float = env("PUSH_BACKOFF_MAX", default=60.0, ge=0.0, meaning="longest retry delay, seconds")
    incident_window_s: float = env("INCIDENT_WINDOW", default=600.0, ge=1.0,
                                   meaning="seconds within which reports of one kind can merge into one incident")
    incident_place_window_s: float = env(
        "INCIDENT_PLACE_WINDOW", default=3600.0, ge=1.0,
        meaning="seconds within which reports naming one place can merge (at least INCIDENT_WINDOW)")
    incident_similarity: float = env(
        "INCIDENT_SIMILARITY", default=0.25, ge=0.0, le=1.0,
        meaning="weighted word similarity (cosine, 0–1) two reports of one kind need to be linked")
    incident_alert_counts: AlertCounts = env("INCIDENT_ALERT_COUNTS", default=(5, 20, 100, 500, 1000, 5000),
                                             meaning="counts at which an incident alerts again")
    incident_max: int = env("INCIDENT_MAX", default=1000, ge=1, meaning="incidents kept in memory")
    incident_retention_s: float = env("INCIDENT_RETENTION", default=86400.0, ge=1.0,
                                      meaning="seconds an incident is kept after its last report")
    incident_samples: int = env("INCIDENT_SAMPLES", default=5, ge=1, le=50,
                                meaning="sample messages kept per incident")
    sse_keepalive_s: float = env("SSE_KEEPALIVE", default=15.0, ge=0.1,
                                 meaning="seconds between keep-alives on the live feed")
    sse_max_clients: int = env("SSE_MAX_CLIENTS", default=500, ge=1,
                               meaning="live-feed (`/api/events`) connections served at once; more are answered 503")
    sse_write_timeout_s: float = env(
        "SSE_WRITE_TIMEOUT", default=10.0, ge=0.1,
        meaning="seconds a live-feed client may take to accept a write before it is dropped (one that stopped "
                "reading)")

    @model_validator(mode="after")
    def _backoff(self) -> "NotifierSettings":
        if self.push_backoff_max_s < self.push_backoff_s:
            raise ConfigError(f"PUSH_BACKOFF_MAX={self.push_backoff_max_s:g} must not be below "
                              f"PUSH_BACKOFF={self.push_backoff_s:g}")
        return self
