"""The scaling decision as a table: each row is a situation and what the controller must do."""

from __future__ import annotations

import math

import pytest

from workflows.decide.scaling import (HOLD, SCALE_IN, SCALE_OUT, Fleet, Measurement, Recommendation, ScalingPolicy, decide,
                                instances_for, remember, spike_z)

NOW = 10_000.0
POLICY = ScalingPolicy(ratio_threshold=0.7, z_value=2.0, deploy_delay_s=60, max_instances=3, min_instances=1,
                       stabilization_s=300, scale_in_utilization=0.6, backlog_near_zero=50, spike_tolerance=0.1,
                       target_utilization=0.8, catch_up_s=60, max_partitions=12)
STEADY = [20.0, 21.0, 19.0, 20.0, 20.5, 19.5]
#: low load the whole stabilization window long (the oldest recommendation covers its start)
LOW_SINCE_LONG = [Recommendation(NOW - 310, 1), Recommendation(NOW - 100, 1)]


def m(**changes) -> Measurement:
    base = dict(input_rate=20.0, output_rate=10.0, input_history=STEADY, lag=500, live_instances=["a-0"], consuming=1,
                processing_rate=None, partitions=None, partitions_growable=False)
    base.update(changes)
    return Measurement(**base)


def fleet(**changes) -> Fleet:
    base = dict(instances=1, deploying=0, removable=0, cooldown_until=None, recommendations=[])
    base.update(changes)
    return Fleet(**base)


IDLE = dict(input_rate=0, output_rate=0, lag=0)
#: one instance handles 10 msgs/s; 5 msgs/s in
LIGHT = dict(input_rate=5, output_rate=5, lag=0, processing_rate=10.0)

