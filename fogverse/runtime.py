"""A FogVerse-style pipeline app: consume ▸ decode ▸ process ▸ encode ▸ produce, at least once.

The life of one batch:

1. ``getmany`` fetches up to ``BATCH_SIZE`` records.
2. They are processed in chunks sized so that one takes about half of ``BATCH_TIME_BUDGET``
   (from the time per record seen so far); once the budget is spent the rest is fetched again
   (a seek), so a slow model never keeps the consumer from its group for longer than that. A
   revoke stops the chunks: what was fetched from revoked partitions is never processed after it.
3. Decode, ``process`` and encode run on a thread pool (one thread in ``serial`` mode, the chunk
   split across ``WORKER_THREADS`` threads in ``parallel`` mode), so CPU-bound models never
   block the event loop. A record that fails any step becomes a dead letter instead.
4. Outputs and dead letters are handed to the producer once fewer than
   ``MAX_INFLIGHT_BATCHES`` batches are sent but not yet committed (back-pressure); their ack
   futures and the batch's offsets go on a queue.
5. A committer awaits each chunk's acks, in order, and only then commits its offsets (the chunks
   handed over meanwhile in the same commit). What the
   producer could not deliver (the broker away for longer than ``request_timeout_ms``, 40 s) is
   sent again, in order, with backoff, until it is acked: never committed past a lost output.
   An output or dead letter too large for the producer or the broker goes to the DLQ instead
   (the original, truncated to fit if need be; the reason in the headers), never round a loop.

A stop or a revoke waits at most ``DRAIN_TIMEOUT`` for the in-flight chunks; what is not
committed by then is read again by the next owner of its partition (duplicates, not loss), and
the log says so.

So a crash at any point re-delivers at most ``MAX_INFLIGHT_BATCHES × BATCH_SIZE`` messages
(duplicates, never loss). The thesis committed before processing and lost up to a batch per
crash.

A broker outage stops nothing: the app waits for the broker at start and whenever it goes away
(a :class:`BrokerWatch` logs "waiting for the broker at HOST:PORT" and "broker back", once
each), the in-flight batches are delivered or sent again, and commits wait for the coordinator.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Callable, Generic, Sequence, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import (CommitFailedError, IllegalStateError, MessageSizeTooLargeError, RecordListTooLargeError,
                             RecordTooLargeError)
from aiokafka.structs import ConsumerRecord

from fogverse.broker_watch import BrokerWatch, retriable
from fogverse.codec import Codec
from fogverse.contracts import DLQ_HEADERS, utc_iso
from fogverse.kafka_client import client_options
from fogverse.metrics import MetricsEmitter
from fogverse.settings import RuntimeSettings, Settings, env

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")

#: ``process`` takes a batch of decoded inputs and returns one output per input (None: no output).
ProcessBatch = Callable[[list[Any]], Sequence[Any]]

MAX_REASON_CHARS = 1000
RESEND_BACKOFF_S = 1.0  # doubled after each failed resend of the same batch, up to RESEND_BACKOFF_MAX_S
RESEND_BACKOFF_MAX_S = 10.0
MAX_REQUEST_BYTES = 1048576  # the producer's max_request_size (aiokafka's default)
#: on a dead letter whose original was cut to fit: "KEPT of ORIGINAL bytes"
TRUNCATED_HEADER = DLQ_HEADERS["truncated"]
TOO_LARGE = (MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError)


class BatchTiming(Settings):
    """How long a batch, a stop and a revoke may take; the group timeouts follow from them."""

    batch_time_budget_s: float = env(
        "BATCH_TIME_BUDGET", default=5.0, ge=0.1, le=120,
        meaning="seconds of processing between two polls; chunks aim at half of it (bounds a revoke's wait)")
    drain_timeout_s: float = env(
        "DRAIN_TIMEOUT", default=20.0, ge=0.5, le=600,
        meaning="seconds a stop or a revoke waits for in-flight batches to be acked and committed")

    @property
    def revoke_wait_s(self) -> float:
        """A revoke waits for the chunk being processed, then drains."""
        return self.batch_time_budget_s + self.drain_timeout_s

    @property
    def rebalance_timeout_ms(self) -> int:
        return int((self.revoke_wait_s + 5) * 1000)

    @property
    def max_poll_interval_ms(self) -> int:
        # a poll comes at least every 1.5 budgets (the last chunk may start just before the budget
        # is spent), unless the broker is away: then Kafka's default 300 s, or more, rides it out
        return int(max(300.0, 4 * self.batch_time_budget_s, 2 * self.revoke_wait_s) * 1000)


@dataclass(frozen=True)
class _Outgoing:
    topic: str
    value: bytes
    key: bytes | None
    headers: list[tuple[str, bytes]] | None = None
    origin: ConsumerRecord | None = None  # the input it came from: a dead letter replaces a too-large output
    alone: bool = False  # sent by itself: a too-large answer is then about this message, not its batch-mates


@dataclass
class _InflightBatch:
    messages: list[_Outgoing]
    acks: list[asyncio.Future | None]  # one per message; None: not (or no longer) with the producer
    offsets: dict[TopicPartition, int]
    outputs: int
    dead_letters: int
    epoch: int = 0  # the assignment it was fetched in: never committed after a revoke of it
    inputs: int = 0  # the records it was made of
    started: float = 0.0  # perf_counter() when their processing began

    def undelivered(self) -> list[int]:
        """Positions of the messages that are not acked (call once every ack is done)."""
        return [i for i, ack in enumerate(self.acks) if ack is None or ack.cancelled() or ack.exception()]

    def errors(self) -> list[BaseException]:
        """Why the producer gave up on some of them."""
        return [ack.exception() for ack in self.acks if ack is not None and not ack.cancelled() and ack.exception()]


class PipelineApp(Generic[In, Out]):
    """One consumer group member turning ``source_topic`` into ``target_topic``.

    ``target_topic`` may be None for a sink (the notifier): outputs are then not produced,
    and processed inputs are counted under the service name in the metrics.

    ``shows_lag``: measure each assigned partition's lag after every fetch, for the
    ``siaga_consumer_lag`` gauge. Only a process that serves ``/metrics`` has a use for it: the
    controller reads consumer lag from the broker itself (``activities/measure/lag.py``), and the
    observer topic carries none.
    """

    def __init__(self, *, service: str, source_topic: str, target_topic: str | None, group_id: str,
                 process: ProcessBatch, input_codec: Codec[In], output_codec: Codec[Out] | None,
                 settings: RuntimeSettings, parallel: bool = False, timing: BatchTiming | None = None,
                 shows_lag: bool = False):
        self.service = service
        self.source_topic = source_topic
        self.target_topic = target_topic
        self.group_id = group_id
        self.dlq_topic = source_topic + settings.dlq_suffix
        self._process = process
        self._input_codec = input_codec
        self._output_codec = output_codec
        self.settings = settings
        self.timing = timing if timing is not None else BatchTiming.from_env()
        self.shows_lag = shows_lag
        self._threads = settings.worker_threads if parallel else 1
        self._metrics_topic = target_topic or service
        self._stop = asyncio.Event()
        self._revoking = asyncio.Event()  # set while a revoke waits: no new chunk starts
        self._epoch = 0  # assignments seen: a revoke ends one
        self._seconds_per_record: float | None = None  # wall time of a chunk / its records
        self._batch_lock = asyncio.Lock()
        self._inflight: asyncio.Queue[_InflightBatch] | None = None
        self._send_slots: asyncio.Semaphore | None = None
        self._committer: asyncio.Task | None = None
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.metrics: MetricsEmitter | None = None
        self.watch = BrokerWatch(settings.bootstrap_servers)

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Run until :meth:`request_stop`; then drain in-flight work and commit it (for at most
        ``DRAIN_TIMEOUT``: a stop never hangs on a broker that is away)."""
        s, t = self.settings, self.timing
        self.producer = AIOKafkaProducer(
            **client_options(),
            bootstrap_servers=s.bootstrap_servers, acks="all", linger_ms=5, max_request_size=MAX_REQUEST_BYTES,
            client_id=f"{self.service}-{s.instance_id}", metadata_max_age_ms=int(s.metadata_max_age_s * 1000),
        )
        self.consumer = AIOKafkaConsumer(
            **client_options(),
            bootstrap_servers=s.bootstrap_servers, group_id=self.group_id,
            client_id=f"{self.service}-{s.instance_id}", enable_auto_commit=False,
            auto_offset_reset="earliest", max_poll_records=s.batch_size,
            # a fetch returns with the first record (fetch_min_bytes=1) or after this on a quiet
            # topic; under load the records that arrive while a batch is processed fill the next
            fetch_max_wait_ms=s.fetch_max_wait_ms, fetch_min_bytes=1,
            heartbeat_interval_ms=1000,  # members hear of a rebalance sooner, so a new instance starts sooner
            # the group's leader sees grown partitions this soon, and rebalances so a newcomer gets one
            metadata_max_age_ms=int(s.metadata_max_age_s * 1000),
            # a revoke waits for one chunk and a bounded drain: the group waits that long for us
            rebalance_timeout_ms=t.rebalance_timeout_ms, max_poll_interval_ms=t.max_poll_interval_ms,
        )
        self.metrics = MetricsEmitter(self.producer, s, self.service, (self._metrics_topic,), watch=self.watch,
                                      reports_busy=True)
        self._inflight = asyncio.Queue()
        self._send_slots = asyncio.Semaphore(s.max_inflight_batches)
        pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix=f"{self.service}-process")
        try:
            if not await self._unless_stopped(self._connect()):
                return
            self._committer = committer = asyncio.create_task(self._commit_in_order(),
                                                              name=f"{self.service}-committer")
            log.info("%s consuming %s ▸ %s as %s (%d thread%s)", self.service, self.source_topic,
                     self.target_topic, s.instance_id, self._threads, "" if self._threads == 1 else "s")
            while not self._stop.is_set():
                epoch = self._epoch
                fetch = asyncio.ensure_future(self.consumer.getmany(timeout_ms=500, max_records=s.batch_size))
                stop_wait = asyncio.ensure_future(self._stop.wait())
                await asyncio.wait({fetch, stop_wait, committer}, return_when=asyncio.FIRST_COMPLETED)
                stop_wait.cancel()
                if committer.done():
                    committer.result()  # an error no retry can fix stops the app; nothing was committed
                if not fetch.done():
                    fetch.cancel()
                    await asyncio.gather(fetch, return_exceptions=True)
                    continue
                fetched = {tp: part for tp, part in fetch.result().items() if part}
                if self.shows_lag:
                    await self._measure_lag()
                if not fetched:
                    continue
                async with self._batch_lock:
                    if epoch != self._epoch or self._revoking.is_set():
                        await self._refetch_after_rebalance(fetched)
                        continue
                    await self._handle(fetched, pool, epoch)
            await self._drain("stopping")
        finally:
            if self._committer:
                self._committer.cancel()
                await asyncio.gather(self._committer, return_exceptions=True)
            await self.watch.stop()
            await self.metrics.stop()  # bounded, and skipped while the broker is away
            bound = 2 if self.watch.away else 10  # nothing flushes while the broker is away
            await _within(self.consumer.stop(), bound, "the consumer")
            await _within(self.producer.stop(), bound, "the producer")  # flushes what is still buffered
            pool.shutdown(wait=True)
            log.info("%s stopped", self.service)

    async def _connect(self) -> None:
        """Start the clients, waiting for the broker as long as it takes to answer."""
        await self.watch.start_client(self.producer)
        await self.metrics.start()
        self.metrics.consuming(self.source_topic, self.dlq_topic)
        if self.target_topic:
            try:
                await self.metrics.announce(self.source_topic, self.target_topic, self.group_id)
            except Exception as exc:  # the observer topic's metadata timed out: scaling waits, the data must not
                log.warning("could not announce the service pair: %r", exc)
        self.consumer.subscribe([self.source_topic], listener=_DrainOnRevoke(self))
        await self.watch.start_client(self.consumer)
        self.watch.start()

    async def _measure_lag(self) -> None:
        """How far each assigned partition is behind its end, as the last fetch from it saw."""
        for tp in self.consumer.assignment():
            end = self.consumer.highwater(tp)
            if end is None:
                continue  # nothing fetched from it yet: unknown, not shown
            try:
                position = await self.consumer.position(tp)  # known once fetched from: no request
            except Exception:
                continue
            self.metrics.lag(tp.topic, tp.partition, end - position)

    async def _unless_stopped(self, work) -> bool:
        """Await ``work`` unless a stop is requested first (then cancel it and return False)."""
        return await self._unless(work, self._stop)

    async def _unless(self, work, *events: asyncio.Event) -> bool:
        """Await ``work`` unless one of ``events`` is set first (then cancel it and return False)."""
        task = asyncio.ensure_future(work)
        waits = [asyncio.ensure_future(e.wait()) for e in events]
        await asyncio.wait({task, *waits}, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return False
        task.result()
        return True

    async def _refetch_after_rebalance(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Records that came back while a rebalance went on: not processed, and fetched again by
        whoever owns their partition now. A new assignment starts at the committed offsets; if
        ours began before these came back, they belong to it, so go back to the committed offset."""
        if self._revoking.is_set():
            return  # the assignment that follows starts from the committed offsets anyway
        assigned = [tp for tp in fetched if tp in self.consumer.assignment()]
        if not assigned:
            return
        try:
            async with asyncio.timeout(self.timing.drain_timeout_s):
                await self._seek_to_committed(assigned)
        except Exception as exc:
            # our position is past records nobody processed: only a restart (from the commits) is safe
            log.error("could not go back to the committed offsets of %s after a rebalance (%r); stopping",
                      assigned, exc)
            self.request_stop()

    async def _seek_to_committed(self, partitions: list[TopicPartition]) -> None:
        # not aiokafka's seek_to_committed: it leaves the position alone when nothing (or 0) is committed
        for tp in partitions:
            committed = await self.consumer.committed(tp)
            if committed is None:
                await self.consumer.seek_to_beginning(tp)  # as auto_offset_reset="earliest" does
            else:
                self.consumer.seek(tp, committed)

    async def _handle(self, fetched: dict[TopicPartition, list[ConsumerRecord]], pool: ThreadPoolExecutor,
                      epoch: int) -> None:
        """Process ``fetched`` chunk by chunk until it is done, the time budget is spent (the rest is
        fetched again), a revoke begins (the rest is dropped) or a stop (read again at the start)."""
        records = [r for part in fetched.values() for r in part]
        started = time.monotonic()
        budget = self.timing.batch_time_budget_s
        done = 0
        while done < len(records):
            if self._revoking.is_set() or epoch != self._epoch or self._stop.is_set():
                return
            if done and time.monotonic() - started >= budget:
                self._fetch_again(records[done:])
                return
            size = self._chunk_size(len(records) - done)
            if not await self._handle_chunk_batch(records[done:done + size], pool, epoch):
                return
            done += size

    def _chunk_size(self, remaining: int) -> int:
        """Records that take about half the time budget, at least one per thread."""
        if self._seconds_per_record is None:
            return min(remaining, self._threads)  # the first chunk measures how slow processing is
        wanted = int(self.timing.batch_time_budget_s / 2 / max(self._seconds_per_record, 1e-9))
        return max(1, min(remaining, max(wanted, self._threads)))

    def _fetch_again(self, rest: list[ConsumerRecord]) -> None:
        first: dict[TopicPartition, int] = {}
        for r in rest:
            first.setdefault(TopicPartition(r.topic, r.partition), r.offset)
        log.debug("time budget spent: %d records fetched again", len(rest))
        for tp, offset in first.items():
            try:
                self.consumer.seek(tp, offset)
            except IllegalStateError:
                pass  # no longer ours: its next owner starts from the committed offset

    async def _handle_chunk_batch(self, records: list[ConsumerRecord], pool: ThreadPoolExecutor,
                                  epoch: int) -> bool:
        """Process one chunk and hand it to the producer and the committer; False: a stop or a
        revoke came first (what was processed is not committed, so it is read again)."""
        loop = asyncio.get_running_loop()
        size = -(-len(records) // self._threads)
        chunks = [records[i:i + size] for i in range(0, len(records), size)]
        started = time.perf_counter()
        results = await asyncio.gather(*(loop.run_in_executor(pool, self._handle_chunk, c) for c in chunks))
        elapsed = time.perf_counter() - started
        # every record is handled: an output, a dead letter or no output at all
        self.metrics.busy(elapsed, len(records))
        per_record = elapsed / len(records)
        self._seconds_per_record = per_record if self._seconds_per_record is None \
            else 0.5 * self._seconds_per_record + 0.5 * per_record
        messages: list[_Outgoing] = []
        outputs = dead = 0
        for record, result in zip(records, (r for chunk in results for r in chunk)):
            if type(result) is _Failure:
                messages.append(self._dead_letter(record, result))
                dead += 1
            elif self.target_topic is None:
                outputs += 1
            elif result is not None:
                messages.append(_Outgoing(self.target_topic, result, record.key, origin=record))
                outputs += 1
        offsets: dict[TopicPartition, int] = {}
        for r in records:
            offsets[TopicPartition(r.topic, r.partition)] = r.offset + 1
        batch = _InflightBatch(messages, [None] * len(messages), offsets, outputs, dead, epoch, len(records), started)
        # released by the committer once this batch is committed
        if not await self._unless(self._send_slots.acquire(), self._stop, self._revoking):
            return False
        await self._unless(self._hand_over(batch), self._stop, self._revoking)  # the committer sends the rest
        await self._inflight.put(batch)
        return True

    async def _hand_over(self, batch: _InflightBatch) -> None:
        """Give the producer, in order, the messages of ``batch`` it does not have; stop at the
        first it cannot take (its buffer stayed full: the broker is away). The committer retries."""
        for i in range(len(batch.messages)):
            while batch.acks[i] is None:
                message = batch.messages[i]
                try:
                    batch.acks[i] = await self.producer.send(message.topic, message.value, key=message.key,
                                                             headers=message.headers)
                except TOO_LARGE as exc:  # larger than max_request_size, headers included
                    self._shrink(batch, i, exc)
                except Exception as exc:
                    if not retriable(exc):
                        raise
                    return

    async def _send_alone(self, batch: _InflightBatch, i: int) -> None:
        """Send message ``i`` by itself and await its ack, shrinking it until the broker takes it:
        the broker refuses a whole batch that is too large, so the refusal may be its batch-mates'."""
        while batch.acks[i] is None or batch.acks[i].done():
            batch.messages[i] = replace(batch.messages[i], alone=True)
            message = batch.messages[i]
            try:
                batch.acks[i] = await self.producer.send(message.topic, message.value, key=message.key,
                                                         headers=message.headers)
                await batch.acks[i]
                return
            except TOO_LARGE as exc:
                if not self._shrink(batch, i, exc):
                    return
            except Exception as exc:
                if retriable(exc):
                    return  # the resend loop sends it again
                raise

    def _shrink(self, batch: _InflightBatch, i: int, error: BaseException) -> bool:
        """Replace a too-large message: an output by the dead letter of its input, a dead letter by
        itself with its value cut to fit. False: nothing is left to cut; it is dropped, and logged."""
        message = batch.messages[i]
        if message.topic != self.dlq_topic and message.origin is not None:
            smaller = self._dead_letter(message.origin, _Failure("produce", error))
            batch.outputs -= 1
            batch.dead_letters += 1
        elif message.value:
            original = _original_size(message)
            keep = min(len(message.value) // 2, max(0, MAX_REQUEST_BYTES - _headers_size(message.headers) - 1024))
            headers = [h for h in message.headers or [] if h[0] != TRUNCATED_HEADER]
            headers.append((TRUNCATED_HEADER, f"{keep} of {original} bytes".encode()))
            smaller = replace(message, value=message.value[:keep], headers=headers)
            log.warning("dead letter of %s[%s]@%s too large (%r): its value cut to %d of %d bytes",
                        *_origin_of(message), error, keep, original)
        else:
            log.error("dead letter of %s[%s]@%s dropped: too large even without its value (%r)",
                      *_origin_of(message), error)
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            batch.acks[i] = done
            return False
        if _size(smaller) > MAX_REQUEST_BYTES and smaller.value:  # the original input itself is too large
            keep = max(0, MAX_REQUEST_BYTES - _headers_size(smaller.headers) - 1024)
            smaller = replace(smaller, value=smaller.value[:keep], headers=[
                *(smaller.headers or []), (TRUNCATED_HEADER, f"{keep} of {len(smaller.value)} bytes".encode())])
        batch.messages[i] = smaller
        batch.acks[i] = None
        return True

    def _handle_chunk(self, records: list[ConsumerRecord]) -> list[Any]:
        """Runs on a worker thread: decode, process, encode. One result per record: the encoded
        output, None (no output), or a :class:`_Failure` saying at which stage it failed."""
        results: list[Any] = [None] * len(records)
        values, positions = [], []
        for i, record in enumerate(records):
            try:
                values.append(self._input_codec.decode(record.value))
                positions.append(i)
            except Exception as exc:
                results[i] = _Failure("decode", exc)
        encode = self._output_codec.encode if self._output_codec is not None else None
        for i, output in zip(positions, self._process_isolating_failures(values)):
            if output is None or type(output) is _Failure or encode is None:
                results[i] = output
                continue
            try:
                results[i] = encode(output)
            except Exception as exc:
                results[i] = _Failure("encode", exc)
        return results

    def _process_isolating_failures(self, values: list[Any]) -> list[Any]:
        if not values:
            return []
        try:
            outputs = list(self._process(values))
            if len(outputs) != len(values):
                raise RuntimeError(f"process returned {len(outputs)} outputs for {len(values)} inputs")
            return outputs
        except Exception as exc:
            if len(values) == 1:
                return [_Failure("process", exc)]
        # One bad input must not sink its batch: retry one by one to find it.
        results = []
        for value in values:
            try:
                (output,) = self._process([value])
                results.append(output)
            except Exception as exc:
                results.append(_Failure("process", exc))
        return results

    def _dead_letter(self, r: ConsumerRecord, failure: "_Failure") -> _Outgoing:
        reason = f"{type(failure.error).__name__}: {failure.error}"[:MAX_REASON_CHARS]
        log.warning("dead letter %s[%d]@%d at %s: %s", r.topic, r.partition, r.offset, failure.stage, reason)
        headers = [
            (DLQ_HEADERS["reason"], reason.encode()),
            (DLQ_HEADERS["error_type"], type(failure.error).__name__.encode()),
            (DLQ_HEADERS["stage"], failure.stage.encode()),
            (DLQ_HEADERS["origin_topic"], r.topic.encode()),
            (DLQ_HEADERS["origin_partition"], str(r.partition).encode()),
            (DLQ_HEADERS["origin_offset"], str(r.offset).encode()),
            (DLQ_HEADERS["service"], self.service.encode()),
            (DLQ_HEADERS["instance_id"], self.settings.instance_id.encode()),
            (DLQ_HEADERS["failed_at"], utc_iso().encode()),
            # a replayed record that fails again says so: the replay tool does not send it again
            *((k, v) for k, v in r.headers or () if k == DLQ_HEADERS["replayed_from"]),
        ]
        return _Outgoing(self.dlq_topic, r.value if r.value is not None else b"", r.key, headers, origin=r)

    async def _commit_in_order(self) -> None:
        while True:
            batches = [await self._inflight.get()]
            try:
                await self._deliver(batches[0])
                # what was handed over meanwhile is committed with it: one commit, not one per
                # batch, so commits keep up with small batches and back-pressure does not stall fetches
                while not self._inflight.empty():
                    batches.append(self._inflight.get_nowait())
                    await self._deliver(batches[-1])
                offsets: dict[TopicPartition, int] = {}
                for batch in batches:
                    if batch.epoch == self._epoch:
                        offsets.update(batch.offsets)  # in order: a later batch's offset is the higher one
                    else:
                        # a revoke gave up waiting for it: the partitions' next owner reads it again
                        log.info("a batch delivered after its partitions were revoked is not committed")
                if offsets:
                    try:
                        await self.consumer.commit(offsets)  # waits for the coordinator if the broker is away
                    except (CommitFailedError, IllegalStateError) as exc:
                        # The partitions moved to another member, which re-reads from the last
                        # commit: duplicates, not loss.
                        log.warning("commit skipped after rebalance: %s", exc)
                for batch in batches:
                    self.metrics.count(self._metrics_topic, batch.outputs)
                    if batch.dead_letters:
                        self.metrics.dead_letters(self.dlq_topic, batch.dead_letters)
                    self.metrics.committed(self.source_topic, batch.inputs, time.perf_counter() - batch.started)
            finally:
                for _ in batches:
                    self._send_slots.release()
                    self._inflight.task_done()

    async def _deliver(self, batch: _InflightBatch) -> None:
        """Return once every message of ``batch`` is acked, sending again what was not.

        The producer gives up on a message after ``request_timeout_ms`` without a broker; it is
        sent again after a backoff. A message too large for the broker is sent alone, then
        shrunk (:meth:`_shrink`). Any other error no retry can fix (not authorized) stops the
        app, nothing committed.
        """
        backoff = RESEND_BACKOFF_S
        while True:
            await self._hand_over(batch)
            handed = [ack for ack in batch.acks if ack is not None]
            if handed:
                await asyncio.wait(handed)
            for i in batch.undelivered():
                ack = batch.acks[i]
                if ack is not None and not ack.cancelled() and isinstance(ack.exception(), TOO_LARGE):
                    await self._send_alone(batch, i)
            undelivered = batch.undelivered()
            if not undelivered:
                return
            errors = batch.errors()
            for error in errors:
                if not retriable(error) and not isinstance(error, TOO_LARGE):
                    raise error
            log.info("%d of %d messages of a batch not acked (%s); sending them again in %.0f s",
                     len(undelivered), len(batch.messages),
                     repr(errors[0]) if errors else "the producer's buffer is full", backoff)
            for i in undelivered:
                batch.acks[i] = None
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RESEND_BACKOFF_MAX_S)

    async def _drain(self, why: str) -> bool:
        """Wait, at most ``DRAIN_TIMEOUT``, until every handed-over batch is acked and committed;
        False (and a log line saying what is read again) if that did not happen."""
        if self._inflight is None or self._committer is None or self._inflight._unfinished_tasks == 0:
            return True
        joined = asyncio.ensure_future(self._inflight.join())
        await asyncio.wait({joined, self._committer}, timeout=self.timing.drain_timeout_s,
                           return_when=asyncio.FIRST_COMPLETED)
        if joined.done():
            return True
        joined.cancel()
        log.warning("%s with %d batch(es) not committed after %.0f s%s: their records are read again by "
                    "the next owner of their partitions (duplicates, not loss)", why,
                    self._inflight._unfinished_tasks, self.timing.drain_timeout_s,
                    " (the broker is away)" if self.watch.away else "")
        return False


def _headers_size(headers) -> int:
    return sum(len(k) + len(v) + 8 for k, v in headers or [])


def _size(message: _Outgoing) -> int:
    return len(message.value) + len(message.key or b"") + _headers_size(message.headers) + 64


def _original_size(message: _Outgoing) -> int:
    if message.origin is not None and message.origin.value is not None:
        return len(message.origin.value)
    return len(message.value)


def _origin_of(message: _Outgoing) -> tuple:
    r = message.origin
    return (r.topic, r.partition, r.offset) if r is not None else (message.topic, "?", "?")


async def _within(work, seconds: float, what: str) -> None:
    """Await ``work`` for at most ``seconds``: a broker that is away must not hold up a stop."""
    try:
        async with asyncio.timeout(seconds):
            await work
    except Exception as exc:  # TimeoutError included
        log.warning("stopping %s: %r; going on", what, exc)


@dataclass(frozen=True)
class _Failure:
    stage: str  # decode | process | encode | produce
    error: BaseException


class _DrainOnRevoke(ConsumerRebalanceListener):
    """Before partitions leave this member, finish and commit what was taken from them: no new
    chunk starts, and the wait is bounded (``BATCH_TIME_BUDGET`` + ``DRAIN_TIMEOUT``), so the
    coordinator is never blocked for longer than the rebalance timeout it was given."""

    def __init__(self, app: PipelineApp):
        self._app = app

    async def on_partitions_revoked(self, revoked) -> None:
        app = self._app
        app._revoking.set()
        try:
            async with asyncio.timeout(app.timing.revoke_wait_s):
                await self._finish()
        except asyncio.TimeoutError:
            log.warning("revoke of %s: in-flight batches not committed after %.0f s; not committing them "
                        "(their next owner reads them again: duplicates, not loss)",
                        sorted(f"{tp.topic}[{tp.partition}]" for tp in revoked), app.timing.revoke_wait_s)
        finally:
            app._epoch += 1  # what was fetched before is never processed or committed after this
            for tp in revoked if app.metrics is not None else ():
                app.metrics.lag(tp.topic, tp.partition, None)
            app._revoking.clear()

    async def _finish(self) -> None:
        async with self._app._batch_lock:
            await self._app._drain("revoking")

    async def on_partitions_assigned(self, assigned) -> None:
        app = self._app
        if app.metrics is not None:
            try:
                await app.metrics.consumer_joined(app.source_topic, app.group_id, len(assigned))
            except Exception:
                log.exception("could not announce the assignment")
