"""Running an app as a process: logging, settings errors, a preflight, and stopping cleanly on signals."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Awaitable, Callable, Protocol

from fogverse.kafka_client import BrokerUnreachable, preflight
from fogverse.logs import configure_logging
from fogverse.settings import ConfigError

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    def request_stop(self) -> None: ...

    async def run(self) -> None: ...


async def run_until_signalled(app: Stoppable) -> None:
    """Run ``app``; SIGTERM or SIGINT asks it to drain and stop instead of dying mid-batch.

    First the preflight: a broker that refuses our Kafka security settings (a wrong password, an
    untrusted certificate) raises :class:`ConfigError`, which :func:`main_entry` turns into exit 2.
    """
    await _preflight(app)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, app.request_stop)
    try:
        await app.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _preflight(app: Stoppable) -> None:
    bootstrap = _bootstrap_of(app)
    if bootstrap is None:
        return
    try:
        await preflight(bootstrap)
    except BrokerUnreachable as exc:
        # not a settings error: the app's clients wait for the broker and say so (fogverse.broker_watch)
        log.debug("%s", exc)


def _bootstrap_of(app: Stoppable) -> str | None:
    """The broker the app talks to: every app's settings (or its publisher's) carry ``bootstrap_servers``."""
    for holder in (getattr(app, "settings", None), getattr(getattr(app, "publisher", None), "settings", None)):
        bootstrap = getattr(holder, "bootstrap_servers", None)
        if isinstance(bootstrap, str) and bootstrap:
            return bootstrap
    return None


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
