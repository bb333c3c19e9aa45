"""What the observer topic has said lately, kept in memory and turned into rates.

Each app reports, per interval, how many messages it produced to each target topic. A rate over a
window is, per instance, the messages it reported divided by the seconds those reports cover, then
summed over instances: window edges cut no report in half, and an instance that started or died
inside the window counts only for the time it reported.

- input rate of a service: the reports of anyone producing to its ``source_topic``;
- output rate: its own reports for its ``target_topic`` plus its dead letters (``<source>.dlq``),
  since a dead-lettered input is handled, not left behind;
- processing rate: inputs one instance handles per second of busy time, from the busy figures of
  its heartbeats (:meth:`ThroughputLedger.processing_rate`), known before any overload.

Every record is placed by ``received_at``, the controller's clock when it read the message (the
feed says which), never by the sender's ``timestamp``: a sender whose clock is off by a minute is
neither dead nor from the future.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from fogverse.contracts import Heartbeat, ServicePair, ThroughputReport

#: below this much busy time in a window, a processing rate says more about noise than the instance
MIN_BUSY_S = 0.05


@dataclass(frozen=True)
class _Sample:
    """One throughput report: ``total`` messages over ``interval_s`` seconds."""

    received_at: float
    total: int
    interval_s: float


@dataclass(frozen=True)
class _Busy:
    """One heartbeat's busy figures: ``handled`` inputs took ``busy_s`` of ``interval_s`` seconds."""

    received_at: float
    interval_s: float
    busy_s: float
    handled: int


S = TypeVar("S", _Sample, _Busy)


@dataclass
class _Series(Generic[S]):
    """One sender's records of one kind, in order of receipt."""

    samples: list[S] = field(default_factory=list)
    ids: dict[str, float] = field(default_factory=dict)  # report id ▸ received at: a report sent twice counts once

    def add(self, sample: S, report_id: str = "") -> None:
        if report_id:
            if report_id in self.ids:
                return
            self.ids[report_id] = sample.received_at
        if self.samples and sample.received_at < self.samples[-1].received_at:
            bisect.insort(self.samples, sample, key=lambda s: s.received_at)
        else:
            self.samples.append(sample)

    def between(self, start: float, end: float) -> list[S]:
        """The records received in (start, end]."""
        lo = bisect.bisect_right(self.samples, start, key=lambda s: s.received_at)
        hi = bisect.bisect_right(self.samples, end, key=lambda s: s.received_at)
        return self.samples[lo:hi]

    def window(self, start: float, end: float) -> tuple[int, float] | None:
        """(messages, seconds covered) of the reports received in (start, end]; None if none."""
        chunk = self.between(start, end)
        if not chunk:
            return None
        return sum(s.total for s in chunk), sum(s.interval_s for s in chunk)

    def prune(self, before: float) -> None:
        cut = bisect.bisect_left(self.samples, before, key=lambda s: s.received_at)
        if cut:
            del self.samples[:cut]
            self.ids = {i: at for i, at in self.ids.items() if at >= before}


