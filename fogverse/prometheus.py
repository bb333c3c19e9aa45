"""What a process shows Prometheus at ``/metrics`` (prometheus-client), for dashboards and alerts.

The observer topic tells the controller what it needs to scale; this is the same traffic seen
from outside: every metric is named ``siaga_*`` and labelled with its service. The notifier
serves them on its own HTTP port (``GET /metrics``); every other app serves them on
``<APP>_METRICS_PORT`` once that is set (off by default: the instances of one service on one
machine would all want the same port, so LOCAL instances never get it). The controller's come
from the Temporal SDK's own exporter (``workers/worker.py``). README ▸ Metrics lists them all.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable

from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, disable_created_metrics,
                               generate_latest, start_http_server)

from fogverse.settings import ConfigError

log = logging.getLogger(__name__)

disable_created_metrics()  # a ``*_created`` series per counter says nothing a restart count does not

MESSAGES_IN = Counter("siaga_messages_in", "Inputs read from the source topic and handled (an output, a dead "
                      "letter or nothing), counted once their outputs are acked", ["service", "topic"])
MESSAGES_OUT = Counter("siaga_messages_out", "Outputs the broker acked (a sink: inputs it consumed), "
                       "by target topic", ["service", "topic"])
DEAD_LETTERS = Counter("siaga_dead_letters", "Inputs sent to the dead-letter topic instead of an output",
                       ["service", "topic"])
BATCH_LATENCY = Histogram("siaga_batch_latency_seconds", "From the start of a chunk's processing to its commit "
                          "(its outputs acked)", ["service"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0))
BUSY = Counter("siaga_busy_seconds", "Seconds processing (decode, process, encode) kept the app busy",
               ["service"])
CONSUMER_LAG = Gauge("siaga_consumer_lag", "Records behind the end of each assigned partition, as of the "
                     "last fetch from it", ["service", "topic", "partition"])
PUBLISH_FAILURES = Counter("siaga_publish_failures", "Messages the broker did not ack (the caller was told)",
                           ["service", "topic"])
PUSHES_SENT = Counter("siaga_pushes_sent", "Alert pushes FCM accepted, one per device token")
PUSHES_FAILED = Counter("siaga_pushes_failed", "Alert pushes FCM did not accept, one per device token: "
                        "retry (throttled or unavailable, tried again), unregistered (the token is gone), "
                        "rejected (a permanent error)", ["reason"])
for _reason in ("retry", "unregistered", "rejected"):
    PUSHES_FAILED.labels(_reason)
MESSAGES_RECEIVED = Counter("siaga_messages_received", "Messages a bot received from its chat platform, by what "
                            "it did with each (the outcomes differ per bot: README ▸ Metrics)", ["service", "outcome"])
INCIDENTS_OPEN = Gauge("siaga_incidents_open", "Incidents the notifier holds open (within INCIDENT_RETENTION)")


def serve(port: int, host: str, variable: str) -> None:
    """Serve ``/metrics`` on ``host:port`` from a thread (0 ▸ off); a port that cannot be had stops
    the process at start, naming ``variable``."""
    if not port:
        return
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        raise ConfigError(f"{variable}={port}: cannot serve /metrics on {host}:{port} ({exc.strerror or exc})") \
            from None
    log.info("metrics at http://%s:%d/metrics", host, port)


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type (for a server of our own: the notifier's)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class ReceivedMessages:
    """Counts what a bot did with each message it received, one series per outcome, each shown at 0
    from the start (a scrape before the first message finds them all). An outcome outside the set
    given is a bug: ``count`` raises KeyError."""

    def __init__(self, service: str, outcomes: Iterable[str]):
        self._series = {outcome: MESSAGES_RECEIVED.labels(service, outcome) for outcome in outcomes}

    def count(self, outcome: str, messages: int = 1) -> None:
        self._series[outcome].inc(messages)


def track_incidents_open(count: Callable[[], int]) -> None:
    INCIDENTS_OPEN.set_function(count)
