"""What an app tells the control plane: counts per interval, its service pair, a heartbeat.

An app that processes a stream also says, with each heartbeat, how long processing kept it busy
in the interval and how many inputs that was (``busy``): the controller reads each instance's
true processing rate from that, without waiting for an overload.

The emitter never sits on the data path: ``count`` only adds to a dict, and a background task
sends one batch per interval, so a slow observer topic cannot slow the pipeline. A report the
broker did not ack (it was away) is sent again with its id, timestamp and interval unchanged,
and readers count each id once, so the reports add up to the outputs across an outage; while the
:class:`~fogverse.broker_watch.BrokerWatch` says the broker is away, no flush is tried.

Each count also goes to the process's Prometheus metrics (:mod:`fogverse.prometheus`), which
are not sent anywhere: a scrape reads them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from aiokafka import AIOKafkaProducer

from fogverse import prometheus
from fogverse.broker_watch import BrokerWatch
from fogverse.contracts import ConsumerJoined, DeployConfig, Heartbeat, ServicePair, ThroughputReport
from fogverse.settings import RuntimeSettings

log = logging.getLogger(__name__)


class MetricsEmitter:
    def __init__(self, producer: AIOKafkaProducer, settings: RuntimeSettings, service: str,
                 target_topics: tuple[str, ...] = (), watch: BrokerWatch | None = None,
                 reports_busy: bool = False):
        self._producer = producer
        self._watch = watch
        self._settings = settings
        self._service = service
        self._counts: Counter[str] = Counter({topic: 0 for topic in target_topics})
        for topic in target_topics:  # shown at 0 before the first output, not missing
            prometheus.MESSAGES_OUT.labels(service, topic)
        self._task: asyncio.Task | None = None
        self._last_flush = time.monotonic()
        #: reports whose ack failed: sent again, with the same id, until one is acked. A failed ack
        #: does not prove the broker lacks the report (a broker stopping mid-request), so readers
        #: count each report id once (activities.measure.throughput)
        self._unsent: list[ThroughputReport] = []
        #: busy figures go with the heartbeats of apps that process a stream (None: a publisher)
        self._reports_busy = reports_busy
        self._busy_s = 0.0
        self._handled = 0

    def count(self, target_topic: str, messages: int = 1) -> None:
        """``messages`` outputs to ``target_topic`` were acked (a sink: inputs consumed)."""
        self._counts[target_topic] += messages
        prometheus.MESSAGES_OUT.labels(self._service, target_topic).inc(messages)

    def dead_letters(self, dlq_topic: str, messages: int) -> None:
        """``messages`` inputs went to ``dlq_topic`` instead: the controller counts them as handled."""
        self._counts[dlq_topic] += messages
        prometheus.DEAD_LETTERS.labels(self._service, dlq_topic).inc(messages)

    def busy(self, seconds: float, handled: int) -> None:
        """``handled`` inputs took ``seconds`` of processing (decode, process, encode)."""
        self._busy_s += max(seconds, 0.0)
        self._handled += handled
        prometheus.BUSY.labels(self._service).inc(max(seconds, 0.0))

    def consuming(self, source_topic: str, dlq_topic: str) -> None:
        """Show the inputs and dead letters of a consumer at 0 before the first is counted, not missing."""
        prometheus.MESSAGES_IN.labels(self._service, source_topic)
        prometheus.DEAD_LETTERS.labels(self._service, dlq_topic)

    def committed(self, source_topic: str, inputs: int, latency_s: float) -> None:
        """``inputs`` read from ``source_topic`` were done with (outputs acked, offsets committed unless a
        rebalance took them) ``latency_s`` after their processing began."""
        prometheus.MESSAGES_IN.labels(self._service, source_topic).inc(inputs)
        prometheus.BATCH_LATENCY.labels(self._service).observe(max(latency_s, 0.0))

    def lag(self, topic: str, partition: int, records: int | None) -> None:
        """``records`` behind the end of ``topic[partition]`` (None: no longer ours, not shown)."""
        series = (self._service, topic, str(partition))
        if records is not None:
            prometheus.CONSUMER_LAG.labels(*series).set(max(records, 0))
            return
        try:
            prometheus.CONSUMER_LAG.remove(*series)
        except KeyError:
            pass

    def publish_failed(self, topic: str) -> None:
        prometheus.PUBLISH_FAILURES.labels(self._service, topic).inc()

    async def start(self) -> None:
        self._last_flush = time.monotonic()
        self._task = asyncio.create_task(self._loop(), name=f"metrics-{self._service}")

    async def stop(self) -> None:
        if self._task is None:
            return  # never started: nothing counted, and the producer may never have connected
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        if self._watch is not None and self._watch.away:
            log.warning("final metrics not sent: the broker is away")
            return
        try:
            # the last partial interval still counts, but a dead broker must not hold up a stop
            async with asyncio.timeout(self._settings.metrics_interval_s * 5 + 2):
                await self.flush()
        except Exception as exc:  # TimeoutError included
            log.warning("final metrics not sent: %r", exc)

    async def announce(self, source_topic: str, target_topic: str, consumer_group: str) -> None:
        await self._send(ServicePair(
            source_topic=source_topic, target_topic=target_topic, consumer_group=consumer_group,
            deploy_configs=DeployConfig(
                max_instance=self._settings.max_instance,
                cloud_provider=self._settings.cloud_provider,
            ),
            service=self._service, instance_id=self._settings.instance_id,
        ))

    async def consumer_joined(self, topic: str, group_id: str, assigned_partitions: int) -> None:
        await self._send(ConsumerJoined(
            topic=topic, group_id=group_id, assigned_partitions=assigned_partitions,
            service=self._service, instance_id=self._settings.instance_id,
        ))

    async def flush(self) -> None:
        """Report the counts since the last flush, any report not acked before, and a heartbeat."""
        now = time.monotonic()
        interval = max(now - self._last_flush, 1e-3)
        counts, self._counts = self._counts, Counter({topic: 0 for topic in self._counts})
        busy_s, handled, self._busy_s, self._handled = self._busy_s, self._handled, 0.0, 0
        self._last_flush = now
        self._unsent += [ThroughputReport(target_topic=topic, total_messages=total, interval_s=interval,
                                          service=self._service, instance_id=self._settings.instance_id)
                         for topic, total in counts.items()]
        reports = list(self._unsent)
        acks = [await self._send(report) for report in reports]
        # busy figures are not sent again when an ack fails: the controller reads rates over windows
        acks.append(await self._send(Heartbeat(
            service=self._service, instance_id=self._settings.instance_id, interval_s=interval,
            busy_s=busy_s if self._reports_busy else None, handled=handled if self._reports_busy else None,
        )))
        results = await asyncio.gather(*acks, return_exceptions=True)
        delivered = {r.report_id for r, result in zip(reports, results) if not isinstance(result, BaseException)}
        self._unsent = [r for r in self._unsent if r.report_id not in delivered]
        failure = next((result for result in results if isinstance(result, BaseException)), None)
        if failure is not None:
            raise failure

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.metrics_interval_s)
            if self._watch is not None and self._watch.away:
                continue  # the counts add up; the first flush after the outage reports them
            try:
                await self.flush()
            except Exception as exc:  # metrics must never take the app down
                log.warning("could not emit metrics (%r); the counts go with the next report", exc)

    async def _send(self, message) -> asyncio.Future:
        """Hand ``message`` to the producer; returns its ack (send() only waits while the buffer is full)."""
        ack = await self._producer.send(self._settings.observer_topic, message.model_dump_json().encode(),
                                        key=self._service.encode())
        ack.add_done_callback(_retrieve)  # announce and consumer_joined do not await theirs
        return ack


def _retrieve(ack: asyncio.Future) -> None:
    """Mark a failed ack's error as seen: asyncio would log each one as never retrieved."""
    if not ack.cancelled():
        ack.exception()