ROWS = [
    # (situation, measurement, fleet, expected action, reason, target instances)
    ("overloaded, steady input, no busy figures: one more", m(), fleet(), SCALE_OUT, "overloaded", 2),
    ("0/0: no traffic at all (the thesis scaled out here)", m(**IDLE), fleet(), HOLD, "no_traffic", 1),
    ("traffic stopped, backlog still draining", m(input_rate=0, output_rate=10, lag=400), fleet(), HOLD,
     "no_traffic", 1),
    ("traffic stopped, output 0, lag unknown", m(input_rate=0, output_rate=0, lag=None), fleet(), HOLD,
     "no_traffic", 1),
    ("ratio exactly at the threshold keeps up", m(input_rate=10, output_rate=7, lag=0), fleet(), HOLD,
     "keeping_up", 1),
    ("ratio just under the threshold", m(input_rate=10, output_rate=6.99, input_history=[10.0] * 5), fleet(),
     SCALE_OUT, "overloaded", 2),
    ("spike: input jumps far above a steady window", m(input_rate=80), fleet(), HOLD, "input_spike", 1),
    ("z just below Z_VALUE is not a spike", m(input_rate=20.0 + 1.99 * 2.0, input_history=[20.0, 18.0, 22.0]),
     fleet(), SCALE_OUT, "overloaded", 2),
    ("z exactly Z_VALUE is a spike", m(input_rate=24.0, input_history=[20.0, 18.0, 22.0]), fleet(), HOLD,
     "input_spike", 1),
    ("std = 0 and the same rate: not a spike", m(input_history=[20.0, 20.0, 20.0]), fleet(), SCALE_OUT,
     "overloaded", 2),
    ("std = 0, rate far above: spike", m(input_rate=40.0, input_history=[20.0] * 4), fleet(), HOLD, "input_spike", 1),
    ("history of zeros then traffic: spike", m(input_history=[0.0] * 10), fleet(), HOLD, "input_spike", 1),
    ("the tail of a burst that straddled two windows", m(input_rate=15, output_rate=10,
                                                          input_history=[4.0] * 19 + [139.0]), fleet(), HOLD,
     "spike_tail", 1),
    ("a lasting rise stops being a spike once it fills the window",
     m(input_rate=16, output_rate=10, input_history=[4.0] * 10 + [16.0] * 10), fleet(), SCALE_OUT, "overloaded", 2),
    ("a step: the second high window holds the first one's level", m(input_rate=30, output_rate=10,
                                                                        input_history=[8.0] * 20 + [19.0]),
     fleet(), SCALE_OUT, "overloaded", 2),
    ("a step: the second high window at 80 % of the first", m(input_rate=24, output_rate=10,
                                                               input_history=[8.0] * 20 + [30.0]),
     fleet(), SCALE_OUT, "overloaded", 2),
    ("a burst's second window falls under 80 % of the first: still a spike", m(input_rate=23.9, output_rate=10,
                                                                                 input_history=[8.0] * 20 + [30.0]),
     fleet(), HOLD, "input_spike", 1),
    ("no history yet: cannot tell a spike from a trend", m(input_history=[]), fleet(), HOLD, "input_spike", 1),
    ("low ratio but no backlog (lag near zero)", m(lag=50), fleet(), HOLD, "no_backlog", 1),
    ("lag unknown does not block a scale out", m(lag=None), fleet(), SCALE_OUT, "overloaded", 2),
    ("instances alive but none producing: starting or rebalancing", m(consuming=0), fleet(), HOLD,
     "not_consuming", 1),
    ("no live instance at all: deploy to recover", m(consuming=0, output_rate=0, live_instances=[]),
     fleet(instances=0), SCALE_OUT, "overloaded", 1),
    ("max cap reached", m(), fleet(instances=3), HOLD, "at_max_instances", 3),
    ("above the cap (MAX_INSTANCE lowered)", m(), fleet(instances=4), HOLD, "at_max_instances", 4),
    ("cooldown timer running", m(), fleet(cooldown_until=NOW + 30), HOLD, "cooldown", 1),
    ("cooldown timer just ended", m(), fleet(cooldown_until=NOW), SCALE_OUT, "overloaded", 2),
    ("a deploy is still waiting for its heartbeat", m(), fleet(instances=2, deploying=1), HOLD,
     "deploy_in_progress", 2),
    # ── the count: (input + backlog ÷ CATCH_UP_TIME) ÷ (TARGET_UTILIZATION × processing rate)
    ("count: 20/s + 450 backlog ÷ 60 s at 80 % of 10/s ▸ 4, capped at 3", m(processing_rate=10.0), fleet(),
     SCALE_OUT, "overloaded", 3),
    ("count: 12/s + 30 backlog/60 s at 80 % of 10/s ▸ 2 in one step", m(input_rate=12, output_rate=6, lag=80,
                                                                         input_history=[12.0] * 5,
                                                                         processing_rate=10.0), fleet(),
     SCALE_OUT, "overloaded", 2),
    ("count: from 1 straight to 3", m(input_rate=20, output_rate=10, lag=110, processing_rate=10.0,
                                      input_history=[20.0] * 5), fleet(), SCALE_OUT, "overloaded", 3),
    ("low ratio but the instances can carry it: a rebalance, not a shortage",
     m(input_rate=2, output_rate=1, lag=70, input_history=[2.0] * 5, processing_rate=50.0), fleet(), HOLD,
     "enough_instances", 1),
    ("plus_one rule for comparison", m(processing_rate=10.0), fleet(), SCALE_OUT, "overloaded", 2),
    # ── partitions first
    ("needs 3, 1 partition, broker can grow", m(lag=110, processing_rate=10.0, partitions=1, partitions_growable=True),
     fleet(), SCALE_OUT, "overloaded", 3),
    ("needs 3, 2 partitions, broker cannot grow: capped at 2", m(lag=110, processing_rate=10.0, partitions=2),
     fleet(), SCALE_OUT, "overloaded", 2),
    ("needs 3, 2 partitions and 2 instances, broker cannot grow", m(lag=110, processing_rate=10.0, partitions=2),
     fleet(instances=2), HOLD, "at_partition_cap", 2),
    ("needs 3, MAX_PARTITIONS 2 is reached", m(lag=110, processing_rate=10.0, partitions=2, partitions_growable=True),
     fleet(instances=2), HOLD, "at_partition_cap", 2),
    # ── scale in, HPA-style
    ("idle with an extra instance: start stabilizing", m(**IDLE), fleet(instances=2, removable=1), HOLD,
     "stabilizing", 2),
    ("idle for the whole stabilization window", m(**IDLE), fleet(instances=2, removable=1,
                                                                recommendations=LOW_SINCE_LONG),
     SCALE_IN, "under_used", 1),
    ("idle, window not covered yet", m(**IDLE), fleet(instances=2, removable=1,
                                                      recommendations=[Recommendation(NOW - 299, 1)]),
     HOLD, "stabilizing", 2),
    ("3 needed within the window: no scale in yet", m(**LIGHT), fleet(
        instances=3, removable=2, recommendations=[Recommendation(NOW - 310, 1), Recommendation(NOW - 200, 3)]),
     HOLD, "stabilizing", 3),
    ("2 needed within the window: 3 ▸ 2", m(**LIGHT), fleet(
        instances=3, removable=2, recommendations=[Recommendation(NOW - 310, 1), Recommendation(NOW - 200, 2)]),
     SCALE_IN, "under_used", 2),
    ("low load for the window: 3 ▸ 1 in one step", m(**LIGHT), fleet(instances=3, removable=2,
                                                                      recommendations=LOW_SINCE_LONG),
     SCALE_IN, "under_used", 1),
    ("load the others could not carry at 60 %", m(input_rate=7, output_rate=7, lag=0, processing_rate=10.0),
     fleet(instances=2, removable=1, recommendations=LOW_SINCE_LONG), HOLD, "keeping_up", 2),
    ("low load but no busy figures: unknown, keep", m(input_rate=5, output_rate=5, lag=0),
     fleet(instances=2, removable=1, recommendations=LOW_SINCE_LONG), HOLD, "keeping_up", 2),
    ("low load but a backlog", m(input_rate=5, output_rate=5, lag=400, processing_rate=10.0),
     fleet(instances=2, removable=1, recommendations=LOW_SINCE_LONG), HOLD, "keeping_up", 2),
    ("idle at the minimum", m(**IDLE), fleet(instances=1, removable=1, recommendations=LOW_SINCE_LONG), HOLD,
     "no_traffic", 1),
    ("only unmanaged instances: nothing to remove", m(**LIGHT), fleet(instances=3, removable=0,
                                                                       recommendations=LOW_SINCE_LONG),
     HOLD, "nothing_removable", 3),
    ("scale in waits for a cooldown (after the last change)", m(**IDLE), fleet(
        instances=2, removable=1, recommendations=LOW_SINCE_LONG, cooldown_until=NOW + 10), HOLD, "cooldown", 2),
    ("removes only what the controller deployed", m(**IDLE), fleet(instances=3, removable=1,
                                                                   recommendations=LOW_SINCE_LONG),
     SCALE_IN, "under_used", 2),
]


