"""The scaling decision as a table: each row is a situation and what the controller must do."""

from __future__ import annotations

import math

import pytest

from workflows.decision import (HOLD, SCALE_IN, SCALE_OUT, Observation, ScalingPolicy, decide, estimate_capacity,
                                spike_z)

NOW = 10_000.0
POLICY = ScalingPolicy(ratio_threshold=0.7, z_value=2.0, deploy_delay_s=60, max_instances=3, min_instances=1,
                       stabilization_s=300, scale_in_utilization=0.6, backlog_near_zero=50, spike_tolerance=0.1)
STEADY = [20.0, 21.0, 19.0, 20.0, 20.5, 19.5]


def obs(**changes) -> Observation:
    base = dict(input_rate=20.0, output_rate=10.0, input_history=STEADY, lag=500, instances=1, deploying=0,
                removable=0, capacity_per_instance=None, last_deploy_at=None, low_load_since=None)
    base.update(changes)
    return Observation(**base)


ROWS = [
    # (situation, observation, expected action, expected reason)
    ("overloaded, steady input", obs(), SCALE_OUT, "overloaded"),
    ("0/0: no traffic at all (the thesis scaled out here)", obs(input_rate=0, output_rate=0, lag=0), HOLD, "no_traffic"),
    ("traffic stopped, backlog still draining", obs(input_rate=0, output_rate=10, lag=400), HOLD, "no_traffic"),
    ("traffic stopped, output 0, lag unknown", obs(input_rate=0, output_rate=0, lag=None), HOLD, "no_traffic"),
    ("ratio exactly at the threshold keeps up", obs(input_rate=10, output_rate=7, lag=0), HOLD, "keeping_up"),
    ("ratio just under the threshold", obs(input_rate=10, output_rate=6.99, input_history=[10.0] * 5), SCALE_OUT,
     "overloaded"),
    ("spike: input jumps far above a steady window", obs(input_rate=80), HOLD, "input_spike"),
    ("z just below Z_VALUE is not a spike", obs(input_rate=20.0 + 1.99 * 2.0, input_history=[20.0, 18.0, 22.0]),
     SCALE_OUT, "overloaded"),
    ("z exactly Z_VALUE is a spike", obs(input_rate=24.0, input_history=[20.0, 18.0, 22.0]), HOLD, "input_spike"),
    ("std = 0 and the same rate: not a spike", obs(input_history=[20.0, 20.0, 20.0]), SCALE_OUT, "overloaded"),
    ("std = 0, rate within the tolerance floor", obs(input_rate=23.0, input_history=[20.0] * 4), SCALE_OUT,
     "overloaded"),
    ("std = 0, rate far above: spike", obs(input_rate=40.0, input_history=[20.0] * 4), HOLD, "input_spike"),
    ("history of zeros then traffic: spike", obs(input_history=[0.0] * 10), HOLD, "input_spike"),
    ("the tail of a burst that straddled two windows", obs(input_rate=15, output_rate=10,
                                                            input_history=[4.0] * 19 + [139.0]), HOLD, "spike_tail"),
    ("a lasting rise stops being a spike once it fills the window", obs(input_rate=16, output_rate=10,
                                                                        input_history=[4.0] * 10 + [16.0] * 10),
     SCALE_OUT, "overloaded"),
    ("one window of history has no baseline for a tail check", obs(input_history=[20.0]), SCALE_OUT, "overloaded"),
    ("no history yet: cannot tell a spike from a trend", obs(input_history=[]), HOLD, "input_spike"),
    ("low ratio but no backlog (lag near zero)", obs(lag=50), HOLD, "no_backlog"),
    ("lag unknown does not block a scale out", obs(lag=None), SCALE_OUT, "overloaded"),
    ("instances alive but none producing: starting or rebalancing", obs(consuming=0), HOLD, "not_consuming"),
    ("one of two producing is enough to judge", obs(instances=2, consuming=1), SCALE_OUT, "overloaded"),
    ("no live instance at all: deploy to recover", obs(instances=0, consuming=0, output_rate=0), SCALE_OUT,
     "overloaded"),
    ("max cap reached", obs(instances=3), HOLD, "at_max_instances"),
    ("above the cap (MAX_INSTANCE lowered)", obs(instances=4), HOLD, "at_max_instances"),
    ("one below the cap", obs(instances=2), SCALE_OUT, "overloaded"),
    ("cooldown: deployed 1 s ago", obs(last_deploy_at=NOW - 1), HOLD, "cooldown"),
    ("cooldown edge: 1 ms before it ends", obs(last_deploy_at=NOW - 59.999), HOLD, "cooldown"),
    ("cooldown edge: exactly DEPLOY_DELAY later", obs(last_deploy_at=NOW - 60), SCALE_OUT, "overloaded"),
    ("a deploy is still waiting for its heartbeat", obs(deploying=1, instances=2), HOLD, "deploy_in_progress"),
    ("idle with an extra instance: start stabilizing", obs(input_rate=0, output_rate=0, lag=0, instances=2,
                                                           removable=1), HOLD, "stabilizing"),
    ("idle for the whole stabilization window", obs(input_rate=0, output_rate=0, lag=0, instances=2, removable=1,
                                                    low_load_since=NOW - 300), SCALE_IN, "under_used"),
    ("idle, 1 s short of the window", obs(input_rate=0, output_rate=0, lag=0, instances=2, removable=1,
                                          low_load_since=NOW - 299), HOLD, "stabilizing"),
    ("low load the others can carry", obs(input_rate=5, output_rate=5, lag=0, instances=2, removable=1,
                                          capacity_per_instance=10, low_load_since=NOW - 400), SCALE_IN, "under_used"),
    ("load the others could not carry at 60 %", obs(input_rate=7, output_rate=7, lag=0, instances=2, removable=1,
                                                    capacity_per_instance=10, low_load_since=NOW - 400), HOLD,
     "keeping_up"),
    ("low load but capacity never measured", obs(input_rate=5, output_rate=5, lag=0, instances=2, removable=1,
                                                 low_load_since=NOW - 400), HOLD, "keeping_up"),
    ("low load but a backlog", obs(input_rate=5, output_rate=5, lag=400, instances=2, removable=1,
                                   capacity_per_instance=10, low_load_since=NOW - 400), HOLD, "keeping_up"),
    ("idle at the minimum", obs(input_rate=0, output_rate=0, lag=0, instances=1, removable=1,
                                low_load_since=NOW - 400), HOLD, "no_traffic"),
    ("only unmanaged instances: nothing to remove", obs(input_rate=2, output_rate=2, lag=0, instances=3,
                                                        capacity_per_instance=10, removable=0,
                                                        low_load_since=NOW - 400), HOLD, "nothing_removable"),
    ("only unmanaged instances, idle", obs(input_rate=0, output_rate=0, lag=0, instances=3, removable=0,
                                           low_load_since=NOW - 400), HOLD, "no_traffic"),
]


