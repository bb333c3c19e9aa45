"""``python -m workers up``: bring up the whole system on this machine and keep it up.

Starts the embedded stack (unless pointed elsewhere), creates the topics, then the control-plane
worker and the apps, each as a child process with its log under ``$SIAGA_STATE_DIR/logs`` and
only the environment its service needs (``fogverse.processes.child_env``). Ctrl-C or SIGTERM
stops everything it started, in reverse order; a SIGKILL stops it too (the kernel's
PR_SET_PDEATHSIG, down to the instances the controller deployed).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

from activities.providers.local import LocalProcessProvider
from fogverse.broker import ensure_topics, probe
from fogverse.processes import ManagedProcess, child_env, python_module
from fogverse.settings import ConfigError, KafkaSecurity, NotifierSettings, StackSettings
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


def run_up(components: tuple[Component, ...] = COMPONENTS) -> int:
    settings = StackSettings.from_env()
    security = KafkaSecurity.from_env()  # every child is a Kafka client: a bad setting stops us here, not them
    if settings.kafka_bootstrap is None and security.security_protocol != "PLAINTEXT":
        raise ConfigError(f"KAFKA_SECURITY_PROTOCOL={security.security_protocol} needs KAFKA_BOOTSTRAP_SERVERS: "
                          "the embedded broker listens on loopback in PLAINTEXT only")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stack = EmbeddedStack(settings).start()
    children: list[ManagedProcess] = []
    try:
        caps = asyncio.run(probe(stack.kafka_bootstrap, security=security))
        topics = initial_topics(caps.supports("CreatePartitions"))
        created = asyncio.run(ensure_topics(stack.kafka_bootstrap, topics))
        # the children get the KAFKA_SECURITY_PROTOCOL / KAFKA_SASL_* / KAFKA_SSL_* settings with the rest
        env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=stack.kafka_bootstrap,
                   TEMPORAL_ADDRESS=stack.temporal_address)
        skipped = [c for c in components if not c.wanted(env)]
        for component in (c for c in components if c.wanted(env)):
            children.append(component.process(env, settings.state_dir / "logs").start())
        _print_banner(stack, caps, topics, created, children, skipped, settings)
        reported: set[str] = set()
        while not stop.wait(1.0):
            dead = stack.dead()
            if dead:
                log.error("%s exited; stopping everything\n%s", dead[0].name, dead[0].tail())
                return 1
            for child in children:
                if not child.alive() and child.name not in reported:
                    reported.add(child.name)
                    log.error("%s exited with code %s; see %s", child.name, child.popen.returncode, child.log_path)
        return 0
    finally:
        for child in reversed(children):
            child.stop()
        # instances the controller deployed run on purpose beyond its own restarts; not beyond `up`
        removed = asyncio.run(LocalProcessProvider(settings.state_dir).delete_all())
        if removed:
            log.info("stopped deployed instances: %s", ", ".join(removed))
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
        "Ctrl-C stops everything.",
    ]
    print("\n".join(lines), flush=True)
