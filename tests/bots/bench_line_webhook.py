"""How fast the LINE webhook answers: signed one-event calls, acked by the broker before the 200.

    .venv/bin/python tests/bots/bench_line_webhook.py [--requests 2000] [--concurrency 1 20]

Starts its own broker (Apache Kafka when Java 17+ and its jars are here, else tansu; or uses
KAFKA_BOOTSTRAP_SERVERS) and ``python -m apps.line_bot``, then prints latency percentiles and calls
per second for each concurrency. A benchmark, not a test: it prints figures and asserts nothing
about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent), str(HERE)]

from fogverse.processes import free_port, wait_for_port  # noqa: E402
from workers.settings import StackSettings  # noqa: E402
from kafka_helpers import start_kafka_node  # noqa: E402
from workers.stack import choose_broker, tansu_process  # noqa: E402

from bot_processes import app_env, start_app  # noqa: E402
from line_events import ACCESS_TOKEN, SECRET, body, signed, text_event  # noqa: E402


async def run(requests: int, concurrency: int, url: str) -> tuple[list[float], float, int]:
    bodies = [body(text_event(f"bench {concurrency}-{i}: kebakaran di blok {i}", reply_token=f"fail-{i}"))
              for i in range(requests)]
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for raw in bodies:
        queue.put_nowait(raw)

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        while not queue.empty():
            raw = queue.get_nowait()
            started = time.perf_counter()
            async with session.post(url, data=raw, headers=signed(raw)) as response:
                await response.read()
                failures += response.status != 200
            latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed, failures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 20])
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="bench-line-"))
    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    kind = "given"
    if not bootstrap:
        kind = choose_broker(StackSettings.from_env()).kind
        if kind == "kafka":
            node, broker = start_kafka_node(state / "kafka")
            bootstrap = node.bootstrap
        else:
            port = free_port()
            broker = tansu_process("127.0.0.1", port, state / "tansu.log").start()
            wait_for_port("127.0.0.1", port, 30, broker)
            bootstrap = f"127.0.0.1:{port}"
    port, topic = free_port(), f"bench-line-{os.getpid()}"
    env = app_env(bootstrap, CHANNEL_SECRET=SECRET, CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN, MOKE_PRODUCER_TOPIC=topic,
                  PORT=port, LINE_HOST="127.0.0.1", LINE_API_HOST=f"http://127.0.0.1:{free_port()}",
                  OBSERVER_TOPIC=f"{topic}.observer", LOG_LEVEL="ERROR")
    bot = start_app("apps.line_bot", env, state / "line_bot.log", port)
    try:
        url = f"http://127.0.0.1:{port}/callback"
        await run(50, 5, url)  # warm-up: connection, metadata, topic creation
        print(f"LINE webhook, {args.requests} signed one-event calls each, broker ack before every 200 "
              f"({os.cpu_count()} cores, {kind} broker at {bootstrap})")
        for concurrency in args.concurrency:
            latencies, elapsed, failures = await run(args.requests, concurrency, url)
            ms = [1000 * value for value in latencies]
            print(f"  concurrency {concurrency:>3}: {len(latencies) / elapsed:7.0f} calls/s   "
                  f"p50 {statistics.median(ms):6.1f} ms   p95 {percentile(ms, 0.95):6.1f} ms   "
                  f"p99 {percentile(ms, 0.99):6.1f} ms   max {max(ms):6.1f} ms   non-200: {failures}")
    finally:
        bot.stop()
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    asyncio.run(main())
