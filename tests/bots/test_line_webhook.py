"""The LINE webhook over real HTTP, as ``python -m apps.line_bot``, against the real broker.

LINE itself cannot be reached from here: the webhook calls are made by the tests with the body
and signature LINE would send, and replies go to a local stand-in of the Messaging API.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import aiohttp
import pytest

from fogverse.contracts import MAX_TEXT_CHARS, Report, ThroughputReport, parse_observer_message
from fogverse.processes import ManagedProcess, free_port, python_module
from kafka_helpers import kafka_node, read_until, start_kafka_node

from bot_processes import app_env, start_app
from line_api_standin import LineApiStandIn
from line_events import ACCESS_TOKEN, SECRET, body, follow_event, image_event, signed, text_event
from polling import wait_for


class RunningBot:
    def __init__(self, process: ManagedProcess, port: int, topic: str, bootstrap: str):
        self.process, self.topic, self.bootstrap = process, topic, bootstrap
        self.url = f"http://127.0.0.1:{port}"

    async def post(self, raw: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{self.url}/callback", data=raw, headers=headers or {}) as response:
                return response.status, await response.json(content_type=None)

    async def reports_until(self, done, timeout_s: float = 30) -> list[Report]:
        records = await read_until(self.bootstrap, self.topic,
                                   lambda rs: done([Report.model_validate_json(r.value) for r in rs]),
                                   timeout_s=timeout_s, watch=self.process)
        return [Report.model_validate_json(r.value) for r in records]

    async def sentinel(self) -> list[Report]:
        """Publish one more report and read up to it: anything published before it is then visible.

        Same chat ▸ same key ▸ same partition, so the order holds."""
        marker = f"sentinel-{uuid.uuid4().hex[:8]}"
        raw = body(text_event(marker))
        status, _ = await self.post(raw, signed(raw))
        assert status == 200
        return await self.reports_until(lambda rs: any(r.text == marker for r in rs))


def line_env(kafka_bootstrap: str | None, topic: str, port: int, api_url: str, **extra) -> dict[str, str]:
    settings = dict(CHANNEL_SECRET=SECRET, CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN, MOKE_PRODUCER_TOPIC=topic, PORT=port,
                    LINE_HOST="127.0.0.1", LINE_API_HOST=api_url, LINE_PUBLISH_TIMEOUT="2",
                    OBSERVER_TOPIC=f"{topic}.observer")
    return app_env(kafka_bootstrap, **{**settings, **extra})


@pytest.fixture(scope="module")
async def line_api():
    standin = await LineApiStandIn().start()
    yield standin
    await standin.stop()


@pytest.fixture(scope="module")
async def line_bot(kafka_bootstrap, line_api, tmp_path_factory):
    topic, port = f"line-{uuid.uuid4().hex[:8]}", free_port()
    log = tmp_path_factory.mktemp("line_bot") / "line_bot.log"
    process = start_app("apps.line_bot", line_env(kafka_bootstrap, topic, port, line_api.url), log, port)
    yield RunningBot(process, port, topic, kafka_bootstrap)
    code = process.stop()
    assert code == 0, f"the LINE bot did not stop cleanly (exit {code}):\n{process.tail()}"


async def test_signed_text_event_is_published_and_the_sender_gets_a_reply(line_bot, line_api):
    event = text_event("Kebakaran besar di Pasar Senen, tolong!", reply_token="token-ok-1", group="Cfire")
    raw = body(event)
    status, answer = await line_bot.post(raw, signed(raw))
    assert (status, answer) == (200, {"published": 1})

    reports = await line_bot.reports_until(lambda rs: any(r.channel_id == "Cfire" for r in rs))
    report = next(r for r in reports if r.channel_id == "Cfire")
    assert report.text == event["message"]["text"]
    assert report.source == "line"
    assert report.author_id == "Uuser1"
    assert report.id == f"line-{event['message']['id']}"
    assert report.metadata["webhook_event_id"] == event["webhookEventId"]
    assert report.metadata["source_type"] == "group"
    assert report.metadata["destination"] == "Ubot"
    assert "truncated" not in report.metadata
    assert report.created_at == pytest.approx(event["timestamp"] / 1000)

    replies = await wait_for(lambda: line_api.replies_to("token-ok-1"))
    assert len(replies) == 1
    assert replies[0]["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert "received" in replies[0]["body"]["messages"][0]["text"].lower()


async def test_a_quoting_message_names_the_report_it_answers(line_bot):
    first = text_event("Kebakaran di Pasar Senen!", group="Cquote", message_id="5001")
    reply = text_event("masih ada yg kejebak gk?", group="Cquote", message_id="5002", quoted="5001")
    raw = body(first, reply)
    assert await line_bot.post(raw, signed(raw)) == (200, {"published": 2})
    reports = {r.id: r for r in await line_bot.reports_until(
        lambda rs: {"line-5001", "line-5002"} <= {r.id for r in rs})}
    assert reports["line-5002"].reply_to == "line-5001"
    assert reports["line-5001"].reply_to is None


async def test_the_bot_reports_its_throughput_to_the_observer_topic(line_bot):
    await line_bot.sentinel()
    records = await read_until(
        line_bot.bootstrap, f"{line_bot.topic}.observer",
        lambda rs: any(isinstance(m := parse_observer_message(r.value), ThroughputReport)
                       and m.target_topic == line_bot.topic and m.total_messages >= 1 for r in rs),
        timeout_s=20, watch=line_bot.process)
    throughput = [m for m in map(lambda r: parse_observer_message(r.value), records)
                  if isinstance(m, ThroughputReport) and m.total_messages >= 1]
    assert throughput and throughput[0].service == "line_bot"


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="missing"),
    pytest.param({"X-Line-Signature": ""}, id="empty"),
    pytest.param({"X-Line-Signature": "not-base64!"}, id="garbage"),
    pytest.param("wrong-secret", id="wrong-secret"),
    pytest.param("other-body", id="signature-of-another-body"),
])
async def test_missing_or_bad_signature_is_refused_and_publishes_nothing(line_bot, headers):
    marker = f"unsigned-{uuid.uuid4().hex[:8]}"
    raw = body(text_event(marker))
    if headers == "wrong-secret":
        headers = signed(raw, secret="not-the-secret")
    elif headers == "other-body":
        headers = signed(body(text_event("something else")))
    status, answer = await line_bot.post(raw, headers)
    assert status == 400
    assert "signature" in answer["error"].lower()
    reports = await line_bot.sentinel()
    assert not [r for r in reports if r.text == marker]


@pytest.mark.parametrize("raw", [
    b"{not json", b"", b"\xff\xfe\xfa", b"[]", b'"events"', b"null", b'{"destination": "Ubot"}',
    b'{"events": {"type": "message"}}', b"[" * 100_000,
], ids=["broken", "empty", "not-utf8", "array", "string", "null", "no-events", "events-not-a-list", "deep"])
async def test_malformed_json_with_a_valid_signature_is_400(line_bot, raw):
    status, answer = await line_bot.post(raw, signed(raw))
    assert status == 400, answer
    assert line_bot.process.alive()


async def test_redelivered_event_is_published_once_and_answered_once(line_bot, line_api):
    marker = f"redelivered-{uuid.uuid4().hex[:8]}"
    first = text_event(marker, reply_token="token-first")
    again = dict(first, deliveryContext={"isRedelivery": True}, replyToken="token-again")
    for event in (first, again, again):
        raw = body(event)
        status, _ = await line_bot.post(raw, signed(raw))
        assert status == 200
    reports = await line_bot.sentinel()
    assert len([r for r in reports if r.text == marker]) == 1
    await wait_for(lambda: line_api.replies_to("token-first"))
    assert len(line_api.replies_to("token-first")) == 1
    assert line_api.replies_to("token-again") == []


async def test_only_text_events_are_published_others_are_acknowledged(line_bot):
    first, second = f"mixed-a-{uuid.uuid4().hex[:6]}", f"mixed-b-{uuid.uuid4().hex[:6]}"
    image = image_event()
    image["source"]["groupId"] = "Cignored"
    blank = text_event("   \n ", group="Cignored")
    raw = body(follow_event(), text_event(first), image, {"type": "brand-new-event-type"}, "not an object",
               blank, text_event(second))
    status, answer = await line_bot.post(raw, signed(raw))
    assert (status, answer) == (200, {"published": 2})
    reports = await line_bot.sentinel()
    texts = [r.text for r in reports]
    assert first in texts and second in texts
    assert texts.index(first) < texts.index(second)
    assert not [r for r in reports if r.channel_id == "Cignored" or r.author_id == "Ufollower"]


async def test_long_text_is_truncated_and_flagged(line_bot):
    marker = f"long-{uuid.uuid4().hex[:8]} "
    text = marker + "x" * (5000 - len(marker))  # LINE allows 5,000 characters
    raw = body(text_event(text))
    status, _ = await line_bot.post(raw, signed(raw))
    assert status == 200
    reports = await line_bot.sentinel()
    [report] = [r for r in reports if r.text.startswith(marker)]
    assert report.text == text[:MAX_TEXT_CHARS]
    assert report.metadata["truncated"] == "true"


async def test_failing_reply_does_not_fail_the_webhook(line_bot, line_api):
    marker = f"reply-fails-{uuid.uuid4().hex[:8]}"
    raw = body(text_event(marker, reply_token="fail-1"))
    status, _ = await line_bot.post(raw, signed(raw))
    assert status == 200
    reports = await line_bot.sentinel()
    assert [r.text for r in reports].count(marker) == 1
    assert await wait_for(lambda: line_api.replies_to("fail-1")), "the reply should have been attempted"
    assert line_bot.process.alive()


async def test_standby_events_are_published_without_a_reply(line_bot, line_api):
    marker = f"standby-{uuid.uuid4().hex[:8]}"
    raw = body(text_event(marker, reply_token="token-standby", mode="standby"))
    status, _ = await line_bot.post(raw, signed(raw))
    assert status == 200
    reports = await line_bot.sentinel()
    assert [r.text for r in reports].count(marker) == 1
    await asyncio.sleep(1)  # a reply would have been sent right after the publish
    assert line_api.replies_to("token-standby") == []


async def test_healthz_answers(line_bot):
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{line_bot.url}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["broker"] == "connected"


async def test_broker_down_answers_503_and_the_redelivery_lands_once(line_api, kafka_installed, tmp_path):
    """LINE's side of an outage: 503 while Kafka is down, then its redelivery is published once."""
    node = kafka_node(tmp_path / "kafka")  # not started yet: nothing listens at its address
    from prometheus_scrape import scrape, value

    port, topic, bootstrap = free_port(), f"line-down-{uuid.uuid4().hex[:8]}", node.bootstrap
    metrics_port = free_port()
    env = line_env(None, topic, port, line_api.url, BOOTSTRAP_SERVERS=bootstrap, LINE_PUBLISH_TIMEOUT="1",
                   LINE_METRICS_PORT=metrics_port)
    process = start_app("apps.line_bot", env, tmp_path / "line_bot.log", port)
    broker = None
    try:
        bot = RunningBot(process, port, topic, bootstrap)
        event = text_event(f"during-outage-{uuid.uuid4().hex[:8]}", reply_token="token-outage")
        raw = body(event)
        started = time.monotonic()
        status, answer = await bot.post(raw, signed(raw))
        print(f"503 answered in {time.monotonic() - started:.2f} s (LINE_PUBLISH_TIMEOUT=1)")
        assert status == 503, answer
        during = await scrape(f"http://127.0.0.1:{metrics_port}/metrics")
        assert value(during, "siaga_messages_received_total", outcome="not_confirmed") == 1
        assert value(during, "siaga_messages_received_total", outcome="published") == 0

        _, broker = await asyncio.to_thread(start_kafka_node, node.state_dir, node)
        redelivery = body(dict(event, deliveryContext={"isRedelivery": True}, replyToken="token-outage-2"))
        deadline = time.monotonic() + 40
        while True:  # LINE keeps redelivering while the answer is not 2xx
            status, _ = await bot.post(redelivery, signed(redelivery))
            if status == 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert status == 200, process.tail()
        reports = await bot.sentinel()
        assert [r.text for r in reports].count(event["message"]["text"]) == 1
    finally:
        process.stop()
        if broker is not None:
            broker.stop()


