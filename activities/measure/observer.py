"""The controller's ear on the observer topic: one consumer feeding a :class:`ThroughputLedger`.

It runs for the life of the worker, so activities answer from memory instead of re-reading the
topic each time. At start it reads back ``WINDOW_MAX_SECOND`` (seeking by timestamp) and reports
itself caught up once it has reached the end offsets it saw at start; measurements wait for that.

The feed only records. The two things workflows wait for, an instance heard from for the first
time and a consumer joining a group, it tells its listener (``activities.relay.FeedRelay``)
without waiting.

The ledger runs on the controller's clock: a message read live counts as received now
(``time.time()``); one read back at start, as received at its Kafka record timestamp, never later
than now. The sender's own ``timestamp`` is never trusted for windows or liveness.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from activities.measure.throughput import ThroughputLedger
from fogverse.broker import ensure_topics
from fogverse.contracts import ConsumerJoined, Heartbeat, ServicePair, ThroughputReport, parse_observer_message
from fogverse.kafka_client import client_options

log = logging.getLogger(__name__)



class FeedListener(Protocol):
    """Told, without waiting, what workflows wait for (``activities.relay.FeedRelay`` signals them)."""

    def instance_seen(self, service: str, instance: str, at: float) -> None: ...

    def consumer_joined(self, joined: ConsumerJoined) -> None: ...

PRUNE_EVERY_S = 10.0
#: The broker holds a fetch until this much is there or FETCH_MAX_WAIT_MS pass: the reports of every
#: instance arrive in a few fetches a second instead of one round trip each (most of an idle
#: controller's CPU), at most half a second later; windows are seconds long, deadlines tens.
FETCH_MIN_BYTES = 1 << 20
FETCH_MAX_WAIT_MS = 500
MAX_HEARD = 50_000  # instances remembered as heard from (each app start has a new id)
REFUSED_LOG_EVERY_S = 60.0  # a flood of forged messages must not flood the log too


class ObserverFeed:
    def __init__(self, bootstrap: str, topic: str, keep_s: float, listener: FeedListener | None = None):
        self.bootstrap = bootstrap
        self.topic = topic
        self.ledger = ThroughputLedger(keep_s)
        self.keep_s = keep_s
        self.watching_since = time.time()  # heartbeats are complete from here on
        self.caught_up = asyncio.Event()
        self._listener = listener
        self._started_at = time.time()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None
        self._heard: set[tuple[str, str]] = set()  # (service, instance) heard from since start
        self._end_at_start: dict[TopicPartition, int] = {}
        self.refused = 0  # observer messages refused at decode since start
        self._refused_logged_at = float("-inf")

    async def start(self) -> None:
        await ensure_topics(self.bootstrap, {self.topic: 1})
        self._consumer = AIOKafkaConsumer(**client_options(), bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                                          auto_offset_reset="earliest", client_id="siaga-controller-observer",
                                          fetch_min_bytes=FETCH_MIN_BYTES, fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
        await self._consumer.start()
        await self._consumer.topics()  # refresh metadata so the topic's partitions are known
        partitions = self._consumer.partitions_for_topic(self.topic) or {0}
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        self._consumer.assign(tps)
        self._started_at = time.time()
        self._end_at_start = await self._consumer.end_offsets(tps)
        self.watching_since = await self._seek_back(tps, self._started_at - self.keep_s)
        self._task = asyncio.create_task(self._run(), name="observer-feed")
        log.info("observer feed reading %s from %s", self.topic,
                 time.strftime("%H:%M:%S", time.localtime(self.watching_since)))

    async def _seek_back(self, tps: list[TopicPartition], since: float) -> float:
        """Position at ``since``; returns from when on the feed has seen everything.

        Explicit seeks only: a ``seek_to_end`` can lose the race with the reset that ``assign``
        started, and the feed would read the whole topic."""
        found = await self._consumer.offsets_for_times({tp: int(since * 1000) for tp in tps})
        for tp, f in found.items():
            # nothing written since: start at the end (tansu 0.6.0 says so with timestamp -1 and
            # offset 0, where Apache Kafka answers no offset at all)
            self._consumer.seek(tp, self._end_at_start[tp] if f is None or f.timestamp < 0 else f.offset)
        return since

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer:
            await self._consumer.stop()

    async def __aenter__(self) -> "ObserverFeed":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def wait_caught_up(self, timeout_s: float) -> bool:
        try:
            async with asyncio.timeout(timeout_s):
                await self.caught_up.wait()
            return True
        except asyncio.TimeoutError:
            return False

    async def _run(self) -> None:
        last_prune = time.monotonic()
        while True:
            try:
                batch = await self._consumer.getmany(timeout_ms=1000, max_records=2000)
            except Exception:
                log.exception("observer feed could not fetch; retrying")
                await asyncio.sleep(1.0)
                continue
            for tp, records in batch.items():
                for record in records:
                    self._take(record.value, self._received_at(tp, record))
            if not self.caught_up.is_set() and await self._reached_start_end():
                self.caught_up.set()
                log.info("observer feed caught up: %d service(s) known", len(self.ledger.pairs()))
            if time.monotonic() - last_prune > PRUNE_EVERY_S:
                self.ledger.prune(time.time())
                last_prune = time.monotonic()

    async def _reached_start_end(self) -> bool:
        for tp, end in self._end_at_start.items():
            if await self._consumer.position(tp) < end:
                return False
        return True

    def _received_at(self, tp: TopicPartition, record: ConsumerRecord) -> float:
        """When the controller received ``record``, by its own clock."""
        now = time.time()
        if record.offset >= self._end_at_start.get(tp, 0):
            return now  # read live
        # read back: it arrived when the broker took it (a missing timestamp: as old as the read-back)
        stamped = record.timestamp / 1000 if record.timestamp is not None and record.timestamp >= 0 \
            else self.watching_since
        return min(stamped, now)

    def _take(self, raw: bytes | None, received_at: float) -> None:
        if not raw:
            return
        try:
            message = parse_observer_message(raw)
        except ValueError as exc:  # pydantic's ValidationError included
            self._refuse(exc)
            return
        if isinstance(message, ThroughputReport):
            self.ledger.add_report(message, received_at)
        elif isinstance(message, Heartbeat):
            self.ledger.add_heartbeat(message, received_at)
        elif isinstance(message, ServicePair):
            self.ledger.add_pair(message, received_at)
        elif isinstance(message, ConsumerJoined):
            self.ledger.add_heartbeat_at(message.service, message.instance_id, received_at)
            # old joins read back at start were handled then
            if self._listener is not None and received_at >= self._started_at - 5:
                self._listener.consumer_joined(message)
        self._first_heard(message.service, message.instance_id, received_at)

    def _refuse(self, exc: ValueError) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self._refused_logged_at >= REFUSED_LOG_EVERY_S:
            self._refused_logged_at = now
            log.warning("refused an observer message (%d so far; logged at most once a minute): %s",
                        self.refused, _reason(exc))

    def _first_heard(self, service: str, instance: str, received_at: float) -> None:
        key = (service, instance)
        if key in self._heard:
            return
        if len(self._heard) >= MAX_HEARD:
            self._heard.clear()  # bounded: forgetting only means a deploy may be signalled twice
        self._heard.add(key)
        if self._listener is not None:
            self._listener.instance_seen(service, instance, received_at)


def _reason(exc: ValueError, limit: int = 500) -> str:
    """Why a message was refused, on one line: each failing field and what is wrong with it."""
    if isinstance(exc, ValidationError):
        text = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors()[:5])
    else:
        text = str(exc)
    return text[:limit]
