"""Throughput of the crawler and the notifier on this machine; quality of the incident grouping.

    python -m bench.notifier_bench [--messages 50000] [--broker kafka|tansu|both]
    python -m bench.notifier_bench grouping [--orders 5] [--analyzer fast|accurate|cascade]
    python -m bench.notifier_bench feed [--rates 100,300,1000] [--seconds 10] [--broker tansu]

``grouping`` prints, per incident set in ``tests/notifier/data/incidents/`` (and its ``hard/``
sets, measured but not asserted) and arrival order,
pairwise precision and recall, incidents and events, split events and mixed incidents; then the
``hard/`` sets pooled: pairs of all of them in all orders counted together, and their mixed incidents.
The sets' verdicts are written ones (an analyzer simulated, wrong in places); ``--analyzer MODE``
groups the shipped model's own verdicts instead (its misses leave a report out of every event).
The rules are the notifier's settings, so ``INCIDENT_WINDOW=1200 python -m bench.notifier_bench
grouping`` measures a longer window (``INCIDENT_PLACE_WINDOW``, ``INCIDENT_SIMILARITY`` too).

``feed`` measures the notifier's hop with an outside client: ``kcat`` produces analyses (each a
new incident) into ``client`` at each rate, a notifier process serves them, and the bench listens
to its live feed (``/api/events``); it prints p50 / p99 / max from a report's ``created_at`` to
its event on the feed, and how many never arrived.

The default prints msgs/s for:
- the incident tracker alone (merging reports in memory, one thread);
- the notifier process end to end: ``client`` topic ▸ decode ▸ incidents (a sink), on the broker;
- the crawler's replay at an unreachable target rate (its ceiling).

Starts Apache Kafka and tansu in turn (see ``bench.brokers``) unless KAFKA_BOOTSTRAP_SERVERS is set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer


from apps.crawler.profiles import LoadProfile
from apps.crawler.replay import Replay
from apps.crawler.texts import EXAMPLES, TextFile
from apps.notifier.app import SERVICE, Notifier, incident_rules
from apps.notifier.evaluation import events, grouping, judged_by, load_set, score, shuffled
from apps.notifier.incidents import IncidentRules, IncidentTracker
from bench import brokers
from fogverse.codec import JsonModelCodec
from fogverse.contracts import CATEGORIES, Analysis, Report
from fogverse.kafka_client import client_options
from fogverse.processes import free_port
from fogverse.publisher import Publisher
from apps.notifier.settings import NotifierSettings
from fogverse.settings import RuntimeSettings

PLACES = ["Riverside", "Sudirman", "Cianjur", "Pasar Baru", "Bekasi", "Garut", "Merak", "Slipi", "Bogor", "Depok"]
WHAT = {"fire": "fire burning smoke", "accident": "crash bus injured", "natural_hazard": "flood water rising",
        "violence": "shots robbery police", "hazmat": "gas leak chemical", "other": "collapse trapped help"}


def analyses(n: int, seed: int = 1) -> list[Analysis]:
    """n analyses: 70 % emergencies about a few hundred events, 30 % ordinary chatter."""
    rng = random.Random(seed)
    start = time.time()
    out = []
    for i in range(n):
        at = start + i * 0.01
        if rng.random() < 0.3:
            out.append(Analysis(report=Report(text=f"this song is fire {i}", source="crawler", created_at=at),
                                emergency=False, emergency_score=0.1, model_version="bench"))
            continue
        category = rng.choice(CATEGORIES)
        place = rng.choice(PLACES)
        words = WHAT[category].split()
        text = f"{rng.choice(words)} near {place} street {rng.choice(words)} please send help {rng.randint(0, 9)}"
        out.append(Analysis(report=Report(text=text, source="crawler", created_at=at), emergency=True,
                            emergency_score=0.9, category=category, category_score=0.8, model_version="bench"))
    return out


def tracker_rate(items: list[Analysis]) -> float:
    tracker = IncidentTracker(IncidentRules())
    started = time.perf_counter()
    for analysis in items:
        tracker.observe(analysis)
    return len(items) / (time.perf_counter() - started)


async def notifier_rate(bootstrap: str, items: list[Analysis]) -> float:
    topic = f"bench-client-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(**client_options(), bootstrap_servers=bootstrap, linger_ms=20)
    await producer.start()
    try:
        acks = [await producer.send(topic, a.model_dump_json().encode()) for a in items]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()
    with tempfile.TemporaryDirectory() as state:
        env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "CLIENT_CONSUMER_TOPIC": topic,
               "CLIENT_CONSUMER_GROUP_ID": f"bench-{topic}", "NOTIFIER_PORT": str(free_port()),
               "SIAGA_STATE_DIR": state, "OBSERVER_TOPIC": f"{topic}.observer", "LOG_LEVEL": "WARNING"}
        notifier = Notifier(NotifierSettings.from_env(env), RuntimeSettings.from_env(env, service_name=SERVICE))
        task = asyncio.create_task(notifier.run())
        tracker = notifier.tracker

        def processed() -> int:
            return tracker.ignored + tracker.duplicates + sum(i.count for i in tracker.incidents())

        while processed() == 0:  # group join and first fetch are not throughput
            await asyncio.sleep(0.01)
        first, started = processed(), time.perf_counter()
        while processed() < len(items):
            await asyncio.sleep(0.05)
        rate = (len(items) - first) / (time.perf_counter() - started)
        notifier.request_stop()
        await task
        return rate


async def crawler_rate(bootstrap: str, n: int) -> float:
    topic = f"bench-analyze-{uuid.uuid4().hex[:8]}"
    settings = RuntimeSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                                         "OBSERVER_TOPIC": f"{topic}.observer"}, service_name="crawler")
    publisher = Publisher(service="crawler", topic=topic, codec=JsonModelCodec(Report), settings=settings)
    replay = Replay(publisher, TextFile(EXAMPLES), LoadProfile("constant", rate=1e9), count=n, loop=True)
    totals = await replay.run()
    return totals.acked / totals.elapsed_s


async def main_async(n: int, broker: str | None) -> None:
    items = analyses(n)
    print(f"incident tracker alone       {tracker_rate(items):>10,.0f} msgs/s  ({n:,} analyses, 1 thread)")
    for name in brokers.requested(broker):
        with brokers.started(name) as bootstrap:
            print(f"{name}: notifier, end to end {await notifier_rate(bootstrap, items):>10,.0f} msgs/s  "
                  f"(client topic ▸ incidents, BATCH_SIZE={RuntimeSettings.from_env({}).batch_size})")
            print(f"{name}: crawler ceiling      {await crawler_rate(bootstrap, n):>10,.0f} msgs/s  "
                  "(acked by the broker)", flush=True)


INCIDENT_SETS = Path(__file__).resolve().parents[1] / "tests" / "notifier" / "data" / "incidents"


def grouping_report(orders: int, analyzer: str | None = None) -> None:
    rules = incident_rules(NotifierSettings.from_env(os.environ))
    if rules != IncidentRules():
        print(f"rules from the environment: INCIDENT_WINDOW={rules.window_s:g}, "
              f"INCIDENT_PLACE_WINDOW={rules.place_window_s:g}, INCIDENT_SIMILARITY={rules.similarity:g}")
    judge = None
    if analyzer:
        from apps.analyzer.model import EmergencyModel  # onnxruntime: only when asked for

        model = EmergencyModel.load(analyzer)
        judge = (model.predict, model.version)
        print(f"verdicts: the shipped analyzer's, mode {analyzer} (release {model.version})")
    print(f"{'incident set':<28} {'order':>5} {'precision':>9} {'recall':>6} {'incidents':>9} {'events':>6} "
          f"{'split':>5} {'mixed':>5}")
    hard = [0, 0, 0, 0]  # pairs right, in one incident, in one event; mixed incidents
    flagged = {"real": [0, 0], "look-alike": [0, 0]}  # reports the analyzer called emergencies, of all
    for path in sorted(INCIDENT_SETS.glob("*.csv")) + sorted(INCIDENT_SETS.glob("hard/*.csv")):
        reports = load_set(path)
        if judge:
            reports = judged_by(reports, *judge)
            for labelled in reports:
                counts = flagged["look-alike" if labelled.event.startswith("look-") else "real"]
                counts[0] += labelled.analysis.emergency
                counts[1] += 1
        for order in range(orders):
            s = score(grouping(shuffled(reports, order), rules), events(reports))
            name = f"hard/{path.stem}" if path.parent.name == "hard" else path.stem
            print(f"{name:<28} {order if order else 'as is':>5} {s.precision:>9.2f} {s.recall:>6.2f} "
                  f"{s.incidents:>9} {s.events:>6} {s.split_events:>5} {s.mixed_incidents:>5}")
            if path.parent.name == "hard":
                hard = [total + n for total, n in zip(hard, (*s.pairs, s.mixed_incidents))]
    right, in_incident, in_event, mixed = hard
    print(f"{'hard/, pooled':<28} {'all':>5} {right / max(in_incident, 1):>9.3f} {right / max(in_event, 1):>6.3f} "
          f"{'':>9} {'':>6} {'':>5} {mixed:>5}")
    if judge:
        (real, reals), (looks, look_alikes) = flagged["real"], flagged["look-alike"]
        print(f"the analyzer called {real} of {reals} real reports emergencies ({real / max(reals, 1):.1%}) and "
              f"{looks} of {look_alikes} look-alikes ({looks / max(look_alikes, 1):.1%}), all sets")


def feed_latency(bootstrap: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Latencies (s) from created_at to the live feed, and how many reports never arrived."""
    return asyncio.run(_feed_latency(bootstrap, rate, seconds))


