"""The control plane's Temporal Schedules: created once, then brought to the current settings."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

from controller_harness import connect_temporal
from fogverse.processes import free_port, wait_for_port
from workers.settings import ControllerSettings
from workers.stack import SEARCH_ATTRIBUTES, temporal_process
from workers.worker import ensure_schedules, ensure_search_attributes


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


async def test_the_worker_registers_its_search_attributes_on_a_server_without_them(tmp_path):
    """Only the dev server is started with them: on any other server the worker adds them itself."""
    port = free_port()
    server = temporal_process("127.0.0.1", port, None, tmp_path / "t.db", tmp_path / "t.log",
                              search_attributes=False).start()
    try:
        wait_for_port("127.0.0.1", port, 60, server)
        client = await connect_temporal(f"127.0.0.1:{port}")
        assert await ensure_search_attributes(client, "default") == sorted(SEARCH_ATTRIBUTES)
        listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace="default"))
        assert set(SEARCH_ATTRIBUTES) <= set(listed.custom_attributes)
        assert await ensure_search_attributes(client, "default") == [], "a second start adds nothing"
    finally:
        server.stop()
