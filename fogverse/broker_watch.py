"""Noticing that the broker went away and came back, and saying so once per outage.

aiokafka rides through a broker outage on its own in most places (commits wait for the
coordinator, fetches and produce requests are retried) but it logs every retry and never says,
in one line, that the app is waiting rather than stuck. A :class:`BrokerWatch` asks the
bootstrap address every few seconds (:func:`fogverse.kafka_client.preflight`: one real
connection, so TLS and SASL too), every second while it is away, and logs
``waiting for the broker at HOST:PORT`` when it stops answering and ``broker back`` when it
answers again. Starting a client uses the same watch: an app started before its broker waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from fogverse.kafka_client import BrokerUnreachable, preflight

log = logging.getLogger(__name__)

PROBE_INTERVAL_S = 5.0  # while the broker answers
RECHECK_INTERVAL_S = 1.0  # while it is away, so "broker back" comes soon after it is


class Startable(Protocol):
    async def start(self) -> None: ...


def retriable(error: BaseException) -> bool:
    """An error a broker outage causes, which doing the same again once it is back fixes.

    aiokafka marks its retriable errors, except KafkaTimeoutError: what ``send`` raises when its
    buffer stayed full (or the topic's metadata unknown) for ``request_timeout_ms``.
    """
    return isinstance(error, KafkaTimeoutError) or (isinstance(error, KafkaError) and error.retriable)


class BrokerWatch:
    """Whether the broker at ``bootstrap`` answers; logs each change once."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self._away_since: float | None = None
        self._task: asyncio.Task | None = None

    @property
    def away(self) -> bool:
        return self._away_since is not None

    async def until_reachable(self) -> None:
        """Return once the broker answers (at once, usually)."""
        while not await self._probe():
            await asyncio.sleep(RECHECK_INTERVAL_S)

    async def start_client(self, client: Startable) -> None:
        """Start an aiokafka client, however long the broker takes to come up."""
        while True:
            await self.until_reachable()
            try:
                await client.start()
                return
            except KafkaConnectionError as exc:  # it answered, but not yet as a broker
                self._went_away(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(RECHECK_INTERVAL_S)

    def start(self) -> None:
        """Watch in the background until :meth:`stop`."""
        self._task = asyncio.create_task(self._watch(), name=f"broker-watch-{self.bootstrap}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_INTERVAL_S if self.away else PROBE_INTERVAL_S)
            try:
                await self._probe()
            except Exception as exc:  # it answers but refuses us (ConfigError): as good as away
                self._went_away(f"{type(exc).__name__}: {exc}")

    async def _probe(self) -> bool:
        try:
            await preflight(self.bootstrap)
        except BrokerUnreachable as exc:
            self._went_away(str(exc))
            return False
        self._answered()
        return True

    def _went_away(self, reason: str) -> None:
        if self._away_since is None:
            self._away_since = time.monotonic()
            log.warning("waiting for the broker at %s (%s)", self.bootstrap, reason)

    def _answered(self) -> None:
        if self._away_since is not None:
            log.info("broker back at %s after %.0f s", self.bootstrap, time.monotonic() - self._away_since)
            self._away_since = None
