"""Reports of one kind, close in time and text, become one incident; growth alerts sparingly.

A report joins the open incident of its category whose vocabulary holds the largest share of
the report's keywords, if that share reaches ``similarity`` and the incident was seen within
``window_s`` of the report. Otherwise it opens a new incident. An incident alerts when it opens
and again only when its count reaches one of ``alert_counts`` (5, 20, 100 ... by default), so a
burst of 200 reports about one fire sends 1 alert and 3 updates, not 200.

Time is the reports' own ``created_at``, never the clock, so replays of old data merge the way
the live stream did and the tracker is a pure function of its input.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field

from apps.notifier.keywords import keywords
from fogverse.contracts import MAX_SAMPLE_CHARS, Analysis, Incident, IncidentSample

VOCABULARY_MAX = 96  # words remembered per incident; pruned to the most frequent half beyond this
VOCABULARY_KEEP = 48
KEYWORDS_SHOWN = 6
SEEN_REPORTS_MAX = 100_000  # report ids remembered to ignore re-deliveries (the sink is at least once)


@dataclass(frozen=True)
class IncidentRules:
    window_s: float = 600.0
    similarity: float = 0.25
    alert_counts: tuple[int, ...] = (5, 20, 100, 500, 1000, 5000)
    max_incidents: int = 1000
    retention_s: float = 86400.0
    samples: int = 5


@dataclass(frozen=True)
class IncidentChange:
    """What one report did: ``incident`` is filled only when the change is an alert."""

    incident_id: str
    created: bool
    alert: bool
    incident: Incident | None = None
    level: int = 0  # the alert's level: 1 when the incident opens, else the alert count reached


@dataclass
class _OpenIncident:
    id: str
    category: str
    first_seen: float
    last_seen: float
    count: int = 0
    words: Counter = field(default_factory=Counter)
    samples: deque = field(default_factory=deque)  # the latest distinct texts; shown newest first
    max_score: float = 0.0
    sources: Counter = field(default_factory=Counter)
    alerted_count: int = 0

    def absorb(self, analysis: Analysis, words: tuple[str, ...]) -> None:
        report = analysis.report
        self.count += 1
        self.first_seen = min(self.first_seen, report.created_at)
        self.last_seen = max(self.last_seen, report.created_at)
        self.words.update(words)
        if len(self.words) > VOCABULARY_MAX:
            self.words = Counter(dict(self.words.most_common(VOCABULARY_KEEP)))
        text = _shorten(report.text)
        for same in [s for s in self.samples if s.text == text]:
            self.samples.remove(same)  # a repost shows once, as its latest copy
        self.samples.appendleft(IncidentSample(
            report_id=report.id, text=text, source=report.source,
            created_at=report.created_at, emergency_score=analysis.emergency_score,
        ))
        self.max_score = max(self.max_score, analysis.emergency_score)
        self.sources[report.source] += 1

    def state(self) -> dict:
        """Everything about it, as JSON-ready data (what the store keeps)."""
        return {"id": self.id, "category": self.category, "first_seen": self.first_seen,
                "last_seen": self.last_seen, "count": self.count, "words": dict(self.words),
                "samples": [s.model_dump(mode="json") for s in self.samples], "max_score": self.max_score,
                "sources": dict(self.sources), "alerted_count": self.alerted_count}

    @classmethod
    def from_state(cls, state: dict, samples: int) -> "_OpenIncident":
        return cls(id=state["id"], category=state["category"], first_seen=state["first_seen"],
                   last_seen=state["last_seen"], count=state["count"], words=Counter(state["words"]),
                   samples=deque((IncidentSample.model_validate(s) for s in state["samples"]), maxlen=samples),
                   max_score=state["max_score"], sources=Counter(state["sources"]),
                   alerted_count=state["alerted_count"])

    def snapshot(self) -> Incident:
        return Incident(
            id=self.id, category=self.category, count=self.count, first_seen=self.first_seen,
            last_seen=self.last_seen, keywords=[w for w, _ in self.words.most_common(KEYWORDS_SHOWN)],
            samples=sorted(self.samples, key=lambda s: s.created_at, reverse=True), max_score=self.max_score, sources=dict(self.sources),
            alerted_count=self.alerted_count,
        )


class IncidentTracker:
    """Thread-safe: the pipeline's worker thread observes, the web server's loop reads."""

    def __init__(self, rules: IncidentRules):
        self.rules = rules
        self._lock = threading.Lock()
        self._incidents: OrderedDict[str, _OpenIncident] = OrderedDict()  # least recently touched first
        self._seen_reports: OrderedDict[str, None] = OrderedDict()
        self._newest = float("-inf")
        self.ignored = 0  # analyses that were not emergencies
        self.duplicates = 0  # re-delivered reports
        self._forgotten: list[str] = []  # incidents dropped since the last take_forgotten()

    def restore(self, states: list[dict], report_ids: list[str]) -> None:
        """Load what the store kept (incidents least recently seen first) before observing anything."""
        with self._lock:
            for state in states:
                incident = _OpenIncident.from_state(state, self.rules.samples)
                self._incidents[incident.id] = incident
                self._newest = max(self._newest, incident.last_seen)
            for report_id in report_ids:
                self._remember(report_id)

    def state(self, incident_id: str) -> dict | None:
        with self._lock:
            incident = self._incidents.get(incident_id)
            return incident.state() if incident else None

    def take_forgotten(self) -> list[str]:
        """Incidents dropped (retention, memory bound) since the last call."""
        with self._lock:
            forgotten, self._forgotten = self._forgotten, []
            return forgotten

    def observe(self, analysis: Analysis) -> IncidentChange | None:
        """Fold one analysis in; None when it changes nothing (not an emergency, or seen before)."""
        if not analysis.emergency:
            with self._lock:
                self.ignored += 1
            return None
        report = analysis.report
        words = keywords(report.text)
        category = analysis.category or "other"
        with self._lock:
            if report.id in self._seen_reports:
                self.duplicates += 1
                return None
            self._remember(report.id)
            incident = self._best_match(category, words, report.created_at)
            created = incident is None
            if created:
                incident = _OpenIncident(id=uuid.uuid4().hex[:12], category=category,
                                         first_seen=report.created_at, last_seen=report.created_at,
                                         samples=deque(maxlen=self.rules.samples))
                self._incidents[incident.id] = incident
            incident.absorb(analysis, words)
            self._incidents.move_to_end(incident.id)
            alert = created or self._reached_alert_count(incident)
            if alert:
                incident.alerted_count = incident.count
            change = IncidentChange(incident.id, created, alert, incident.snapshot() if alert else None,
                                    incident.count if alert else 0)
            self._newest = max(self._newest, report.created_at)
            self._forget_old()
            return change

    def incidents(self, category: str | None = None) -> list[Incident]:
        """Incidents, most recently seen first."""
        with self._lock:
            chosen = [i for i in self._incidents.values() if category is None or i.category == category]
            return [i.snapshot() for i in sorted(chosen, key=lambda i: i.last_seen, reverse=True)]

    def get(self, incident_id: str) -> Incident | None:
        with self._lock:
            incident = self._incidents.get(incident_id)
            return incident.snapshot() if incident else None

    def __len__(self) -> int:
        return len(self._incidents)

    def _best_match(self, category: str, words: tuple[str, ...], at: float) -> _OpenIncident | None:
        best, best_share = None, -1.0
        for incident in reversed(self._incidents.values()):  # most recently touched first
            if incident.category != category:
                continue
            if at > incident.last_seen + self.rules.window_s or at < incident.first_seen - self.rules.window_s:
                continue
            if not words:
                return incident  # a report with no content words joins the latest of its kind
            share = sum(1 for w in words if w in incident.words) / len(words)
            if share >= self.rules.similarity and share > best_share:
                best, best_share = incident, share
        return best

    def _reached_alert_count(self, incident: _OpenIncident) -> bool:
        return any(incident.alerted_count < n <= incident.count for n in self.rules.alert_counts)

    def _remember(self, report_id: str) -> None:
        self._seen_reports[report_id] = None
        if len(self._seen_reports) > SEEN_REPORTS_MAX:
            self._seen_reports.popitem(last=False)

    def _forget_old(self) -> None:
        horizon = self._newest - self.rules.retention_s
        while self._incidents:
            oldest = next(iter(self._incidents.values()))
            if len(self._incidents) > self.rules.max_incidents or oldest.last_seen < horizon:
                forgotten, _ = self._incidents.popitem(last=False)
                self._forgotten.append(forgotten)
            else:
                break


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SAMPLE_CHARS else text[:MAX_SAMPLE_CHARS - 1] + "…"
