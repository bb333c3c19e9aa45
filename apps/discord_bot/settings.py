"""The Discord bot's settings (``python -m apps.discord_bot``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from fogverse.settings import CommaList, Port, Secret, Settings, broker_env, env


def _snowflakes(ids: tuple[str, ...]) -> tuple[str, ...]:
    for value in ids:
        if not value.isdigit():
            raise ValueError(f"must list Discord ids (numbers), got {value!r}")
    return ids


class DiscordSettings(Settings):
    token: Secret = env("TOKEN", required_because="the Discord bot token from the Developer Portal",
                        meaning="**secret**: the Discord bot token")
    bootstrap_servers: str = broker_env("DISCORD_ANALYZER_SERVERS")
    producer_topic: str = env("DISCORD_PRODUCER_TOPIC", default="analyze", meaning="topic for reports")
    #: seed name; the incident reader reads without a group, so it only names the reader
    consumer_group_id: str = env("DISCORD_CONSUMER_GROUP_ID", default="crawler",
                                 meaning="seed name, kept; names the incident reader's client")
    channels: Annotated[CommaList, AfterValidator(_snowflakes)] = env(
        "DISCORD_CHANNELS", default=(), shown="all", meaning="channel ids to read, comma-separated")
    publish_timeout_s: float = env("DISCORD_PUBLISH_TIMEOUT", default=10.0, ge=0.1,
                                   meaning="seconds to wait for the broker's ack before a ⚠️ reaction")
    incidents_topic: str = env("DISCORD_INCIDENTS_TOPIC", "CLIENT_CONSUMER_TOPIC", default="client",
                               meaning="analyzer output read by `$incidents`")
    incidents_lookback: int = env("DISCORD_INCIDENTS_LOOKBACK", default=5000, ge=0,
                                  meaning="messages per partition read at start for `$incidents`")
    incidents_shown: int = env("DISCORD_INCIDENTS_SHOWN", default=5, ge=1, le=20,
                               meaning="incidents listed by `$incidents`")
    read_dms: bool = env("DISCORD_READ_DMS", default=False,
                         meaning="also read direct messages to the bot (anyone can send those)")
    author_rate: int = env(
        "DISCORD_AUTHOR_RATE", default=5, ge=0, le=600,
        meaning="reports per author per minute; more are dropped, logged once per author a minute (`0`: no limit)")
    metrics_port: Port = env("DISCORD_METRICS_PORT", default=0, shown="`0` (off)",
                             meaning="serve Prometheus `/metrics` on this port ([Metrics](#metrics))")
