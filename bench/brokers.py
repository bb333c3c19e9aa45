"""The brokers a benchmark runs on: Apache Kafka and tansu, started one at a time on free ports.

``--broker kafka|tansu|both`` picks them; the default is both when Java 17+ and the Apache Kafka
jars are there (``python -m workers install-kafka``), else tansu. ``KAFKA_BOOTSTRAP_SERVERS``
means "that broker only": none is started and ``--broker`` is ignored.

    for name in requested(args.broker):
        with started(name) as bootstrap:
            ...

One broker at a time, so on a small machine neither measures the other's CPU.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from fogverse.processes import free_port, wait_for_port
from workers.settings import StackSettings
from workers import kafka_broker
from workers.stack import kafka_node, tansu_process

GIVEN = "given"  # the broker KAFKA_BOOTSTRAP_SERVERS names


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", choices=("kafka", "tansu", "both"), default=None,
                        help="broker(s) to start, one after the other (default: both when Apache Kafka "
                             "can run here, else tansu; KAFKA_BOOTSTRAP_SERVERS ▸ that broker only)")


def requested(choice: str | None) -> list[str]:
    """The broker names to run on, in order; raises SystemExit when Apache Kafka is asked for but cannot run."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return [GIVEN]
    missing = kafka_broker.unavailable_reason(StackSettings.from_env().kafka_home)
    if choice is None:
        return ["tansu"] if missing else ["kafka", "tansu"]
    names = ["kafka", "tansu"] if choice == "both" else [choice]
    if "kafka" in names and missing:
        raise SystemExit(f"--broker {choice}: Apache Kafka cannot run here: {missing}")
    return names


@contextmanager
def started(name: str, log_dir: Path | None = None) -> Iterator[str]:
    """Start broker ``name`` on free loopback ports and yield its bootstrap address; stop it afterwards.

    Apache Kafka's data goes to a temporary folder removed at the end; its log (and tansu's) goes to
    ``log_dir`` when given.
    """
    if name == GIVEN:
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    state = Path(tempfile.mkdtemp(prefix=f"siaga-bench-{name}-"))
    log_path = (log_dir / f"{name}.log") if log_dir else None
    port = free_port()
    if name == "kafka":
        settings = StackSettings.from_env(dict(os.environ, SIAGA_STATE_DIR=str(state), KAFKA_PORT=str(port),
                                               KAFKA_CONTROLLER_PORT=str(free_port())))
        process = kafka_node(settings).process(log_path).start()
    else:
        process = tansu_process("127.0.0.1", port, log_path).start()
    try:
        wait_for_port("127.0.0.1", port, 90, process)
        yield f"127.0.0.1:{port}"
    finally:
        process.stop()
        shutil.rmtree(state, ignore_errors=True)
