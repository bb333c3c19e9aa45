"""How a threshold (and the accurate blend) is chosen: tweet F1 first, within a tolerance the
hand-written messages judged right (a pure function, table tests)."""

import numpy as np
import pytest

from apps.analyzer.training import OperatingPoint, choose_operating_point, operating_points


def point(threshold, f1, written, weight=0.0):
    return OperatingPoint(fast_weight=weight, threshold=threshold, f1=f1, written_accuracy=written)


@pytest.mark.parametrize(
    ("points", "tolerance", "chosen"),
    [
        # within the tolerance of the best F1, the most hand-written messages right wins
        ([point(0.40, 0.800, 0.85), point(0.50, 0.795, 0.90)], 0.01, 0.50),
        # a point further below the best F1 than the tolerance is out, however good on written
        ([point(0.40, 0.800, 0.85), point(0.60, 0.780, 0.99)], 0.01, 0.40),
        # exactly at the tolerance's edge counts as within
        ([point(0.40, 0.800, 0.85), point(0.55, 0.790, 0.88)], 0.01, 0.55),
        # with no tolerance it is the best F1 alone
        ([point(0.40, 0.800, 0.85), point(0.50, 0.799, 0.95)], 0.0, 0.40),
        # equal on written: the higher F1
        ([point(0.45, 0.796, 0.90), point(0.50, 0.799, 0.90)], 0.01, 0.50),
        # equal on both: the threshold nearest 0.5
        ([point(0.44, 0.80, 0.90), point(0.53, 0.80, 0.90), point(0.58, 0.80, 0.90)], 0.01, 0.53),
    ],
)
def test_the_operating_point_chosen(points, tolerance, chosen):
    assert choose_operating_point(points, tolerance).threshold == chosen


def test_equal_points_go_to_the_smaller_fast_weight():
    points = [point(0.5, 0.8, 0.9, weight=0.5), point(0.5, 0.8, 0.9, weight=0.25)]
    assert choose_operating_point(points).fast_weight == 0.25


def test_operating_points_measure_f1_and_written_accuracy_at_each_threshold():
    truth = np.array([True, True, False, False])
    scores = np.array([0.9, 0.6, 0.55, 0.1])
    written_truth = np.array([True, False, False])
    written_scores = np.array([0.7, 0.58, 0.3])
    by_threshold = {p.threshold: p for p in operating_points(truth, scores, written_truth, written_scores, 0.25)}
    assert by_threshold[0.5].f1 == pytest.approx(0.8)  # 2 of 3 flagged are right, both found
    assert by_threshold[0.5].written_accuracy == pytest.approx(2 / 3)  # the 0.58 look-alike flagged
    assert by_threshold[0.6].f1 == pytest.approx(1.0)
    assert by_threshold[0.6].written_accuracy == pytest.approx(1.0)
    assert by_threshold[0.6].fast_weight == 0.25
    # 0.59 and 0.60 both judge everything right: the one nearer 0.5
    assert choose_operating_point(list(by_threshold.values())).threshold == 0.59


def test_cascade_points_judge_the_band_by_accurate_at_each_threshold_and_the_rest_by_fast():
    from apps.analyzer.training import cascade_points

    truth = np.array([True, True, False, False])
    fast = np.array([0.9, 0.5, 0.45, 0.1])  # fast threshold 0.5: the look-alike at 0.45 is right already
    accurate = np.array([0.9, 0.7, 0.6, 0.1])
    written_truth = np.array([True, False])
    written_fast = np.array([0.48, 0.52])  # both in a band (0.45, 0.55), fast wrong on both
    written_accurate = np.array([0.8, 0.3])
    points = {(p.band, p.threshold): p for p in cascade_points(
        fast, 0.5, accurate, truth, written_fast, written_accurate, written_truth, max_fraction=0.5)}
    narrow = points[((0.5, 0.5), 0.65)]  # only the 0.5 tweet goes to accurate (0.7: right)
    assert narrow.accurate_fraction == 0.25
    assert narrow.f1 == pytest.approx(1.0)
    assert narrow.written_accuracy == 0.0  # neither written message in (0.5, 0.5): fast judges both wrong
    wide = points[((0.45, 0.5), 0.55)]  # the 0.45 look-alike too, and accurate flags it at 0.6
    assert wide.accurate_fraction == 0.5
    assert wide.f1 == pytest.approx(0.8)
    assert points[((0.45, 0.5), 0.65)].f1 == pytest.approx(1.0)
    assert points[((0.45, 0.55), 0.65)].written_accuracy == 1.0
    assert not any(p.accurate_fraction > 0.5 for p in points.values())  # (0.1, 0.9) sends three of four: out


def test_the_cascade_point_chosen_sends_the_fewest_to_accurate_when_all_else_is_equal():
    points = [OperatingPoint(0.0, 0.5, 0.8, 0.9, (0.4, 0.6), 0.2), OperatingPoint(0.0, 0.5, 0.8, 0.9, (0.45, 0.55), 0.1)]
    assert choose_operating_point(points).band == (0.45, 0.55)


def test_written_messages_judged_by_fast_keep_its_verdict_at_every_threshold():
    truth = np.array([True, False])
    written_truth = np.array([True, False, False])
    written_scores = np.array([0.7, 0.6, 0.6])  # the last is Indonesian: fast judged it, rightly
    fixed = (np.array([False, False, True]), np.array([False, False, False]))
    by_threshold = {p.threshold: p for p in operating_points(truth, np.array([0.9, 0.1]), written_truth,
                                                             written_scores, 0.5, fixed)}
    assert by_threshold[0.5].written_accuracy == pytest.approx(2 / 3)  # without it: 1/3
    assert by_threshold[0.65].written_accuracy == pytest.approx(1.0)
    assert by_threshold[0.75].written_accuracy == pytest.approx(2 / 3)


def test_texts_left_to_fast_are_never_sent_to_accurate_by_the_cascade():
    from apps.analyzer.training import cascade_points

    truth = np.array([True, False])
    fast = np.array([0.5, 0.5])  # both in any band around 0.5; the second is Indonesian
    accurate = np.array([0.9, 0.9])
    points = {(p.band, p.threshold): p for p in cascade_points(
        fast, 0.5, accurate, truth, np.array([0.5]), np.array([0.9]), np.array([False]), 1.0,
        by_fast=np.array([False, True]), written_by_fast=np.array([True]))}
    point = points[((0.5, 0.5), 0.5)]
    assert point.accurate_fraction == 0.5
    assert point.f1 == pytest.approx(2 / 3)  # the Indonesian one flagged by fast (0.5 >= 0.5): a false alarm
    assert point.written_accuracy == 0.0  # fast flags the written look-alike, accurate never sees it
    assert points[((0.5, 0.5), 0.95)].f1 == pytest.approx(0.0)  # accurate at 0.95 drops the real one
