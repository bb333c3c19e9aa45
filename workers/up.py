"""``python -m workers up``: bring up the whole system on this machine and keep it up.

Starts the embedded stack (unless pointed elsewhere), creates the topics, then the control-plane
worker and the apps, each as a child process with its log under ``$SIAGA_STATE_DIR/logs`` and
only the environment its service needs (``fogverse.processes.child_env``). A child that exits
is started again after a backoff (:class:`ChildSupervisor`), each restart counted in ``up``'s
output and in the child's log. Ctrl-C or SIGTERM stops everything it started, in reverse order.
A SIGKILL stops it all too: its children die with it (PR_SET_PDEATHSIG), and the instances the
controller deployed, which outlive the controller on purpose, are stopped by the reaper ``up``
starts first (:func:`instance_reaper`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from activities.act.providers.local import LocalProcessProvider
from fogverse.broker import ensure_topics, probe
from fogverse.processes import ManagedProcess, child_env, python_module
from fogverse.settings import ConfigError, KafkaSecurity
from apps.notifier.settings import NotifierSettings
from workers.settings import StackSettings
from workers.kafka_broker import pinned_version
from workers.stack import LIMITATIONS, EmbeddedStack

log = logging.getLogger("siaga.up")

#: Topics and their initial partition counts. Growth is the controller's job (dynamic
#: partitions): each topic starts with one partition and grows as consumers join.
TOPICS = {"analyze": 1, "client": 1, "observer": 1, "analyze.dlq": 1, "client.dlq": 1}
#: Where the broker cannot grow partitions (tansu 0.6.0 has no CreatePartitions), the consumed
#: topics start with enough for a second instance to get work.
TOPICS_WITHOUT_GROWTH = {**TOPICS, "analyze": 2, "client": 2}


def initial_topics(can_grow: bool) -> dict[str, int]:
    return TOPICS if can_grow else TOPICS_WITHOUT_GROWTH


@dataclass(frozen=True)
class Component:
    name: str
    module: str
    service: str  # whose variables it gets (fogverse.processes.SERVICE_VARIABLES)
    args: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # environment variables without which it is not started (secrets)

    def wanted(self, environ) -> bool:
        return all(environ.get(name) for name in self.needs)

    def process(self, environ, log_dir: Path) -> ManagedProcess:
        return ManagedProcess(self.name, python_module(self.module, *self.args),
                              env=child_env(self.service, environ), log_path=log_dir / f"{self.name}.log")


#: What ``up`` runs after the stack, in start order.
COMPONENTS: tuple[Component, ...] = (
    Component("controller", "workers", "controller", ("worker",)),
    Component("analyzer", "apps.analyzer", "analyzer"),
    Component("notifier", "apps.notifier", "notifier"),
    Component("crawler", "apps.crawler", "crawler", ("--loop", "--rate", "2", "--quiet")),
    Component("discord", "apps.discord_bot", "discord_bot", needs=("TOKEN",)),
    Component("line", "apps.line_bot", "line_bot", needs=("CHANNEL_SECRET", "CHANNEL_ACCESS_TOKEN")),
)


RESTART_BACKOFF_S = 1.0  # before the first restart; doubled after each, up to RESTART_BACKOFF_MAX_S
RESTART_BACKOFF_MAX_S = 60.0
STABLE_AFTER_S = 60.0  # a child that ran this long before it exited restarts after the first backoff again
CONFIG_ERROR_EXIT = 2  # fogverse.lifecycle.main_entry: a restart cannot fix the setting it names


@dataclass
class _Child:
    component: Component
    process: ManagedProcess
    started_at: float
    backoff_s: float
    restarts: int = 0
    restart_at: float | None = None  # when it is started again (it exited)


class ChildSupervisor:
    """Keeps ``up``'s children running: one that exits (a crash, an OOM kill, a SIGKILL) is started
    again after a backoff, doubling from ``backoff_s`` to ``max_backoff_s`` (back to the first once a
    child ran for STABLE_AFTER_S), and each restart is counted in the log: ``up``'s and the child's."""

    def __init__(self, components, environ, log_dir: Path, *, backoff_s: float = RESTART_BACKOFF_S,
                 max_backoff_s: float = RESTART_BACKOFF_MAX_S):
        self._components = tuple(components)
        self._environ = dict(environ)
        self._log_dir = log_dir
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._children: list[_Child] = []

    @property
    def processes(self) -> list[ManagedProcess]:
        return [child.process for child in self._children]

    def restarts(self, name: str) -> int:
        return next(child.restarts for child in self._children if child.component.name == name)

    def start(self) -> "ChildSupervisor":
        for component in self._components:
            process = component.process(self._environ, self._log_dir).start()
            self._children.append(_Child(component, process, time.monotonic(), self._backoff_s))
        return self

    def poll(self) -> None:
        """Restart what exited and is due (call it every second or so, from the main thread)."""
        now = time.monotonic()
        for child in self._children:
            if child.process.alive():
                continue
            name, code = child.component.name, child.process.popen.returncode
            if child.restart_at is None and code == CONFIG_ERROR_EXIT:
                log.error("%s exited with a configuration error; not restarted (see %s)", name,
                          child.process.log_path)
                child.restart_at = float("inf")
                continue
            if child.restart_at is None:
                ran = now - child.started_at
                if ran >= STABLE_AFTER_S:
                    child.backoff_s = self._backoff_s
                child.restart_at = now + child.backoff_s
                log.error("%s exited with code %s after %.0f s; restart %d in %.0f s; see %s", name, code, ran,
                          child.restarts + 1, child.backoff_s, child.process.log_path)
                continue
            if now < child.restart_at:
                continue
            child.restarts += 1
            child.backoff_s = min(child.backoff_s * 2, self._max_backoff_s)
            with open(child.process.log_path, "a") as log_file:
                log_file.write(f"--- siaga up: restart {child.restarts} of {name} "
                               f"(the last one exited with code {code}) ---\n")
            child.process = child.component.process(self._environ, self._log_dir).start()
            child.started_at, child.restart_at = time.monotonic(), None
            log.warning("%s restarted (restart %d, pid %d)", name, child.restarts, child.process.pid)

    def stop(self) -> None:
        for child in reversed(self._children):
            child.process.stop()


def instance_reaper(state_dir: Path) -> ManagedProcess:
    """A process that stops every LOCAL instance of ``state_dir`` once its parent is gone.

    It dies with its parent like every child (PR_SET_PDEATHSIG sends it SIGTERM), and that is its
    cue: a ``up`` killed by SIGKILL, which cannot stop anything itself, leaves no instance behind.
    """
    return ManagedProcess("reaper", python_module("workers.up", "reap", str(state_dir), str(os.getpid())),
                          env=child_env("reaper"), log_path=state_dir / "logs" / "reaper.log")


def reap(state_dir: Path, parent: int) -> int:
    """The reaper's body: wait for SIGTERM (or for ``parent`` to be gone), then stop the instances."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    if os.getppid() == parent:  # else it died while we started: nobody will send the signal
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
    removed = asyncio.run(LocalProcessProvider(state_dir).delete_all())
    if removed:
        log.info("stopped deployed instances: %s", ", ".join(removed))
    return 0


