"""A FogVerse-style pipeline app: consume ▸ decode ▸ process ▸ encode ▸ produce, at least once.

The life of one batch:

1. ``getmany`` fetches up to ``BATCH_SIZE`` records.
2. Decode, ``process`` and encode run on a thread pool (one thread in ``serial`` mode, the batch
   split across ``WORKER_THREADS`` threads in ``parallel`` mode), so CPU-bound models never
   block the event loop. A record that fails any step becomes a dead letter instead.
3. Outputs and dead letters are handed to the producer once fewer than
   ``MAX_INFLIGHT_BATCHES`` batches are sent but not yet committed (back-pressure); their ack
   futures and the batch's offsets go on a queue.
4. A committer awaits each batch's acks, in order, and only then commits its offsets. What the
   producer could not deliver (the broker away for longer than ``request_timeout_ms``, 40 s) is
   sent again, in order, until it is acked: a batch is never committed past a lost output.

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
from dataclasses import dataclass
from typing import Any, Callable, Generic, Sequence, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import ConsumerRecord

from fogverse.broker_watch import BrokerWatch, retriable
from fogverse.codec import Codec
from fogverse.contracts import DLQ_HEADERS, utc_iso
from fogverse.kafka_client import client_options
from fogverse.metrics import MetricsEmitter
from fogverse.settings import RuntimeSettings

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")

#: ``process`` takes a batch of decoded inputs and returns one output per input (None: no output).
ProcessBatch = Callable[[list[Any]], Sequence[Any]]

MAX_REASON_CHARS = 1000
RESEND_BACKOFF_S = 1.0


@dataclass(frozen=True)
class _Outgoing:
    topic: str
    value: bytes
    key: bytes | None
    headers: list[tuple[str, bytes]] | None = None


@dataclass
class _InflightBatch:
    messages: list[_Outgoing]
    acks: list[asyncio.Future | None]  # one per message; None: not (or no longer) with the producer
    offsets: dict[TopicPartition, int]
    outputs: int
    dead_letters: int

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
    """

    def __init__(self, *, service: str, source_topic: str, target_topic: str | None, group_id: str,
                 process: ProcessBatch, input_codec: Codec[In], output_codec: Codec[Out] | None,
                 settings: RuntimeSettings, parallel: bool = False):
        self.service = service
        self.source_topic = source_topic
        self.target_topic = target_topic
        self.group_id = group_id
        self.dlq_topic = source_topic + settings.dlq_suffix
        self._process = process
        self._input_codec = input_codec
        self._output_codec = output_codec
        self.settings = settings
        self._threads = settings.worker_threads if parallel else 1
        self._metrics_topic = target_topic or service
        self._stop = asyncio.Event()
        self._batch_lock = asyncio.Lock()
        self._inflight: asyncio.Queue[_InflightBatch] | None = None
        self._send_slots: asyncio.Semaphore | None = None
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.metrics: MetricsEmitter | None = None
        self.watch = BrokerWatch(settings.bootstrap_servers)

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Run until :meth:`request_stop`; then drain in-flight work and commit it."""
        s = self.settings
        self.producer = AIOKafkaProducer(
            **client_options(),
            bootstrap_servers=s.bootstrap_servers, acks="all", linger_ms=5,
            client_id=f"{self.service}-{s.instance_id}", metadata_max_age_ms=int(s.metadata_max_age_s * 1000),
        )
        self.consumer = AIOKafkaConsumer(
            **client_options(),
            bootstrap_servers=s.bootstrap_servers, group_id=self.group_id,
            client_id=f"{self.service}-{s.instance_id}", enable_auto_commit=False,
            auto_offset_reset="earliest", max_poll_records=s.batch_size,
            heartbeat_interval_ms=1000,  # members hear of a rebalance sooner, so a new instance starts sooner
            # the group's leader sees grown partitions this soon, and rebalances so a newcomer gets one
            metadata_max_age_ms=int(s.metadata_max_age_s * 1000),
        )
        self.metrics = MetricsEmitter(self.producer, s, self.service, (self._metrics_topic,), watch=self.watch,
                                      reports_busy=True)
        self._inflight = asyncio.Queue()
        self._send_slots = asyncio.Semaphore(s.max_inflight_batches)
        pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix=f"{self.service}-process")
        committer = None
        try:
            if not await self._unless_stopped(self._connect()):
                return
            committer = asyncio.create_task(self._commit_in_order(), name=f"{self.service}-committer")
            log.info("%s consuming %s ▸ %s as %s (%d thread%s)", self.service, self.source_topic,
                     self.target_topic, s.instance_id, self._threads, "" if self._threads == 1 else "s")
            while not self._stop.is_set():
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
                fetched = fetch.result()
                if fetched:
                    async with self._batch_lock:
                        await self._handle(fetched, pool)
            await self._drain()
        finally:
            if committer:
                committer.cancel()
                await asyncio.gather(committer, return_exceptions=True)
            await self.watch.stop()
            await self.metrics.stop()
            await self.consumer.stop()
            await self.producer.stop()
            pool.shutdown(wait=True)
            log.info("%s stopped", self.service)

    async def _connect(self) -> None:
        """Start the clients, waiting for the broker as long as it takes to answer."""
        await self.watch.start_client(self.producer)
        await self.metrics.start()
        if self.target_topic:
            await self.metrics.announce(self.source_topic, self.target_topic, self.group_id)
        self.consumer.subscribe([self.source_topic], listener=_DrainOnRevoke(self))
        await self.watch.start_client(self.consumer)
        self.watch.start()

    async def _unless_stopped(self, work) -> bool:
        """Await ``work`` unless a stop is requested first (then cancel it and return False)."""
        task = asyncio.ensure_future(work)
        stop_wait = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait({task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return False
        task.result()
        return True

    async def _handle(self, fetched: dict[TopicPartition, list[ConsumerRecord]], pool: ThreadPoolExecutor) -> None:
        records = [r for part in fetched.values() for r in part]
        loop = asyncio.get_running_loop()
        size = -(-len(records) // self._threads)
        chunks = [records[i:i + size] for i in range(0, len(records), size)]
        started = time.perf_counter()
        results = await asyncio.gather(*(loop.run_in_executor(pool, self._handle_chunk, c) for c in chunks))
        # every record is handled: an output, a dead letter or no output at all
        self.metrics.busy(time.perf_counter() - started, len(records))
        messages: list[_Outgoing] = []
        outputs = dead = 0
        for record, result in zip(records, (r for chunk in results for r in chunk)):
            if type(result) is _Failure:
                messages.append(self._dead_letter(record, result))
                dead += 1
            elif self.target_topic is None:
                outputs += 1
            elif result is not None:
                messages.append(_Outgoing(self.target_topic, result, record.key))
                outputs += 1
        offsets = {tp: part[-1].offset + 1 for tp, part in fetched.items() if part}
        batch = _InflightBatch(messages, [None] * len(messages), offsets, outputs, dead)
        await self._send_slots.acquire()  # released by the committer once this batch is committed
        await self._hand_over(batch)
        await self._inflight.put(batch)

    async def _hand_over(self, batch: _InflightBatch) -> None:
        """Give the producer, in order, the messages of ``batch`` it does not have; stop at the
        first it cannot take (its buffer stayed full: the broker is away). The committer retries."""
        for i, message in enumerate(batch.messages):
            if batch.acks[i] is not None:
                continue
            try:
                batch.acks[i] = await self.producer.send(message.topic, message.value, key=message.key,
                                                         headers=message.headers)
            except Exception as exc:
                if not retriable(exc):
                    raise
                return

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
        ]
        return _Outgoing(self.dlq_topic, r.value if r.value is not None else b"", r.key, headers)

    async def _commit_in_order(self) -> None:
        while True:
            batch = await self._inflight.get()
            try:
                await self._deliver(batch)
                try:
                    await self.consumer.commit(batch.offsets)  # waits for the coordinator if the broker is away
                except (CommitFailedError, IllegalStateError) as exc:
                    # The partitions moved to another member, which re-reads from the last
                    # commit: duplicates, not loss.
                    log.warning("commit skipped after rebalance: %s", exc)
                self.metrics.count(self._metrics_topic, batch.outputs)
                if batch.dead_letters:
                    self.metrics.count(self.dlq_topic, batch.dead_letters)
            finally:
                self._send_slots.release()
                self._inflight.task_done()

    async def _deliver(self, batch: _InflightBatch) -> None:
        """Return once every message of ``batch`` is acked, sending again what was not.

        The producer gives up on a message after ``request_timeout_ms`` without a broker; an
        error no retry can fix (too large, not authorized) stops the app, nothing committed.
        """
        while True:
            await self._hand_over(batch)
            handed = [ack for ack in batch.acks if ack is not None]
            if handed:
                await asyncio.wait(handed)
            undelivered = batch.undelivered()
            if not undelivered:
                return
            errors = batch.errors()
            for error in errors:
                if not retriable(error):
                    raise error
            log.info("%d of %d messages of a batch not acked (%s); sending them again", len(undelivered),
                     len(batch.messages), repr(errors[0]) if errors else "the producer's buffer is full")
            for i in undelivered:
                batch.acks[i] = None
            await asyncio.sleep(RESEND_BACKOFF_S)

    async def _drain(self) -> None:
        """Wait until every handed-over batch is acked and committed."""
        if self._inflight is not None:
            await self._inflight.join()


@dataclass(frozen=True)
class _Failure:
    stage: str  # decode | process | encode
    error: BaseException


class _DrainOnRevoke(ConsumerRebalanceListener):
    """Before partitions leave this member, finish and commit what was taken from them."""

    def __init__(self, app: PipelineApp):
        self._app = app

    async def on_partitions_revoked(self, revoked) -> None:
        async with self._app._batch_lock:
            await self._app._drain()

    async def on_partitions_assigned(self, assigned) -> None:
        app = self._app
        if app.metrics is not None:
            try:
                await app.metrics.consumer_joined(app.source_topic, app.group_id, len(assigned))
            except Exception:
                log.exception("could not announce the assignment")