@pytest.mark.parametrize("situation, observation, action, reason", ROWS, ids=[row[0] for row in ROWS])
def test_decision_table(situation, observation, action, reason):
    decision = decide(observation, POLICY, NOW)
    assert (decision.action, decision.reason) == (action, reason), decision.detail
    assert decision.detail and decision.numbers["instances"] == observation.instances
    assert decision.at == NOW


@pytest.mark.parametrize("input_rate, reason", [(0.0, "no_traffic"), (2.0, "at_min_instances")])
def test_never_scales_in_below_the_minimum(input_rate, reason):
    policy = ScalingPolicy(min_instances=2, stabilization_s=0)
    at_min = obs(input_rate=input_rate, output_rate=input_rate, lag=0, instances=2, removable=1,
                 capacity_per_instance=10, low_load_since=NOW - 400)
    decision = decide(at_min, policy, NOW)
    assert (decision.action, decision.reason) == (HOLD, reason)
    above_min = decide(obs(input_rate=input_rate, output_rate=input_rate, lag=0, instances=3, removable=2,
                           capacity_per_instance=10, low_load_since=NOW - 400), policy, NOW)
    assert above_min.action == SCALE_IN


def test_stabilization_clock_starts_at_first_low_load_and_resets_when_load_returns():
    idle = obs(input_rate=0, output_rate=0, lag=0, instances=2, removable=1)
    first = decide(idle, POLICY, NOW)
    assert first.low_load_since == NOW
    later = decide(obs(input_rate=0, output_rate=0, lag=0, instances=2, removable=1,
                       low_load_since=first.low_load_since), POLICY, NOW + 100)
    assert later.low_load_since == NOW, "the window keeps its start while the load stays low"
    busy = decide(obs(instances=2, removable=1, low_load_since=NOW), POLICY, NOW + 150)
    assert busy.low_load_since is None, "load returning resets the window"


def test_decision_carries_the_numbers_behind_it():
    decision = decide(obs(), POLICY, NOW)
    assert decision.numbers["ratio"] == 0.5
    assert decision.numbers["input_rate"] == 20.0 and decision.numbers["output_rate"] == 10.0
    assert decision.numbers["lag"] == 500
    assert "0.50" in decision.detail


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


@pytest.mark.parametrize("previous, output, consuming, lag, expected", [
    (None, 10.0, 1, 500, 10.0),  # saturated: learn
    (12.0, 10.0, 1, 500, 12.0),  # keeps the best seen
    (None, 30.0, 2, 500, 15.0),  # per instance
    (None, 10.0, 1, 10, None),  # no backlog: instances may be idle part of the time
    (8.0, 10.0, 1, None, 8.0),  # lag unknown: learn nothing
    (None, 0.0, 1, 500, None),
])
def test_capacity_is_learned_only_while_saturated(previous, output, consuming, lag, expected):
    assert estimate_capacity(previous, output, consuming, lag, POLICY) == expected