@pytest.mark.parametrize("situation, measured, known, action, reason, target", ROWS, ids=[row[0] for row in ROWS])
def test_decision_table(situation, measured, known, action, reason, target):
    policy = POLICY
    if situation.startswith("plus_one"):
        policy = ScalingPolicy(**{**POLICY.__dict__, "scale_out_rule": "plus_one"})
    if "MAX_PARTITIONS 2" in situation:
        policy = ScalingPolicy(**{**POLICY.__dict__, "max_partitions": 2})
    decision = decide(measured, known, policy, NOW)
    assert (decision.action, decision.reason, decision.target_instances) == (action, reason, target), decision.detail
    assert decision.detail and decision.numbers["instances"] == known.instances == decision.instances
    assert decision.at == NOW


def test_partitions_grow_first_to_the_count_and_say_so():
    decision = decide(m(lag=110, processing_rate=10.0, partitions=1, partitions_growable=True), fleet(), POLICY, NOW)
    assert decision.target_partitions == 3
    assert "growing the source topic to 3 partitions first" in decision.detail
    capped = decide(m(lag=110, processing_rate=10.0, partitions=2), fleet(), POLICY, NOW)
    assert capped.target_partitions is None and "the broker cannot grow them" in capped.detail


@pytest.mark.parametrize("min_instances, instances, removable, action, reason", [
    (2, 2, 1, HOLD, "at_min_instances"),
    (2, 3, 2, SCALE_IN, "under_used"),
])
def test_never_scales_in_below_the_minimum(min_instances, instances, removable, action, reason):
    policy = ScalingPolicy(**{**POLICY.__dict__, "min_instances": min_instances})
    decision = decide(m(**LIGHT), fleet(instances=instances, removable=removable, recommendations=LOW_SINCE_LONG),
                      policy, NOW)
    assert (decision.action, decision.reason) == (action, reason)
    assert decision.target_instances >= min_instances


def test_recommendations_keep_the_window_and_the_one_that_covers_it():
    recs = [Recommendation(NOW - 500, 3), Recommendation(NOW - 320, 2), Recommendation(NOW - 100, 1)]
    decision = decide(m(**LIGHT), fleet(instances=2, removable=1, recommendations=recs), POLICY, NOW)
    kept = remember(recs, decision, POLICY.stabilization_s)
    assert kept == [Recommendation(NOW - 320, 2), Recommendation(NOW - 100, 1), Recommendation(NOW, 1)]
    unknown = decide(m(input_rate=5, output_rate=5, lag=0), fleet(instances=2), POLICY, NOW)
    assert remember(recs, unknown, POLICY.stabilization_s) == [], "without figures the window starts again"


