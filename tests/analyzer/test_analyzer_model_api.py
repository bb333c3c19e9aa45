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


def test_the_cascade_judges_its_band_at_its_own_threshold(tmp_path):
    import json
    import shutil

    from apps.analyzer.model import ARTIFACTS_DIR

    shutil.copytree(ARTIFACTS_DIR, tmp_path / "artifacts")
    manifest_path = tmp_path / "artifacts" / "cascade" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    shipped = EmergencyModel.load("cascade", tmp_path / "artifacts")
    # two in the shipped band that the accurate model flags (release 2026.12.07.3), two far outside it
    texts = ["Forest fire near La Ronge Sask. Canada", "sirens everywhere near the mall, stay safe",
             "my street is flooded, cars stuck", "this new album is fire lol"] * 2
    fast_scores = EmergencyModel.load("fast", tmp_path / "artifacts").scores(texts).emergency_score
    low, high = manifest["band"]
    in_band = (fast_scores >= low) & (fast_scores <= high)
    manifest["emergency_threshold"] = 1.01  # nothing the accurate model scores is high enough
    manifest_path.write_text(json.dumps(manifest))
    strict = EmergencyModel.load("cascade", tmp_path / "artifacts").scores(texts)
    before = shipped.scores(texts)
    assert in_band.any() and (before.emergency[in_band]).any()  # the texts test something
    assert not strict.emergency[in_band].any()
    assert (strict.emergency[~in_band] == before.emergency[~in_band]).all()
    assert strict.emergency_score == pytest.approx(before.emergency_score)


INDONESIAN = ["kebakaran di pasar senen, apinya udah gede bgt", "masih ada yg kejebak gk?",
              "harga cabe lagi kebakaran nih, mahal bgt"]
ENGLISH = ["Huge fire at the market, people trapped", "sirens everywhere near the mall, stay safe"]


@pytest.mark.parametrize("mode", ["accurate", "cascade"])
def test_messages_in_indonesian_are_judged_by_fast_alone(mode, load_shipped):
    fast, model = load_shipped("fast").scores(INDONESIAN + ENGLISH), load_shipped(mode).scores(INDONESIAN + ENGLISH)
    n = len(INDONESIAN)
    assert (model.emergency[:n] == fast.emergency[:n]).all()
    assert model.emergency_score[:n] == pytest.approx(fast.emergency_score[:n])
    assert model.category_scores[:n] == pytest.approx(fast.category_scores[:n])
    # English ones still reach the transformer: "sirens ..." sits in the cascade's band
    assert model.emergency_score[n + 1] != pytest.approx(fast.emergency_score[n + 1])


def test_without_the_manifest_field_accurate_blends_every_message(tmp_path):
    import json
    import shutil

    from apps.analyzer.model import ARTIFACTS_DIR

    shutil.copytree(ARTIFACTS_DIR, tmp_path / "artifacts")
    manifest_path = tmp_path / "artifacts" / "accurate" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["indonesian_by"] == "fast"
    del manifest["indonesian_by"]  # a release before 2026.12.07.2
    manifest_path.write_text(json.dumps(manifest))
    fast = EmergencyModel.load("fast", tmp_path / "artifacts").scores(INDONESIAN)
    blended = EmergencyModel.load("accurate", tmp_path / "artifacts").scores(INDONESIAN)
    assert not (blended.emergency_score == pytest.approx(fast.emergency_score))
