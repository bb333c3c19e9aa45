import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fogverse.contracts import CATEGORIES

REPO = Path(__file__).resolve().parents[2]


def _analyzer(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "apps.analyzer", *args],
        input=stdin, capture_output=True, text=True, cwd=REPO, timeout=300, env={**os.environ, **(env or {})},
    )


def test_classify_turns_stdin_lines_into_json_lines():
    lines = ["Forest fire near La Ronge Sask. Canada", "", "I love fruits", "Flood waters rising fast in the town"]
    result = _analyzer("classify", "--mode", "fast", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [v["text"] for v in verdicts] == [line for line in lines if line]  # blank lines skipped
    for verdict in verdicts:
        assert set(verdict) == {"text", "emergency", "emergency_score", "category", "category_score"}
        assert (verdict["category"] in CATEGORIES) == verdict["emergency"]
    assert verdicts[0]["emergency"] and verdicts[0]["category"] == "fire"
    assert not verdicts[1]["emergency"]


def test_evaluate_prints_eval_metrics_as_json(tmp_path):
    from apps.analyzer.dataset import load_written, resolve_data_dir

    try:
        data_dir = resolve_data_dir()
    except FileNotFoundError as error:
        pytest.skip(f"disaster-tweets data absent: {error}")
    result = _analyzer("evaluate", "--mode", "fast", env={"DISASTER_TWEETS_DIR": str(data_dir)})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["split"] == "eval" and report["emergency"]["support"] == 1569
    assert {"precision", "recall", "f1", "accuracy"} <= set(report["emergency"])
    assert set(report["category"]["per_class_f1"]) == set(CATEGORIES)
    held_out = report["held_out"]  # the written held-out set's figures, beside the eval split's
    assert 0 < held_out["category_accuracy"] <= 1 and 0 < held_out["emergency_accuracy"] <= 1
    assert held_out["emergency"]["support"] == len(load_written("held_out"))
    assert report["held_out_set"] == "held_out"


def test_evaluate_reports_the_written_set_it_is_asked_for():
    from apps.analyzer.dataset import load_written, resolve_data_dir

    try:
        data_dir = resolve_data_dir()
    except FileNotFoundError as error:
        pytest.skip(f"disaster-tweets data absent: {error}")
    result = _analyzer("evaluate", "--mode", "fast", "--held-out", "held_out_2", "--data", str(data_dir))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["held_out_set"] == "held_out_2"
    assert report["held_out"]["emergency"]["support"] == len(load_written("held_out_2"))


def test_evaluate_without_data_says_where_it_looked(tmp_path):
    result = _analyzer("evaluate", "--mode", "fast", "--data", str(tmp_path))
    assert result.returncode != 0
    assert "labeled.csv" in result.stderr and "--data" in result.stderr


def test_unknown_mode_is_rejected_by_the_command_line():
    result = _analyzer("classify", "--mode", "turbo")
    assert result.returncode != 0 and "turbo" in result.stderr
