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


async def test_a_merge_tells_subscribers_which_incidents_are_gone():
    """Two incidents a later report shows to be one event: the survivor's event names the other,
    and what that one had absorbed before, so a receiver drops both cards."""
    tracker = IncidentTracker(IncidentRules())
    feed = IncidentFeed(tracker, flush_interval_s=0.01)
    queue = feed.subscribe()
    first = tracker.observe(fire("Gudang terbakar di Jalan Gatot Subroto"))
    second = tracker.observe(fire("Warehouse blaze, black smoke over the toll road"))
    feed.mark_all([first, second])
    feed.flush()
    assert sorted(queue.get_nowait().event.absorbed for _ in range(2)) == [[], []]
    bridge = tracker.observe(fire("Warehouse blaze on Gatot Subroto, smoke over the toll road"))
    assert bridge.absorbed == (second.incident_id,)
    feed.mark(bridge)
    feed.flush()
    merged = queue.get_nowait().event
    assert merged.incident.id == first.incident_id and merged.incident.count == 3
    assert merged.absorbed == [second.incident_id]
    assert queue.empty()
