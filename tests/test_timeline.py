"""``python -m workers plot`` and the timeline CSV it reads (``workers.timeline``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workers.timeline import COLUMNS, Row, read_rows, write_rows

REPO = Path(__file__).resolve().parents[1]
T0 = 1_796_000_000.0


def scaling_run() -> list[Row]:
    """Steady, a scale out 1 ▸ 3, keeping up, then a scale in 3 ▸ 1."""
    rows = [Row(T0 + 5 * i, "analyzer", 2.0, 2.0, 0, 1, 1, "hold", "keeping_up") for i in range(6)]
    rows.append(Row(T0 + 30, "analyzer", 18.0, 7.0, 40, 1, 3, "scale_out", "overloaded"))
    rows += [Row(T0 + 35 + 5 * i, "analyzer", 18.0, 18.0, 4, 3, 3, "hold", "keeping_up") for i in range(10)]
    rows.append(Row(T0 + 90, "analyzer", 2.0, 2.0, 0, 3, 1, "scale_in", "under_used"))
    rows += [Row(T0 + 95 + 5 * i, "analyzer", 2.0, 2.0, 0, 1, 1, "hold", "keeping_up") for i in range(4)]
    return rows


def plot_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workers", "plot", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_rows_survive_the_csv_round_trip_in_order(tmp_path):
    rows = scaling_run()
    path = tmp_path / "run.csv"
    write_rows(path, rows[10:])
    write_rows(path, rows[:10])  # appended later, older: read back in time order, one header
    assert path.read_text().count(COLUMNS[0] + ",") == 1
    assert read_rows(path) == rows


def test_plot_draws_rates_instances_and_the_scale_changes(tmp_path):
    import matplotlib.image
    import numpy as np

    csv_path, png = tmp_path / "run.csv", tmp_path / "run.png"
    write_rows(csv_path, scaling_run())
    result = plot_command(str(csv_path), "-o", str(png))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(png)
    image = matplotlib.image.imread(png)
    assert image.shape[:2] == (600, 1000)
    rgb = image[..., :3]
    # the instance line (tab:orange) and the scale-out marker (tab:red) are drawn
    orange = np.array([1.0, 0.498, 0.055])
    red = np.array([0.839, 0.153, 0.157])
    assert (np.abs(rgb - orange).sum(axis=-1) < 0.05).sum() > 200
    assert (np.abs(rgb - red).sum(axis=-1) < 0.05).sum() > 20


def test_plot_refuses_a_file_that_is_not_a_timeline(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("when,what\n1,2\n")
    result = plot_command(str(bad))
    assert result.returncode == 2
    assert "not a timeline CSV" in result.stderr and "input_rate" in result.stderr
    empty = tmp_path / "empty.csv"
    write_rows(empty, [])
    result = plot_command(str(empty))
    assert result.returncode == 2 and "nothing to plot" in result.stderr
    result = plot_command(str(tmp_path / "missing.csv"))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_a_bad_row_is_named_by_its_line(tmp_path):
    path = tmp_path / "run.csv"
    write_rows(path, scaling_run()[:2])
    path.write_text(path.read_text() + "soon,analyzer,1,1,0,one,1,hold,keeping_up\n")
    with pytest.raises(ValueError, match="line 4"):
        read_rows(path)
