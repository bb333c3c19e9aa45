"""The texts of one column of a CSV file, as the crawler replays them."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Iterator

from fogverse.contracts import MAX_TEXT_CHARS

EXAMPLES = Path(__file__).resolve().parent / "examples.csv"
CSV_FIELD_MAX = 16 * 1024 * 1024  # the csv module's 128 KiB default would stop at one huge cell


class TextFile:
    """Texts from ``column`` of ``path``. Blank ones and ones over :data:`MAX_TEXT_CHARS` are skipped
    and counted, never sent: the analyzer would dead-letter them anyway."""

    def __init__(self, path: Path, column: str = "text"):
        self.path = path
        self.column = column
        self.skipped_blank = 0
        self.skipped_too_long = 0
        csv.field_size_limit(min(CSV_FIELD_MAX, sys.maxsize))
        with self._open() as handle:
            header = next(csv.reader(handle), None)
        if not header or column not in header:
            found = ", ".join(header or []) or "none"
            raise ValueError(f"{path} has no column {column!r} (its columns: {found})")

    def rows(self) -> Iterator[tuple[int, str]]:
        """(row number counting the header as 1, text), once through the file."""
        with self._open() as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                text = (row.get(self.column) or "").strip()
                if not text:
                    self.skipped_blank += 1
                elif len(text) > MAX_TEXT_CHARS:
                    self.skipped_too_long += 1
                else:
                    yield number, text

    def _open(self):
        # Bad bytes become U+FFFD rather than stopping a long replay halfway.
        return open(self.path, newline="", encoding="utf-8-sig", errors="replace")
