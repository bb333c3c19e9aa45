"""Waiting in tests for something that happens elsewhere (another process, a server)."""

from __future__ import annotations

import asyncio
import time


async def wait_for(condition, timeout_s: float = 10.0):
    """Poll ``condition()`` until it returns something truthy or the time is up; return its last value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.1)
    return condition()
