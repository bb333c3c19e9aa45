"""The scaling decision: one pure function of numbers, settings and the time the workflow passes in.

Start reading here. ``decide`` answers, for one service and one evaluation, whether to deploy
one more instance, remove one, or hold, and always says why with the numbers behind it:

- **scale out** when the service's output falls behind its input (``output / input`` below
  ``INPUT_OUTPUT_RATIO_THRESHOLD``) while a backlog exists, and the input rate is not a spike
  (``z = (rate − mean) / std`` over the last ``WINDOW_MAX_SECOND`` stays below ``Z_VALUE``, for
  this window and the one before it, since a burst can straddle two windows and leave a tail);
  never without traffic, never above the maximum, never within ``DEPLOY_DELAY`` of a deploy,
  never while a deploy is still waiting for its first heartbeat, never while no live instance is
  producing anything (they are starting or rebalancing: more instances would only add to that).
- **scale in** when output keeps up, the backlog is near zero and the instances left would be
  at most ``SCALE_IN_UTILIZATION`` busy, continuously for ``SCALE_IN_STABILIZATION`` seconds;
  one instance at a time, never below the minimum, only instances the controller deployed.

No I/O, no clock, no randomness: the workflow calls it with ``workflow.now()``, so it replays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import fmean, pstdev

SCALE_OUT = "scale_out"
SCALE_IN = "scale_in"
HOLD = "hold"


@dataclass(frozen=True)
class ScalingPolicy:
    """The thresholds, from ``ControllerSettings`` (and the service's ``deploy_configs``)."""

    ratio_threshold: float = 0.7  # INPUT_OUTPUT_RATIO_THRESHOLD
    z_value: float = 2.0  # Z_VALUE
    deploy_delay_s: float = 900.0  # DEPLOY_DELAY: cooldown after a deploy
    max_instances: int = 3  # MAX_INSTANCE
    min_instances: int = 1  # MIN_INSTANCE
    stabilization_s: float = 300.0  # SCALE_IN_STABILIZATION (the HPA's default)
    scale_in_utilization: float = 0.6  # SCALE_IN_UTILIZATION
    backlog_near_zero: int = 10  # BACKLOG_NEAR_ZERO: messages of lag that still count as none
    spike_tolerance: float = 0.1  # SPIKE_TOLERANCE: std floor as a share of the mean


@dataclass(frozen=True)
class Observation:
    """What was measured for one service over the last window, plus what the workflow knows."""

    input_rate: float  # messages/s into the source topic (upstream producers' reports)
    output_rate: float  # messages/s the service produced to its target topic
    input_history: list[float]  # input rate of each earlier window within WINDOW_MAX_SECOND
    lag: int | None  # consumer lag of the service's group; None: could not be measured
    instances: int  # heartbeating instances plus deploys not yet heartbeating
    deploying: int  # deploys still waiting for their first heartbeat
    removable: int  # running instances this controller deployed (only these are scaled in)
    capacity_per_instance: float | None  # msgs/s one instance was seen doing while saturated
    last_deploy_at: float | None  # unix seconds
    low_load_since: float | None  # unix seconds; when the scale-in conditions started holding
    consuming: int | None = None  # live instances that produced output in the window; None: unknown


@dataclass(frozen=True)
class Decision:
    action: str  # scale_out | scale_in | hold
    reason: str  # a short code: overloaded, input_spike, cooldown, no_traffic ...
    detail: str  # one sentence with the numbers, for people reading the Temporal UI
    numbers: dict[str, float | int | str | None] = field(default_factory=dict)
    low_load_since: float | None = None  # carried to the next evaluation
    at: float = 0.0

    def summary(self) -> str:
        return f"{self.action}: {self.reason}"


def spike_z(rate: float, history: list[float], tolerance: float) -> float:
    """How many standard deviations ``rate`` sits above the window's mean.

    The std is floored at ``tolerance × mean``, so a perfectly flat history (std = 0) does not
    make every small wobble an infinite spike; a flat zero history makes any traffic infinite.
    With no history at all a spike cannot be told from a trend, so it counts as one.
    """
    if not history:
        return math.inf
    mean = fmean(history)
    spread = max(pstdev(history), tolerance * mean)
    if spread == 0:
        return 0.0 if rate <= mean else math.inf
    return (rate - mean) / spread


def decide(obs: Observation, policy: ScalingPolicy, now: float) -> Decision:
    ratio = obs.output_rate / obs.input_rate if obs.input_rate > 0 else None
    z = spike_z(obs.input_rate, obs.input_history, policy.spike_tolerance) if obs.input_rate > 0 else None
    history = obs.input_history
    z_previous = spike_z(history[-1], history[:-1], policy.spike_tolerance) if len(history) >= 2 else None
    numbers = {
        "input_rate": round(obs.input_rate, 3), "output_rate": round(obs.output_rate, 3),
        "ratio": None if ratio is None else round(ratio, 3),
        "z": _rounded(z), "z_previous": _rounded(z_previous),
        "lag": obs.lag, "instances": obs.instances, "deploying": obs.deploying,
        "capacity_per_instance": None if obs.capacity_per_instance is None else round(obs.capacity_per_instance, 3),
        "history_windows": len(obs.input_history), "consuming": obs.consuming,
    }

    def hold(reason: str, detail: str, low_load_since: float | None = None) -> Decision:
        return Decision(HOLD, reason, detail, numbers, low_load_since, now)

    if obs.deploying:
        return hold("deploy_in_progress", f"{obs.deploying} deploy(s) still waiting for a first heartbeat")

    backlog = obs.lag is None or obs.lag > policy.backlog_near_zero
    if ratio is not None and ratio < policy.ratio_threshold:
        if not backlog:
            return hold("no_backlog", f"ratio {ratio:.2f} is low but lag {obs.lag} is near zero")
        if obs.consuming == 0 and obs.instances > 0:
            return hold("not_consuming", f"{obs.instances} instance(s) alive but none produced output in the "
                                         "window: starting or rebalancing, not slow")
        if z >= policy.z_value:
            return hold("input_spike", f"input {obs.input_rate:.1f}/s is a spike (z {numbers['z']} "
                                       f"≥ {policy.z_value}); waiting to see if it lasts")
        if z_previous is not None and z_previous >= policy.z_value:
            return hold("spike_tail", f"the window before was a spike (z {numbers['z_previous']} ≥ "
                                      f"{policy.z_value}); this may be its tail")
        if obs.instances >= policy.max_instances:
            return hold("at_max_instances", f"ratio {ratio:.2f} but already {obs.instances} of "
                                            f"{policy.max_instances} instances")
        if obs.last_deploy_at is not None and now - obs.last_deploy_at < policy.deploy_delay_s:
            left = policy.deploy_delay_s - (now - obs.last_deploy_at)
            return hold("cooldown", f"ratio {ratio:.2f} but the last deploy was {now - obs.last_deploy_at:.0f} s "
                                    f"ago ({left:.0f} s of cooldown left)")
        return Decision(SCALE_OUT, "overloaded", f"output/input {ratio:.2f} < {policy.ratio_threshold} "
                        f"with lag {obs.lag}: deploying instance {obs.instances + 1}", numbers, None, now)

    if _under_used(obs, policy):
        if obs.instances > policy.min_instances and obs.removable > 0:
            since = obs.low_load_since if obs.low_load_since is not None else now
            if now - since < policy.stabilization_s:
                return hold("stabilizing", f"low load for {now - since:.0f} of {policy.stabilization_s:.0f} s "
                                           "before removing an instance", since)
            return Decision(SCALE_IN, "under_used", f"low load for {now - since:.0f} s: removing one of "
                            f"{obs.instances} instances", numbers, None, now)
        if ratio is not None and obs.instances <= policy.min_instances:
            return hold("at_min_instances", f"load is low but {obs.instances} instance(s) is the minimum")
        if ratio is not None:
            return hold("nothing_removable", "load is low but no running instance was deployed by the controller")

    if ratio is None:
        return hold("no_traffic", "no input: nothing to scale for")
    return hold("keeping_up", f"output/input {ratio:.2f} ≥ {policy.ratio_threshold}")


def _rounded(value: float | None) -> float | str | None:
    if value is None:
        return None
    return round(value, 3) if math.isfinite(value) else "inf"


def _under_used(obs: Observation, policy: ScalingPolicy) -> bool:
    """The other instances could carry the input at most ``scale_in_utilization`` busy."""
    if obs.lag is not None and obs.lag > policy.backlog_near_zero:
        return False
    if obs.input_rate <= 0:
        return True
    if obs.output_rate / obs.input_rate < policy.ratio_threshold or obs.capacity_per_instance is None:
        return False  # without a measured capacity only an idle service is known to be over-provisioned
    remaining = obs.instances - 1
    return obs.input_rate <= policy.scale_in_utilization * obs.capacity_per_instance * remaining


def estimate_capacity(previous: float | None, output_rate: float, consuming_instances: int,
                      lag: int | None, policy: ScalingPolicy) -> float | None:
    """Per-instance throughput, learned while a backlog keeps every instance busy."""
    if lag is None or lag <= policy.backlog_near_zero or consuming_instances <= 0 or output_rate <= 0:
        return previous
    observed = output_rate / consuming_instances
    return observed if previous is None else max(previous, observed)