class ThroughputLedger:
    """The observer topic's recent past. Pure bookkeeping: every time it holds is a ``received_at``
    its caller passed in, so windows and liveness run on the controller's clock."""

    def __init__(self, keep_s: float):
        self.keep_s = keep_s
        #: topic ▸ (service, instance) ▸ its throughput reports
        self._series: dict[str, dict[tuple[str, str], _Series[_Sample]]] = defaultdict(dict)
        self._busy: dict[str, dict[str, _Series[_Busy]]] = defaultdict(dict)  # service ▸ instance ▸ busy figures
        self._heartbeats: dict[str, dict[str, float]] = defaultdict(dict)  # service ▸ instance ▸ last received
        self._pairs: dict[str, tuple[float, ServicePair]] = {}  # service ▸ (received at, newest pair)
        self.newest: float = 0.0  # when the latest message from anyone was received: is the feed itself current?

    # ── recording ──────────────────────────────────────────────────────────────────────────

    def add_report(self, report: ThroughputReport, received_at: float) -> None:
        series = self._series[report.target_topic].setdefault((report.service, report.instance_id), _Series())
        series.add(_Sample(received_at, report.total_messages, report.interval_s), report.report_id)
        self.add_heartbeat_at(report.service, report.instance_id, received_at)

    def add_heartbeat(self, heartbeat: Heartbeat, received_at: float) -> None:
        if heartbeat.busy_s is not None and heartbeat.handled is not None and heartbeat.interval_s is not None:
            series = self._busy[heartbeat.service].setdefault(heartbeat.instance_id, _Series())
            series.add(_Busy(received_at, heartbeat.interval_s, heartbeat.busy_s, heartbeat.handled))
        self.add_heartbeat_at(heartbeat.service, heartbeat.instance_id, received_at)

    def add_heartbeat_at(self, service: str, instance: str, received_at: float) -> None:
        """A sign of life from ``instance``, received at ``received_at``."""
        seen = self._heartbeats[service]
        seen[instance] = max(seen.get(instance, received_at), received_at)
        self.newest = max(self.newest, received_at)

    def add_pair(self, pair: ServicePair, received_at: float) -> None:
        self.add_heartbeat_at(pair.service, pair.instance_id, received_at)
        known = self._pairs.get(pair.service)
        if known is None or received_at >= known[0]:
            self._pairs[pair.service] = (received_at, pair)

    def prune(self, now: float) -> None:
        horizon = now - self.keep_s
        for by_sender in [*self._series.values(), *self._busy.values()]:
            for key, series in list(by_sender.items()):
                series.prune(horizon)
                if not series.samples:
                    del by_sender[key]
        for seen in self._heartbeats.values():
            for instance in [i for i, at in seen.items() if at < horizon]:
                del seen[instance]

    # ── reading ────────────────────────────────────────────────────────────────────────────

    def pairs(self) -> list[ServicePair]:
        return [pair for _received_at, pair in self._pairs.values()]

    def rate(self, topic: str, start: float, end: float, service: str | None = None) -> float | None:
        """Messages/s produced to ``topic`` by reports received in (start, end] (by ``service`` only, if
        given); None: no reports."""
        total, reported = 0.0, False
        for (producer, _instance), series in self._series.get(topic, {}).items():
            if service is not None and producer != service:
                continue
            counted = series.window(start, end)
            if counted is None:
                continue
            messages, seconds = counted
            reported = True
            total += messages / seconds if seconds > 0 else 0.0
        return total if reported else None

    def recent_rates(self, topic: str, now: float, span_s: float, step_s: float) -> tuple[list[float], float]:
        """The rate of ``topic`` at points ``step_s`` apart over the last ``span_s``, oldest first, and
        the longest interval of the reports behind it.

        Each report stands for its rate over the seconds before its receipt. The points end at the
        newest moment every producer still reporting (one heard within 2.5 of its intervals) has
        covered, so a report not yet arrived is not taken for a drop; a producer that stopped counts
        as zero.
        """
        senders = [series.samples for series in self._series.get(topic, {}).values() if series.samples]
        longest = max((s.interval_s for samples in senders for s in samples if s.received_at > now - span_s),
                      default=0.0)
        reporting = [samples[-1].received_at for samples in senders
                     if samples[-1].received_at >= now - 2.5 * samples[-1].interval_s]
        if not reporting or step_s <= 0:
            return [], longest
        end = min(reporting)
        points = [end - k * step_s for k in range(int(span_s // step_s) - 1, -1, -1)]
        rates = []
        for at in points:
            total = 0.0
            for samples in senders:
                i = bisect.bisect_left(samples, at, key=lambda s: s.received_at)
                if i < len(samples) and samples[i].received_at - samples[i].interval_s < at \
                        and samples[i].interval_s > 0:
                    total += samples[i].total / samples[i].interval_s
            rates.append(total)
        return rates, longest

    def instance_outputs(self, topic: str, service: str, start: float, end: float) -> dict[str, float]:
        rates = {}
        for (producer, instance), series in self._series.get(topic, {}).items():
            counted = series.window(start, end) if producer == service else None
            if counted and counted[1] > 0:
                rates[instance] = counted[0] / counted[1]
        return rates

    def history(self, topic: str, end: float, window_s: float, history_s: float) -> list[float]:
        """The rate of each whole window before (end − window_s, end] within ``history_s``, oldest first.

        Windows with no report at all (before the producers existed) are left out rather than
        counted as zero traffic.
        """
        rates = []
        for k in range(int(history_s // window_s) - 1, 0, -1):
            rate = self.rate(topic, end - (k + 1) * window_s, end - k * window_s)
            if rate is not None:
                rates.append(rate)
        return rates

    def last_heartbeats(self, service: str) -> dict[str, float]:
        return dict(self._heartbeats.get(service, {}))

    def live_instances(self, service: str, now: float, timeout_s: float) -> list[str]:
        return sorted(i for i, seen in self._heartbeats.get(service, {}).items() if now - seen <= timeout_s)

    def processing_rate(self, service: str, start: float, end: float) -> float | None:
        """Inputs one instance of ``service`` handles per second of busy time, from the heartbeats
        received in (start, end] of all its instances; None: no busy figures, or too little busy
        time (under :data:`MIN_BUSY_S`) to tell."""
        handled, busy = 0, 0.0
        for series in self._busy.get(service, {}).values():
            for sample in series.between(start, end):
                handled += sample.handled
                busy += sample.busy_s
        return handled / busy if busy >= MIN_BUSY_S else None

    def utilization(self, service: str, start: float, end: float) -> dict[str, float]:
        """Per instance of ``service``, the share of the time covered by its heartbeats received in
        (start, end] that it spent busy (a batch that straddles two heartbeats counts whole in the
        second, so one interval can read a little above 1)."""
        shares = {}
        for instance, series in self._busy.get(service, {}).items():
            chunk = series.between(start, end)
            covered = sum(s.interval_s for s in chunk)
            if covered > 0:
                shares[instance] = sum(s.busy_s for s in chunk) / covered
        return shares
