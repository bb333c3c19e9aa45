import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
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
    from apps.analyzer.dataset import MEASURED_SET, load_written, resolve_data_dir

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
    assert held_out["emergency"]["support"] == len(load_written(MEASURED_SET))
    assert report["held_out_set"] == MEASURED_SET


def test_evaluate_reports_the_written_set_it_is_asked_for():
    from apps.analyzer.dataset import MEASURED_SET, load_written, resolve_data_dir

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


def test_precision_recall_curve_reads_like_the_table():
    from apps.analyzer.evaluation import precision_recall_curve

    truth = np.array([1, 0, 1, 1, 0, 0], dtype=bool)
    scores = np.array([0.9, 0.8, 0.8, 0.4, 0.3, 0.1])
    precision, recall, thresholds = precision_recall_curve(truth, scores)
    # threshold ▸ predicted emergencies ▸ precision, recall (the two 0.8s count together)
    assert thresholds.tolist() == [0.9, 0.8, 0.4, 0.3, 0.1]
    assert precision.tolist() == pytest.approx([1, 2 / 3, 3 / 4, 3 / 5, 3 / 6])
    assert recall.tolist() == pytest.approx([1 / 3, 2 / 3, 1, 1, 1])


def test_confusion_matrix_counts_true_by_predicted():
    from apps.analyzer.evaluation import confusion_matrix

    matrix = confusion_matrix(["fire", "fire", "hazmat", "other"], ["fire", "hazmat", "hazmat", "fire"],
                              ["fire", "hazmat", "other"])
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_evaluate_plot_draws_the_curve_and_both_confusion_matrices(tmp_path):
    import matplotlib.image

    from apps.analyzer.dataset import resolve_data_dir

    try:
        data_dir = resolve_data_dir()
    except FileNotFoundError as error:
        pytest.skip(f"disaster-tweets data absent: {error}")
    png = tmp_path / "figures" / "fast.png"
    result = _analyzer("evaluate", "--mode", "fast", "--plot", str(png), env={"DISASTER_TWEETS_DIR": str(data_dir)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["emergency"]["support"] == 1569  # the figures still go to stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(png)
    assert image.shape[:2] == (550, 1600)
    rgb = image[..., :3]
    curve_blue = np.array([0.122, 0.467, 0.706])  # tab:blue, the precision-recall line
    darkest_blue = np.array([0.031, 0.188, 0.420])  # the top of the Blues map: the largest count of a matrix
    assert (np.abs(rgb - curve_blue).sum(axis=-1) < 0.05).sum() > 300
    assert (np.abs(rgb - darkest_blue).sum(axis=-1) < 0.05).sum() > 2 * 1000  # a cell in each matrix


def _without(package: str, directory: Path) -> dict[str, str]:
    """An environment in which ``package`` fails to import, as an absent one does (it is shadowed)."""
    (directory / package).mkdir()
    (directory / package / "__init__.py").write_text(f"raise ImportError('No module named {package}')\n")
    return {"PYTHONPATH": os.pathsep.join([str(directory), str(REPO)])}


@pytest.mark.parametrize("package, command, message", [
    ("matplotlib", ["evaluate", "--mode", "fast", "--plot"], 'plotting needs matplotlib: pip install -e ".[plot]"'),
    ("sklearn", ["train", "--mode", "fast", "--out"], 'needs sklearn, from the train extra: pip install -e ".[train]"'),
])
def test_a_command_without_its_extra_names_the_extra_before_any_work(tmp_path, package, command, message):
    output = tmp_path / "output"  # the PNG, or the artifacts directory
    result = _analyzer(*command, str(output), env=_without(package, tmp_path))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and not output.exists()
