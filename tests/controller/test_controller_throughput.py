"""Rates from the observer topic's reports, as the measure activity computes them.

Every record is placed by when the controller received it (``received_at``), never by the
sender's own clock.
"""

from __future__ import annotations

import pytest

from activities.measure.throughput import ThroughputLedger
from fogverse.contracts import DeployConfig, Heartbeat, ServicePair, ThroughputReport

T0 = 1_000_000.0


def report(topic: str, total: int, at: float, service: str = "crawler", instance: str = "c1",
           interval: float = 1.0) -> ThroughputReport:
    return ThroughputReport(target_topic=topic, total_messages=total, timestamp=T0 + at, interval_s=interval,
                            service=service, instance_id=instance)


def received(ledger: ThroughputLedger, report: ThroughputReport) -> None:
    """``report`` as the feed passes it on when the sender's clock agrees with the controller's."""
    ledger.add_report(report, report.timestamp)


def test_rate_sums_instances_each_over_the_seconds_it_reported():
    ledger = ThroughputLedger(keep_s=300)
    for t in range(1, 6):
        received(ledger, report("analyze", 10, t, instance="c1"))  # 10/s for 5 s
    for t in (4, 5):
        received(ledger, report("analyze", 4, t, instance="c2"))  # 4/s, started late in the window
    assert ledger.rate("analyze", T0, T0 + 5) == pytest.approx(14.0)


def test_window_edges_do_not_cut_reports_in_half():
    ledger = ThroughputLedger(keep_s=300)
    for t in (0.5, 1.0, 1.5, 2.0, 2.5):
        received(ledger, report("analyze", 5, t, interval=0.5))
    assert ledger.rate("analyze", T0 + 0.7, T0 + 2.2) == pytest.approx(10.0)


def test_no_reports_is_unknown_not_zero_and_zero_reports_are_zero():
    ledger = ThroughputLedger(keep_s=300)
    assert ledger.rate("analyze", T0, T0 + 5) is None
    received(ledger, report("analyze", 0, 3))
    assert ledger.rate("analyze", T0, T0 + 5) == 0.0


def test_rate_by_service_and_per_instance_outputs():
    ledger = ThroughputLedger(keep_s=300)
    received(ledger, report("client", 6, 1, service="analyzer", instance="a1"))
    received(ledger, report("client", 2, 1, service="analyzer", instance="a2"))
    received(ledger, report("client", 100, 1, service="replayer", instance="r1"))
    assert ledger.rate("client", T0, T0 + 2, service="analyzer") == 8.0
    assert ledger.instance_outputs("client", "analyzer", T0, T0 + 2) == {"a1": 6.0, "a2": 2.0}


def test_history_skips_windows_before_the_producers_existed():
    ledger = ThroughputLedger(keep_s=300)
    for t in range(21, 41):  # reports from second 21 to 40; windows of 5 s over 40 s
        received(ledger, report("analyze", 3 if t <= 30 else 0, t))
    history = ledger.history("analyze", T0 + 40, window_s=5, history_s=40)
    assert history == [3.0, 3.0, 0.0]  # (20,25], (25,30], (30,35]; (35,40] is the current window


def test_heartbeats_live_instances_and_pruning():
    ledger = ThroughputLedger(keep_s=60)
    ledger.add_heartbeat(Heartbeat(service="analyzer", instance_id="a1", timestamp=T0 + 10), T0 + 10)
    received(ledger, report("client", 1, 12, service="analyzer", instance="a2"))
    ledger.add_pair(ServicePair(source_topic="analyze", target_topic="client", consumer_group="analyzer",
                                deploy_configs=DeployConfig(max_instance=3), service="analyzer", instance_id="a3",
                                timestamp=T0 + 14), T0 + 14)
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
        received(ledger, report("analyze", 10, t))
    received(ledger, first)
    received(ledger, first.model_copy())  # the same report, read twice from the observer topic
    assert ledger.rate("analyze", T0, T0 + 3) == pytest.approx(10.0)
    ledger.prune(T0 + 400)  # once pruned, its id is forgotten too
    received(ledger, report("analyze", 7, 401))
    assert ledger.rate("analyze", T0 + 400, T0 + 401) == pytest.approx(7.0)


