"""Recorded histories replay against today's workflow code, so a change that breaks determinism fails here.

The histories in ``histories/`` (gzipped JSON) were recorded from the end-to-end tests with
``SIAGA_RECORD_HISTORIES=1``, then renamed for what they show.
A workflow change that must change the commands it issues needs ``workflow.patched`` (or a new
workflow name) and freshly recorded histories next to the old ones, never instead of them.

One exception, made once (2026-12, the durable-timer redesign): the scaler and deploy workflows
stopped polling for heartbeats and awaiting their children, and started cooldown and deadline
timers and signals instead, which changes nearly every command they issue; patching each branch
would have kept two control planes in one file. Their histories were re-recorded, and the README
says how to upgrade (terminate the old runs; reconcile adopts their instances). The partition and
tick histories are the old ones and still replay.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workers.worker import sandbox_runner
from workflows import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json.gz"))


def test_there_are_histories_of_every_workflow():
    kinds = {path.name.split("-")[0] for path in HISTORIES}
    assert {"scaler", "deploy", "partitions", "tick"} <= kinds


@pytest.mark.parametrize("path", HISTORIES, ids=[p.name.removesuffix(".json.gz") for p in HISTORIES])
async def test_history_replays_deterministically(path):
    history = WorkflowHistory.from_json(path.name, gzip.decompress(path.read_bytes()).decode())
    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=sandbox_runner())  # as the worker runs them
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure!r}"
