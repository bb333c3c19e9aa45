"""The LINE bot's settings (``python -m apps.line_bot``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from fogverse.settings import Port, Secret, Settings, broker_env, env


class LineSettings(Settings):
    channel_secret: Secret = env("CHANNEL_SECRET", required_because="the LINE channel secret verifies webhook "
                                 "signatures", meaning="**secret**: verifies `X-Line-Signature`")
    channel_access_token: Secret = env("CHANNEL_ACCESS_TOKEN", required_because="the LINE channel access token "
                                       "sends replies", meaning="**secret**: sends replies")
    bootstrap_servers: str = broker_env("BOOTSTRAP_SERVERS")
    producer_topic: str = env("MOKE_PRODUCER_TOPIC", default="analyze", meaning="topic for reports")
    client_id: str | None = env("CLIENT_ID", default=None, shown="`host-pid`", meaning="Kafka client / instance id")
    port: Port = env("PORT", default=8080, meaning="webhook port")
    host: str = env("LINE_HOST", default="0.0.0.0", meaning="webhook address (put it behind a TLS reverse proxy)")
    #: longest a webhook call waits for the broker's ack before answering 503
    publish_timeout_s: float = env("LINE_PUBLISH_TIMEOUT", default=2.0, ge=0.05, le=30.0,
                                   meaning="seconds to wait for the broker's ack before answering 503")
    api_host: Annotated[str, AfterValidator(lambda url: url.rstrip("/"))] = env(
        "LINE_API_HOST", default="https://api.line.me", meaning="Messaging API base URL")
    #: recent webhookEventIds remembered (per process) to publish redeliveries once
    dedup_size: int = env("LINE_DEDUP_SIZE", default=10_000, ge=1,
                          meaning="recent webhook event ids remembered (redeliveries published once)")
    metrics_port: Port = env(
        "LINE_METRICS_PORT", default=0, shown="`0` (off)",
        meaning="serve Prometheus `/metrics` on this port, never on the public webhook `PORT` ([Metrics](#metrics))")
