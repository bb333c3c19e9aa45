"""An instance that starts and runs but never says a word to the observer topic (no heartbeat)."""

from __future__ import annotations

import signal
import time

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: exit(0))
    while True:
        time.sleep(1)
