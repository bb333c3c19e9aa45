"""What the observer topic has said lately, kept in memory and turned into rates.

Each app reports, per interval, how many messages it produced to each target topic. A rate over a
window is, per instance, the messages it reported divided by the seconds those reports cover, then
summed over instances: window edges cut no report in half, and an instance that started or died
inside the window counts only for the time it reported.

- input rate of a service: the reports of anyone producing to its ``source_topic``;
- output rate: its own reports for its ``target_topic`` plus its dead letters (``<source>.dlq``),
  since a dead-lettered input is handled, not left behind.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field

from fogverse.contracts import Heartbeat, ServicePair, ThroughputReport


@dataclass
class _Sample:
    timestamp: float
    total: int
    interval_s: float
    report_id: str = ""


@dataclass
class _Series:
    """One (producer service, instance, target topic)'s reports, in timestamp order."""

    samples: list[_Sample] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)  # report ids held, so a report sent twice counts once

    def add(self, sample: _Sample) -> None:
        if sample.report_id:
            if sample.report_id in self.ids:
                return
            self.ids.add(sample.report_id)
        if self.samples and sample.timestamp < self.samples[-1].timestamp:
            bisect.insort(self.samples, sample, key=lambda s: s.timestamp)
        else:
            self.samples.append(sample)

    def window(self, start: float, end: float) -> tuple[int, float] | None:
        """(messages, seconds covered) of the reports stamped in (start, end]; None if none."""
        lo = bisect.bisect_right(self.samples, start, key=lambda s: s.timestamp)
        hi = bisect.bisect_right(self.samples, end, key=lambda s: s.timestamp)
        if lo >= hi:
            return None
        chunk = self.samples[lo:hi]
        return sum(s.total for s in chunk), sum(s.interval_s for s in chunk)

    def prune(self, before: float) -> None:
        cut = bisect.bisect_left(self.samples, before, key=lambda s: s.timestamp)
        if cut:
            self.ids.difference_update(s.report_id for s in self.samples[:cut])
            del self.samples[:cut]


class ThroughputLedger:
    def __init__(self, keep_s: float):
        self.keep_s = keep_s
        self._series: dict[str, dict[tuple[str, str], _Series]] = defaultdict(dict)  # topic ▸ (service, instance)
        self._heartbeats: dict[str, dict[str, float]] = defaultdict(dict)  # service ▸ instance ▸ last seen
        self._pairs: dict[str, ServicePair] = {}
        self.newest: float = 0.0  # the latest timestamp heard from anyone: is the feed itself current?

    # ── recording ──────────────────────────────────────────────────────────────────────────

    def add_report(self, report: ThroughputReport) -> None:
        series = self._series[report.target_topic].setdefault((report.service, report.instance_id), _Series())
        series.add(_Sample(report.timestamp, report.total_messages, report.interval_s, report.report_id))
        self.add_heartbeat_at(report.service, report.instance_id, report.timestamp)

    def add_heartbeat(self, heartbeat: Heartbeat) -> None:
        self.add_heartbeat_at(heartbeat.service, heartbeat.instance_id, heartbeat.timestamp)

    def add_heartbeat_at(self, service: str, instance: str, timestamp: float) -> None:
        seen = self._heartbeats[service]
        seen[instance] = max(seen.get(instance, timestamp), timestamp)
        self.newest = max(self.newest, timestamp)

    def add_pair(self, pair: ServicePair) -> None:
        self.add_heartbeat_at(pair.service, pair.instance_id, pair.timestamp)
        known = self._pairs.get(pair.service)
        if known is None or pair.timestamp >= known.timestamp:
            self._pairs[pair.service] = pair

    def prune(self, now: float) -> None:
        horizon = now - self.keep_s
        for by_instance in self._series.values():
            for key, series in list(by_instance.items()):
                series.prune(horizon)
                if not series.samples:
                    del by_instance[key]
        for seen in self._heartbeats.values():
            for instance in [i for i, at in seen.items() if at < horizon]:
                del seen[instance]

    # ── reading ────────────────────────────────────────────────────────────────────────────

    def pairs(self) -> list[ServicePair]:
        return list(self._pairs.values())

    def rate(self, topic: str, start: float, end: float, service: str | None = None) -> float | None:
        """Messages/s produced to ``topic`` in (start, end] (by ``service`` only, if given); None: no reports."""
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
