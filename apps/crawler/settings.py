"""The replay crawler's settings (``python -m apps.crawler``); its command-line flags override these."""

from __future__ import annotations

from pathlib import Path
from pydantic import model_validator

from fogverse.settings import Choice, Port, Settings, broker_env, env

PROFILES = ("constant", "ramp", "burst")
Profile = Choice(*PROFILES)


class CrawlerSettings(Settings):
    bootstrap_servers: str = broker_env("CRAWLER_ANALYZER_SERVERS")
    producer_topic: str = env("CRAWLER_PRODUCER_TOPIC", default="analyze", meaning="topic it replays into")
    consumer_group_id: str = env("CRAWLER_CONSUMER_GROUP_ID", default="crawler",
                                 meaning="seed name, kept; the crawler consumes nothing")
    file: Path | None = env("CRAWLER_FILE", default=None, shown="the shipped examples",
                            meaning="CSV file to replay (`--file`)")
    text_column: str = env("CRAWLER_TEXT_COLUMN", default="text", meaning="CSV column holding the text")
    rate: float = env("CRAWLER_RATE", default=20.0, ge=0.0, meaning="messages per second outside bursts")
    #: unset ▸ ``burst`` when ``use_spam``, else ``constant``
    profile: Profile | None = env("CRAWLER_PROFILE", default=None,
                                            shown="`constant` (`burst` when `USE_SPAM`)",
                                            meaning="`constant`, `ramp` or `burst`")
    ramp_from: float = env("CRAWLER_RAMP_FROM", default=0.0, ge=0.0, meaning="ramp: starting rate")
    ramp_duration_s: float = env("CRAWLER_RAMP_DURATION", default=60.0, ge=0.0,
                                 meaning="ramp: seconds to reach `CRAWLER_RATE`")
    use_spam: bool = env("USE_SPAM", default=False, meaning="the thesis's burst switch")
    spam_rate: float = env("SPAM_RATE", default=10.0, ge=1.0, meaning="burst: multiple of the rate")
    spam_duration_s: float = env("SPAM_DURATION", default=10.0, ge=0.0, meaning="burst: seconds per spike")
    spam_start_s: float = env("SPAM_START", default=10.0, ge=0.0, meaning="burst: seconds before the first spike")
    spam_period_s: float = env("SPAM_PERIOD", default=0.0, ge=0.0,
                               meaning="burst: seconds between spikes (0: one spike)")
    metrics_port: Port = env("CRAWLER_METRICS_PORT", default=0, shown="`0` (off)",
                             meaning="serve Prometheus `/metrics` on this port ([Metrics](#metrics))")

    @model_validator(mode="after")
    def _profile(self) -> "CrawlerSettings":
        if self.profile is None:
            object.__setattr__(self, "profile", "burst" if self.use_spam else "constant")
        return self