def notifier_process(bootstrap: str, topic: str, port: int, state: str):
    """A notifier process (not yet started) serving ``topic`` on ``port``, its log in ``state``."""
    import os

    from fogverse.processes import ManagedProcess, python_module

    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "CLIENT_CONSUMER_TOPIC": topic,
           "CLIENT_CONSUMER_GROUP_ID": f"bench-{topic}", "NOTIFIER_PORT": str(port), "SIAGA_STATE_DIR": state,
           "OBSERVER_TOPIC": f"{topic}.observer", "LOG_LEVEL": "WARNING", "INCIDENT_MAX": "100000"}
    return ManagedProcess("notifier", python_module("apps.notifier"), env=env,
                          log_path=Path(state) / "notifier.log")


async def wait_consuming(http, port: int, timeout_s: float = 20.0) -> None:
    """Until the notifier on ``port`` says it is consuming (or ``timeout_s`` passed)."""
    import aiohttp

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                if answer.status == 200 and (await answer.json())["consuming"]:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)


def kcat_producer(bootstrap: str, topic: str):
    """``kcat -P`` writing each line of its stdin to ``topic`` as one message, as soon as it can."""
    import subprocess

    return subprocess.Popen(["kcat", "-P", "-b", bootstrap, "-t", topic, "-X", "linger.ms=1"], stdin=subprocess.PIPE)


