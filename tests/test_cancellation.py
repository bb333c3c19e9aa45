"""A stop always stops: no loop of ours may swallow the cancellation that ends it.

On Python 3.11, ``asyncio.wait_for`` returns (or raises) the awaited result instead of
``CancelledError`` when a cancellation lands in the one loop iteration after the awaited work
finished. A loop that then goes round again never ends, and whatever awaits it (a stop) hangs.
That is how an app asked to stop during a broker outage hung in CI: its broker watch's probe
failed to connect just as the stop cancelled it, and the watch went on probing. Siaga's code
bounds waits with ``asyncio.timeout`` instead, which lets a cancellation through.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import random
import socket

import pytest

import fogverse.broker_watch as broker_watch
from code_facts import REPO

SHIPPED = ("fogverse", "apps", "workers", "workflows", "activities", "bench")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_broker_watch_stopped_during_an_outage_always_stops(monkeypatch, caplog):
    """300 watches of a refused address, each probing without a pause and stopped at a random
    moment: a stop that lands as a refused connection completes must still end the watch (with
    ``asyncio.wait_for`` in the probe, about 4 stops in 10 hung here)."""
    monkeypatch.setattr(broker_watch, "RECHECK_INTERVAL_S", 0.0)
    caplog.set_level(logging.ERROR, logger="fogverse.broker_watch")
    bootstrap = f"127.0.0.1:{closed_port()}"
    rng = random.Random(7)
    for attempt in range(300):
        watch = broker_watch.BrokerWatch(bootstrap)
        watch._went_away("the test starts it away")
        watch.start()
        await asyncio.sleep(rng.random() * 0.003)
        stop = asyncio.ensure_future(watch.stop())
        done, _ = await asyncio.wait({stop}, timeout=2.0)
        while not stop.done():  # so that a failing run leaves no watch probing behind it
            watch._task.cancel()
            await asyncio.wait({stop}, timeout=0.05)
        assert done, f"stop {attempt + 1} of 300 did not end its watch within 2 s"


def _wait_for_calls(path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "wait_for"
            and isinstance(node.value, ast.Name) and node.value.id == "asyncio"]


@pytest.mark.parametrize("package", SHIPPED)
def test_no_wait_for_in_the_code(package):
    """``asyncio.wait_for`` can swallow a cancellation on Python 3.11 (see the module's docstring):
    bound a wait with ``async with asyncio.timeout(seconds):`` instead."""
    found = [f"{path.relative_to(REPO)}:{line}" for path in sorted((REPO / package).rglob("*.py"))
             for line in _wait_for_calls(path)]
    assert not found, f"asyncio.wait_for at {found}: use `async with asyncio.timeout(...)`"
