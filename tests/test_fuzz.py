"""10,000 generated payloads at the real apps: the analyzer (``analyze``), the notifier (``client``)
and the LINE webhook, each a process on the test broker.

Every payload is generated with its verdict: a *valid* one is built inside the contract; a *bad*
one is broken on purpose in one way that the contract forbids (not JSON, truncated, invalid UTF-8,
a lone surrogate, the wrong type, a missing field, out of range, NaN/Infinity/1e999, nested past
the parser's limit, far too large, a tombstone). No app may die; every bad record must end in
its topic's DLQ and every valid one must produce its output (an analysis on the analyzer's
output topic; a stored report, or an ``ignored`` count, in the notifier); the webhook must answer
every malformed body with a 4xx, never a 5xx, and publish every valid text message. The counts
are printed.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from apps.line_bot.signature import sign
from fogverse.codec import JsonModelCodec
from fogverse.contracts import (CATEGORIES, MAX_ID_CHARS, MAX_METADATA_ENTRIES, MAX_METADATA_KEY_CHARS,
                                MAX_METADATA_VALUE_CHARS, MAX_TEXT_CHARS, Analysis, Report)
from fogverse.processes import ManagedProcess, free_port, python_module, wait_for_port
from kafka_helpers import produce, read_until

REPO = Path(__file__).resolve().parents[1]
# 4,000 + 4,000 + 2,000; FUZZ_SCALE (e.g. 0.2) shrinks every count alike where a machine must.
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
ANALYZE_PAYLOADS, CLIENT_PAYLOADS, WEBHOOK_PAYLOADS = (round(n * SCALE) for n in (4000, 4000, 2000))
LINE_SECRET = "fuzz-channel-secret"
SOURCES = ["crawler", "discord", "line", "manual"]
NOW = time.time()

# ─── what the generators make ───────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Payload:
    value: bytes | None  # None: a tombstone (a record with no value)
    bad: str | None  # how it is broken; None ▸ valid
    emergency: bool | None = None  # of a valid analysis: does it make a report or an "ignored"?


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)
finite = st.floats(allow_nan=False, allow_infinity=False)
texts = st.text(min_size=1, max_size=300).filter(lambda t: t.strip()) | st.sampled_from([
    "Kebakaran besar di pasar Senen, api menjalar ke rumah warga", "Flood on the toll road near exit 12",
    "\u202eRTL override\u202c and \u200bzero width", "\x00nul\x00 inside", "🔥🔥🔥 " * 100, "a" * MAX_TEXT_CHARS,
])
short_texts = st.text(max_size=40)
metadata = st.dictionaries(st.text(max_size=MAX_METADATA_KEY_CHARS), st.text(max_size=60), max_size=4)
not_a_string = st.integers() | st.lists(json_scalars, max_size=3) | st.dictionaries(short_texts, json_scalars,
                                                                                    max_size=2) | st.booleans()
not_a_number = st.sampled_from(["yesterday", "", "1,5", "12h", "now"]) | st.lists(finite, max_size=2) \
    | st.dictionaries(short_texts, finite, max_size=2)
not_a_bool = st.lists(st.booleans(), max_size=2) | st.dictionaries(short_texts, st.booleans(), max_size=1) \
    | st.sampled_from([2, -1, 0.5, "maybe", "emergency"])


def report_dicts(created_at: st.SearchStrategy[float] | None = None) -> st.SearchStrategy[dict]:
    optional = {"author_id": st.none() | st.text(max_size=MAX_ID_CHARS), "channel_id": st.none() | short_texts,
                "reply_to": st.none() | short_texts,
                "metadata": metadata, "created_at": finite, "received_at": finite, "schema_version": st.just(1),
                "unknown_field": json_values}
    required = {"text": texts, "source": st.sampled_from(SOURCES)}
    if created_at is not None:
        required["created_at"] = created_at
        del optional["created_at"]
    return st.fixed_dictionaries(required, optional=optional)


def analysis_dicts() -> st.SearchStrategy[dict]:
    # created_at within the last hour: the notifier forgets incidents INCIDENT_RETENTION after their reports
    return st.fixed_dictionaries(
        {"report": report_dicts(st.floats(NOW - 3600, NOW)), "emergency": st.booleans(),
         "emergency_score": st.floats(0, 1),
         "model_version": st.text(min_size=1, max_size=20)},
        optional={"category": st.none() | st.sampled_from(CATEGORIES), "category_score": st.none() | st.floats(0, 1),
                  "analyzed_at": finite, "schema_version": st.just(1)})


def dumps(value: object, ensure_ascii: bool = True) -> bytes:
    return json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=True).encode()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def report_breakages(report: dict) -> st.SearchStrategy[tuple[str, dict | bytes]]:
    """One way each to break a valid report (as a dict, or as bytes where JSON cannot say it)."""
    raw = dumps(report)
    return pick(
        st.sampled_from(["text", "source"]).map(
            lambda k: ("missing " + k, {f: v for f, v in report.items() if f != k})),
        not_a_string.map(lambda v: ("text of the wrong type", {**report, "text": v})),
        (st.text(max_size=10).filter(lambda s: s not in SOURCES) | not_a_string).map(
            lambda v: ("unknown source", {**report, "source": v})),
        st.sampled_from(["", " ", "\n\t ", "\u3000"]).map(lambda v: ("blank text", {**report, "text": v})),
        st.integers(MAX_TEXT_CHARS + 1, 3 * MAX_TEXT_CHARS).map(
            lambda n: ("text too long", {**report, "text": "x" * n})),
        st.just(("text of 300 KB", {**report, "text": "y" * 300_000})),
        st.sampled_from(["", "i" * (MAX_ID_CHARS + 1)]).map(lambda v: ("id out of range", {**report, "id": v})),
        st.just(("author_id too long", {**report, "author_id": "a" * (MAX_ID_CHARS + 1)})),
        st.just(("too many metadata entries",
                 {**report, "metadata": {str(i): "v" for i in range(MAX_METADATA_ENTRIES + 1)}})),
        st.just(("metadata key too long", {**report, "metadata": {"k" * (MAX_METADATA_KEY_CHARS + 1): "v"}})),
        st.just(("metadata value too long", {**report, "metadata": {"k": "v" * (MAX_METADATA_VALUE_CHARS + 1)}})),
        (st.lists(json_scalars, max_size=2) | st.dictionaries(short_texts, st.integers() | st.lists(st.none()),
                                                              min_size=1, max_size=2)).map(
            lambda v: ("metadata of the wrong type", {**report, "metadata": v})),
        st.tuples(st.sampled_from(["created_at", "received_at"]), not_a_number).map(
            lambda kv: (f"{kv[0]} not a number", {**report, kv[0]: kv[1]})),
        st.tuples(st.sampled_from(["created_at", "received_at"]), st.sampled_from([float("nan"), float("inf"),
                                                                                    float("-inf")])).map(
            lambda kv: (f"{kv[0]} not finite", {**report, kv[0]: kv[1]})),
        st.just(("created_at 1e999", raw[:-1] + b', "created_at": 1e999}')),
        st.sampled_from([0, 2, 99, -1]).map(lambda v: ("unknown schema_version", {**report, "schema_version": v})),
        st.integers(300, 3000).map(lambda d: ("nested past the parser's limit",
                                              raw[:-1] + f', "unknown_field": {nested(d)}}}'.encode())),
        st.sampled_from([b"\xff", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]).map(
            lambda b: ("invalid UTF-8 in the text", b'{"text": "bad ' + b + b' bytes", "source": "crawler"}')),
        st.sampled_from(["\\ud800", "\\udfff", "\\ud83d x"]).map(
            lambda s: ("a lone surrogate in the text", f'{{"text": "lone {s}", "source": "crawler"}}'.encode())),
        st.integers(1, max(1, len(raw) - 1)).map(lambda n: ("truncated JSON", raw[:n])),
    )


def analysis_breakages(analysis: dict) -> st.SearchStrategy[tuple[str, dict | bytes]]:
    raw = dumps(analysis)
    return pick(
        st.sampled_from(["report", "emergency", "emergency_score", "model_version"]).map(
            lambda k: ("missing " + k, {f: v for f, v in analysis.items() if f != k})),
        report_breakages(analysis["report"]).map(
            lambda broken: ("report: " + broken[0], {**analysis, "report": broken[1]} if isinstance(broken[1], dict)
                            else raw.replace(dumps(analysis["report"]), broken[1]))),
        not_a_bool.map(lambda v: ("emergency not a bool", {**analysis, "emergency": v})),
        st.sampled_from([-0.1, 1.5, 1e300, float("nan"), float("inf")]).map(
            lambda v: ("emergency_score out of range", {**analysis, "emergency_score": v})),
        st.sampled_from([-1.0, 2.0, float("-inf")]).map(lambda v: ("category_score out of range",
                                                                   {**analysis, "category_score": v})),
        (st.text(max_size=12).filter(lambda s: s not in CATEGORIES) | st.integers()).map(
            lambda v: ("unknown category", {**analysis, "category": v})),
        not_a_string.map(lambda v: ("report of the wrong type", {**analysis, "report": v})),
        st.integers(1, max(1, len(raw) - 1)).map(lambda n: ("truncated JSON", raw[:n])),
    )


def not_records() -> st.SearchStrategy[tuple[str, bytes | None]]:
    """Records that are no message at all."""
    return pick(
        st.binary(max_size=200).map(lambda b: ("random bytes", b"\xff" + b)),
        (json_scalars | st.lists(json_values, max_size=4)).map(lambda v: ("JSON, not an object", dumps(v))),
        st.just(("empty value", b"")),
        st.just(("tombstone (no value)", None)),
        st.integers(1000, 20000).map(lambda d: ("an array nested past the parser's limit", nested(d).encode())),
    )


def payloads(valid: st.SearchStrategy[dict], breakages, emergency=lambda d: None) -> st.SearchStrategy[Payload]:
    def broken(value: dict):
        return breakages(value).map(lambda b: Payload(b[1] if isinstance(b[1], bytes) else dumps(b[1]), b[0]))

    # about 40 % valid, 45 % broken in one field, 15 % no message at all
    return pick(*[valid.map(lambda v: Payload(dumps(v), None, emergency(v)))] * 8,
                *[valid.flatmap(broken)] * 9, *[not_records().map(lambda b: Payload(b[1], b[0]))] * 3)


def pick(*strategies: st.SearchStrategy) -> st.SearchStrategy:
    """One of ``strategies``, each about as often (``st.one_of`` favours the first ones)."""
    return st.integers(0, len(strategies) - 1).flatmap(lambda i: strategies[i])


def generate(strategy: st.SearchStrategy, count: int) -> list:
    """``count`` examples from hypothesis's generator (no shrinking: nothing fails in here)."""
    found = []

    @settings(max_examples=count, database=None, deadline=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(example):
        found.append(example)

    collect()
    return found


def with_ids(items: list[Payload], prefix: str, path) -> list[Payload]:
    """Valid payloads get unique ids, so every output can be matched to its input."""
    out = []
    for n, item in enumerate(items):
        if item.bad is None:
            value = json.loads(item.value)
            path(value)["id"] = f"{prefix}-{n}"
            item = Payload(dumps(value, ensure_ascii=n % 2 == 0), None, item.emergency)
        out.append(item)
    return out


def verdict_disagreements(items: list[Payload], model) -> list[str]:
    """Where the generator's verdict and the contract's decoder differ (for the failure message)."""
    codec, wrong = JsonModelCodec(model), []
    for item in items:
        try:
            codec.decode(item.value)
            accepted = True
        except ValueError:
            accepted = False
        if accepted != (item.bad is None):
            wrong.append(f"{item.bad or 'valid'}: {(item.value or b'')[:120]!r}")
    return wrong


# ─── the apps ───────────────────────────────────────────────────────────────────────────────


def start(module: str, env: dict[str, str], log_path: Path) -> ManagedProcess:
    return ManagedProcess(module, python_module(module), env=env, log_path=log_path, cwd=REPO).start()


async def wait_for_group(bootstrap: str, topic: str, group: str, end: int, process: ManagedProcess,
                         timeout_s: float) -> None:
    """Until ``group`` has committed ``end`` on partition 0 of ``topic`` (everything read)."""
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    from fogverse.kafka_client import client_options

    admin = AIOKafkaAdminClient(**client_options(), bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert process.alive(), f"{process.name} died:\n{process.tail(60)}"
            offsets = await admin.list_consumer_group_offsets(group)
            committed = offsets.get(TopicPartition(topic, 0))
            if committed is not None and committed.offset >= end:
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"{group} did not read {topic} to {end} within {timeout_s} s:\n{process.tail(60)}")
    finally:
        await admin.close()


async def produce_in_batches(bootstrap: str, topic: str, values: list[bytes | None], batch: int = 500) -> None:
    keys = [f"k{n}".encode() for n in range(len(values))]  # a tombstone needs a key
    for i in range(0, len(values), batch):
        await produce(bootstrap, topic, values[i:i + batch], keys[i:i + batch])


def counts(items: list[Payload]) -> str:
    by_kind = collections.Counter(item.bad for item in items if item.bad)
    return ", ".join(f"{kind} {n}" for kind, n in sorted(by_kind.items(), key=lambda kv: -kv[1]))


# ─── the run ────────────────────────────────────────────────────────────────────────────────


@pytest.mark.slow
async def test_10000_generated_payloads_crash_nothing_and_every_bad_one_is_dead_lettered_or_refused(
        kafka_bootstrap, subprocess_env, topic_name, tmp_path):
    started = time.monotonic()
    reports = with_ids(generate(payloads(report_dicts(), report_breakages), ANALYZE_PAYLOADS), "fz-r", lambda v: v)
    analyses = with_ids(generate(payloads(analysis_dicts(), analysis_breakages, lambda a: a["emergency"]),
                                 CLIENT_PAYLOADS), "fz-a", lambda v: v["report"])
    generated_s = time.monotonic() - started

    analyze, analyzed, client = topic_name("analyze"), topic_name("analyzed"), topic_name("client")
    line_topic = topic_name("line")
    line_port, notifier_port = free_port(), free_port()
    common = {**subprocess_env, "OBSERVER_TOPIC": f"{analyze}.observer", "BATCH_SIZE": "64"}
    analyzer = start("apps.analyzer", {
        **common, "ANALYZER_CONSUMER_TOPIC": analyze, "ANALYZER_PRODUCER_TOPIC": analyzed,
        "ANALYZER_CONSUMER_GROUP_ID": f"fuzz-{analyze}", "MODEL_MODE": "fast"}, tmp_path / "analyzer.log")
    notifier = start("apps.notifier", {
        **common, "CLIENT_CONSUMER_TOPIC": client, "CLIENT_CONSUMER_GROUP_ID": f"fuzz-{client}",
        "NOTIFIER_PORT": str(notifier_port), "SIAGA_STATE_DIR": str(tmp_path / "state"), "INCIDENT_MAX": "100000"},
        tmp_path / "notifier.log")
    line_bot = start("apps.line_bot", {
        **{k: v for k, v in common.items() if k not in ("TOKEN", "CHANNEL_ACCESS_TOKEN", "PORT")},
        "CHANNEL_SECRET": LINE_SECRET, "CHANNEL_ACCESS_TOKEN": "fuzz-token", "MOKE_PRODUCER_TOPIC": line_topic,
        "PORT": str(line_port), "LINE_HOST": "127.0.0.1", "LINE_API_HOST": f"http://127.0.0.1:{free_port()}",
        "LINE_PUBLISH_TIMEOUT": "20"}, tmp_path / "line_bot.log")
    apps = [analyzer, notifier, line_bot]
    try:
        await asyncio.to_thread(wait_for_port, "127.0.0.1", line_port, 60, line_bot)
        await asyncio.to_thread(wait_for_port, "127.0.0.1", notifier_port, 60, notifier)
        await produce_in_batches(kafka_bootstrap, analyze, [p.value for p in reports])
        await produce_in_batches(kafka_bootstrap, client, [p.value for p in analyses])
        webhook = await fuzz_webhook(line_port, WEBHOOK_PAYLOADS)

        await wait_for_group(kafka_bootstrap, analyze, f"fuzz-{analyze}", len(reports), analyzer, 150)
        await wait_for_group(kafka_bootstrap, client, f"fuzz-{client}", len(analyses), notifier, 150)
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{notifier_port}/healthz") as r:
            notifier_health = await r.json()
        dead_reports = await read_until(kafka_bootstrap, f"{analyze}.dlq", lambda r: False, timeout_s=3)
        dead_analyses = await read_until(kafka_bootstrap, f"{client}.dlq", lambda r: False, timeout_s=3)
        outputs = await read_until(kafka_bootstrap, analyzed, lambda r: False, timeout_s=3)
        published = await read_until(kafka_bootstrap, line_topic, lambda r: False, timeout_s=3)
        alive = {app.name: app.alive() for app in apps}
        exits = {app.name: app.stop(30) for app in apps}
    finally:
        for app in apps:
            app.kill()
    stored = sqlite3.connect(tmp_path / "state" / "notifier" / "notifier.db").execute(
        "SELECT id FROM reports").fetchall()

    bad_reports = [p for p in reports if p.bad]
    bad_analyses = [p for p in analyses if p.bad]
    valid_report_ids = {json.loads(p.value)["id"] for p in reports if not p.bad}
    emergencies = {json.loads(p.value)["report"]["id"] for p in analyses if not p.bad and p.emergency}
    calm = sum(1 for p in analyses if not p.bad and not p.emergency)
    output_ids = {json.loads(r.value)["report"]["id"] for r in outputs}
    total = len(reports) + len(analyses) + webhook.sent
    print(f"\nfuzz: {total} payloads generated by hypothesis in {generated_s:.0f} s, whole run "
          f"{time.monotonic() - started:.0f} s\n"
          f"  analyze: {len(reports)} sent, {len(bad_reports)} bad ▸ {len(dead_reports)} in its DLQ, "
          f"{len(valid_report_ids)} valid ▸ {len(output_ids)} analyses out\n"
          f"    bad ones: {counts(reports)}\n"
          f"  client: {len(analyses)} sent, {len(bad_analyses)} bad ▸ {len(dead_analyses)} in its DLQ, "
          f"{len(emergencies)} valid emergencies ▸ {len(stored)} stored reports, {calm} valid calm ones ▸ "
          f"{notifier_health['ignored']} ignored\n"
          f"    bad ones: {counts(analyses)}\n"
          f"  webhook: {webhook.line()}\n"
          f"  processes alive at the end: {alive}; exit codes after SIGTERM: {exits}")

    disagreements = verdict_disagreements(reports, Report) + verdict_disagreements(analyses, Analysis)
    assert all(alive.values()) and all(code == 0 for code in exits.values()), (alive, exits)
    assert len(dead_reports) == len(bad_reports), disagreements[:20]
    assert output_ids == valid_report_ids, (sorted(valid_report_ids - output_ids)[:10], disagreements[:20])
    assert len(dead_analyses) == len(bad_analyses), disagreements[:20]
    assert {i for (i,) in stored} == emergencies and notifier_health["ignored"] == calm
    assert not webhook.server_errors, webhook.server_errors[:10]
    assert not webhook.wrong, webhook.wrong[:10]
    assert {json.loads(r.value)["id"] for r in published} == webhook.report_ids


# ─── the webhook ────────────────────────────────────────────────────────────────────────────


@dataclass
class WebhookRun:
    sent: int = 0
    refused: collections.Counter = None  # bad kind ▸ requests answered 4xx
    accepted: int = 0  # valid bodies answered 200
    ignored_events: int = 0  # well-formed bodies whose events are junk: 200, nothing published
    report_ids: set = None  # what the valid text events must publish
    server_errors: list = None
    wrong: list = None  # a bad body not answered 4xx, or a valid one not 200

    def __post_init__(self):
        self.refused, self.report_ids, self.server_errors, self.wrong = collections.Counter(), set(), [], []

    def line(self) -> str:
        return (f"{self.sent} requests: {sum(self.refused.values())} bad ▸ 4xx ({dict(self.refused)}), "
                f"{self.accepted} valid ▸ 200 carrying {len(self.report_ids)} text messages, {self.ignored_events} "
                f"with only junk events ▸ 200 and ignored, {len(self.server_errors)} 5xx")


@dataclass(frozen=True)
class WebhookRequest:
    body: bytes
    headers: dict
    bad: str | None  # None ▸ valid (200)
    reports: tuple[str, ...] = ()  # ids of the reports it must publish
    junk_only: bool = False


def line_text_event(text: str, n: int) -> dict:
    return {"type": "message", "mode": "active", "timestamp": int(NOW * 1000),
            "source": {"type": "group", "groupId": "Cfuzz", "userId": "Ufuzz"},
            "webhookEventId": f"FZ{n:024d}", "deliveryContext": {"isRedelivery": False},
            "replyToken": uuid.uuid4().hex,
            "message": {"id": f"{n}", "type": "text", "quoteToken": "q", "text": text}}


junk_events = st.one_of(
    json_values,
    st.fixed_dictionaries({"type": st.sampled_from(["message", "follow", "postback", "nonsense"]),
                           "mode": json_values, "timestamp": json_values}),
    st.fixed_dictionaries({"type": st.just("message"), "message": st.fixed_dictionaries(
        {"type": st.sampled_from(["image", "sticker", "text"]), "id": json_values | st.none()})}),
)


def webhook_requests() -> st.SearchStrategy[tuple]:
    """(kind, texts or body) pairs; numbered and signed in :func:`fuzz_webhook`."""
    text_lists = st.lists(st.text(min_size=1, max_size=200).filter(lambda t: t.strip()), min_size=1, max_size=3)
    return pick(
        *[text_lists.map(lambda t: ("valid", t))] * 8,
        *[st.lists(junk_events, min_size=1, max_size=3).map(lambda e: ("junk events", e))] * 2,
        text_lists.map(lambda t: ("unsigned", t)),
        text_lists.map(lambda t: ("badly signed", t)),
        st.binary(max_size=300).map(lambda b: ("signed, not JSON", b"\xff" + b)),
        (json_scalars | st.lists(json_values, max_size=3)).map(lambda v: ("signed, JSON not an object", dumps(v))),
        st.dictionaries(st.sampled_from(["destination", "event", "Events"]), json_values, max_size=2).map(
            lambda d: ("signed, no events list", dumps(d))),
        (json_scalars | st.dictionaries(short_texts, json_scalars, max_size=2)).map(
            lambda e: ("signed, events not a list", dumps({"destination": "U", "events": e}))),
        st.integers(1000, 20000).map(lambda d: ("signed, nested past the parser's limit",
                                                f'{{"events": {nested(d)}}}'.encode())),
        st.just(("signed, gzip-encoded", b"")),
        st.just(("over 1 MiB", b"")),
    )


def webhook_request(kind: str, content, n: int) -> WebhookRequest:
    headers = {"Content-Type": "application/json"}
    if kind in ("valid", "unsigned", "badly signed"):
        events = [line_text_event(text, n * 10 + i) for i, text in enumerate(content)]
        body = dumps({"destination": "Ubot", "events": events})
        if kind == "valid":
            return WebhookRequest(body, {**headers, "X-Line-Signature": sign(LINE_SECRET, body)}, None,
                                  tuple(f"line-{e['message']['id']}" for e in events))
        signature = {"unsigned": {}, "badly signed": {"X-Line-Signature": sign("another-secret", body)}}[kind]
        return WebhookRequest(body, {**headers, **signature}, kind)
    if kind == "junk events":
        body = dumps({"destination": "Ubot", "events": content})
        return WebhookRequest(body, {**headers, "X-Line-Signature": sign(LINE_SECRET, body)}, None, junk_only=True)
    if kind == "signed, gzip-encoded":
        import gzip

        body = gzip.compress(dumps({"events": []}))
        return WebhookRequest(body, {**headers, "Content-Encoding": "gzip",
                                     "X-Line-Signature": sign(LINE_SECRET, body)}, kind)
    if kind == "over 1 MiB":
        body = b'{"events": [], "pad": "' + b"p" * (1024 * 1024 + 1) + b'"}'
        return WebhookRequest(body, {**headers, "X-Line-Signature": sign(LINE_SECRET, body)}, kind)
    return WebhookRequest(content, {**headers, "X-Line-Signature": sign(LINE_SECRET, content)}, kind)


async def fuzz_webhook(port: int, count: int, concurrency: int = 8) -> WebhookRun:
    generated = generate(webhook_requests(), count)
    requests = [webhook_request(kind, content, n) for n, (kind, content) in enumerate(generated)]
    run = WebhookRun(sent=len(requests))
    url = f"http://127.0.0.1:{port}/callback"
    pending = iter(requests)

    async def worker(http: aiohttp.ClientSession) -> None:
        for request in pending:
            async with http.post(url, data=request.body, headers=request.headers) as response:
                await response.read()
                status = response.status
            if status >= 500:
                run.server_errors.append(f"{status} for {request.bad or 'valid'}: {request.body[:100]!r}")
            elif request.bad is not None:
                if 400 <= status < 500:
                    run.refused[request.bad] += 1
                else:
                    run.wrong.append(f"{status} for a bad body ({request.bad}): {request.body[:100]!r}")
            elif status != 200:
                run.wrong.append(f"{status} for a valid body: {request.body[:100]!r}")
            elif request.junk_only:
                run.ignored_events += 1
            else:
                run.accepted += 1
                run.report_ids.update(request.reports)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60),
                                     auto_decompress=False) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return run
