"""Keeping Python's garbage collector off the notifier's long-lived incidents.

The notifier holds every open incident in memory (``INCIDENT_MAX``, ~19 tracked containers
each). CPython's full collection walks all of them, holding the GIL: with 30,000 open incidents
that took 300–470 ms on these cores, several times a minute at 1,000 msgs/s, and every report in
the notifier waited for it (the live feed's p99). Objects that have lived through a collection
are moved to the permanent generation (``gc.freeze``) every ``GC_FREEZE_INTERVAL`` seconds, so
a collection walks only what is newer; the refcount frees frozen objects as usual. What it
cannot free is a reference cycle that became garbage after it was frozen, so every
``GC_THAW_INTERVAL`` seconds the whole heap is collected once (one full pause) and frozen again.
"""

from __future__ import annotations

import asyncio
import gc
import time

from fogverse.settings import Settings, env


class HeapSettings(Settings):
    freeze_interval_s: float = env(
        "GC_FREEZE_INTERVAL", default=5.0, ge=0,
        meaning="seconds between two moves of the notifier's surviving objects out of the garbage collector's "
                "reach (`gc.freeze`), so that a collection does not walk every open incident; `0`: Python's own "
                "collector alone")
    thaw_interval_s: float = env(
        "GC_THAW_INTERVAL", default=3600.0, ge=1,
        meaning="seconds between two full collections of everything frozen (one pause each), which free "
                "reference cycles that became garbage after they were frozen")


class HeapKeeper:
    """``tick()`` at every freeze interval: collect the young generations, then freeze what
    survived; at every thaw interval, unfreeze and collect the whole heap first."""

    def __init__(self, settings: HeapSettings, clock=time.monotonic):
        self.settings = settings
        self._clock = clock
        self._last_thaw = clock()
        self.thaws = 0

    def tick(self) -> None:
        if self._clock() - self._last_thaw >= self.settings.thaw_interval_s:
            gc.unfreeze()
            self._last_thaw = self._clock()
            self.thaws += 1
            gc.collect()  # the one full pause of the interval
        else:
            gc.collect(1)  # the young generations: their cyclic garbage is freed, not frozen
        gc.freeze()

    def release(self) -> None:
        """Hand everything back to the collector (at shutdown, and in tests)."""
        gc.unfreeze()

    async def run(self) -> None:
        if self.settings.freeze_interval_s <= 0:
            return
        try:
            while True:
                await asyncio.sleep(self.settings.freeze_interval_s)
                self.tick()
        finally:
            self.release()
