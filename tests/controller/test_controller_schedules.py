"""The control plane's Temporal Schedules: created once, then brought to the current settings."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from controller_harness import connect_temporal
from fogverse.settings import ControllerSettings
from workers.worker import ensure_schedules


async def test_schedules_are_created_then_updated_in_place(temporal_address):
    client = await connect_temporal(temporal_address)
    queue = f"schedules-{uuid.uuid4().hex[:8]}"
    first = ControllerSettings.from_env({"TEMPORAL_TASK_QUEUE": queue, "INPUT_OUTPUT_REFRESH_RATE": "7",
                                         "RECONCILE_INTERVAL": "90"})
    ids = await ensure_schedules(client, first)
    try:
        assert ids == [f"{queue}/evaluate", f"{queue}/reconcile"]
        evaluate = await client.get_schedule_handle(ids[0]).describe()
        assert evaluate.schedule.spec.intervals[0].every == timedelta(seconds=7)
        assert evaluate.schedule.action.workflow == "ControlTick"
        assert evaluate.schedule.action.task_queue == queue

        changed = ControllerSettings.from_env({"TEMPORAL_TASK_QUEUE": queue, "INPUT_OUTPUT_REFRESH_RATE": "3",
                                               "RECONCILE_INTERVAL": "90"})
        assert await ensure_schedules(client, changed) == ids  # a second start updates, never duplicates
        evaluate = await client.get_schedule_handle(ids[0]).describe()
        reconcile = await client.get_schedule_handle(ids[1]).describe()
        assert evaluate.schedule.spec.intervals[0].every == timedelta(seconds=3)
        assert reconcile.schedule.spec.intervals[0].every == timedelta(seconds=90)
        for _ in range(50):  # the schedule list is eventually consistent (visibility)
            listed = [s.id async for s in await client.list_schedules() if s.id.startswith(queue)]
            if sorted(listed) == sorted(ids):
                break
            await asyncio.sleep(0.2)
        assert sorted(listed) == sorted(ids)
    finally:
        for schedule_id in ids:
            await client.get_schedule_handle(schedule_id).delete()
