"""An instance that starts and runs but never says a word to the observer topic (no heartbeat).

``IGNORE_SIGTERM=1`` makes it ignore SIGTERM too, as a hung process would.
"""

from __future__ import annotations

import os
import signal
import sys
import time

if __name__ == "__main__":
    ignore = os.environ.get("IGNORE_SIGTERM") == "1"
    signal.signal(signal.SIGTERM, signal.SIG_IGN if ignore else (lambda *_: sys.exit(0)))
    while True:
        time.sleep(1)
