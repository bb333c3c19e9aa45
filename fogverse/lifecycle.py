"""Running an app as a process: logging, settings errors, a preflight, and stopping cleanly on signals.

An app started before its broker waits for it (``fogverse.broker_watch`` says so once), but not
for ever: if no broker has answered within ``SIAGA_START_TIMEOUT`` the app stops and the process
exits 1 with one line naming the address and the variable it came from. Once the broker has
answered, an outage never stops the app. A stop asked for while the broker has never answered
is not held up by clients that are still trying to connect.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from typing import Awaitable, Callable, Protocol

from fogverse.kafka_client import BrokerUnreachable, preflight
from fogverse.logs import configure_logging
from fogverse.settings import ConfigError, KafkaSecurity, LogSettings, Settings, env, environment_help

log = logging.getLogger(__name__)

PROBE_INTERVAL_S = 1.0
#: after a stop, how long an app whose broker never answered may take before its start is cancelled
UNSTARTED_STOP_GRACE_S = 3.0


class StartTimeout(Settings):
    """How long a process waits at start for the servers it needs (a broker, a Temporal server)."""

    #: seconds; 0 ▸ wait for ever
    seconds: float = env("SIAGA_START_TIMEOUT", default=60.0, ge=0.0,
                         meaning="seconds a process waits at start for its broker (the controller: and its Temporal "
                                 "server) before it exits 1 with one line naming the address and its variable; `0` ▸ "
                                 "for ever")

    def expired(self, started: float) -> bool:
        return self.seconds > 0 and time.monotonic() - started >= self.seconds


class NeverReached(ConnectionError):
    """A server this process needs did not answer within ``SIAGA_START_TIMEOUT``; the message is one line."""


class Stoppable(Protocol):
    def request_stop(self) -> None: ...

    async def run(self) -> None: ...


async def run_until_signalled(app: Stoppable) -> None:
    """Run ``app``; SIGTERM or SIGINT asks it to drain and stop instead of dying mid-batch.

    First the preflight: a broker that refuses our Kafka security settings (a wrong password, an
    untrusted certificate) raises :class:`ConfigError`, which :func:`main_entry` turns into exit 2.
    A broker that does not answer within ``SIAGA_START_TIMEOUT`` raises :class:`NeverReached` (exit 1).
    """
    reached = await _preflight(app)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def stop() -> None:
        stopping.set()
        app.request_stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    run = asyncio.ensure_future(app.run())
    watch = None if reached else asyncio.ensure_future(_until_reached(app, stopping))
    try:
        if watch is None:
            await run
            return
        await asyncio.wait({run, watch}, return_when=asyncio.FIRST_COMPLETED)
        if run.done():
            run.result()
            return
        if watch.result():
            await run
            return
        # a stop, or the timeout, before any broker answered: its clients may still be connecting
        app.request_stop()
        await asyncio.wait({run}, timeout=UNSTARTED_STOP_GRACE_S)
        if not run.done():
            run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        if not stopping.is_set():
            raise NeverReached(_unreached_message(app))
    finally:
        if watch is not None:
            watch.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _until_reached(app: Stoppable, stopping: asyncio.Event) -> bool:
    """True once the app's broker answers; False on a stop or at ``SIAGA_START_TIMEOUT`` before that."""
    timeout, started = StartTimeout.from_env(), time.monotonic()
    bootstrap = _bootstrap_of(app)
    while not stopping.is_set() and not timeout.expired(started):
        try:
            await preflight(bootstrap, timeout_s=2.0)
            return True
        except BrokerUnreachable:
            pass
        except ConfigError:
            return True  # it answers; the app's own watch reports the refusal
        await sleep_unless(stopping, PROBE_INTERVAL_S)
    return False


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile (a cancellation still gets through)."""
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        pass


def _unreached_message(app: Stoppable) -> str:
    timeout = StartTimeout.from_env()
    return (f"no Kafka broker answered at {_bootstrap_of(app)} ({_bootstrap_variable_of(app)}) within "
            f"{timeout.seconds:g} s (SIAGA_START_TIMEOUT): start it, or point {_bootstrap_variable_of(app)} at one")


async def _preflight(app: Stoppable) -> bool:
    """True if the app's broker answers now (or the app names none)."""
    bootstrap = _bootstrap_of(app)
    if bootstrap is None:
        return True
    try:
        await preflight(bootstrap)
    except BrokerUnreachable as exc:
        # not a settings error: the app's clients wait for the broker and say so (fogverse.broker_watch)
        log.debug("%s", exc)
        return False
    return True


def _settings_of(app: Stoppable) -> list:
    holders = [getattr(app, "settings", None), getattr(app, "runtime", None)]
    for part in ("publisher", "pipeline"):
        holders.append(getattr(getattr(app, part, None), "settings", None))
    return [h for h in holders if h is not None]


def _bootstrap_variable_of(app: Stoppable) -> str:
    for holder in _settings_of(app):
        name = getattr(holder, "bootstrap_variable", None)
        if isinstance(name, str) and name:
            return name
    return "KAFKA_BOOTSTRAP_SERVERS"


def _bootstrap_of(app: Stoppable) -> str | None:
    """The broker the app talks to: every app's settings (or its publisher's) carry ``bootstrap_servers``."""
    for holder in _settings_of(app):
        bootstrap = getattr(holder, "bootstrap_servers", None)
        if isinstance(bootstrap, str) and bootstrap:
            return bootstrap
    return None


def main_entry(name: str, build: Callable[[], Awaitable[None]]) -> None:
    """The ``__main__`` of every app: bad configuration exits 2 naming the variable."""
    try:
        configure_logging(name)
        asyncio.run(build())
    except ConfigError as exc:
        print(f"{name}: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except NeverReached as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass


def command_help(*classes: type[Settings]) -> str:
    """The environment section of a long-running command's ``--help``: what its own settings
    classes read, then what every such process reads (Kafka security, the start
    timeout, logging). Listed from the settings classes themselves (``fogverse.settings.variables_of``)."""
    return environment_help(*classes, KafkaSecurity, StartTimeout, LogSettings)


def parse_command_line(prog: str, description: str, *classes: type[Settings],
                       argv: list[str] | None = None) -> None:
    """The command line of a service that takes no arguments: ``--help`` prints ``description``
    and the variables it reads (:func:`command_help`) and exits 0 before anything starts."""
    import argparse
    import textwrap

    parser = argparse.ArgumentParser(prog=prog, description=textwrap.fill(description, 100),
                                     epilog=command_help(*classes),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
