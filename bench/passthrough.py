"""Passthrough throughput: a runtime app with a no-op ``process`` vs a plain aiokafka loop.

Both move the same N messages from one topic to another on the same broker in the same run,
with the same guarantee (produce, await the acks, then commit), alternating rounds so neither
gets a warmer machine. Rate is measured from the first commit to the commit of the N-th message
(group join time is excluded).

    python -m bench.passthrough [--messages 200000] [--rounds 3]

Starts its own tansu broker unless KAFKA_BOOTSTRAP_SERVERS is set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from contextlib import contextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition


from fogverse.codec import BytesCodec
from fogverse.kafka_client import client_options
from fogverse.processes import free_port, wait_for_port
from fogverse.runtime import PipelineApp
from fogverse.settings import RuntimeSettings
from workers.stack import tansu_process

BATCH = 500


@contextmanager
def broker():
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        yield given
        return
    port = free_port()
    process = tansu_process("127.0.0.1", port, None).start()
    try:
        wait_for_port("127.0.0.1", port, 30, process)
        yield f"127.0.0.1:{port}"
    finally:
        process.stop()


async def fill(bootstrap: str, topic: str, n: int, size: int) -> None:
    producer = AIOKafkaProducer(**client_options(), bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    payload = b"x" * size
    try:
        acks = [await producer.send(topic, payload) for _ in range(n)]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def watch_rate(bootstrap: str, source: str, group_id: str, n: int, timeout_s: float = 300) -> float:
    """msgs/s between the group's first commit and its commit of the n-th message.

    Committed offsets, not the target's end offsets: tansu 0.6.0 answers ListOffsets(latest)
    with the last batch's base offset, and both loops commit only after their outputs' acks.
    (It also drops the admin client's OffsetFetch, so this asks as a non-member consumer.)
    """
    watcher = AIOKafkaConsumer(**client_options(), bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await watcher.start()
    try:
        partitions = [TopicPartition(source, p) for p in watcher.partitions_for_topic(source) or ()]
        first_at = first_total = None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            total = sum([await watcher.committed(tp) or 0 for tp in partitions])
            now = time.monotonic()
            if total and first_at is None:
                first_at, first_total = now, total
            if total >= n:
                return (total - first_total) / (now - first_at)
            await asyncio.sleep(0.05)
        raise TimeoutError(f"group {group_id} committed no {n} messages in {timeout_s} s")
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


async def measure(kind, bootstrap: str, source: str, n: int) -> float:
    target, group_id = f"bench-out-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    stop = asyncio.Event()
    task = asyncio.create_task(kind(bootstrap, source, target, group_id, stop))
    try:
        return await watch_rate(bootstrap, source, group_id, n)
    finally:
        stop.set()
        await task


async def main_async(n: int, rounds: int, size: int) -> None:
    with broker() as bootstrap:
        source = f"bench-in-{uuid.uuid4().hex[:8]}"
        print(f"filling {source} with {n} messages of {size} bytes on {bootstrap} ...", flush=True)
        await fill(bootstrap, source, n, size)
        results: dict[str, list[float]] = {"plain aiokafka loop": [], "siaga runtime app": []}
        for round_ in range(1, rounds + 1):
            for name, kind in (("plain aiokafka loop", plain_loop), ("siaga runtime app", runtime_app)):
                rate = await measure(kind, bootstrap, source, n)
                results[name].append(rate)
                print(f"round {round_}: {name:<20} {rate:>10,.0f} msgs/s", flush=True)
        plain = statistics.median(results["plain aiokafka loop"])
        ours = statistics.median(results["siaga runtime app"])
        print(f"\nmedian of {rounds} rounds, {n} messages each, batch {BATCH}:")
        print(f"  plain aiokafka loop  {plain:>10,.0f} msgs/s")
        print(f"  siaga runtime app    {ours:>10,.0f} msgs/s")
        print(f"  ratio runtime/plain  {ours / plain:.3f}   (target >= 0.95)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=200, help="bytes per message")
    args = parser.parse_args()
    asyncio.run(main_async(args.messages, args.rounds, args.size))


if __name__ == "__main__":
    main()
