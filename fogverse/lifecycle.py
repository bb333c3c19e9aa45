"""Running an app as a process: logging, settings errors, and stopping cleanly on signals."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Awaitable, Callable, Protocol

from fogverse.logs import configure_logging
from fogverse.settings import ConfigError


class Stoppable(Protocol):
    def request_stop(self) -> None: ...

    async def run(self) -> None: ...


async def run_until_signalled(app: Stoppable) -> None:
    """Run ``app``; SIGTERM or SIGINT asks it to drain and stop instead of dying mid-batch."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, app.request_stop)
    try:
        await app.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def main_entry(name: str, build: Callable[[], Awaitable[None]]) -> None:
    """The ``__main__`` of every app: bad configuration exits 2 naming the variable."""
    configure_logging(name)
    try:
        asyncio.run(build())
    except ConfigError as exc:
        print(f"{name}: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        pass
