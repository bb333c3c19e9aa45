"""Retraining the fast model from the data reproduces the shipped artifact and its figures."""

import json

import pytest

from apps.analyzer.model import ARTIFACTS_DIR
from apps.analyzer.training import train


@pytest.mark.slow
def test_retraining_fast_reproduces_the_shipped_model(data_dir, tmp_path):
    train("fast", data_dir, tmp_path, log=lambda message: None)
    shipped = json.loads((ARTIFACTS_DIR / "fast" / "manifest.json").read_text())
    rebuilt = json.loads((tmp_path / "fast" / "manifest.json").read_text())
    assert rebuilt["emergency_threshold"] == shipped["emergency_threshold"]
    assert rebuilt["metrics"] == shipped["metrics"]
    assert rebuilt["files"] == shipped["files"], "the ONNX file should be byte-identical"
