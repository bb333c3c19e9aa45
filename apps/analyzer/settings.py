"""The analyzer's settings (``python -m apps.analyzer``)."""

from __future__ import annotations

from fogverse.settings import Choice, Port, Settings, broker_env, env

AnalyzerMode = Choice("serial", "parallel")  # how the runtime runs `process`
ModelMode = Choice("accurate", "fast", "cascade")


class AnalyzerSettings(Settings):
    bootstrap_servers: str = broker_env("ANALYZER_CONSUMER_SERVERS")
    consumer_topic: str = env("ANALYZER_CONSUMER_TOPIC", default="analyze", meaning="input topic")
    producer_topic: str = env("ANALYZER_PRODUCER_TOPIC", default="client", meaning="output topic")
    consumer_group_id: str = env("ANALYZER_CONSUMER_GROUP_ID", default="analyzer", meaning="consumer group")
    analyzer_mode: AnalyzerMode = env(
        "ANALYZER_MODE", default="serial",
        meaning="`serial` (one thread) or `parallel` (`WORKER_THREADS` threads)")
    model_mode: ModelMode = env("MODEL_MODE", default="accurate",
                                                            meaning="`accurate`, `fast` or `cascade`")
    slow_down_ms: float = env("ANALYZER_SLOW_DOWN_MS", default=0.0, ge=0.0,
                              meaning="extra milliseconds per message: an overload knob for scaling demos and tests")
    metrics_port: Port = env(
        "ANALYZER_METRICS_PORT", default=0, shown="`0` (off)",
        meaning="serve Prometheus `/metrics` on this port ([Metrics](#metrics)); never given to the instances the "
                "controller deploys (they share the machine)")