@pytest.mark.parametrize("missing", ["CHANNEL_SECRET", "CHANNEL_ACCESS_TOKEN"])
def test_refuses_to_start_without_its_secrets(kafka_bootstrap, tmp_path, missing):
    env = line_env(kafka_bootstrap, "unused", free_port(), "http://127.0.0.1:9")
    del env[missing]
    process = ManagedProcess("line_bot", python_module("apps.line_bot"), env=env,
                             log_path=tmp_path / "line_bot.log").start()
    code = process.popen.wait(60)
    assert code == 2
    output = process.tail()
    assert missing in output and "configuration error" in output
    assert SECRET not in output and ACCESS_TOKEN not in output


async def test_metrics_scraped_and_parsed(kafka_bootstrap, line_api, tmp_path):
    from apps.line_bot.webhook import OUTCOMES
    from prometheus_scrape import scrape, value

    topic, port, metrics_port = f"line-{uuid.uuid4().hex[:8]}", free_port(), free_port()
    process = start_app("apps.line_bot", line_env(kafka_bootstrap, topic, port, line_api.url,
                                                  LINE_METRICS_PORT=metrics_port), tmp_path / "line_bot.log", port)
    bot = RunningBot(process, port, topic, kafka_bootstrap)
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        before = await scrape(url)
        events = [text_event(f"Banjir di Kampung Melayu, laporan {i}", reply_token=f"token-metrics-{i}")
                  for i in range(3)]
        for event in events:
            raw = body(event)
            status, _ = await bot.post(raw, signed(raw))
            assert status == 200
        raw = body(dict(events[0], deliveryContext={"isRedelivery": True}))
        status, _ = await bot.post(raw, signed(raw))
        assert status == 200
        raw = body(follow_event(), image_event())
        status, _ = await bot.post(raw, signed(raw))
        assert status == 200
        raw = body(text_event("forged"))
        status, _ = await bot.post(raw, signed(raw, secret="not-the-secret"))
        assert status != 200
        samples = await scrape(url)
    finally:
        assert process.stop() == 0, process.tail()
    # each 200 came after the broker's ack, so the three are counted by the time of the scrape
    assert value(samples, "siaga_messages_out_total", service="line_bot", topic=topic) == 3
    assert value(samples, "siaga_publish_failures_total", service="line_bot") is None
    # every outcome is shown at 0 before the first call, not missing; each is counted before the answer
    assert {o: value(before, "siaga_messages_received_total", service="line_bot", outcome=o) for o in OUTCOMES} \
        == {o: 0 for o in OUTCOMES}
    assert {o: value(samples, "siaga_messages_received_total", service="line_bot", outcome=o) for o in OUTCOMES} \
        == {"published": 3, "duplicate": 1, "ignored": 2, "refused": 1, "not_confirmed": 0}
