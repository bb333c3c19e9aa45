"""Starting bot processes the way an operator starts them, with a test environment."""

from __future__ import annotations

import os
from pathlib import Path

from fogverse.processes import ManagedProcess, free_port, python_module, wait_for_port

REPO = Path(__file__).resolve().parents[2]


def app_env(kafka_bootstrap: str | None, **extra: object) -> dict[str, str]:
    """The environment of a bot process under test: the test broker, quick metrics, nothing inherited
    that names a bot secret."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TOKEN", "CHANNEL_SECRET", "CHANNEL_ACCESS_TOKEN", "BOOTSTRAP_SERVERS", "PORT")}
    env.update(PYTHONPATH=f"{REPO}:{REPO / 'tests'}", METRICS_INTERVAL="0.5", PYTHONUNBUFFERED="1")
    if kafka_bootstrap:
        env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_bootstrap
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_app(module: str, env: dict[str, str], log_path: Path, port: int | None = None) -> ManagedProcess:
    """Start ``python -m module``; with ``port``, return once it listens there."""
    process = ManagedProcess(module, python_module(module), env=env, log_path=log_path, cwd=REPO).start()
    if port is not None:
        try:
            wait_for_port("127.0.0.1", port, 30, process)
        except Exception:
            process.stop()
            raise
    return process


