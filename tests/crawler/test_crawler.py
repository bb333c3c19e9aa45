"""``python -m apps.crawler`` against the real broker: counts, content, rate, and bursts."""

from __future__ import annotations

import collections
import csv
from pathlib import Path

from apps.crawler.texts import EXAMPLES
from fogverse.contracts import MAX_TEXT_CHARS, Report
from fogverse.processes import ManagedProcess, python_module
from kafka_helpers import read_until


def run_crawler(subprocess_env, topic: str, log: Path, *args: str, timeout_s: float = 60) -> str:
    env = {**subprocess_env, "CRAWLER_PRODUCER_TOPIC": topic, "OBSERVER_TOPIC": f"{topic}.observer"}
    process = ManagedProcess("crawler", python_module("apps.crawler", *args), env=env, log_path=log).start()
    try:
        code = process.popen.wait(timeout_s)
    finally:
        process.stop()
    output = log.read_text()
    assert code == 0, output
    return output


async def reports(kafka_bootstrap: str, topic: str, n: int) -> list[Report]:
    records = await read_until(kafka_bootstrap, topic, lambda r: len(r) >= n, timeout_s=30)
    return sorted((Report.model_validate_json(r.value) for r in records), key=lambda r: r.created_at)


async def test_sends_the_examples_at_the_target_rate(kafka_bootstrap, subprocess_env, topic_name, tmp_path):
    topic = topic_name("analyze")
    output = run_crawler(subprocess_env, topic, tmp_path / "crawler.log", "--count", "60", "--rate", "30")
    sent = await reports(kafka_bootstrap, topic, 60)

    examples = [row["text"] for row in csv.DictReader(EXAMPLES.open())]
    assert len(sent) == 60
    assert [r.text for r in sent] == examples[:60]
    assert {r.source for r in sent} == {"crawler"}
    assert [r.metadata["row"] for r in sent[:3]] == ["2", "3", "4"]
    span = sent[-1].created_at - sent[0].created_at
    assert 1.5 <= span <= 6.0, f"60 messages at 30 msg/s should span about 2 s, took {span:.2f} s"
    assert "msg/s" in output and "done: 60 sent, 60 acked, 0 failed" in output


async def test_blank_and_over_long_texts_are_skipped_and_counted_and_loop_restarts(
        kafka_bootstrap, subprocess_env, topic_name, tmp_path):
    topic = topic_name("analyze")
    data = tmp_path / "chat.csv"
    with data.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user", "tweet"])
        writer.writerows([["a", "Flood on Jalan Sudirman"], ["b", "   "], ["c", "x" * (MAX_TEXT_CHARS + 1)],
                          ["d", ""], ["e", "Fire at the market"]])
    output = run_crawler(subprocess_env, topic, tmp_path / "crawler.log", "--file", str(data),
                         "--text-column", "tweet", "--loop", "--count", "5", "--rate", "200")
    sent = await reports(kafka_bootstrap, topic, 5)
    assert collections.Counter(r.text for r in sent) == {"Flood on Jalan Sudirman": 3, "Fire at the market": 2}
    assert "skipped 4 blank and 2 over-long texts" in output  # two passes and a bit through the file


async def test_a_burst_sends_several_times_more_per_second_than_outside_it(
        kafka_bootstrap, subprocess_env, topic_name, tmp_path):
    topic = topic_name("analyze")
    # 20 msg/s, with a spike to 5 × 20 = 100 msg/s from second 2 to second 4: 6 s ▸ 120 + 160 = 280.
    run_crawler(subprocess_env, topic, tmp_path / "crawler.log", "--loop", "--profile", "burst", "--rate", "20",
                "--spam-rate", "5", "--spam-start", "2", "--spam-duration", "2", "--duration", "6")
    sent = await reports(kafka_bootstrap, topic, 240)
    assert 240 <= len(sent) <= 300, len(sent)
    start = sent[0].created_at
    per_second = collections.Counter(int(r.created_at - start) for r in sent)
    inside = (per_second[2] + per_second[3]) / 2
    outside = (per_second[0] + per_second[1] + per_second[4] + per_second[5]) / 4
    assert inside >= 2.5 * outside, f"burst {inside:.0f} msg/s vs {outside:.0f} msg/s outside: {dict(per_second)}"
    assert 50 <= inside <= 150 and 8 <= outside <= 40, dict(per_second)  # generous: 2 busy shared cores


def test_a_missing_column_stops_with_a_clear_error(subprocess_env, tmp_path):
    log = tmp_path / "crawler.log"
    process = ManagedProcess("crawler", python_module("apps.crawler", "--text-column", "body"),
                             env=subprocess_env, log_path=log).start()
    assert process.popen.wait(30) == 2
    assert "has no column 'body' (its columns: text, emergency, category)" in log.read_text()


async def test_metrics_scraped_and_parsed(kafka_bootstrap, subprocess_env, topic_name, tmp_path):
    from fogverse.processes import free_port
    from prometheus_scrape import scrape_until, value

    topic = topic_name("analyze")
    port = free_port()
    env = {**subprocess_env, "CRAWLER_PRODUCER_TOPIC": topic, "OBSERVER_TOPIC": f"{topic}.observer",
           "CRAWLER_METRICS_PORT": str(port)}
    process = ManagedProcess("crawler", python_module("apps.crawler", "--loop", "--rate", "20", "--quiet"), env=env,
                             log_path=tmp_path / "crawler.log").start()
    try:
        samples = await scrape_until(f"http://127.0.0.1:{port}/metrics",
                                     lambda s: (value(s, "siaga_messages_out_total", topic=topic) or 0) >= 10,
                                     "ten reports acked", process=process)
    finally:
        assert process.stop() == 0, process.tail()
    acked = value(samples, "siaga_messages_out_total", service="crawler", topic=topic)
    assert value(samples, "siaga_publish_failures_total", service="crawler", topic=topic) is None
    sent = await read_until(kafka_bootstrap, topic, lambda r: False, timeout_s=5)
    assert acked <= len(sent), "only what the broker acked is counted"
