"""The broker's own produce and consume rate, as one aiokafka client sees it.

Each round produces N messages of S bytes to a new one-partition topic with acks=all (send them
all, then await every ack) and reads them back from the beginning without a group. Produce time
runs from the first send to the last ack; consume time from the consumer's start to the N-th
message, so it includes the first metadata and fetch round trips.

    python -m bench.broker_bench [--messages 100000] [--size 200] [--rounds 3] [--broker kafka|tansu|both]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench import brokers
from fogverse.broker import ensure_topics
from fogverse.kafka_client import client_options


async def produce_s(bootstrap: str, topic: str, n: int, size: int) -> float:
    producer = AIOKafkaProducer(**client_options(), bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                max_batch_size=256 * 1024)
    await producer.start()
    payload = b"x" * size
    try:
        started = time.perf_counter()
        acks = [await producer.send(topic, payload) for _ in range(n)]
        await asyncio.gather(*acks)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def consume_s(bootstrap: str, topic: str, n: int, timeout_s: float = 300) -> float:
    consumer = AIOKafkaConsumer(topic, **client_options(), bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    started = time.perf_counter()
    await consumer.start()
    try:
        seen = 0
        while seen < n:
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"read {seen} of {n} messages of {topic} in {timeout_s} s")
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            seen += sum(len(records) for records in batches.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def measure(name: str, bootstrap: str, n: int, size: int, rounds: int) -> dict[str, float]:
    produced, consumed = [], []
    for round_ in range(1, rounds + 1):
        topic = f"bench-broker-{uuid.uuid4().hex[:8]}"
        await ensure_topics(bootstrap, {topic: 1})
        produced.append(n / await produce_s(bootstrap, topic, n, size))
        consumed.append(n / await consume_s(bootstrap, topic, n))
        print(f"{name} round {round_}: produce {produced[-1]:>9,.0f} msgs/s   consume {consumed[-1]:>9,.0f} msgs/s",
              flush=True)
    return {"produce": statistics.median(produced), "consume": statistics.median(consumed)}


async def main_async(args: argparse.Namespace) -> None:
    results: dict[str, dict[str, float]] = {}
    for name in brokers.requested(args.broker):
        with brokers.started(name) as bootstrap:
            print(f"{name} at {bootstrap}: {args.messages:,} messages of {args.size} bytes, acks=all", flush=True)
            results[name] = await measure(name, bootstrap, args.messages, args.size, args.rounds)
    print(f"\nmedian of {args.rounds} round(s), {args.messages:,} messages of {args.size} bytes, one partition:")
    print(f"  {'broker':<8} {'produce msgs/s':>15} {'MB/s':>7} {'consume msgs/s':>15} {'MB/s':>7}")
    for name, rates in results.items():
        print(f"  {name:<8} {rates['produce']:>15,.0f} {rates['produce'] * args.size / 1e6:>7.1f} "
              f"{rates['consume']:>15,.0f} {rates['consume'] * args.size / 1e6:>7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=200, help="bytes per message")
    parser.add_argument("--rounds", type=int, default=3)
    brokers.add_argument(parser)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
