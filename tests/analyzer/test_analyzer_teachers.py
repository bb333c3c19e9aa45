"""The teacher comparison's pooling and probe, on made-up vectors (no encoder is fetched)."""

import numpy as np

from apps.analyzer.teachers import TEACHERS, frozen_probe, paired_f1_difference, pool, training_cv


def test_mean_pooling_ignores_padding_and_cls_takes_the_first_token():
    states = np.array([[[1.0, 1.0], [3.0, -1.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    np.testing.assert_allclose(pool(states, mask, "mean"), [[1.0, 0.0]])  # (2, 0), unit length
    np.testing.assert_allclose(pool(states, mask, "cls"), [[np.sqrt(0.5), np.sqrt(0.5)]], rtol=1e-6)


def test_probe_learns_from_fit_and_scores_validation_alone():
    rng = np.random.default_rng(0)
    direction = rng.normal(size=16)

    def rows(n):
        x = rng.normal(size=(n, 16))
        return x, x @ direction > 0

    fit_x, fit_y = rows(400)
    validation_x, validation_y = rows(200)
    separable, verdicts = frozen_probe(fit_x, fit_y, validation_x, validation_y)
    assert separable["validation_f1"] > 0.9
    shuffled, _ = frozen_probe(fit_x, rng.permutation(fit_y), validation_x, validation_y)
    assert shuffled["validation_f1"] < 0.75  # labels it cannot learn: near chance, not a leak
    assert verdicts.shape == validation_y.shape
    everything = np.vstack([fit_x, validation_x]), np.concatenate([fit_y, validation_y])
    cv, cv_verdicts = training_cv(*everything, separable["C"], separable["threshold"])
    assert cv["training_cv_f1"] > 0.9 and cv_verdicts.shape == everything[1].shape


def test_paired_difference_is_zero_against_itself_and_positive_against_a_worse_one():
    rng = np.random.default_rng(1)
    truth = rng.random(500) < 0.4
    worse = np.where(rng.random(500) < 0.3, ~truth, truth)
    assert paired_f1_difference(truth, truth, truth) == {"f1_difference": 0.0, "interval_95": [0.0, 0.0]}
    better = paired_f1_difference(truth, truth, worse)
    assert better["f1_difference"] > 0 and better["interval_95"][0] > 0


def test_every_teacher_names_its_pooling_and_licence():
    for teacher in TEACHERS.values():
        assert teacher.pooling in ("mean", "cls")
        assert "MIT" in teacher.licence or "Apache-2.0" in teacher.licence
