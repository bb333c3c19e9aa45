"""Could a learned linker group the hard incident sets better than the shipped rules?

    python -m bench.linker_bench [--embedding] [--folds 5]

Every pair of emergencies of one ``hard/`` set at most ``INCIDENT_PLACE_WINDOW`` apart (3,600 s) is
described by what the rules look at (:mod:`apps.notifier.grouping`'s own checks: time apart, the
weighted word cosine, one category, one place named as a name or typed, places that conflict,
shared specific words, the scores, one chat or a reply, whether it tells of another event), and by
``--embedding`` the cosine of the two texts' sentence vectors from the shipped ``accurate`` model's
encoder (its pooled output, before the heads). A gradient-boosted classifier learns "one event"
from the pairs of the other sets (``--folds`` folds of whole sets, so no set is scored by a model
that saw it) and scores each pair; the incidents are then the connected groups of the pairs scored
over a threshold, as the tracker's are of the pairs :func:`~apps.notifier.grouping.linked` links.

It prints, pooled over the sets (pairs of reports in one incident and one event, as
``bench.notifier_bench grouping``): the tracker as shipped (reports in their written order, its
follow-up rules included), the shipped ``linked`` alone made into connected groups, and the learnt
linker at several thresholds: precision, recall, mixed incidents, incidents; and how well each pair
feature alone ranks one-event pairs (ROC AUC), the sentence vectors' within one category.
Needs the train extra (scikit-learn; onnx for ``--embedding``).
"""

from __future__ import annotations

import argparse
import os
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np

from apps.notifier.app import incident_rules
from apps.notifier.evaluation import LabelledReport, events, grouping, load_set, score
from apps.notifier.grouping import (ReportTrace, _same_named_place, _same_place, _same_proper_place, _shared_content,
                                    _specific_in_common, linked, places_conflict, similarity)
from apps.notifier.incidents import _names_something, report_trace
from apps.notifier.settings import NotifierSettings
from apps.notifier.specificity import shipped

HARD_SETS = Path(__file__).resolve().parents[1] / "tests" / "notifier" / "data" / "incidents" / "hard"
FEATURES = ("minutes apart", "word cosine", "one category", "one place", "one place as a name",
            "one place by a name", "places conflict", "shared evidence", "specific words in common",
            "shared content word", "lower emergency score", "lower category score", "one chat", "a reply",
            "how many name places", "tells of another", "shared words", "how many name something")
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97)


def traces(reports: list[LabelledReport], specificity) -> list[tuple[str, ReportTrace, str | None]]:
    """Each emergency's event, trace (as the tracker makes it) and the id of what it answers."""
    return [(labelled.event, report_trace(labelled.analysis, specificity)[0], labelled.analysis.report.reply_to)
            for labelled in reports if labelled.analysis.emergency]


def pair_features(a: ReportTrace, b: ReportTrace, a_reply: str | None, b_reply: str | None, specificity) -> list[float]:
    shared = a._word_set & b._word_set
    return [float(x) for x in (
        abs(a.at - b.at) / 60, similarity(a, b), a.category == b.category, _same_place(a, b),
        _same_proper_place(a, b), _same_named_place(a, b),
        places_conflict(a._proper_places, b._proper_places, a._names, b._names),
        len(a.evidence & b.evidence & shared), _specific_in_common(shared, specificity),
        _shared_content(a, b, shared, specificity), min(a.emergency_score, b.emergency_score),
        min(a.category_score, b.category_score), bool(a.conversation) and a.conversation == b.conversation,
        a_reply == b.report_id or b_reply == a.report_id, bool(a.places) + bool(b.places), a.another or b.another,
        len(shared), _names_something(a, specificity) + _names_something(b, specificity))]


def sentence_vectors(texts: dict[str, str]) -> dict[str, np.ndarray]:
    """The ``accurate`` encoder's pooled output per text (what its heads read), unit length."""
    from apps.analyzer.heads import embeddings
    from apps.analyzer.model import ARTIFACTS_DIR, read_manifest

    mode_dir = ARTIFACTS_DIR / "accurate"
    rows = embeddings(mode_dir, list(texts.values()), read_manifest(mode_dir)["max_tokens"])
    rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
    return dict(zip(texts, rows))


def components(ids: list[str], links: list[tuple[str, str]]) -> list[frozenset[str]]:
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        parent[find(a)] = find(b)
    groups: dict[str, set[str]] = defaultdict(set)
    for i in ids:
        groups[find(i)].add(i)
    return [frozenset(g) for g in groups.values()]


