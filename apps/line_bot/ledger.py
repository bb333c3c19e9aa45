"""Publishes each LINE webhook event once, and says within a bound whether the broker has it.

LINE redelivers an event (same ``webhookEventId``, ``deliveryContext.isRedelivery``) when the
webhook did not answer 200. The ledger keeps the publish of every recent event id: a redelivery
of an event that is published, or still being published, waits on that same publish instead of
sending a second copy. A publish that failed is forgotten, so the next redelivery tries again.

The memory is per process and bounded (``LINE_DEDUP_SIZE`` ids): two webhook processes behind a
load balancer, or a restart, can each publish a redelivered event once more.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass

from fogverse.contracts import Report

from apps.line_bot.broker_link import BrokerLink

log = logging.getLogger(__name__)

#: Longest a publish keeps waiting for the first broker connection; LINE's redelivery takes over after it.
CONNECT_WAIT_S = 30.0


@dataclass(frozen=True)
class Delivery:
    task: asyncio.Task  # the publish; its result is the broker's ack
    is_new: bool  # False ▸ this event id was already published, or is being published

    @property
    def acked(self) -> bool:
        return self.task.done() and not _failed(self.task)


class ReportLedger:
    def __init__(self, link: BrokerLink, remember: int):
        self._link = link
        self._remember = remember
        self._publishes: OrderedDict[str, asyncio.Task] = OrderedDict()

    def deliver(self, event_id: str, report: Report) -> Delivery:
        known = self._publishes.get(event_id)
        if known is not None and not _failed(known):
            self._publishes.move_to_end(event_id)
            return Delivery(known, is_new=False)
        task = asyncio.create_task(self._publish(report), name=f"publish-{event_id}")
        task.add_done_callback(lambda done: self._forget_if_failed(event_id, done))
        self._publishes[event_id] = task
        while len(self._publishes) > self._remember:
            self._publishes.popitem(last=False)  # a pending publish goes on; only its memory goes
        return Delivery(task, is_new=True)

    async def wait(self, deliveries: list[Delivery], timeout_s: float) -> bool:
        """True once every delivery is acked; False if one failed or ``timeout_s`` passed first.

        Never cancels a publish: one that outlives the request still lands, and the ledger
        answers LINE's redelivery of it without a second copy.
        """
        tasks = [d.task for d in deliveries]
        if not tasks:
            return True
        done, pending = await asyncio.wait(tasks, timeout=timeout_s)
        return not pending and not any(_failed(task) for task in done)

    async def drain(self, timeout_s: float) -> None:
        """At shutdown: give publishes still in flight a last chance to be acked."""
        pending = [task for task in self._publishes.values() if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout_s)

    async def _publish(self, report: Report):
        async with asyncio.timeout(CONNECT_WAIT_S):
            publisher = await self._link.publisher()
        # keyed by chat, so one chat's reports stay in order on one partition
        return await publisher.publish(report, key=(report.channel_id or "").encode() or None)

    def _forget_if_failed(self, event_id: str, task: asyncio.Task) -> None:
        if _failed(task):
            if not task.cancelled():
                log.warning("publishing event %s failed: %s", event_id, type(task.exception()).__name__)
            if self._publishes.get(event_id) is task:
                del self._publishes[event_id]


def _failed(task: asyncio.Task) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)