def run_up(components: tuple[Component, ...] = COMPONENTS) -> int:
    settings = StackSettings.from_env()
    security = KafkaSecurity.from_env()  # every child is a Kafka client: a bad setting stops us here, not them
    if settings.kafka_bootstrap is None and security.security_protocol != "PLAINTEXT":
        raise ConfigError(f"KAFKA_SECURITY_PROTOCOL={security.security_protocol} needs KAFKA_BOOTSTRAP_SERVERS: "
                          "the embedded broker listens on loopback in PLAINTEXT only")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # only a controller deploys LOCAL instances (`stack` runs none)
    reaper = instance_reaper(settings.state_dir).start() if any(c.service == "controller" for c in components) else None
    try:
        stack = EmbeddedStack(settings).start()
    except BaseException:
        if reaper is not None:
            reaper.stop()
        raise
    supervisor: ChildSupervisor | None = None
    try:
        caps = asyncio.run(probe(stack.kafka_bootstrap, security=security))
        topics = initial_topics(caps.supports("CreatePartitions"))
        created = asyncio.run(ensure_topics(stack.kafka_bootstrap, topics))
        # the children get the KAFKA_SECURITY_PROTOCOL / KAFKA_SASL_* / KAFKA_SSL_* settings with the rest
        env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=stack.kafka_bootstrap,
                   TEMPORAL_ADDRESS=stack.temporal_address)
        skipped = [c for c in components if not c.wanted(env)]
        supervisor = ChildSupervisor([c for c in components if c.wanted(env)], env, settings.state_dir / "logs")
        _print_banner(stack, caps, topics, created, supervisor.start().processes, skipped, settings)
        while not stop.wait(1.0):
            dead = stack.dead()
            if dead:
                log.error("%s exited; stopping everything\n%s", dead[0].name, dead[0].tail())
                return 1
            supervisor.poll()
        return 0
    finally:
        if supervisor is not None:
            supervisor.stop()
        # instances the controller deployed run on purpose beyond its own restarts; not beyond `up`
        removed = asyncio.run(LocalProcessProvider(settings.state_dir).delete_all())
        if removed:
            log.info("stopped deployed instances: %s", ", ".join(removed))
        if reaper is not None:
            reaper.stop()
        stack.stop()
        print("siaga: stopped", flush=True)


