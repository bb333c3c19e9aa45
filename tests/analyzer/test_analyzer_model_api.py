from concurrent.futures import ThreadPoolExecutor

import pytest

from apps.analyzer.model import EmergencyModel, Prediction
from fogverse.contracts import CATEGORIES, MAX_TEXT_CHARS

TEXTS = [
    "Forest fire near La Ronge Sask. Canada",
    "Magnitude 6.1 earthquake shakes the coast, tsunami warning issued",
    "I love fruits",
    "this new album is fire lol",
    "",
    "x" * (MAX_TEXT_CHARS * 3),
]


@pytest.mark.parametrize("mode", ["fast", "accurate", "cascade"])
def test_predictions_have_the_contract_shape(mode, load_shipped):
    model = load_shipped(mode)
    assert model.version.startswith(f"{mode}-")
    predictions = model.predict(TEXTS)
    assert len(predictions) == len(TEXTS)
    for prediction in predictions:
        assert isinstance(prediction, Prediction)
        assert 0.0 <= prediction.emergency_score <= 1.0
        if prediction.emergency:
            assert prediction.category in CATEGORIES and 0.0 <= prediction.category_score <= 1.0
        else:
            assert prediction.category is None and prediction.category_score is None
    assert model.predict([]) == []


@pytest.mark.parametrize("mode", ["fast", "accurate"])
def test_clear_reports_are_found_and_named(mode, load_shipped):
    fire, quake, fruit = load_shipped(mode).predict(TEXTS[:3])
    assert fire.emergency and fire.category == "fire"
    assert quake.emergency and quake.category == "natural_hazard"
    assert not fruit.emergency


@pytest.mark.parametrize("mode", ["fast", "accurate", "cascade"])
def test_predictions_do_not_depend_on_batch_or_thread(mode, load_shipped):
    model = load_shipped(mode)
    texts = TEXTS[:4] * 8
    serial = model.predict(texts)
    with ThreadPoolExecutor(2) as pool:
        halves = list(pool.map(model.predict, [texts[:16], texts[16:]]))
    one_by_one = [model.predict([text])[0] for text in texts[:4]]
    assert halves[0] + halves[1] == serial
    for alone, batched in zip(one_by_one, serial):
        assert alone.emergency == batched.emergency and alone.category == batched.category
        assert alone.emergency_score == pytest.approx(batched.emergency_score, abs=1e-6)


def test_unknown_mode_is_refused_by_name():
    with pytest.raises(ValueError, match="turbo"):
        EmergencyModel.load("turbo")


def test_missing_artifacts_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="fast"):
        EmergencyModel.load("fast", artifacts_dir=tmp_path)
