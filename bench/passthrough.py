"""Passthrough throughput: a runtime app with a no-op ``process`` vs a plain aiokafka loop.

Both move the same N messages from one topic to another on the same broker in the same run,
with the same guarantee (produce, await the acks, then commit), alternating rounds so neither
gets a warmer machine. Rate is measured from the first output to the N-th (group join time is
excluded): on Apache Kafka from the target's end offsets, on tansu from the group's commits.

    python -m bench.passthrough [--messages 200000] [--rounds 3] [--broker kafka|tansu|both]

Starts Apache Kafka and tansu in turn (see ``bench.brokers``) unless KAFKA_BOOTSTRAP_SERVERS is set.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import brokers
from fogverse.broker import ensure_topics, probe
from fogverse.codec import BytesCodec
from fogverse.kafka_client import client_options
from fogverse.runtime import PipelineApp
from fogverse.settings import RuntimeSettings

BATCH = 500


async def fill(bootstrap: str, topic: str, n: int, size: int) -> None:
    producer = AIOKafkaProducer(**client_options(), bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    payload = b"x" * size
    try:
        acks = [await producer.send(topic, payload) for _ in range(n)]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def watch_rate(bootstrap: str, source: str, target: str, group_id: str, n: int, end_offsets: bool,
                     timeout_s: float = 300) -> float:
    """msgs/s between the first output and the n-th.

    ``end_offsets``: count the target's end offsets (acked outputs). Otherwise count the group's
    committed offsets on the source, which both loops commit only after their outputs' acks: tansu
    0.6.0 answers ListOffsets(latest) with the last batch's base offset, and drops the admin
    client's OffsetFetch, so this asks as a consumer of the group that never joins it.
    """
    watcher = AIOKafkaConsumer(**client_options(), bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await watcher.start()
    try:
        topic = target if end_offsets else source
        deadline = time.monotonic() + timeout_s
        while not watcher.partitions_for_topic(topic) and time.monotonic() < deadline:
            await watcher._client.force_metadata_update()  # a topic just created may not be in metadata yet
        partitions = [TopicPartition(topic, p) for p in watcher.partitions_for_topic(topic) or ()]
        first_at = first_total = None
        while time.monotonic() < deadline:
            if end_offsets:
                total = sum((await watcher.end_offsets(partitions)).values())
            else:
                total = sum([await watcher.committed(tp) or 0 for tp in partitions])
            now = time.monotonic()
            if total and first_at is None:
                first_at, first_total = now, total
            if total >= n:
                return (total - first_total) / (now - first_at)
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{topic} reached no {n} messages in {timeout_s} s")
    finally:
        await watcher.stop()


async def plain_loop(bootstrap: str, source: str, target: str, group_id: str, stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(source, **client_options(), bootstrap_servers=bootstrap, group_id=group_id,
                                enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=BATCH)
    producer = AIOKafkaProducer(**client_options(), bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await consumer.start()
    await producer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=BATCH)
            acks = [await producer.send(target, r.value, key=r.key) for part in batches.values() for r in part]
            if acks:
                await asyncio.gather(*acks)
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


async def runtime_app(bootstrap: str, source: str, target: str, group_id: str, stop: asyncio.Event) -> None:
    settings = RuntimeSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "BATCH_SIZE": str(BATCH),
                                         "OBSERVER_TOPIC": "bench.observer", "WORKER_THREADS": "1"})
    app = PipelineApp(service="bench", source_topic=source, target_topic=target,
                      group_id=group_id, process=lambda values: values,
                      input_codec=BytesCodec(), output_codec=BytesCodec(), settings=settings)
    waiter = asyncio.create_task(stop.wait())
    runner = asyncio.create_task(app.run())
    await asyncio.wait({waiter, runner}, return_when=asyncio.FIRST_COMPLETED)
    app.request_stop()
    await runner


async def measure(kind, bootstrap: str, source: str, n: int, end_offsets: bool) -> float:
    target, group_id = f"bench-out-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, {target: 1})  # there before the watcher asks for its partitions
    stop = asyncio.Event()
    task = asyncio.create_task(kind(bootstrap, source, target, group_id, stop))
    try:
        return await watch_rate(bootstrap, source, target, group_id, n, end_offsets)
    finally:
        stop.set()
        await task


LOOPS = {"plain aiokafka loop": plain_loop, "siaga runtime app": runtime_app}


async def on_broker(name: str, bootstrap: str, n: int, rounds: int, size: int) -> dict[str, float]:
    """Median msgs/s of each loop on one broker."""
    end_offsets = (await probe(bootstrap)).flavor() == "Apache Kafka"
    source = f"bench-in-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, {source: 1})
    print(f"{name}: filling {source} with {n} messages of {size} bytes on {bootstrap} "
          f"(measured by {'end offsets' if end_offsets else 'committed offsets'}) ...", flush=True)
    await fill(bootstrap, source, n, size)
    results: dict[str, list[float]] = {loop: [] for loop in LOOPS}
    for round_ in range(1, rounds + 1):
        for loop, kind in LOOPS.items():
            results[loop].append(await measure(kind, bootstrap, source, n, end_offsets))
            print(f"{name} round {round_}: {loop:<20} {results[loop][-1]:>10,.0f} msgs/s", flush=True)
    return {loop: statistics.median(rates) for loop, rates in results.items()}


async def main_async(n: int, rounds: int, size: int, broker: str | None) -> None:
    medians: dict[str, dict[str, float]] = {}
    for name in brokers.requested(broker):
        with brokers.started(name) as bootstrap:
            medians[name] = await on_broker(name, bootstrap, n, rounds, size)
    print(f"\nmedian of {rounds} round(s), {n} messages of {size} bytes each, batch {BATCH} (msgs/s):")
    print(f"  {'broker':<8} {'plain aiokafka':>15} {'siaga runtime':>15} {'runtime/plain':>14}")
    for name, rates in medians.items():
        plain, ours = rates["plain aiokafka loop"], rates["siaga runtime app"]
        print(f"  {name:<8} {plain:>15,.0f} {ours:>15,.0f} {ours / plain:>14.3f}")
    print("  target: runtime/plain >= 0.95")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=200, help="bytes per message")
    brokers.add_argument(parser)
    args = parser.parse_args()
    asyncio.run(main_async(args.messages, args.rounds, args.size, args.broker))


if __name__ == "__main__":
    main()