# ─── processing rates from busy time ────────────────────────────────────────────────────────


def beat(instance: str, busy: float | None, handled: int | None, service: str = "analyzer",
         interval: float | None = 1.0) -> Heartbeat:
    return Heartbeat(service=service, instance_id=instance, timestamp=T0, interval_s=interval, busy_s=busy,
                     handled=handled)


#: (heartbeats as (received at, heartbeat), window, processing rate of "analyzer")
PROCESSING_RATES = {
    "one instance, half busy": ([(1, beat("a1", 0.5, 50)), (2, beat("a1", 0.5, 50))], (0, 2), 100.0),
    "instances pool their busy time": ([(1, beat("a1", 1.0, 100)), (1, beat("a2", 0.5, 25))], (0, 2), 125 / 1.5),
    "an idle instance does not dilute the rate": ([(1, beat("a1", 0.4, 40)), (1, beat("a2", 0.0, 0))], (0, 2), 100.0),
    "too little busy time to tell": ([(1, beat("a1", 0.02, 3)), (2, beat("a1", 0.02, 2))], (0, 2), None),
    "busy time at the threshold counts": ([(1, beat("a1", 0.05, 5))], (0, 2), 100.0),
    "publishers send no busy figures": ([(1, beat("a1", None, None)), (2, beat("a1", None, None, interval=None))],
                                        (0, 2), None),
    "only heartbeats received in the window": ([(1, beat("a1", 1.0, 10)), (3, beat("a1", 1.0, 30))], (2, 4), 30.0),
    "the window's start is open, its end closed": ([(2, beat("a1", 1.0, 10)), (4, beat("a1", 1.0, 40))], (2, 4), 40.0),
    "another service's figures do not count": ([(1, beat("c1", 1.0, 500, service="other"))], (0, 2), None),
    "no heartbeats at all": ([], (0, 2), None),
}


@pytest.mark.parametrize(("heartbeats", "window", "expected"), PROCESSING_RATES.values(), ids=PROCESSING_RATES.keys())
def test_processing_rate(heartbeats, window, expected):
    ledger = ThroughputLedger(keep_s=300)
    for at, heartbeat in heartbeats:
        ledger.add_heartbeat(heartbeat, T0 + at)
    rate = ledger.processing_rate("analyzer", T0 + window[0], T0 + window[1])
    assert rate == (None if expected is None else pytest.approx(expected))


#: (heartbeats as (received at, heartbeat), window, utilization per instance of "analyzer")
UTILIZATIONS = {
    "busy share of the time covered": ([(1, beat("a1", 0.25, 5)), (2, beat("a1", 0.75, 15))], (0, 2), {"a1": 0.5}),
    "per instance": ([(1, beat("a1", 0.9, 90)), (1, beat("a2", 0.1, 10, interval=0.5))], (0, 2),
                     {"a1": 0.9, "a2": 0.2}),
    "an idle instance is 0": ([(1, beat("a1", 0.0, 0))], (0, 2), {"a1": 0.0}),
    "outside the window": ([(1, beat("a1", 0.5, 5))], (1, 3), {}),
    "publishers are left out": ([(1, beat("a1", None, None))], (0, 2), {}),
}


@pytest.mark.parametrize(("heartbeats", "window", "expected"), UTILIZATIONS.values(), ids=UTILIZATIONS.keys())
def test_utilization(heartbeats, window, expected):
    ledger = ThroughputLedger(keep_s=300)
    for at, heartbeat in heartbeats:
        ledger.add_heartbeat(heartbeat, T0 + at)
    assert ledger.utilization("analyzer", T0 + window[0], T0 + window[1]) == pytest.approx(expected)


def test_busy_figures_are_pruned_with_the_rest():
    ledger = ThroughputLedger(keep_s=60)
    ledger.add_heartbeat(beat("a1", 0.5, 50), T0 + 1)
    ledger.add_heartbeat(beat("a1", 0.5, 20), T0 + 70)
    ledger.prune(T0 + 65)
    assert ledger.processing_rate("analyzer", T0 - 100, T0 + 100) == pytest.approx(40.0)
    assert ledger.utilization("analyzer", T0, T0 + 10) == {}


