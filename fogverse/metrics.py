"""What an app tells the control plane: counts per interval, its service pair, a heartbeat.

The emitter never sits on the data path: ``count`` only adds to a dict, and a background task
sends one batch per interval with ``producer.send`` (not awaited for its ack), so a slow
observer topic cannot slow the pipeline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from aiokafka import AIOKafkaProducer

from fogverse.contracts import ConsumerJoined, DeployConfig, Heartbeat, ServicePair, ThroughputReport
from fogverse.settings import RuntimeSettings

log = logging.getLogger(__name__)


class MetricsEmitter:
    def __init__(self, producer: AIOKafkaProducer, settings: RuntimeSettings, service: str,
                 target_topics: tuple[str, ...] = ()):
        self._producer = producer
        self._settings = settings
        self._service = service
        self._counts: Counter[str] = Counter({topic: 0 for topic in target_topics})
        self._task: asyncio.Task | None = None
        self._last_flush = time.monotonic()

    def count(self, target_topic: str, messages: int = 1) -> None:
        self._counts[target_topic] += messages

    async def start(self) -> None:
        self._last_flush = time.monotonic()
        self._task = asyncio.create_task(self._loop(), name=f"metrics-{self._service}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            # the last partial interval still counts, but a dead broker must not hold up a stop
            await asyncio.wait_for(self.flush(), self._settings.metrics_interval_s * 5 + 2)
        except Exception as exc:  # TimeoutError included
            log.warning("final metrics not sent: %r", exc)

    async def announce(self, source_topic: str, target_topic: str, consumer_group: str) -> None:
        await self._send(ServicePair(
            source_topic=source_topic, target_topic=target_topic, consumer_group=consumer_group,
            deploy_configs=DeployConfig(
                max_instance=self._settings.max_instance,
                cloud_provider=self._settings.cloud_provider,
                machine_type=self._settings.machine_type,
            ),
            service=self._service, instance_id=self._settings.instance_id,
        ))

    async def consumer_joined(self, topic: str, group_id: str, assigned_partitions: int) -> None:
        await self._send(ConsumerJoined(
            topic=topic, group_id=group_id, assigned_partitions=assigned_partitions,
            service=self._service, instance_id=self._settings.instance_id,
        ))

    async def flush(self) -> None:
        now = time.monotonic()
        interval = max(now - self._last_flush, 1e-3)
        self._last_flush = now
        counts, self._counts = self._counts, Counter({topic: 0 for topic in self._counts})
        for topic, total in counts.items():
            await self._send(ThroughputReport(
                target_topic=topic, total_messages=total, interval_s=interval,
                service=self._service, instance_id=self._settings.instance_id,
            ))
        await self._send(Heartbeat(service=self._service, instance_id=self._settings.instance_id))

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.metrics_interval_s)
            try:
                await self.flush()
            except Exception:  # metrics must never take the app down
                log.exception("could not emit metrics")

    async def _send(self, message) -> None:
        # send() only waits while the producer buffer is full; the ack is not awaited.
        await self._producer.send(self._settings.observer_topic, message.model_dump_json().encode(),
                                  key=self._service.encode())
