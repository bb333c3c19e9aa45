"""How well reports are grouped into incidents, on sets of reports whose real events are known.

A set (a CSV, see ``tests/notifier/data/incidents/README.md``) is fed to a fresh tracker in a
given order; the incidents it ends with are compared to the events:
- pairwise precision: of the pairs of reports put in one incident, the share about one event;
- pairwise recall: of the pairs of reports about one event, the share put in one incident;
- split events (in more than one incident) and mixed incidents (holding two events).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Callable, Protocol

from apps.notifier.incidents import IncidentRules, IncidentTracker, conversation
from fogverse.contracts import Analysis, Report

T0 = 1_700_000_000.0


@dataclass(frozen=True)
class LabelledReport:
    event: str
    analysis: Analysis


def load_set(path: Path) -> list[LabelledReport]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    reports = []
    for i, row in enumerate(rows):
        emergency = bool(row["category"])
        # optional columns: ``id`` (a name replies use), ``channel`` (the chat it was written in) and
        # ``reply_to`` (the id of the row it answers)
        tag, channel, reply_to = row.get("id") or f"{i:03d}", row.get("channel") or None, row.get("reply_to") or None
        report = Report(id=f"{path.stem}-{tag}", text=row["text"], source=row["source"], channel_id=channel,
                        reply_to=f"{path.stem}-{reply_to}" if reply_to else None,
                        created_at=T0 + float(row["minute"]) * 60)
        reports.append(LabelledReport(row["event"], Analysis(
            report=report, emergency=emergency, emergency_score=float(row["emergency_score"]),
            category=row["category"] or None, category_score=float(row["category_score"]) if emergency else None,
            model_version="incident-set")))
    return reports


class Verdict(Protocol):
    """What an analyzer says of one text (``apps.analyzer.model.Prediction`` is one)."""

    emergency: bool
    emergency_score: float
    category: str | None
    category_score: float | None


def judged_by(reports: list[LabelledReport], predict: Callable[[list[str]], list[Verdict]],
              model_version: str) -> list[LabelledReport]:
    """The set with an analyzer's own verdicts in place of the written ones: the grouping as a user
    gets it, with that analyzer's misses, false alarms, wrong categories and scores. A report the
    analyzer does not call an emergency is in no event; a look-alike it does call one is its own."""
    verdicts = predict([labelled.analysis.report.text for labelled in reports])
    if len(verdicts) != len(reports):
        raise ValueError(f"{len(verdicts)} verdicts for {len(reports)} reports")
    return [LabelledReport(labelled.event, Analysis(
        report=labelled.analysis.report, emergency=verdict.emergency, emergency_score=verdict.emergency_score,
        category=verdict.category if verdict.emergency else None,
        category_score=verdict.category_score if verdict.emergency else None, model_version=model_version))
        for labelled, verdict in zip(reports, verdicts)]


def shuffled(reports: list[LabelledReport], seed: int) -> list[LabelledReport]:
    """The set in another arrival order (seed 0: as written). The messages of one chat keep their
    order, as they do on the broker: the bots publish a channel's messages under its key."""
    if seed == 0:
        return list(reports)
    order = list(reports)
    random.Random(seed).shuffle(order)
    written: dict[str, list[LabelledReport]] = {}
    for labelled in reports:
        if chat := conversation(labelled.analysis):
            written.setdefault(chat, []).append(labelled)
    arrived = {chat: iter(messages) for chat, messages in written.items()}
    return [next(arrived[chat]) if (chat := conversation(r.analysis)) else r for r in order]


def grouping(reports: list[LabelledReport], rules: IncidentRules | None = None) -> list[frozenset[str]]:
    """The incidents a fresh tracker makes of ``reports`` (in this order), as sets of report ids."""
    tracker = IncidentTracker(rules or IncidentRules())
    incident_of: dict[str, str] = {}
    for labelled in reports:
        change = tracker.observe(labelled.analysis)
        if change is None:
            continue
        for report_id, incident_id in incident_of.items():
            if incident_id in change.absorbed:
                incident_of[report_id] = change.incident_id
        incident_of[labelled.analysis.report.id] = change.incident_id
    groups: dict[str, set[str]] = {}
    for report_id, incident_id in incident_of.items():
        groups.setdefault(incident_id, set()).add(report_id)
    return sorted((frozenset(g) for g in groups.values()), key=sorted)


def events(reports: list[LabelledReport]) -> list[frozenset[str]]:
    """The true grouping of the emergencies: report ids by event."""
    by_event: dict[str, set[str]] = {}
    for labelled in reports:
        if labelled.analysis.emergency:
            by_event.setdefault(labelled.event, set()).add(labelled.analysis.report.id)
    return sorted((frozenset(g) for g in by_event.values()), key=sorted)


@dataclass(frozen=True)
class GroupingScore:
    precision: float
    recall: float
    incidents: int
    events: int
    split_events: int
    mixed_incidents: int
    pairs: tuple[int, int, int] = (0, 0, 0)  # pairs in one incident and one event, in one incident, in one event


def score(predicted: list[frozenset[str]], truth: list[frozenset[str]]) -> GroupingScore:
    event_of = {r: i for i, group in enumerate(truth) for r in group}
    incident_of = {r: i for i, group in enumerate(predicted) for r in group}
    same_incident = {frozenset(p) for g in predicted for p in combinations(sorted(g), 2)}
    same_event = {frozenset(p) for g in truth for p in combinations(sorted(g), 2)}
    both = len(same_incident & same_event)
    return GroupingScore(
        precision=both / len(same_incident) if same_incident else 1.0,
        recall=both / len(same_event) if same_event else 1.0,
        incidents=len(predicted), events=len(truth),
        split_events=sum(1 for g in truth if len({incident_of.get(r) for r in g}) > 1),
        mixed_incidents=sum(1 for g in predicted if len({event_of.get(r) for r in g}) > 1),
        pairs=(both, len(same_incident), len(same_event)),
    )