def test_a_scale_out_recommends_its_target_so_the_window_remembers_it():
    decision = decide(m(lag=110, processing_rate=10.0, input_history=[20.0] * 5), fleet(), POLICY, NOW)
    assert decision.target_instances == 3 and decision.recommended >= 3, "at the lower SCALE_IN_UTILIZATION"


def test_decision_carries_the_numbers_behind_it():
    decision = decide(m(processing_rate=10.0), fleet(), POLICY, NOW)
    assert decision.numbers["ratio"] == 0.5 and decision.numbers["needed"] == 4
    assert decision.numbers["input_rate"] == 20.0 and decision.numbers["output_rate"] == 10.0
    assert decision.numbers["lag"] == 500 and decision.numbers["processing_rate"] == 10.0
    assert "0.50" in decision.detail and "MAX_INSTANCE=3" in decision.detail


@pytest.mark.parametrize("rate, processing, utilization, expected", [
    (0.0, 10.0, 0.8, 1), (8.0, 10.0, 0.8, 1), (8.01, 10.0, 0.8, 2), (24.0, 10.0, 0.8, 3), (5.0, 0.0, 0.8, 1_000_000),
])
def test_instances_for(rate, processing, utilization, expected):
    assert instances_for(rate, processing, utilization) == expected


@pytest.mark.parametrize("rate, history, expected", [
    (20.0, [], math.inf),
    (0.0, [0.0, 0.0], 0.0),
    (5.0, [0.0, 0.0], math.inf),
    (20.0, [20.0, 20.0], 0.0),
    (22.0, [20.0, 20.0], 1.0),  # floor 0.1 × 20 = 2
    (30.0, [10.0, 30.0], 1.0),  # mean 20, std 10
])
def test_spike_z(rate, history, expected):
    assert spike_z(rate, history, 0.1) == pytest.approx(expected)


#: 8 msgs/s for a long while: the spike level is 8 + 2 × 0.8 (the std floor) = 9.6
FLAT_8 = [8.0] * 20


def rising(held_s: float, *, peak: float = 30.0, step: float = 0.25, interval: float = 1.0, **changes) -> Measurement:
    """The input rose from 8 to ``peak`` ``held_s`` seconds before the newest point."""
    points = int(held_s / step)
    recent = [8.0] * (20 - points) + [peak] * points
    return m(input_rate=fmean_of(recent), output_rate=10, input_history=FLAT_8, input_recent=recent,
             recent_step_s=step, report_interval_s=interval, **changes)


def fmean_of(rates: list[float]) -> float:
    return sum(rates) / len(rates)


@pytest.mark.parametrize("situation, measured, spike_hold, action, reason, recheck", [
    ("a rise held SPIKE_HOLD at the spike level is a step in its first window", rising(3.0), 3.0, SCALE_OUT,
     "overloaded", None),
    ("a rise held 2 of 3 s: a spike for now, rechecked once it would have held (plus a report)", rising(2.0), 3.0,
     HOLD, "input_spike", 2.0),
    ("two reports of a burst are never a step, however short SPIKE_HOLD", rising(2.0), 0.0, HOLD, "input_spike",
     1.25),
    ("a rise longer than two reports with SPIKE_HOLD 0 is a step", rising(2.5), 0.0, SCALE_OUT, "overloaded", None),
    ("slower reports need a longer hold: three of 2 s", rising(4.0, interval=2.0), 3.0, HOLD, "input_spike", 2.25),
    ("a burst that fell back is a spike with nothing to recheck",
     m(input_rate=20, output_rate=10, input_history=FLAT_8, input_recent=[8.0] * 10 + [150.0] * 4 + [8.0] * 6,
       recent_step_s=0.25, report_interval_s=1.0), 3.0, HOLD, "input_spike", None),
    ("without recent rates (an older worker) only the two-window rule tells a step", m(
        input_rate=19, output_rate=10, input_history=FLAT_8), 0.0, HOLD, "input_spike", None),
])
def test_how_long_a_rise_held_tells_a_step_from_a_spike(situation, measured, spike_hold, action, reason, recheck):
    policy = ScalingPolicy(**{**POLICY.__dict__, "spike_hold_s": spike_hold})
    decision = decide(measured, fleet(), policy, NOW)
    assert (decision.action, decision.reason) == (action, reason), decision.detail
    assert decision.recheck_in_s == (None if recheck is None else pytest.approx(recheck)), decision.detail
