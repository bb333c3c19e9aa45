"""The live feed of incident changes that the receiver listens to (server-sent events).

A change goes out as soon as it is marked, then changes are coalesced for ``flush_interval_s``:
an incident that grew 300 times in that time goes out once more, with its latest state, and with
``alert`` set if any of those changes was an alert. So a quiet feed is immediate and a busy
feed's cost follows the number of incidents, not the message rate.

Each subscriber costs a bounded queue: one that falls :data:`SUBSCRIBER_QUEUE_MAX` events behind
is dropped (its browser reconnects to a fresh snapshot), and at most ``max_subscribers`` are
served at once (:class:`FeedFull` beyond that).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

from apps.notifier.incidents import IncidentChange, IncidentTracker
from fogverse.contracts import IncidentEvent

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.01  # the least time between two flushes: 50 ms cost the feed ~20 ms p50, ~40 ms p99 (bench feed)
SUBSCRIBER_QUEUE_MAX = 1000  # events a slow browser may lag behind before it is disconnected
YIELD_EVERY = 20  # changes broadcast between two turns of the event loop


@dataclass(frozen=True)
class FeedItem:
    """One change as every subscriber gets it: encoded once, not once per subscriber."""

    event: IncidentEvent
    sse: bytes  # the server-sent event ``incident`` carrying it


class FeedFull(Exception):
    """``max_subscribers`` are listening already."""


class IncidentFeed:
    def __init__(self, tracker: IncidentTracker, flush_interval_s: float = FLUSH_INTERVAL_S,
                 max_subscribers: int | None = None):
        self._tracker = tracker
        self._flush_interval_s = flush_interval_s
        self._max_subscribers = max_subscribers  # None ▸ no cap (the notifier sets SSE_MAX_CLIENTS)
        self.evicted = 0  # subscribers dropped for falling behind or not reading
        self._lock = threading.Lock()  # mark() runs on the pipeline's worker thread
        # incident id ▸ (created, alert, the incidents merged into it since the last flush)
        self._pending: dict[str, tuple[bool, bool, frozenset[str]]] = {}
        self._subscribers: set[asyncio.Queue] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._marked: asyncio.Event | None = None

    def mark(self, change: IncidentChange) -> None:
        """Any thread: the incident changed; subscribers hear of it at the next flush."""
        self.mark_all([change])

    def mark_all(self, changes: list[IncidentChange]) -> None:
        """Any thread: a batch's changes, at once, so no flush sends the state they reached without
        the alert flag of the last of them."""
        with self._lock:
            first = not self._pending
            for change in changes:
                created, alert, absorbed = self._pending.get(change.incident_id, (False, False, frozenset()))
                for gone in change.absorbed:  # and what was merged into the incidents it absorbed
                    absorbed |= {gone} | self._pending.pop(gone, (False, False, frozenset()))[2]
                self._pending[change.incident_id] = (created or change.created, alert or change.alert, absorbed)
        if first and changes and self._loop is not None:
            self._loop.call_soon_threadsafe(self._marked.set)

    def subscribe(self) -> asyncio.Queue:
        """A queue of :class:`FeedItem`; None in it means the feed closed this subscriber.

        Raises :class:`FeedFull` when ``max_subscribers`` are subscribed already."""
        if self._max_subscribers is not None and len(self._subscribers) >= self._max_subscribers:
            raise FeedFull(f"{self._max_subscribers} live-feed clients are connected already")
        queue: asyncio.Queue = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE_MAX)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    def evict(self, queue: asyncio.Queue) -> None:
        """Drop a subscriber that stopped reading (its stream is being closed)."""
        if queue in self._subscribers:
            self._subscribers.discard(queue)
            self.evicted += 1

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def run(self) -> None:
        self._marked = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                await self._marked.wait()
                self._marked.clear()
                try:
                    for sent in self._flushing():
                        if sent % YIELD_EVERY == 0:
                            await asyncio.sleep(0)  # a flush of thousands to hundreds of subscribers shares the loop
                except Exception:  # the feed must outlive one bad flush
                    log.exception("could not flush the incident feed")
                await asyncio.sleep(self._flush_interval_s)  # what is marked meanwhile goes out together
                if self._pending:
                    self._marked.set()
        finally:
            self._loop = None

    def flush(self) -> None:
        for _ in self._flushing():
            pass

    def _flushing(self):
        """Broadcast what is pending, yielding a running count after each change."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for sent, (incident_id, (created, alert, absorbed)) in enumerate(pending.items(), 1):
            incident = self._tracker.get(incident_id)
            if incident is not None:  # else evicted meanwhile
                self._broadcast(IncidentEvent(kind="created" if created else "updated", alert=alert,
                                              incident=incident, absorbed=sorted(absorbed)))
            yield sent

    def close(self) -> None:
        """End every subscriber's stream (at shutdown)."""
        for queue in list(self._subscribers):
            self._end(queue)
        self._subscribers.clear()

    def _broadcast(self, event: IncidentEvent) -> None:
        if not self._subscribers:
            return
        item = FeedItem(event, f"event: incident\ndata: {event.model_dump_json()}\n\n".encode())
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                # Too far behind: drop it; the browser reconnects and starts from a fresh snapshot.
                log.warning("a feed subscriber fell %d events behind; disconnecting it", queue.qsize())
                self.evict(queue)
                self._end(queue)

    @staticmethod
    def _end(queue: asyncio.Queue) -> None:
        while True:
            try:
                queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                queue.get_nowait()
