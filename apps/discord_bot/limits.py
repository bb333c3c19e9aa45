"""How many reports one author may send: each report can open an incident and push to every phone."""

from __future__ import annotations

import time
from collections import deque
from typing import Callable

WINDOW_S = 60.0


class AuthorRateLimit:
    """At most ``per_minute`` reports per author in any 60 s; what is over is dropped.

    ``allow`` answers whether this report may go; ``first_drop`` whether a drop is the author's
    first in this window (so the log says it once per author per window, not once per message).
    Authors quiet for a window are forgotten once more than ``max_authors`` are remembered.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_authors: int = 10_000):
        self.per_minute = per_minute
        self._clock = clock
        self._max_authors = max_authors
        self._sent: dict[str, deque[float]] = {}
        self._warned: dict[str, float] = {}

    def allow(self, author: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = self._clock()
        sent = self._sent.get(author)
        if sent is None:
            if len(self._sent) >= self._max_authors:
                self._forget_quiet(now)
            sent = self._sent[author] = deque()
        while sent and now - sent[0] >= WINDOW_S:
            sent.popleft()
        if len(sent) >= self.per_minute:
            return False
        sent.append(now)
        return True

    def first_drop(self, author: str) -> bool:
        now = self._clock()
        warned = self._warned.get(author)
        if warned is not None and now - warned < WINDOW_S:
            return False
        self._warned[author] = now
        return True

    def _forget_quiet(self, now: float) -> None:
        for author in [a for a, sent in self._sent.items() if not sent or now - sent[-1] >= WINDOW_S]:
            del self._sent[author]
            self._warned.pop(author, None)
