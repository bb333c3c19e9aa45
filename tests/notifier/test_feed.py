"""The live feed: the first change goes out at once, a burst after it is coalesced."""

from __future__ import annotations

import asyncio
import threading
import time

from apps.notifier.feed import IncidentFeed
from apps.notifier.incidents import IncidentRules, IncidentTracker
from fogverse.contracts import Analysis, Report


def fire(text: str) -> Analysis:
    return Analysis(report=Report(text=text, source="crawler", created_at=time.time()), emergency=True,
                    emergency_score=0.9, category="fire", category_score=0.9, model_version="test")


async def test_a_change_on_a_quiet_feed_goes_out_at_once_and_a_burst_after_it_goes_out_once():
    tracker = IncidentTracker(IncidentRules())
    feed = IncidentFeed(tracker, flush_interval_s=1.0)
    queue = feed.subscribe()
    runner = asyncio.create_task(feed.run())
    await asyncio.sleep(0.05)
    try:
        started = time.monotonic()
        threading.Thread(target=lambda: feed.mark(tracker.observe(fire("Fire at the Riverside warehouse")))).start()
        first = (await asyncio.wait_for(queue.get(), 5)).event
        waited = time.monotonic() - started

        def burst():
            for i in range(50):
                feed.mark(tracker.observe(fire(f"Riverside warehouse still burning {i}")))

        threading.Thread(target=burst).start()
        second = (await asyncio.wait_for(queue.get(), 5)).event
        await asyncio.sleep(1.2)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)

    assert waited < 0.2, f"the first change waited {waited:.2f} s"
    assert first.kind == "created" and first.incident.count == 1
    assert second.incident.count == 51 and queue.empty(), "the burst goes out once, with the latest state"
