"""Load profiles: how many messages are due when. Pure arithmetic, checked exactly."""

from __future__ import annotations

import pytest

from apps.crawler.profiles import LoadProfile

CONSTANT = LoadProfile("constant", rate=20)
RAMP = LoadProfile("ramp", rate=100, ramp_from=10, ramp_duration_s=10)
ONE_SPIKE = LoadProfile("burst", rate=20, burst_multiplier=10, burst_start_s=5, burst_duration_s=2)
SPIKES = LoadProfile("burst", rate=20, burst_multiplier=3, burst_start_s=1, burst_duration_s=1, burst_period_s=4)


@pytest.mark.parametrize("profile, t, due", [
    (CONSTANT, 0, 0), (CONSTANT, 1.5, 30), (CONSTANT, 60, 1200),
    (RAMP, 0, 0), (RAMP, 10, 10 * 10 + 90 * 10 / 2), (RAMP, 5, 10 * 5 + 9 * 25 / 2), (RAMP, 12, 550 + 200),
    (ONE_SPIKE, 5, 100), (ONE_SPIKE, 6, 100 + 200), (ONE_SPIKE, 7, 100 + 400), (ONE_SPIKE, 10, 500 + 60),
    (SPIKES, 1, 20), (SPIKES, 2, 40 + 20 * 2), (SPIKES, 5, 100 + 40), (SPIKES, 6, 120 + 80), (SPIKES, 9, 180 + 80), (SPIKES, 9.5, 190 + 100),
])
def test_messages_due_by_a_time(profile, t, due):
    assert profile.sent_by(t) == pytest.approx(due)


@pytest.mark.parametrize("profile, t, rate, phase", [
    (CONSTANT, 3, 20, "steady"),
    (RAMP, 5, 55, "ramping"), (RAMP, 11, 100, "steady"),
    (ONE_SPIKE, 4.9, 20, "steady"), (ONE_SPIKE, 5, 200, "burst"), (ONE_SPIKE, 7, 20, "steady"),
    (SPIKES, 5.5, 60, "burst"), (SPIKES, 6.5, 20, "steady"), (SPIKES, 9.2, 60, "burst"),
])
def test_rate_and_phase_at_a_time(profile, t, rate, phase):
    assert profile.rate_at(t) == pytest.approx(rate)
    assert profile.phase(t) == phase


def test_a_ramp_of_no_duration_is_the_constant_rate():
    assert LoadProfile("ramp", rate=50, ramp_from=1, ramp_duration_s=0).sent_by(2) == 100


@pytest.mark.parametrize("kwargs, error", [
    ({"kind": "wave", "rate": 1}, "profile must be one of"),
    ({"kind": "constant", "rate": -1}, "must not be negative"),
    ({"kind": "burst", "rate": 1, "burst_multiplier": 0.5}, "at least 1"),
    ({"kind": "burst", "rate": 1, "burst_duration_s": 5, "burst_period_s": 2}, "cannot overlap"),
])
def test_impossible_profiles_are_refused(kwargs, error):
    with pytest.raises(ValueError, match=error):
        LoadProfile(**kwargs)
