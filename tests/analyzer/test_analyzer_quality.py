"""The shipped models meet their F1 targets on the evaluation split (never used to train or tune)."""

import json

import pytest

from apps.analyzer.dataset import load_split
from apps.analyzer.evaluation import evaluate
from apps.analyzer.model import ARTIFACTS_DIR

F1_TARGETS = {"fast": 0.76, "accurate": 0.80, "cascade": 0.80}


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(F1_TARGETS))
def test_shipped_model_meets_its_f1_target_on_eval(mode, data_dir, load_shipped):
    report = evaluate(load_shipped(mode), load_split(data_dir, "eval"))
    assert report["emergency"]["f1"] >= F1_TARGETS[mode], report
    assert report["category"]["macro_f1"] > 1 / 6, "the category head should beat a constant guess"
    # The manifest reports what the artifacts really do.
    manifest = json.loads((ARTIFACTS_DIR / mode / "manifest.json").read_text())
    assert manifest["metrics"]["eval"] == report
