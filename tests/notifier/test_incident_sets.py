"""On interleaved reports of several events plus look-alikes: one incident per event, in any order."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.analyzer.model import EmergencyModel
from apps.notifier.evaluation import events, grouping, judged_by, load_set, score, shuffled

SETS = sorted((Path(__file__).parent / "data" / "incidents").glob("*.csv"))
ORDERS = range(6)  # 0: as written; others: shuffled arrivals


def test_there_are_several_sets_with_events_and_look_alikes():
    assert len(SETS) >= 4
    for path in SETS:
        reports = load_set(path)
        real = {r.event for r in reports if not r.event.startswith("look-")}
        look_alikes = {r.event for r in reports if r.event.startswith("look-")}
        assert len(real) >= 4 and len(look_alikes) >= 4, path.name
        assert any(not r.analysis.emergency for r in reports), f"{path.name} has no chatter look-alike"


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.stem)
@pytest.mark.parametrize("order", ORDERS)
def test_each_event_is_exactly_one_incident_and_no_incident_mixes_two(path, order):
    reports = load_set(path)
    predicted = grouping(shuffled(reports, order))
    label = {r.analysis.report.id: r.event for r in reports}
    assert {frozenset(label[r] for r in g) for g in predicted if len({label[r] for r in g}) > 1} == set(), \
        "incidents mixing events"
    assert sorted(sorted(label[r] for r in g) for g in predicted) == sorted(
        sorted(label[r] for r in g) for g in events(reports))
    assert score(predicted, events(reports)).precision == 1.0


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.stem)
def test_the_grouping_does_not_depend_on_the_arrival_order(path):
    reports = load_set(path)
    assert len({tuple(grouping(shuffled(reports, order))) for order in ORDERS}) == 1


@pytest.mark.parametrize("predicted, truth, precision, recall, pairs, split, mixed", [
    ([{"a", "b", "c"}], [{"a", "b", "c"}], 1.0, 1.0, (3, 3, 3), 0, 0),
    ([{"a", "b"}, {"c"}], [{"a", "b", "c"}], 1.0, 1 / 3, (1, 1, 3), 1, 0),
    ([{"a", "b", "x"}], [{"a", "b"}, {"x"}], 1 / 3, 1.0, (1, 3, 1), 0, 1),
])
def test_pairwise_scores_count_the_pairs_they_come_from(predicted, truth, precision, recall, pairs, split, mixed):
    s = score([frozenset(g) for g in predicted], [frozenset(g) for g in truth])
    assert (s.precision, s.recall, s.pairs, s.split_events, s.mixed_incidents) == (precision, recall, pairs, split, mixed)


def test_shuffled_arrivals_keep_each_chats_order_as_the_broker_does():
    (path,) = [p for p in SETS if p.stem.startswith("chats_")]
    reports = load_set(path)
    assert any(r.analysis.report.reply_to for r in reports) and any(r.analysis.report.channel_id for r in reports)

    def by_chat(order):
        chats: dict[str, list[str]] = {}
        for r in order:
            if r.analysis.report.channel_id:
                chats.setdefault(f"{r.analysis.report.source}:{r.analysis.report.channel_id}", []).append(
                    r.analysis.report.id)
        return chats

    orders = [shuffled(reports, order) for order in ORDERS]
    assert all(by_chat(order) == by_chat(reports) for order in orders)
    assert len({tuple(r.analysis.report.id for r in order) for order in orders}) == len(orders), "arrivals differ"


def test_a_set_judged_by_the_shipped_analyzer_carries_its_verdicts_and_keeps_the_events():
    reports = load_set(SETS[0])
    model = EmergencyModel.load("fast")
    judged = judged_by(reports, model.predict, model.version)
    verdicts = model.predict([r.analysis.report.text for r in reports])
    assert [(j.event, j.analysis.report) for j in judged] == [(r.event, r.analysis.report) for r in reports]
    assert [(j.analysis.emergency, j.analysis.category, j.analysis.emergency_score) for j in judged] == [
        (v.emergency, v.category, v.emergency_score) for v in verdicts]
    assert {j.analysis.model_version for j in judged} == {model.version}
    missed = {j.analysis.report.id for j in judged if not j.analysis.emergency}
    assert missed == {r.analysis.report.id for r, v in zip(reports, verdicts) if not v.emergency}
    assert not missed & set().union(*events(judged)), "a report the analyzer let pass is in no event"
    # the written verdicts are not the model's: the two groupings are measured apart
    assert any((r.analysis.emergency, r.analysis.category) != (j.analysis.emergency, j.analysis.category)
               for r, j in zip(reports, judged))


def test_judging_needs_one_verdict_per_report():
    reports = load_set(SETS[0])
    with pytest.raises(ValueError, match="verdicts for"):
        judged_by(reports, lambda texts: EmergencyModel.load("fast").predict(texts[1:]), "fast")