#: written after each line: kcat reads its input a kilobyte at a time and looks for a line's end only
#: once it has it, so without these a line waits for the next few (the last for ever); JSON ignores
#: the whitespace that begins the next message
KCAT_PUSH = b" " * 1024


async def _feed_latency(bootstrap: str, rate: float, seconds: float) -> tuple[list[float], int]:
    import threading

    import aiohttp

    topic = f"bench-client-{uuid.uuid4().hex[:8]}"
    port = free_port()
    with tempfile.TemporaryDirectory() as state:
        notifier = notifier_process(bootstrap, topic, port, state).start()
        arrived: dict[str, float] = {}
        sent: dict[str, float] = {}
        try:
            async with aiohttp.ClientSession() as http:
                await wait_consuming(http, port)
                listener = asyncio.create_task(listen_feed(http, f"http://127.0.0.1:{port}/api/events", arrived))
                await asyncio.sleep(0.5)
                kcat = kcat_producer(bootstrap, topic)
                warm = threading.Thread(target=produce_at, args=(kcat, 5.0, 2.0, {}, analysis_line))
                warm.start()  # topic creation, group join
                await asyncio.to_thread(warm.join)
                await asyncio.sleep(3.0)
                producer = threading.Thread(target=produce_at, args=(kcat, rate, seconds, sent, analysis_line))
                producer.start()
                await asyncio.to_thread(producer.join)
                kcat.stdin.close()
                await asyncio.to_thread(kcat.wait)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not sent.keys() <= arrived.keys():
                    await asyncio.sleep(0.1)
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
        finally:
            notifier.stop()
    latencies = sorted(arrived[r] - at for r, at in sent.items() if r in arrived)
    return latencies, len(sent) - len(latencies)


