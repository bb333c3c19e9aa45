"""Rates from the observer topic's reports, as the measure activity computes them."""

from __future__ import annotations

import pytest

from activities.throughput import ThroughputLedger
from fogverse.contracts import DeployConfig, Heartbeat, ServicePair, ThroughputReport

T0 = 1_000_000.0


def report(topic: str, total: int, at: float, service: str = "crawler", instance: str = "c1",
           interval: float = 1.0) -> ThroughputReport:
    return ThroughputReport(target_topic=topic, total_messages=total, timestamp=T0 + at, interval_s=interval,
                            service=service, instance_id=instance)


def test_rate_sums_instances_each_over_the_seconds_it_reported():
    ledger = ThroughputLedger(keep_s=300)
    for t in range(1, 6):
        ledger.add_report(report("analyze", 10, t, instance="c1"))  # 10/s for 5 s
    for t in (4, 5):
        ledger.add_report(report("analyze", 4, t, instance="c2"))  # 4/s, started late in the window
    assert ledger.rate("analyze", T0, T0 + 5) == pytest.approx(14.0)


def test_window_edges_do_not_cut_reports_in_half():
    ledger = ThroughputLedger(keep_s=300)
    for t in (0.5, 1.0, 1.5, 2.0, 2.5):
        ledger.add_report(report("analyze", 5, t, interval=0.5))
    assert ledger.rate("analyze", T0 + 0.7, T0 + 2.2) == pytest.approx(10.0)


def test_no_reports_is_unknown_not_zero_and_zero_reports_are_zero():
    ledger = ThroughputLedger(keep_s=300)
    assert ledger.rate("analyze", T0, T0 + 5) is None
    ledger.add_report(report("analyze", 0, 3))
    assert ledger.rate("analyze", T0, T0 + 5) == 0.0


def test_rate_by_service_and_per_instance_outputs():
    ledger = ThroughputLedger(keep_s=300)
    ledger.add_report(report("client", 6, 1, service="analyzer", instance="a1"))
    ledger.add_report(report("client", 2, 1, service="analyzer", instance="a2"))
    ledger.add_report(report("client", 100, 1, service="replayer", instance="r1"))
    assert ledger.rate("client", T0, T0 + 2, service="analyzer") == 8.0
    assert ledger.instance_outputs("client", "analyzer", T0, T0 + 2) == {"a1": 6.0, "a2": 2.0}


def test_history_skips_windows_before_the_producers_existed():
    ledger = ThroughputLedger(keep_s=300)
    for t in range(21, 41):  # reports from second 21 to 40; windows of 5 s over 40 s
        ledger.add_report(report("analyze", 3 if t <= 30 else 0, t))
    history = ledger.history("analyze", T0 + 40, window_s=5, history_s=40)
    assert history == [3.0, 3.0, 0.0]  # (20,25], (25,30], (30,35]; (35,40] is the current window


def test_heartbeats_live_instances_and_pruning():
    ledger = ThroughputLedger(keep_s=60)
    ledger.add_heartbeat(Heartbeat(service="analyzer", instance_id="a1", timestamp=T0 + 10))
    ledger.add_report(report("client", 1, 12, service="analyzer", instance="a2"))
    ledger.add_pair(ServicePair(source_topic="analyze", target_topic="client", consumer_group="analyzer",
                                deploy_configs=DeployConfig(max_instance=3), service="analyzer", instance_id="a3",
                                timestamp=T0 + 14))
    assert ledger.live_instances("analyzer", T0 + 15, timeout_s=4) == ["a2", "a3"]
    assert ledger.last_heartbeats("analyzer") == {"a1": T0 + 10, "a2": T0 + 12, "a3": T0 + 14}
    assert [p.service for p in ledger.pairs()] == ["analyzer"]
    ledger.prune(T0 + 73)
    assert ledger.last_heartbeats("analyzer") == {"a3": T0 + 14}
    assert ledger.rate("client", T0, T0 + 100) is None


def test_a_report_sent_again_after_a_lost_ack_counts_once():
    ledger = ThroughputLedger(keep_s=300)
    first = report("analyze", 10, 1)
    for t in (2, 3):
        ledger.add_report(report("analyze", 10, t))
    ledger.add_report(first)
    ledger.add_report(first.model_copy())  # the same report, read twice from the observer topic
    assert ledger.rate("analyze", T0, T0 + 3) == pytest.approx(10.0)
    ledger.prune(T0 + 400)  # once pruned, its id is forgotten too
    ledger.add_report(report("analyze", 7, 401))
    assert ledger.rate("analyze", T0 + 400, T0 + 401) == pytest.approx(7.0)
