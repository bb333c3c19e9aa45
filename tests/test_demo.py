"""``python -m workers demo`` end to end: it brings a real stack up (Apache Kafka or tansu, the
Temporal dev server, the worker, the apps), drives the rise and the fall, and must see the
analyzer scale out and back in, printing a line per evaluation and writing the CSV and PNG."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fogverse.processes import free_port

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def test_the_demo_scales_out_and_back_in_and_draws_the_run(tmp_path):
    state = tmp_path / "demo"
    ports = {name: str(free_port()) for name in ("KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "TEMPORAL_PORT",
                                                 "TEMPORAL_UI_PORT", "NOTIFIER_PORT")}
    env = {name: value for name, value in os.environ.items()
           if name not in ("KAFKA_BOOTSTRAP_SERVERS", "TEMPORAL_ADDRESS")}  # the demo starts its own
    env.update(ports, PYTHONUNBUFFERED="1")
    result = subprocess.run([sys.executable, "-m", "workers", "demo", "--state-dir", str(state),
                             "--warmup-seconds", "10", "--high-seconds", "45"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    out = result.stdout
    assert result.returncode == 0, f"{out[-3000:]}\n{result.stderr[-3000:]}"
    assert "seen: a scale out and a scale in" in out, out
    lines = [line for line in out.splitlines() if " UTC  analyzer: in " in line]
    assert len(lines) >= 10, "a line per evaluation"
    out_at = next(i for i, line in enumerate(lines) if "scale_out" in line)
    in_at = next(i for i, line in enumerate(lines) if "scale_in" in line)
    assert out_at < in_at, "out during the rise, in after it"
    assert "instances 1 ▸" in lines[out_at] and "▸ 1  scale_in" in lines[in_at], (lines[out_at], lines[in_at])

    with (state / "demo.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(lines), "the CSV holds the evaluations printed"
    actions = [row for row in rows if row.get("action") in ("scale_out", "scale_in")]
    assert [row["action"] for row in actions][:1] == ["scale_out"] and actions[-1]["action"] == "scale_in", actions
    png = (state / "demo.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000, "a drawn picture, not an empty file"
