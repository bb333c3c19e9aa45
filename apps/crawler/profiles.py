"""Load profiles: how many messages should have been sent ``t`` seconds into a replay.

Pure arithmetic (no clock), so the schedule can be checked exactly; the replay loop compares
``sent_by(elapsed)`` with what it has sent and catches up.

- constant: ``rate`` messages per second.
- ramp: from ``ramp_from`` to ``rate`` linearly over ``ramp_duration_s``, then ``rate``.
- burst (the thesis's USE_SPAM): ``rate``, except for spikes of ``burst_duration_s`` at
  ``burst_multiplier`` × ``rate`` (SPAM_RATE × CRAWLER_RATE), the first after ``burst_start_s``, then
  every ``burst_period_s`` (0: one spike only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PROFILES = ("constant", "ramp", "burst")


@dataclass(frozen=True)
class LoadProfile:
    kind: str
    rate: float
    ramp_from: float = 0.0
    ramp_duration_s: float = 0.0
    burst_multiplier: float = 1.0
    burst_start_s: float = 0.0
    burst_duration_s: float = 0.0
    burst_period_s: float = 0.0

    def __post_init__(self):
        if self.kind not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {self.kind!r}")
        if min(self.rate, self.ramp_from, self.ramp_duration_s, self.burst_start_s, self.burst_duration_s,
               self.burst_period_s) < 0 or self.burst_multiplier < 1:
            raise ValueError("rates and durations must not be negative; the burst multiplier is at least 1")
        if self.burst_period_s and self.burst_period_s < self.burst_duration_s:
            raise ValueError("a burst period must be at least the burst duration (spikes cannot overlap)")

    def rate_at(self, t: float) -> float:
        if self.kind == "ramp" and t < self.ramp_duration_s:
            return self.ramp_from + (self.rate - self.ramp_from) * t / self.ramp_duration_s
        if self.kind == "burst" and self.in_burst(t):
            return self.rate * self.burst_multiplier
        return self.rate

    def sent_by(self, t: float) -> float:
        """Messages due in [0, t): the integral of :meth:`rate_at`."""
        t = max(t, 0.0)
        if self.kind == "ramp":
            ramp = min(t, self.ramp_duration_s)
            slope = (self.rate - self.ramp_from) / self.ramp_duration_s if self.ramp_duration_s else 0.0
            return self.ramp_from * ramp + slope * ramp * ramp / 2 + self.rate * (t - ramp)
        if self.kind == "burst":
            return self.rate * t + self.rate * (self.burst_multiplier - 1) * self._burst_time_by(t)
        return self.rate * t

    def in_burst(self, t: float) -> bool:
        if self.kind != "burst" or t < self.burst_start_s:
            return False
        into = t - self.burst_start_s
        if self.burst_period_s:
            into %= self.burst_period_s
        return into < self.burst_duration_s

    def phase(self, t: float) -> str:
        if self.kind == "ramp":
            return "ramping" if t < self.ramp_duration_s else "steady"
        return "burst" if self.in_burst(t) else "steady"

    def _burst_time_by(self, t: float) -> float:
        """Seconds of [0, t) spent inside spikes."""
        if t <= self.burst_start_s:
            return 0.0
        into = t - self.burst_start_s
        if not self.burst_period_s:
            return min(into, self.burst_duration_s)
        whole = math.floor(into / self.burst_period_s)
        return whole * self.burst_duration_s + min(into - whole * self.burst_period_s, self.burst_duration_s)
