"""The crawler's progress line: printed every second while it runs, and once at the end."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO


@dataclass
class ReplayTotals:
    sent: int = 0
    acked: int = 0
    failed: int = 0
    skipped_blank: int = 0
    skipped_too_long: int = 0
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.acked / self.elapsed_s if self.elapsed_s > 0 else 0.0


class ProgressLine:
    def __init__(self, out: TextIO | None = None):
        self.out = out or sys.stderr
        self._last_acked = 0
        self._last_at = 0.0

    def show(self, totals: ReplayTotals, target_rate: float, phase: str) -> None:
        window = totals.elapsed_s - self._last_at
        now_rate = (totals.acked - self._last_acked) / window if window > 0 else 0.0
        self._last_acked, self._last_at = totals.acked, totals.elapsed_s
        print(f"crawler: {totals.elapsed_s:6.1f} s  sent {totals.sent:,}  acked {totals.acked:,}"
              f"  now {now_rate:,.1f} msg/s  avg {totals.rate:,.1f} msg/s  target {target_rate:,.1f} ({phase})",
              file=self.out, flush=True)

    def summary(self, totals: ReplayTotals) -> None:
        skipped = ""
        if totals.skipped_blank or totals.skipped_too_long:
            skipped = (f", skipped {totals.skipped_blank:,} blank and {totals.skipped_too_long:,} over-long"
                       " texts")
        print(f"crawler: done: {totals.sent:,} sent, {totals.acked:,} acked, {totals.failed:,} failed{skipped}"
              f" in {totals.elapsed_s:.1f} s ({totals.rate:,.1f} msg/s)", file=self.out, flush=True)