# ─── the controller's own clock ─────────────────────────────────────────────────────────────


def test_a_sender_whose_clock_is_40_s_behind_stays_live_and_counts_now():
    ledger = ThroughputLedger(keep_s=300)
    now = T0 + 100
    for t in range(5):  # a report and a heartbeat each second, stamped 40 s in the past by the sender
        ledger.add_report(report("client", 10, 60 + t, service="analyzer", instance="slow-clock"), now - 4 + t)
        ledger.add_heartbeat(Heartbeat(service="analyzer", instance_id="slow-clock", timestamp=T0 + 60 + t),
                             now - 4 + t)
    assert ledger.live_instances("analyzer", now, timeout_s=10) == ["slow-clock"]
    assert ledger.last_heartbeats("analyzer") == {"slow-clock": now}
    assert ledger.rate("client", now - 5, now, service="analyzer") == pytest.approx(10.0)
    assert ledger.rate("client", now - 60, now - 30) is None, "its reports count when received, not when stamped"


def test_a_report_stamped_in_the_future_does_not_move_newest_past_its_receipt():
    ledger = ThroughputLedger(keep_s=300)
    ledger.add_heartbeat(Heartbeat(service="analyzer", instance_id="a1", timestamp=T0 + 250), T0)
    ledger.add_report(report("client", 1, 250, service="analyzer", instance="a1"), T0 + 1)
    assert ledger.newest == T0 + 1
    assert ledger.last_heartbeats("analyzer") == {"a1": T0 + 1}


def test_the_pair_received_last_wins_whatever_its_stamp():
    def pair(target: str, stamp: float) -> ServicePair:
        return ServicePair(source_topic="analyze", target_topic=target, consumer_group="analyzer",
                           deploy_configs=DeployConfig(max_instance=3), service="analyzer", instance_id="a1",
                           timestamp=T0 + stamp)

    ledger = ThroughputLedger(keep_s=300)
    ledger.add_pair(pair("client-old", stamp=90), T0 + 1)  # a clock running ahead
    ledger.add_pair(pair("client-new", stamp=10), T0 + 2)
    assert [p.target_topic for p in ledger.pairs()] == ["client-new"]


def test_recent_rates_follow_each_report_up_to_what_every_producer_has_covered():
    ledger = ThroughputLedger(keep_s=300)
    for t in range(1, 5):
        received(ledger, report("analyze", 8, t, instance="c1"))
    received(ledger, report("analyze", 30, 5, instance="c1"))  # the step, in c1's last report
    for t in (1.5, 2.5, 3.5):
        received(ledger, report("analyze", 2, t, instance="c2"))  # c2's next report is not in yet
    rates, longest = ledger.recent_rates("analyze", T0 + 5.2, span_s=3.0, step_s=0.5)
    assert longest == 1.0
    # the points end at 3.5 s, c2's newest: c1's step at (4, 5] is not seen until c2 catches up
    assert rates == pytest.approx([10.0] * 6), rates
    received(ledger, report("analyze", 2, 4.5, instance="c2"))
    rates, _ = ledger.recent_rates("analyze", T0 + 5.2, span_s=3.0, step_s=0.5)
    assert rates == pytest.approx([10.0] * 5 + [32.0]), "the points end at 4.5 s now"


def test_recent_rates_count_a_producer_that_stopped_as_zero():
    ledger = ThroughputLedger(keep_s=300)
    for t in range(1, 6):
        received(ledger, report("analyze", 8, t, instance="c1"))
    received(ledger, report("analyze", 5, 1, instance="gone"))
    rates, _ = ledger.recent_rates("analyze", T0 + 5.0, span_s=2.0, step_s=0.5)
    assert rates == pytest.approx([8.0] * 4)
    assert ledger.recent_rates("analyze", T0 + 60, span_s=2.0, step_s=0.5) == ([], 0.0), "nobody reporting"
