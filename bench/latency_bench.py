"""End-to-end latency with an outside client: a report entering ``analyze`` ▸ its analysis on
``client`` ▸ its incident on the receiver's live feed.

    python -m bench.latency_bench [--broker kafka] [--modes fast,accurate,cascade] [--rates 100,300,1000]
                                  [--seconds 10] [--warm-up 5]

Per model mode, one analyzer and one notifier run as real processes on the broker. ``kcat -P``
writes reports into ``analyze`` at each rate, each stamped with the time it was written
(``created_at``), after ``--warm-up`` seconds at the first rate that are not measured (a fresh
analyzer, notifier and broker run slower in their first seconds); ``kcat -C`` reads ``client``
and the bench notes when each analysis came out of it; the bench also listens to the notifier's live feed (``/api/events``). Per mode and rate it
prints p50 / p99 / max from ``created_at`` to ``client`` and to the live feed, the analyses that
came out per second, and how many never arrived (``client``: of the reports sent; feed: of the
analyses that said emergency, the only ones the feed shows). The ``to decode`` / ``model`` /
``out`` columns split the time to ``client`` (p50 / p99 of each part) where the analyzer stamps the
report: decoded (``received_at``), analysed (``analyzed_at``), and from there to the outside reader.

Apache Kafka by default (the suite's broker); ``--broker tansu|both`` too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench import brokers
from bench.notifier_bench import (kcat_producer, latency_cells, listen_feed, notifier_process, percentile,
                                  place_report, produce_at, wait_consuming)
from fogverse.broker import ensure_topics
from fogverse.contracts import Report
from fogverse.processes import ManagedProcess, free_port, python_module

WARM_UP = 10  # reports sent before anything else: topic creation, group joins, first model calls
WARM_UP_S = 5.0  # then this long at the first rate, not measured: fresh processes and broker run slower at first
SETTLE_S = 5.0  # a run ends once nothing more arrived for this long


@dataclass
class Arrivals:
    """What the outside reader of ``client`` saw, per report id."""

    at: dict[str, float] = field(default_factory=dict)  # when its analysis came out of kcat
    emergency: dict[str, bool] = field(default_factory=dict)
    decoded: dict[str, float] = field(default_factory=dict)  # received_at: stamped when the analyzer decoded it
    analysed: dict[str, float] = field(default_factory=dict)  # analyzed_at


def report_line(i: int) -> tuple[Report, bytes]:
    """A report as a crawler would write it: without received_at, which the analyzer stamps."""
    report = place_report(i)
    return report, report.model_dump_json(exclude={"received_at"}).encode()


def read_client(bootstrap: str, topic: str, arrivals: Arrivals, stop: threading.Event) -> None:
    """Read ``topic`` from its beginning with ``kcat -C`` until ``stop``; start it again if it
    exits (the topic may not exist until the analyzer's first output)."""
    while not stop.is_set():
        kcat = subprocess.Popen(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-u", "-q",
                                 "-f", "%s\n", "-X", "fetch.wait.max.ms=10"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        watcher = threading.Thread(target=lambda: (stop.wait(), kcat.terminate()), daemon=True)
        watcher.start()
        for line in kcat.stdout:
            now = time.time()
            try:
                analysis = json.loads(line)
                report = analysis["report"]
            except (ValueError, KeyError, TypeError):
                continue
            arrivals.at.setdefault(report["id"], now)
            arrivals.emergency[report["id"]] = analysis["emergency"]
            arrivals.decoded[report["id"]] = report["received_at"]
            arrivals.analysed[report["id"]] = analysis["analyzed_at"]
        kcat.wait()
        if not stop.is_set():
            time.sleep(0.5)


def analyzer_process(bootstrap: str, source: str, target: str, mode: str, state: str) -> ManagedProcess:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "ANALYZER_CONSUMER_TOPIC": source,
           "ANALYZER_PRODUCER_TOPIC": target, "ANALYZER_CONSUMER_GROUP_ID": f"bench-{source}", "MODEL_MODE": mode,
           "OBSERVER_TOPIC": f"{source}.observer", "LOG_LEVEL": "WARNING", "SIAGA_STATE_DIR": state}
    return ManagedProcess("analyzer", python_module("apps.analyzer"), env=env, log_path=Path(state) / "analyzer.log")


async def _until_settled(done, progress, limit_s: float, settle_s: float = SETTLE_S) -> None:
    """Until ``done()``, ``progress()`` stood still for ``settle_s``, or ``limit_s`` passed."""
    deadline = time.monotonic() + limit_s
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline and not done():
        count = progress()
        if count != last:
            last, quiet_since = count, time.monotonic()
        elif time.monotonic() - quiet_since > settle_s:
            return
        await asyncio.sleep(0.1)


def _p50_p99_ms(values: list[float]) -> str:
    values = sorted(values)
    if not values:
        return f"{'-':>9}"
    return f"{percentile(values, 0.5):>4.0f}/{percentile(values, 0.99):<4.0f}"


def _row(mode: str, rate: float, sent: dict[str, float], arrivals: Arrivals, feed: dict[str, float]) -> str:
    reached = [r for r in sent if r in arrivals.at]
    to_client = sorted(arrivals.at[r] - sent[r] for r in reached)
    emergencies = [r for r in reached if arrivals.emergency[r]]
    to_feed = sorted(feed[r] - sent[r] for r in emergencies if r in feed)
    span = max((arrivals.at[r] for r in reached), default=0) - min(sent.values(), default=0)
    out_rate = len(reached) / span if span > 0 else 0.0
    split = " ".join(_p50_p99_ms(values) for values in (
        [arrivals.decoded[r] - sent[r] for r in reached],
        [arrivals.analysed[r] - arrivals.decoded[r] for r in reached],
        [arrivals.at[r] - arrivals.analysed[r] for r in reached]))
    return (f"{mode:<9} {rate:>6.0f} {out_rate:>7.0f} {latency_cells(to_client)} {len(sent) - len(reached):>6}   "
            f"{latency_cells(to_feed)} {len(emergencies) - len(to_feed):>6}/{len(emergencies):<6} {split}")


async def measure_mode(bootstrap: str, mode: str, rates: list[float], seconds: float,
                       warm_up_s: float = WARM_UP_S) -> list[str]:
    """One analyzer and one notifier for ``mode``, and one row per rate (a rate given twice is
    measured twice), after ``warm_up_s`` at the first rate that is not measured."""
    import aiohttp

    suffix = uuid.uuid4().hex[:8]
    analyze, client = f"bench-analyze-{suffix}", f"bench-client-{suffix}"
    port = free_port()
    rows = []
    # created up front: a kcat producer that creates its topic held lines back for seconds
    await ensure_topics(bootstrap, {analyze: 1, client: 1})
    with tempfile.TemporaryDirectory() as state:
        analyzer = analyzer_process(bootstrap, analyze, client, mode, state).start()
        notifier = notifier_process(bootstrap, client, port, state).start()
        arrivals, feed = Arrivals(), {}
        stop = threading.Event()
        reader = threading.Thread(target=read_client, args=(bootstrap, client, arrivals, stop), daemon=True)
        kcat = kcat_producer(bootstrap, analyze)
        try:
            async with aiohttp.ClientSession() as http:
                await wait_consuming(http, port, timeout_s=60)
                listener = asyncio.create_task(listen_feed(http, f"http://127.0.0.1:{port}/api/events", feed))
                warm: dict[str, float] = {}
                await asyncio.to_thread(produce_at, kcat, 5.0, WARM_UP / 5.0, warm, report_line)
                reader.start()
                # the analyzer loads its model meanwhile
                await _until_settled(lambda: warm.keys() <= arrivals.at.keys(), lambda: 0, limit_s=120, settle_s=120)
                if not warm.keys() <= arrivals.at.keys():
                    raise SystemExit(f"{mode}: the warm-up reports never reached {client}; see the analyzer's log:\n"
                                     + analyzer.tail())
                for rate, length, measured in [(rates[0], warm_up_s, False)] * (warm_up_s > 0) + [
                        (rate, seconds, True) for rate in rates]:
                    await asyncio.sleep(2.0)
                    sent: dict[str, float] = {}
                    await asyncio.to_thread(produce_at, kcat, rate, length, sent, report_line)
                    await _until_settled(lambda: all(r in arrivals.at and (r in feed or not arrivals.emergency[r])
                                                     for r in sent),
                                         lambda: len(arrivals.at) + len(feed), limit_s=max(30.0, 3 * length))
                    if measured:
                        rows.append(_row(mode, rate, sent, arrivals, feed))
                        print(rows[-1], flush=True)
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
        finally:
            kcat.stdin.close()
            kcat.wait()
            stop.set()
            notifier.stop()
            analyzer.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="fast,accurate,cascade")
    parser.add_argument("--rates", default="100,300,1000", help="reports per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each rate runs")
    parser.add_argument("--warm-up", type=float, default=WARM_UP_S,
                        help="seconds at the first rate before measuring, not measured (0: none)")
    brokers.add_argument(parser)
    parser.set_defaults(broker="kafka")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    for name in brokers.requested(args.broker):
        with brokers.started(name) as bootstrap:
            print(f"{name}: report into analyze ▸ analysis on client ▸ live feed; kcat producing and reading, "
                  f"{args.warm_up:.0f} s at {rates[0]:.0f} msgs/s not measured, then {args.seconds:.0f} s per rate; "
                  f"ms from the report's created_at")
            print(f"{'':<9} {'':>6} {'':>7} {'── to client ──':>26} {'':>6}   {'── to live feed ──':>26} {'':>13} "
                  f"{'── to client, split: p50/p99 ──':>30}")
            print(f"{'mode':<9} {'msgs/s':>6} {'out/s':>7} {'p50':>8} {'p99':>8} {'max':>8} {'lost':>6}   "
                  f"{'p50':>8} {'p99':>8} {'max':>8} {'lost/emerg.':>13} {'decode':>9} {'model':>9} {'out':>9}")
            for mode in args.modes.split(","):
                asyncio.run(measure_mode(bootstrap, mode, rates, args.seconds, args.warm_up))


if __name__ == "__main__":
    main()