def place_report(i: int) -> Report:
    """A report of a fire at a street of its own, so that each one is a new incident."""
    name = "".join(chr(97 + (i // 26 ** k) % 26) for k in range(4))
    tail = uuid.uuid4().hex[:4].translate(str.maketrans("0123456789", "ghijklmnop"))
    return Report(text=f"Fire at Jalan Q{name}{tail}", source="crawler", created_at=time.time())


def analysis_line(i: int) -> tuple[Report, bytes]:
    report = place_report(i)
    return report, Analysis(report=report, emergency=True, emergency_score=0.9, category="fire", category_score=0.9,
                            model_version="bench").model_dump_json().encode()


def produce_at(kcat, rate: float, seconds: float, sent: dict[str, float], message) -> None:
    """Write ``message(i)`` (a report and the line that carries it) to kcat at ``rate`` a second,
    noting each report's created_at in ``sent``."""
    started = time.perf_counter()
    n = int(rate * seconds)
    for i in range(n):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        report, line = message(i)
        sent[report.id] = report.created_at
        kcat.stdin.write(line + b"\n" + KCAT_PUSH)
        kcat.stdin.flush()


async def listen_feed(http, url: str, arrived: dict[str, float]) -> None:
    """Note when each report id first shows among an incident's samples on the live feed at ``url``."""
    import json

    async with http.get(url, timeout=None) as response:
        event, data = None, []
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and event:
                now = time.time()
                if event == "incident":
                    for sample in json.loads("".join(data))["incident"]["samples"]:
                        arrived.setdefault(sample["report_id"], now)
                event, data = None, []


def percentile(latencies: list[float], q: float) -> float:
    """The ``q`` quantile of sorted ``latencies``, in milliseconds."""
    return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000


def latency_cells(latencies: list[float]) -> str:
    """p50, p99 and max (ms) of sorted ``latencies``, or dashes when none arrived."""
    if not latencies:
        return f"{'-':>8} {'-':>8} {'-':>8}"
    return f"{percentile(latencies, 0.5):>8.0f} {percentile(latencies, 0.99):>8.0f} {latencies[-1] * 1000:>8.0f}"


def feed_report(rates: list[float], seconds: float, broker: str | None) -> None:
    for name in brokers.requested(broker):
        with brokers.started(name) as bootstrap:
            print(f"{name}: client topic ▸ live feed (kcat producing, {seconds:.0f} s per rate)")
            print(f"{'msgs/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'arrived':>8} {'never':>6}")
            for rate in rates:
                latencies, never = feed_latency(bootstrap, rate, seconds)
                print(f"{rate:>8.0f} {latency_cells(latencies)} {len(latencies):>8} {never:>6}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", choices=("throughput", "grouping", "feed"), default="throughput")
    parser.add_argument("--rates", default="100,300,1000", help="feed: msgs/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="feed: how long each rate runs")
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--orders", type=int, default=5, help="grouping: arrival orders per set (the first as written)")
    parser.add_argument("--analyzer", choices=("fast", "accurate", "cascade"),
                        help="grouping: the shipped model's verdicts in place of the sets' written ones")
    brokers.add_argument(parser)
    args = parser.parse_args()
    if args.what == "grouping":
        grouping_report(args.orders, args.analyzer)
        return
    if args.what == "feed":
        feed_report([float(r) for r in args.rates.split(",")], args.seconds, args.broker)
        return
    asyncio.run(main_async(args.messages, args.broker))


if __name__ == "__main__":
    main()