def pooled(scores) -> str:
    right, in_incident, in_event = (sum(s.pairs[k] for s in scores) for k in range(3))
    return (f"{right / max(in_incident, 1):>9.3f} {right / max(in_event, 1):>6.3f} "
            f"{sum(s.mixed_incidents for s in scores):>5} {sum(s.incidents for s in scores):>9}")


def auc(y: np.ndarray, x: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, x)) if 0 < y.sum() < len(y) else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedding", action="store_true", help="add the accurate encoder's sentence-vector cosine")
    parser.add_argument("--folds", type=int, default=5, help="folds of whole sets")
    args = parser.parse_args()
    from sklearn.ensemble import HistGradientBoostingClassifier  # the train extra

    rules = incident_rules(NotifierSettings.from_env(os.environ))
    grouping_rules, specificity = rules.grouping, shipped()
    sets = {path.stem: load_set(path) for path in sorted(HARD_SETS.glob("*.csv"))}
    pairs, rows, labels, ruled = [], [], [], []  # (set, a, b), features, one event, linked by the rules
    for name, reports in sets.items():
        for (event_a, a, reply_a), (event_b, b, reply_b) in combinations(traces(reports, specificity), 2):
            if abs(a.at - b.at) > grouping_rules.place_window_s:
                continue
            pairs.append((name, a.report_id, b.report_id))
            rows.append(pair_features(a, b, reply_a, reply_b, specificity))
            labels.append(event_a == event_b)
            ruled.append(linked(a, b, grouping_rules, specificity))
    X, y, ruled_links = np.array(rows), np.array(labels), np.array(ruled)
    names = list(FEATURES)
    if args.embedding:
        vectors = sentence_vectors({labelled.analysis.report.id: labelled.analysis.report.text
                                    for reports in sets.values() for labelled in reports if labelled.analysis.emergency})
        X = np.column_stack([X, [float(vectors[a] @ vectors[b]) for _, a, b in pairs]])
        names.append("sentence-vector cosine")
    set_of = np.array([name for name, _, _ in pairs])
    folds = [sorted(sets)[k::args.folds] for k in range(args.folds)]
    p = np.zeros(len(pairs))
    for fold in folds:
        held = np.isin(set_of, fold)
        model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=0)
        p[held] = model.fit(X[~held], y[~held]).predict_proba(X[held])[:, 1]

    print(f"{len(sets)} hard sets, {len(pairs)} pairs of emergencies at most {grouping_rules.place_window_s:g} s apart "
          f"({int(y.sum())} of one event); the shipped rules link {int((ruled_links & y).sum())} of those and "
          f"{int((ruled_links & ~y).sum())} of two events")
    print(f"{'grouping':<34} {'precision':>9} {'recall':>6} {'mixed':>5} {'incidents':>9}")
    truth = {name: events(reports) for name, reports in sets.items()}
    shipped_tracker = [score(grouping(reports, rules), truth[name]) for name, reports in sets.items()]
    print(f"{'the tracker as shipped, as written':<34} {pooled(shipped_tracker)}")

    of_set = {name: np.flatnonzero(set_of == name) for name in sets}

    def grouped(keep: np.ndarray) -> list:
        out = []
        for name, rows_of_set in of_set.items():
            ids = sorted({r for g in truth[name] for r in g})
            links = [pairs[k][1:] for k in rows_of_set if keep[k]]
            out.append(score(components(ids, links), truth[name]))
        return out

    print(f"{'linked() alone, connected':<34} {pooled(grouped(ruled_links))}")
    for t in THRESHOLDS:
        print(f"{f'learnt, p >= {t:g}':<34} {pooled(grouped(p >= t))}")
    print(f"{'learnt or linked(), p >= 0.95':<34} {pooled(grouped((p >= 0.95) | ruled_links))}")
    same_kind = X[:, FEATURES.index("one category")] == 1
    print(f"ROC AUC of one-event pairs: the learnt score {auc(y, p):.3f}; each feature alone, over all pairs / "
          f"pairs of one category:")
    for k, name in enumerate(names):
        print(f"  {name:<28} {auc(y, X[:, k]):.3f} / {auc(y[same_kind], X[same_kind, k]):.3f}")


if __name__ == "__main__":
    main()
