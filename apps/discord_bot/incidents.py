"""The latest emergencies per Discord channel, read from the analyzer's output (never recomputed).

:class:`IncidentIndex` holds them; :class:`IncidentReader` tails the ``client`` topic into it.
Every bot instance needs every incident, so the reader uses no consumer group: it takes all
partitions, starts ``lookback`` messages before each partition's end, and follows from there.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque

from aiokafka import AIOKafkaConsumer, TopicPartition

from pydantic import ValidationError

from fogverse.codec import JsonModelCodec
from fogverse.contracts import Analysis
from fogverse.kafka_client import client_options

log = logging.getLogger(__name__)

KEPT_PER_CHANNEL = 20


class IncidentIndex:
    def __init__(self, kept_per_channel: int = KEPT_PER_CHANNEL):
        self._by_channel: dict[str, deque[Analysis]] = defaultdict(lambda: deque(maxlen=kept_per_channel))

    def add(self, analysis: Analysis) -> bool:
        """Keep ``analysis`` if it is an emergency found in a Discord channel; True if kept."""
        report = analysis.report
        if not analysis.emergency or report.source != "discord" or not report.channel_id:
            return False
        kept = self._by_channel[report.channel_id]
        if any(known.report.id == report.id for known in kept):
            return False  # the analyzer is at-least-once: a redelivered verdict is the same incident
        kept.append(analysis)
        return True

    def latest(self, channel_id: str, count: int) -> list[Analysis]:
        """Newest first, by when the message was posted."""
        kept = self._by_channel.get(channel_id, ())
        return sorted(kept, key=lambda a: a.report.created_at, reverse=True)[:count]


class IncidentReader:
    def __init__(self, *, bootstrap_servers: str, topic: str, index: IncidentIndex, lookback: int, client_id: str):
        self._topic = topic
        self._index = index
        self._lookback = lookback
        self._codec = JsonModelCodec(Analysis)
        self._consumer = AIOKafkaConsumer(
            **client_options(),
            bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False,
            auto_offset_reset="latest", client_id=client_id,
            metadata_max_age_ms=5000,  # notice the topic soon if the analyzer creates it after we start
        )
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._consumer.subscribe([self._topic])
        self._task = asyncio.create_task(self._follow(), name="incident-reader")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await self._consumer.stop()
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise
            # aiokafka's fetcher re-raises the cancellation of its own fetch task while the broker is gone
            log.warning("the incident reader stopped while the broker was unreachable")

    async def _follow(self) -> None:
        positioned: set[TopicPartition] = set()
        while True:
            try:
                new = self._consumer.assignment() - positioned
                if new:
                    await self._rewind(new)
                    positioned |= new
                batch = await self._consumer.getmany(timeout_ms=500)
            except asyncio.CancelledError:
                raise
            except Exception:  # the broker comes and goes; the index just stays as it was meanwhile
                log.warning("reading incidents from %s failed; retrying", self._topic, exc_info=True)
                await asyncio.sleep(1.0)
                continue
            for records in batch.values():
                for record in records:
                    self._take(record.value)

    async def _rewind(self, partitions: set[TopicPartition]) -> None:
        begins = await self._consumer.beginning_offsets(list(partitions))
        ends = await self._consumer.end_offsets(list(partitions))
        for tp in partitions:
            self._consumer.seek(tp, max(begins[tp], ends[tp] - self._lookback))

    def _take(self, raw: bytes | None) -> None:
        try:
            self._index.add(self._codec.decode(raw))
        except (ValidationError, ValueError):
            pass  # not an Analysis this build can read: the notifier's DLQ reports those, not us