def _print_banner(stack: EmbeddedStack, caps, topics: dict[str, int], created: list[str], children, skipped,
                  settings) -> None:
    notifier = NotifierSettings.from_env()
    features = caps.report()["features"]
    if stack.broker is None:
        broker = f"{caps.flavor()} (given by KAFKA_BOOTSTRAP_SERVERS)"
    elif stack.broker.kind == "kafka":
        broker = f"Apache Kafka {pinned_version()} (embedded, KRaft, data in {settings.state_dir / 'kafka'})"
    else:
        broker = "tansu (embedded, memory only)"
    lines = [
        "siaga is up",
        f"  kafka     {stack.kafka_bootstrap}   {broker}",
        *([f"  broker    chose {stack.broker.kind}: {stack.broker.reason}"] if stack.broker else []),
        *(f"  broker    cannot: {limit}" for limit in (LIMITATIONS[stack.broker.kind] if stack.broker else ())),
        f"  temporal  {stack.temporal_address}" + (f"   (web UI {stack.temporal_ui})" if stack.temporal_ui else ""),
        f"  receiver  http://{notifier.http_host}:{notifier.http_port}   (live incidents)",
        f"  topics    {', '.join(f'{t} ({n})' for t, n in topics.items())}" + (f" (created {', '.join(created)})" if created else ""),
        "  broker capabilities:",
        *(f"    {'yes' if v['supported'] else 'NO '}  {k}" + (f"  (missing {', '.join(v['missing_apis'])})"
          if v["missing_apis"] else "") for k, v in features.items()),
        *(f"  {c.name:<9} pid {c.pid}, log {c.log_path}" for c in children),
        *(f"  {c.name:<9} not started: set {' and '.join(c.needs)}" for c in skipped),
        f"  state     {settings.state_dir}",
        "  restarts  a child that exits is started again (backoff 1 s ▸ 60 s), each restart counted in its log",
        "Ctrl-C stops everything.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":  # python -m workers.up reap <state_dir> <parent pid>: the reaper
    from fogverse.logs import configure_logging

    configure_logging("siaga.reaper")
    if len(sys.argv) != 4 or sys.argv[1] != "reap":
        sys.exit("usage: python -m workers.up reap <state_dir> <parent pid>")
    sys.exit(reap(Path(sys.argv[2]), int(sys.argv[3])))
