"""One started :class:`Publisher`, connected in the background.

The webhook must answer LINE even while Kafka is down (503, so LINE redelivers later), so the
process starts without the broker and keeps trying to connect instead of exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Callable

from aiokafka.errors import KafkaError

from fogverse.contracts import Report
from fogverse.publisher import Publisher

log = logging.getLogger(__name__)


class BrokerLink:
    def __init__(self, make_publisher: Callable[[], Publisher[Report]], retry_interval_s: float = 1.0):
        self._make_publisher = make_publisher
        self._retry_interval_s = retry_interval_s
        self._publisher: Publisher[Report] | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task | None = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name="broker-link")

    async def publisher(self) -> Publisher[Report]:
        """The started publisher; waits for the first connection (callers bound the wait)."""
        await self._connected.wait()
        assert self._publisher is not None
        return self._publisher

    async def stop(self, timeout_s: float) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._publisher is None:
            return
        try:  # flushes what is still buffered; bounded, since with the broker gone the flush never ends
            async with asyncio.timeout(timeout_s):
                await self._publisher.stop()
        except (asyncio.TimeoutError, KafkaError, OSError) as exc:
            log.warning("the publisher did not stop cleanly within %.0f s (%s)", timeout_s, type(exc).__name__)

    async def _connect(self) -> None:
        attempt = 0
        while True:
            publisher = self._make_publisher()
            try:
                await publisher.start()
            except (KafkaError, OSError) as exc:
                with contextlib.suppress(Exception):
                    await publisher.producer.stop()
                attempt += 1
                if attempt == 1 or attempt % 30 == 0:
                    log.warning("broker %s unreachable (%s); retrying every %.0f s",
                                publisher.settings.bootstrap_servers, type(exc).__name__, self._retry_interval_s)
                await asyncio.sleep(self._retry_interval_s)
                continue
            self._publisher = publisher
            self._connected.set()
            log.info("connected to broker %s", publisher.settings.bootstrap_servers)
            return
