"""``python -m fogverse.dlq``: list a dead-letter topic and replay it, never round a loop.

The choice of what to replay is a pure function (tables below); the round trip runs the real
pipeline runtime (``runtime_test_app``, whose ``poison`` inputs always fail) against the test
broker and the real command as a process, and reads the replayed records back with kcat
(librdkafka), a client we did not write.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fogverse.contracts import DLQ_HEADERS
from fogverse.dlq import Choice, DeadLetter, dead_letter_topic, parse_time, plan_replay
from kafka_helpers import produce, read_until
from runtime_test_app import build_app

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)


def letter(offset: int, stage: str = "process", minutes_ago: float = 10, **headers: str) -> DeadLetter:
    names = {"stage": stage, "reason": "ValueError: bad", "origin_topic": "analyze", "origin_partition": "0",
             "origin_offset": str(100 + offset), "failed_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(),
             **headers}
    return DeadLetter("analyze.dlq", 0, offset, 0, None, b"{}", {DLQ_HEADERS[k]: v for k, v in names.items()})


@pytest.mark.parametrize("text, expected", [
    ("2026-12-02T09:00:00Z", datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)),
    ("2026-12-02T09:00:00", datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)),  # no zone ▸ UTC
    ("2026-12-02T16:00:00+07:00", datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)),
    ("90s", NOW - timedelta(seconds=90)),
    ("30m", NOW - timedelta(minutes=30)),
    ("2h", NOW - timedelta(hours=2)),
    ("1.5d", NOW - timedelta(days=1.5)),
])
def test_since_and_until_take_a_time_or_an_age(text, expected):
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "2h ago", "-5m", "", "12"])
def test_a_time_that_is_neither_says_what_it_takes(text):
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time(text, NOW)


@pytest.mark.parametrize("choice, chosen", [
    (Choice(), [0, 1, 2]),
    (Choice(stages=frozenset({"decode"})), [1]),
    (Choice(stages=frozenset({"process", "encode"})), [0, 2]),
    (Choice(since=NOW - timedelta(minutes=30)), [0, 1]),
    (Choice(until=NOW - timedelta(minutes=30)), [2]),
    (Choice(stages=frozenset({"process"}), since=NOW - timedelta(minutes=30)), [0]),
])
def test_choice_by_stage_and_failure_time(choice, chosen):
    letters = [letter(0, "process", 10), letter(1, "decode", 20), letter(2, "encode", 60)]
    assert [d.offset for d in letters if choice.matches(d)] == chosen


@pytest.mark.parametrize("include_replayed, sent, skipped", [
    # 0 was replayed and failed again as 3, 3 failed again as 4; 1 is fresh; 2 was cut to fit
    (False, [1], {0: "failed again as analyze.dlq[0]@3", 2: "cut to fit",
                  3: "failed again as analyze.dlq[0]@4", 4: "--include-replayed"}),
    (True, [1, 4], {0: "failed again as", 2: "cut to fit", 3: "failed again as"}),
])
def test_replay_never_sends_a_message_round_a_loop(include_replayed, sent, skipped):
    letters = [letter(0), letter(1), letter(2, truncated="100 of 2000000 bytes"),
               letter(3, replayed_from="analyze.dlq[0]@0"), letter(4, replayed_from="analyze.dlq[0]@3")]
    plan = plan_replay(letters, Choice(), include_replayed)
    assert [d.offset for d in plan.send] == sent
    assert {d.offset for d, _ in plan.skipped} == set(skipped)
    for d, why in plan.skipped:
        assert skipped[d.offset] in why, why


def test_a_dead_letter_without_an_origin_is_not_sent():
    orphan = DeadLetter("x.dlq", 0, 0, 0, None, b"v", {})
    plan = plan_replay([orphan], Choice())
    assert plan.send == [] and "nowhere to send it" in plan.skipped[0][1]


@pytest.mark.parametrize("name, topic", [("analyze", "analyze.dlq"), ("analyze.dlq", "analyze.dlq")])
def test_the_topic_may_be_named_by_its_origin(name, topic):
    assert dead_letter_topic(name, ".dlq") == topic


# ─── against the broker ────────────────────────────────────────────────────────────────────


def dlq(bootstrap: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=bootstrap, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "fogverse.dlq", *args], env=env, capture_output=True,
                            text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    return result


def listed(bootstrap: str, topic: str, *args: str) -> list[dict]:
    return [json.loads(line) for line in dlq(bootstrap, "list", topic, "--json", *args).stdout.splitlines()]


def kcat_headers(bootstrap: str, topic: str) -> list[dict[str, str]]:
    """Each record's headers, as kcat reads them (``%h``: ``name=value,name=value``)."""
    result = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                             "-f", "%h\\n"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [dict(pair.split("=", 1) for pair in line.split(",") if "=" in pair) for line in result.stdout.splitlines()]


