"""Sending a file's texts into the ``analyze`` topic on a load profile's schedule."""

from __future__ import annotations

import asyncio
import logging
import time

from apps.crawler.profiles import LoadProfile
from apps.crawler.progress import ProgressLine, ReplayTotals
from apps.crawler.texts import TextFile
from fogverse.contracts import Report
from fogverse.publisher import Publisher

log = logging.getLogger(__name__)

TICK_S = 0.01  # schedule resolution: at 20 msg/s a message leaves at most 10 ms late
MAX_UNACKED = 20_000  # beyond this the broker is behind: wait rather than buffer without bound
PROGRESS_EVERY_S = 1.0


class Replay:
    """One replay run; ``request_stop`` ends it early (the messages already sent still get acked)."""

    def __init__(self, publisher: Publisher[Report], texts: TextFile, profile: LoadProfile, *,
                 count: int | None = None, duration_s: float | None = None, loop: bool = False,
                 progress: ProgressLine | None = None):
        self.publisher = publisher
        self.texts = texts
        self.profile = profile
        self.count = count
        self.duration_s = duration_s
        self.loop = loop
        self.progress = progress
        self.totals = ReplayTotals()
        self._stop = asyncio.Event()
        self._first_error: BaseException | None = None

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> ReplayTotals:
        async with self.publisher:
            started = time.monotonic()
            reporter = asyncio.create_task(self._report_progress(started)) if self.progress else None
            try:
                await self._send_on_schedule(started)
            finally:
                if reporter:
                    reporter.cancel()
                    await asyncio.gather(reporter, return_exceptions=True)
        # Leaving the publisher flushed every buffered message: all acks are in.
        self.totals.elapsed_s = time.monotonic() - started
        self.totals.skipped_blank = self.texts.skipped_blank
        self.totals.skipped_too_long = self.texts.skipped_too_long
        if self.progress:
            self.progress.summary(self.totals)
        if self._first_error is not None:
            log.error("%d message(s) were not acked; the first error: %s", self.totals.failed, self._first_error)
        return self.totals

    async def _send_on_schedule(self, started: float) -> None:
        rows = self._texts()
        while not self._stop.is_set():
            elapsed = time.monotonic() - started
            if self.duration_s is not None and elapsed >= self.duration_s:
                return
            due = int(self.profile.sent_by(elapsed))
            if self.count is not None:
                due = min(due, self.count)
            while self.totals.sent < due and self.totals.sent - self.totals.acked - self.totals.failed < MAX_UNACKED:
                row = next(rows, None)
                if row is None:
                    return  # the file ran out and --loop was not given
                number, text = row
                report = Report(text=text, source="crawler",
                                metadata={"file": self.texts.path.name, "row": str(number)})
                ack = await self.publisher.publish_nowait(report)
                ack.add_done_callback(self._count_ack)
                self.totals.sent += 1
            if self.count is not None and self.totals.sent >= self.count:
                return
            await asyncio.sleep(TICK_S)

    def _texts(self):
        while True:
            found = False
            for row in self.texts.rows():
                found = True
                yield row
            if not self.loop:
                return
            if not found:
                raise ValueError(f"{self.texts.path} has no text to send in column {self.texts.column!r}")

    def _count_ack(self, ack: asyncio.Future) -> None:
        if ack.cancelled() or ack.exception() is not None:
            self.totals.failed += 1
            self._first_error = self._first_error or (ack.exception() if not ack.cancelled() else None)
        else:
            self.totals.acked += 1

    async def _report_progress(self, started: float) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            elapsed = time.monotonic() - started
            self.totals.elapsed_s = elapsed
            self.progress.show(self.totals, self.profile.rate_at(elapsed), self.profile.phase(elapsed))
