"""From what the observer feed hears to the workflows that wait for it, as signals.

The feed only records; it tells a :class:`FeedRelay` two things the moment it reads them, and the
relay signals Temporal:

- an instance was heard from for the first time ▸ ``heartbeat_seen`` to ``deploy/<instance>``, the
  deploy waiting for it (a deploy's heartbeat deadline is a timer, not a poll). Only names a deploy
  could have (``<service>-<n>``) are signalled; a signal to a deploy that is not waiting (ended, or
  never existed) is dropped.
- a consumer joined a group ▸ signal-with-start ``partitions/<topic>``, the topic's one grower.

Signals are sent in the background with a few retries, so the feed never waits for Temporal. One
lost while Temporal is away is covered: a deploy takes one last look at the feed's heartbeats when
its deadline fires, and the reconcile schedule checks every topic's partitions.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Awaitable, Callable

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from fogverse.contracts import ConsumerJoined
from workers.settings import ControllerSettings
from workflows.messages import (HEARTBEAT_SEEN, PARTITION_WORKFLOW, HeartbeatSeen, PartitionRequest, deploy_workflow_id,
                                partition_workflow_id)
from workflows.state import PartitionInput

log = logging.getLogger(__name__)

ATTEMPTS = 4
#: The names the scaler gives the instances it deploys.
DEPLOYED_NAME = re.compile(r"^(?P<service>[a-z][a-z0-9_-]{0,39})-(?P<number>[0-9]{1,9})$")


async def check_partitions(client: Client, settings: ControllerSettings, topic: str, group_id: str,
                           reason: str) -> None:
    """Start the topic's partition workflow, or signal it if it runs, to look at ``group_id``."""
    await client.start_workflow(
        PARTITION_WORKFLOW, PartitionInput(topic=topic), id=partition_workflow_id(topic),
        task_queue=settings.task_queue, start_signal="consumer_joined",
        start_signal_args=[PartitionRequest(topic, group_id, settings.max_partitions, settings.sleep_time_s, reason)])


class FeedRelay:
    def __init__(self, client: Client, settings: ControllerSettings):
        self.client = client
        self.settings = settings
        self._tasks: set[asyncio.Task] = set()

    def instance_seen(self, service: str, instance: str, at: float) -> None:
        match = DEPLOYED_NAME.match(instance)
        if match is None or match["service"] != service:
            return  # not a name the scaler deploys: no deploy waits for it
        self._background(lambda: self._signal_deploy(instance, at), f"heartbeat of {instance}")

    def consumer_joined(self, joined: ConsumerJoined) -> None:
        self._background(lambda: check_partitions(self.client, self.settings, joined.topic, joined.group_id,
                                                  f"{joined.instance_id} joined"), f"{joined.instance_id} joining {joined.topic}")

    async def _signal_deploy(self, instance: str, at: float) -> None:
        try:
            await self.client.get_workflow_handle(deploy_workflow_id(instance)).signal(
                HEARTBEAT_SEEN, HeartbeatSeen(instance, at))
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise  # retried; NOT_FOUND: no deploy of that name is running
            log.debug("no running deploy for %s", instance)

    def _background(self, call: Callable[[], Awaitable[None]], what: str) -> None:
        task = asyncio.create_task(self._retrying(call, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _retrying(call: Callable[[], Awaitable[None]], what: str) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await call()
                return
            except Exception as exc:
                if attempt == ATTEMPTS:
                    log.warning("could not signal Temporal about the %s: %r", what, exc)
                    return
                await asyncio.sleep(0.5 * 2 ** attempt)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