async def test_list_and_replay_round_trip_through_the_runtime(any_broker, topic_name, request):
    """On Apache Kafka and on tansu; kcat reads the headers back on Apache Kafka (librdkafka cannot
    read tansu's metadata: "Broker transport failure")."""
    kafka_bootstrap = any_broker
    source, target = topic_name("src"), topic_name("dst")
    dead = f"{source}.dlq"
    poison = [json.dumps({"id": f"p{i}", "poison": True}).encode() for i in range(2)]
    await produce(kafka_bootstrap, source, [*poison, b"not json", json.dumps({"id": "ok"}).encode()])
    app = build_app({"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TEST_SOURCE_TOPIC": source,
                     "TEST_TARGET_TOPIC": target, "TEST_GROUP_ID": f"g-{source}", "METRICS_INTERVAL": "0.5",
                     "OBSERVER_TOPIC": f"{source}.observer"})
    task = asyncio.create_task(app.run())
    try:
        await read_until(kafka_bootstrap, dead, lambda r: len(r) >= 3, timeout_s=60)

        letters = listed(kafka_bootstrap, source)  # the origin's name finds its dead-letter topic
        assert sorted(d["stage"] for d in letters) == ["decode", "process", "process"]
        assert {d["origin_topic"] for d in letters} == {source}
        assert all(d["reason"] and d["failed_at"] and d["replayed_from"] is None for d in letters)
        assert any("poison message p0" in d["reason"] for d in letters)
        assert [d["preview"] for d in listed(kafka_bootstrap, dead, "--stage", "decode")] == ["not json"]
        assert listed(kafka_bootstrap, dead, "--until", "1d") == []  # all failed within the last day
        table = dlq(kafka_bootstrap, "list", dead).stdout
        print(table)
        assert "poison message p1" in table and f"{source}[" in table and "3 of 3 dead letters" in table
        assert len(table.splitlines()) == 1 + 3 + 1, "one row per dead letter, under a header, over a total"

        dry = dlq(kafka_bootstrap, "replay", dead, "--stage", "process", "--dry-run").stdout
        assert "dry run: 2 would be sent" in dry, dry
        await asyncio.sleep(1)
        assert len(await read_until(kafka_bootstrap, source, lambda r: False, timeout_s=2)) == 4, "a dry run sent"

        sent = dlq(kafka_bootstrap, "replay", dead, "--stage", "process").stdout
        assert "replayed 2, skipped 0, of 3" in sent, sent
        replayed = [r for r in await read_until(kafka_bootstrap, source, lambda r: len(r) >= 6, timeout_s=30)
                    if DLQ_HEADERS["replayed_from"] in dict(r.headers)]
        assert sorted(json.loads(r.value)["id"] for r in replayed) == ["p0", "p1"]

        # the replayed poison fails again: its dead letter names the replay, and replay stops there
        await read_until(kafka_bootstrap, dead, lambda r: len(r) >= 5, timeout_s=60)
        again = [d for d in listed(kafka_bootstrap, dead) if d["replayed_from"]]
        assert len(again) == 2 and all(d["replayed_from"].startswith(f"{dead}[") for d in again)
        second = dlq(kafka_bootstrap, "replay", dead, "--stage", "process").stdout
        print(sent, second, sep="")
        assert "replayed 0, skipped 4, of 5" in second, second
        assert second.count("failed again as") == 2 and second.count("--include-replayed") == 2, second
        forced = dlq(kafka_bootstrap, "replay", dead, "--include-replayed", "--dry-run").stdout
        assert "dry run: 3 would be sent" in forced, forced  # the decode one and the two latest failures
    finally:
        app.request_stop()
        await asyncio.wait_for(task, 30)

    if request.node.callspec.params["any_broker"] == "tansu":
        return
    if shutil.which("kcat") is None:
        pytest.skip("kcat (Debian package kcat) is not installed: the replay header was read only by aiokafka")
    headers = kcat_headers(kafka_bootstrap, source)
    marked = [h for h in headers if DLQ_HEADERS["replayed_from"] in h]
    assert len(headers) == 6 and len(marked) == 2, headers
    assert all(h[DLQ_HEADERS["replayed_from"]].startswith(f"{dead}[") and DLQ_HEADERS["replayed_at"] in h
               for h in marked), marked


def test_a_topic_that_does_not_exist_is_one_line(kafka_bootstrap):
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "fogverse.dlq", "list", "no-such-topic-here"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == f"fogverse.dlq: the broker at {kafka_bootstrap} has no topic no-such-topic-here.dlq"
