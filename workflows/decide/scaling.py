"""The scaling decision: one pure function of what was measured, what the workflow knows, and the time.

Start reading here. ``decide`` answers, for one service and one evaluation, how many instances it
should run, and always says why with the numbers behind it.

**When to scale out** is the thesis's rule: the service's output falls behind its input
(``output / input`` below ``INPUT_OUTPUT_RATIO_THRESHOLD``) while a backlog exists, and the input
rate is not a spike (``z = (rate − mean) / std`` over the last ``WINDOW_MAX_SECOND`` stays below
``Z_VALUE``, for this window and the one before it, since a burst can straddle two windows). A rise
is a step, not a spike, once it lasts: when a second window holds 80 % or more of the first one's
rate, or sooner, when the input has stayed at the spike level for ``SPIKE_HOLD`` seconds (and
longer than two of its producers' reports, so one burst split over two reports never looks like a
step); a rise still short of that asks for a recheck when it will have held long enough
(``Decision.recheck_in_s``, a timer in the workflow). Never without traffic, never while a deploy
waits for its first heartbeat, never while no live instance produces anything (starting or
rebalancing), never in a cooldown.

**How many** is DS2's and the Flink autoscaler's answer, not "one more": every app reports the
seconds it spent processing, so the ``processing_rate`` of one instance (messages per busy second)
is known, and the service needs

    ceil((input rate + backlog ÷ CATCH_UP_TIME) ÷ (TARGET_UTILIZATION × processing rate))

instances, moved to in one decision. If that count is already running, the low ratio is a
transient (a rebalance, a restart) and nothing is deployed. Without busy figures (an app of an
older build) it falls back to one more. ``SCALE_OUT_RULE=plus_one`` keeps the thesis's one-more
rule for comparison.

**Caps.** ``MAX_INSTANCE``, and the source topic's partitions: an instance without a partition
sits idle (KEDA's rule), so when more are needed the partitions grow first where the broker can
(``target_partitions``, up to ``MAX_PARTITIONS``), and where it cannot the count stops at the
partitions, saying so.

**Scale in** is the HPA's stabilization: each evaluation recommends a count (computed at the lower
``SCALE_IN_UTILIZATION``, a hysteresis band), and the service scales in to the highest
recommendation of the last ``SCALE_IN_STABILIZATION`` seconds, once that whole window is covered;
only instances the controller deployed, never below ``MIN_INSTANCE``.

No I/O, no clock, no randomness: the workflow calls it with ``workflow.now()``, so it replays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from statistics import fmean, pstdev
from typing import Literal

Action = Literal["scale_out", "scale_in", "hold"]
SCALE_OUT: Action = "scale_out"
SCALE_IN: Action = "scale_in"
HOLD: Action = "hold"

ScaleOutRule = Literal["count", "plus_one"]
UNBOUNDED = 1_000_000  # "as many as allowed": what a processing rate of zero needs
#: A spike window followed by one at least this share of its rate is a lasting rise (a step).
LASTING_SHARE = 0.8


@dataclass(frozen=True)
class ScalingPolicy:
    """The thresholds, from ``ControllerSettings`` (and the service's ``deploy_configs``)."""

    ratio_threshold: float = 0.7  # INPUT_OUTPUT_RATIO_THRESHOLD
    z_value: float = 2.0  # Z_VALUE
    deploy_delay_s: float = 900.0  # DEPLOY_DELAY: cooldown after a scale out
    max_instances: int = 3  # MAX_INSTANCE
    min_instances: int = 1  # MIN_INSTANCE
    stabilization_s: float = 300.0  # SCALE_IN_STABILIZATION (the HPA's default)
    scale_in_utilization: float = 0.6  # SCALE_IN_UTILIZATION: the count scale in keeps is computed at this
    backlog_near_zero: int = 10  # BACKLOG_NEAR_ZERO: messages of lag that still count as none
    spike_tolerance: float = 0.1  # SPIKE_TOLERANCE: std floor as a share of the mean
    target_utilization: float = 0.8  # TARGET_UTILIZATION: how busy the instances scale out to
    catch_up_s: float = 60.0  # CATCH_UP_TIME: drain the backlog within this, on top of the input
    scale_in_cooldown_s: float = 60.0  # SCALE_IN_COOLDOWN: no change while the rebalance a removal causes settles
    max_partitions: int = 12  # MAX_PARTITIONS
    scale_out_rule: ScaleOutRule = "count"  # SCALE_OUT_RULE
    spike_hold_s: float = 3.0  # SPIKE_HOLD: a rise of the input that holds this long is a step, not a spike


@dataclass(frozen=True)
class Measurement:
    """What the measure activity read for one service over the last window (the measured stage)."""

    input_rate: float  # messages/s into the source topic (upstream producers' reports)
    output_rate: float  # messages/s the service handled: produced to its target topic, or dead-lettered
    input_history: list[float]  # input rate of each earlier window within WINDOW_MAX_SECOND
    lag: int | None  # consumer lag of the service's group; None: could not be measured
    live_instances: list[str]  # heartbeating within HEARTBEAT_TIMEOUT
    consuming: int  # live instances that produced output in the window
    processing_rate: float | None = None  # messages one instance handles per busy second; None: no figures
    partitions: int | None = None  # of the source topic; None: unknown
    partitions_growable: bool = False  # the broker implements CreatePartitions
    measured_at: float = 0.0  # the controller's clock
    #: the input rate at points ``recent_step_s`` apart, oldest first, up to the newest moment every
    #: producer's reports cover: how long a rise has held (empty: not measured)
    input_recent: list[float] = field(default_factory=list)
    recent_step_s: float = 0.0
    report_interval_s: float = 0.0  # the longest interval of the producers' reports in the window


@dataclass(frozen=True)
class Recommendation:
    """A count one evaluation found enough: scale in goes to the highest of the stabilization window."""

    at: float
    instances: int


@dataclass(frozen=True)
class Fleet:
    """What the service's workflow knows about its instances when it decides."""

    instances: int  # live instances plus deploys not heartbeating yet
    deploying: int = 0  # deploys still waiting for their first heartbeat
    removable: int = 0  # live instances this controller deployed (only these are scaled in)
    cooldown_until: float | None = None  # a cooldown timer runs until then
    recommendations: list[Recommendation] = field(default_factory=list)  # oldest first


@dataclass(frozen=True)
class Decision:
    """The decided stage: where the service goes, and why."""

    action: Action
    reason: str  # a short code: overloaded, enough_instances, input_spike, cooldown, no_traffic ...
    detail: str  # one sentence with the numbers, for people reading the Temporal UI
    instances: int  # how many run now (live plus deploying)
    target_instances: int  # where this decision goes (== instances when holding)
    target_partitions: int | None = None  # grow the source topic to this before deploying
    recommended: int | None = None  # the count this evaluation found enough (for scale-in stabilization)
    numbers: dict[str, float | int | str | None] = field(default_factory=dict)
    at: float = 0.0
    recheck_in_s: float | None = None  # a rise short of SPIKE_HOLD: evaluate again after this long

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
    mean, spread = _mean_and_spread(history, tolerance)
    if spread == 0:
        return 0.0 if rate <= mean else math.inf
    return (rate - mean) / spread


def _mean_and_spread(history: list[float], tolerance: float) -> tuple[float, float]:
    """The window's mean and its std floored at ``tolerance × mean`` (see :func:`spike_z`)."""
    mean = fmean(history)
    return mean, max(pstdev(history), tolerance * mean)


def rise_held(recent: list[float], step_s: float, level: float) -> float:
    """Seconds the input has stayed at or above ``level`` at the newest points of ``recent``."""
    held = 0
    for rate in reversed(recent):
        if rate < level:
            break
        held += 1
    return held * step_s


def spike_level(history: list[float], z_value: float, tolerance: float) -> float:
    """The rate whose :func:`spike_z` is ``z_value`` (infinite without history: nothing is a step yet)."""
    if not history:
        return math.inf
    mean, spread = _mean_and_spread(history, tolerance)
    return mean + z_value * spread if spread > 0 else (math.inf if mean == 0 else mean)


def instances_for(rate: float, processing_rate: float, utilization: float) -> int:
    """Instances that carry ``rate`` messages/s, each at most ``utilization`` busy (at least one)."""
    per_instance = processing_rate * utilization
    if rate <= 0:
        return 1
    if per_instance <= 0:
        return UNBOUNDED  # nothing gets done in the busy time: callers cap it
    return max(1, math.ceil(rate / per_instance - 1e-9))


def decide(m: Measurement, fleet: Fleet, policy: ScalingPolicy, now: float) -> Decision:
    ratio = m.output_rate / m.input_rate if m.input_rate > 0 else None
    z = spike_z(m.input_rate, m.input_history, policy.spike_tolerance) if m.input_rate > 0 else None
    history = m.input_history
    z_previous = spike_z(history[-1], history[:-1], policy.spike_tolerance) if len(history) >= 2 else None
    backlog = max(0, (m.lag or 0) - policy.backlog_near_zero)
    needed_rate = m.input_rate + backlog / policy.catch_up_s if policy.catch_up_s > 0 else m.input_rate
    needed = (None if m.processing_rate is None
              else instances_for(needed_rate, m.processing_rate, policy.target_utilization))
    # what this evaluation recommends for the scale-in window: what carries the input at
    # SCALE_IN_UTILIZATION (a band below TARGET_UTILIZATION, so the two never chase each other),
    # and with a backlog what drains it too; never below MIN_INSTANCE
    carry = None if m.processing_rate is None else instances_for(m.input_rate, m.processing_rate,
                                                                  policy.scale_in_utilization)
    if m.processing_rate is None and m.input_rate <= 0 and not backlog:
        carry = 0  # idle: nothing to carry
    if carry is not None and backlog:
        carry = max(carry, needed) if needed is not None else None
    keep = None if carry is None else max(policy.min_instances, carry)
    current = fleet.instances
    numbers = {
        "input_rate": round(m.input_rate, 3), "output_rate": round(m.output_rate, 3),
        "ratio": None if ratio is None else round(ratio, 3),
        "z": _rounded(z), "z_previous": _rounded(z_previous),
        "lag": m.lag, "instances": current, "deploying": fleet.deploying, "consuming": m.consuming,
        "processing_rate": None if m.processing_rate is None else round(m.processing_rate, 3),
        "needed": _rounded(needed), "keep": keep, "partitions": m.partitions,
        "history_windows": len(m.input_history),
    }

    def hold(reason: str, detail: str) -> Decision:
        return Decision(HOLD, reason, detail, current, current, None, keep, numbers, now)

    if fleet.deploying:
        return hold("deploy_in_progress", f"{fleet.deploying} deploy(s) still waiting for a first heartbeat")
    cooling = fleet.cooldown_until is not None and now < fleet.cooldown_until

    if ratio is not None and ratio < policy.ratio_threshold:
        if m.lag is not None and not backlog:
            return hold("no_backlog", f"ratio {ratio:.2f} is low but lag {m.lag} is near zero")
        if m.consuming == 0 and current > 0:
            return hold("not_consuming", f"{current} instance(s) alive but none produced output in the "
                                         "window: starting or rebalancing, not slow")
        # a rise that holds for a second window at (nearly) the level of the first is a step, not a
        # spike: a burst's second window is its tail, and tails fall off
        lasting = (z_previous is not None and z_previous >= policy.z_value and history[-1] > 0
                   and m.input_rate >= LASTING_SHARE * history[-1])
        # ... and so is one that has held SPIKE_HOLD (and more than two reports) at the spike level
        held, hold_needed = 0.0, max(policy.spike_hold_s, 2 * m.report_interval_s + m.recent_step_s)
        if m.input_recent and m.recent_step_s > 0:
            held = rise_held(m.input_recent, m.recent_step_s, spike_level(history, policy.z_value,
                                                                          policy.spike_tolerance))
            numbers["rise_held_s"] = round(held, 3)
            lasting = lasting or held >= hold_needed
        numbers["lasting_rise"] = "yes" if lasting else "no"
        if z >= policy.z_value and not lasting:
            if held > 0:  # still rising at the newest point: look again once it would have held long enough
                recheck = hold_needed - held + max(m.report_interval_s, m.recent_step_s)
                return replace(hold("input_spike", f"input {m.input_rate:.1f}/s is a spike (z {numbers['z']} ≥ "
                                                   f"{policy.z_value}) held {held:.1f} of {hold_needed:.1f} s: "
                                                   f"rechecking in {recheck:.1f} s"), recheck_in_s=recheck)
            return hold("input_spike", f"input {m.input_rate:.1f}/s is a spike (z {numbers['z']} "
                                       f"≥ {policy.z_value}); waiting to see if it lasts")
        if z_previous is not None and z_previous >= policy.z_value and not lasting:
            return hold("spike_tail", f"the window before was a spike (z {numbers['z_previous']} ≥ "
                                      f"{policy.z_value}) and this one fell to {m.input_rate:.1f}/s: its tail")
        if cooling:
            return hold("cooldown", f"ratio {ratio:.2f} but cooling down for {fleet.cooldown_until - now:.0f} s "
                                    "more after the last change")
        return _scale_out(m, current, needed, needed_rate, ratio, policy, numbers, keep, now)

    if keep is not None and keep < current:
        return _scale_in(fleet, current, keep, cooling, policy, numbers, now)
    if carry is not None and carry < current and ratio is not None:
        return hold("at_min_instances", f"{max(carry, 1)} instance(s) would do but {current} is the minimum "
                                        f"(MIN_INSTANCE={policy.min_instances})")
    if ratio is None:
        return hold("no_traffic", "no input: nothing to scale for")
    return hold("keeping_up", f"output/input {ratio:.2f} ≥ {policy.ratio_threshold}")


def _scale_out(m: Measurement, current: int, needed: int | None, needed_rate: float, ratio: float,
               policy: ScalingPolicy, numbers: dict, recommended: int | None, now: float) -> Decision:
    def hold(reason: str, detail: str) -> Decision:
        return Decision(HOLD, reason, detail, current, current, None, recommended, numbers, now)

    trigger = f"output/input {ratio:.2f} < {policy.ratio_threshold} with lag {m.lag}"
    if policy.scale_out_rule == "plus_one" or needed is None:
        target, why = current + 1, ("one more (SCALE_OUT_RULE=plus_one)" if policy.scale_out_rule == "plus_one"
                                    else "one more: the instances report no busy time")
    else:
        if needed <= current:
            return hold("enough_instances", f"{trigger}, but {current} instance(s) at "
                        f"{m.processing_rate:.1f} msgs/s each carry {needed_rate:.1f} msgs/s: a transient "
                        "(rebalance or restart), not a shortage")
        target, why = needed, (f"{needed} carry {needed_rate:.1f} msgs/s (input {m.input_rate:.1f} + backlog) "
                               f"at {policy.target_utilization:.0%} of {m.processing_rate:.1f} msgs/s each")
    limits = []
    if target > policy.max_instances:
        target = policy.max_instances
        limits.append(f"MAX_INSTANCE={policy.max_instances}")
    grow_to = None
    if m.partitions is not None and target > m.partitions:
        if m.partitions_growable and policy.max_partitions > m.partitions:
            grow_to = min(target, policy.max_partitions)
            if grow_to < target:
                limits.append(f"MAX_PARTITIONS={policy.max_partitions}")
            target = grow_to
        else:
            why_not = ("the broker cannot grow them" if not m.partitions_growable
                       else f"MAX_PARTITIONS={policy.max_partitions}")
            limits.append(f"{m.partitions} partition(s), {why_not}")
            target = m.partitions
    capped = f" (capped by {', '.join(limits)})" if limits else ""
    if target <= current:
        reason = "at_partition_cap" if limits and "partition" in limits[-1] else "at_max_instances"
        return hold(reason, f"{trigger} but already {current} instance(s){capped}: more would sit idle"
                    if reason == "at_partition_cap" else f"{trigger} but already {current} instance(s){capped}")
    grow = f"; growing the source topic to {grow_to} partitions first" if grow_to else ""
    return Decision(SCALE_OUT, "overloaded", f"{trigger}: {current} ▸ {target} instances, {why}{capped}{grow}",
                    current, target, grow_to, recommended, numbers, now)


def _scale_in(fleet: Fleet, current: int, keep: int, cooling: bool, policy: ScalingPolicy, numbers: dict,
              now: float) -> Decision:
    def hold(reason: str, detail: str) -> Decision:
        return Decision(HOLD, reason, detail, current, current, None, keep, numbers, now)

    floor = max(policy.min_instances, current - fleet.removable)
    if floor >= current:
        if policy.min_instances >= current:
            return hold("at_min_instances", f"{keep} instance(s) would do but {current} is the minimum "
                                            f"(MIN_INSTANCE={policy.min_instances})")
        return hold("nothing_removable", f"{keep} instance(s) would do but none of the {current} running was "
                                         "deployed by the controller")
    start = now - policy.stabilization_s
    recent = max([keep] + [r.instances for r in fleet.recommendations if r.at > start])
    target = max(recent, floor)
    if target >= current:
        return hold("stabilizing", f"{keep} instance(s) would do now, but {recent} were needed within the last "
                                   f"{policy.stabilization_s:.0f} s")
    covered = policy.stabilization_s <= 0 or any(r.at <= start for r in fleet.recommendations)
    if not covered:
        oldest = fleet.recommendations[0].at if fleet.recommendations else now
        return hold("stabilizing", f"{keep} instance(s) would do; low load seen for {now - oldest:.0f} of "
                                   f"{policy.stabilization_s:.0f} s")
    if cooling:
        return hold("cooldown", f"{target} instance(s) would do, but cooling down for "
                                f"{fleet.cooldown_until - now:.0f} s more after the last change")
    return Decision(SCALE_IN, "under_used", f"{target} of {current} instances carry the load of the last "
                    f"{policy.stabilization_s:.0f} s: removing {current - target}", current, target, None, keep,
                    numbers, now)


def remember(recommendations: list[Recommendation], decision: Decision, stabilization_s: float) -> list[Recommendation]:
    """The recommendations to keep after ``decision``: the window plus the newest one before it
    (which proves the window is covered). A decision without a recommendation (no figures) clears
    them: the stabilization starts again once figures return."""
    if decision.recommended is None:
        return []
    start = decision.at - stabilization_s
    kept = [r for r in recommendations if r.at > start]
    before = [r for r in recommendations if r.at <= start]
    return before[-1:] + kept + [Recommendation(decision.at, decision.recommended)]


def _rounded(value: float | int | None) -> float | int | str | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return round(value, 3) if math.isfinite(value) else "inf"
