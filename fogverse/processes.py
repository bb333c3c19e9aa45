"""The one way Siaga starts and stops child processes (broker, Temporal, app instances).

Each child gets its own process group, so stopping it also stops anything it spawned, and is
told by the kernel to die with its parent (PR_SET_PDEATHSIG), so a supervisor killed with
SIGKILL leaves no orphans behind. The kernel's "parent" is the *thread* that started the child:
start children from threads that live as long as the process (the main thread, asyncio's
default executor), never from a short-lived one.

Each Siaga child gets only the environment its service needs (:func:`child_env`), so a bot's
token or the Firebase key is not in every process's ``/proc/<pid>/environ``.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: the process group still lets stop() reach every child
        return
    if os.getppid() != parent:  # the parent died before prctl took effect: nobody will signal us
        os._exit(1)


class ManagedProcess:
    def __init__(self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                 log_path: Path | None = None, cwd: Path | None = None, die_with_parent: bool = True):
        self.name = name
        self.argv = list(argv)
        self.env = dict(os.environ if env is None else env)
        self.log_path = log_path
        self.cwd = cwd
        self.die_with_parent = die_with_parent
        self.popen: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self) -> "ManagedProcess":
        out = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            out = open(self.log_path, "ab")
        try:
            self.popen = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=functools.partial(_die_with_parent, os.getpid()) if self.die_with_parent else None,
            )
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
        log.info("started %s (pid %d): %s", self.name, self.popen.pid, " ".join(self.argv))
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """SIGTERM the whole group, then SIGKILL what is left after ``timeout_s``."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", self.name, timeout_s)
        self.signal(signal.SIGKILL)  # also reaches grandchildren that ignored SIGTERM
        code = self.popen.wait()
        log.info("stopped %s (exit %s)", self.name, code)
        return code

    def kill(self) -> int | None:
        """SIGKILL the group at once (crash tests)."""
        if self.popen is None:
            return None
        self.signal(signal.SIGKILL)
        return self.popen.wait()

    def tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


#: what a third-party server (Kafka, tansu, Temporal) takes from our environment: the system's
#: basics, none of Siaga's settings and secrets (a Kafka password, bot tokens)
SYSTEM_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "JAVA_HOME")


def system_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name in SYSTEM_VARIABLES}


#: what every Siaga process may take from its parent (``X_*`` is every name starting with ``X_``):
#: the system's basics, Python's own, the broker and its security settings, the runtime settings
#: every app shares (``RuntimeSettings``), logging, and Siaga's own ``SIAGA_*``
COMMON_VARIABLES = (*SYSTEM_VARIABLES, "LC_*", "USER", "LOGNAME", "PYTHON*", "VIRTUAL_ENV", "SIAGA_*", "KAFKA_*",
                    "LOG_LEVEL", "LOG_FORMAT", "OBSERVER_TOPIC", "METRICS_INTERVAL", "BATCH_SIZE", "WORKER_THREADS",
                    "MAX_INFLIGHT_BATCHES", "DLQ_SUFFIX", "INSTANCE_ID", "SERVICE_NAME", "MAX_INSTANCE",
                    "CLOUD_PROVIDER", "METADATA_MAX_AGE", "BATCH_TIME_BUDGET", "DRAIN_TIMEOUT", "METRICS_HOST",
                    "FETCH_MAX_WAIT_MS")

#: what each service reads beyond COMMON_VARIABLES (each service's ``settings.py``); its
#: secrets go to it alone: TOKEN to the Discord bot, CHANNEL_* to the LINE bot, FIREBASE_* to the notifier
SERVICE_VARIABLES: dict[str, tuple[str, ...]] = {
    "analyzer": ("ANALYZER_*", "MODEL_MODE", "DISASTER_TWEETS_DIR", "OMP_NUM_THREADS"),
    "notifier": ("CLIENT_CONSUMER_*", "FIREBASE_*", "FCM_ENDPOINT", "DEVICE_*", "NOTIFIER_*",
                 "INCIDENT_*", "PUSH_*", "SSE_*"),
    "crawler": ("CRAWLER_*", "USE_SPAM", "SPAM_*"),
    "discord_bot": ("TOKEN", "DISCORD_*", "CLIENT_CONSUMER_TOPIC"),
    "line_bot": ("CHANNEL_SECRET", "CHANNEL_ACCESS_TOKEN", "BOOTSTRAP_SERVERS", "MOKE_PRODUCER_TOPIC", "CLIENT_ID",
                 "PORT", "LINE_*"),
    "reaper": (),  # up's reaper of LOCAL instances (workers.up.instance_reaper)
}
#: the control plane: its own settings and the clouds' credentials; it starts LOCAL instances of
#: the services it scales, so it carries their variables too (never the bots' secrets)
SERVICE_VARIABLES["controller"] = (
    "TEMPORAL_*", "OBSERVER_CONSUMER_*", "DEPLOY_DELAY", "HEARBEART_DEPLOY_DELAY", "Z_VALUE", "WINDOW_MAX_SECOND",
    "INPUT_OUTPUT_*", "SLEEP_TIME", "MIN_INSTANCE", "SCALE_IN_*", "BACKLOG_NEAR_ZERO", "SPIKE_TOLERANCE", "SPIKE_HOLD",
    "HEARTBEAT_TIMEOUT", "RECONCILE_INTERVAL", "MAX_PARTITIONS", "TARGET_UTILIZATION", "CATCH_UP_TIME",
    "SCALE_OUT_RULE", "CONTROLLED_SERVICES", "LOCAL_SERVICE_MODULES", "INSTANCE_ENV", "CONTROLLER_METRICS_PORT",
    "INSTANCE_KAFKA_BOOTSTRAP_SERVERS", "IMAGE_NAME", "MACHINE_TYPE", "CLOUD_ZONE", "PROJECT_NAME", "SERVICE_ACCOUNT",
    "GCE_*",
    "AWS_*", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT",
    *SERVICE_VARIABLES["analyzer"], *SERVICE_VARIABLES["notifier"],
)


#: the secrets of the services above and of the clouds: a process of a service not listed there
#: (a module of your own in ``LOCAL_SERVICE_MODULES``), whose needs nobody wrote down, gets every
#: variable but these
SECRET_VARIABLES = ("TOKEN", "CHANNEL_SECRET", "CHANNEL_ACCESS_TOKEN", "FIREBASE_*", "AWS_SECRET_ACCESS_KEY",
                    "AWS_SESSION_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS")


def allowed(name: str, patterns: Sequence[str]) -> bool:
    return any(name.startswith(p[:-1]) if p.endswith("*") else name == p for p in patterns)


def child_env(service: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The part of ``environ`` a ``service`` process needs (see SERVICE_VARIABLES)."""
    environ = os.environ if environ is None else environ
    if service not in SERVICE_VARIABLES:
        return {name: value for name, value in environ.items() if not allowed(name, SECRET_VARIABLES)}
    patterns = (*COMMON_VARIABLES, *SERVICE_VARIABLES[service])
    return {name: value for name, value in environ.items() if allowed(name, patterns)}


def python_module(module: str, *args: str) -> list[str]:
    """argv that runs ``python -m module`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def wait_for_port(host: str, port: int, timeout_s: float, process: ManagedProcess | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise RuntimeError(f"{process.name} exited with code {process.popen.returncode} before "
                               f"listening on {host}:{port}\n{process.tail()}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on {host}:{port} within {timeout_s:.0f} s"
                       + (f"\n{process.tail()}" if process else ""))


_HANDED_OUT: set[int] = set()  # ports free_port has returned in this process


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range.

    A port the kernel hands out for ``bind(0)`` comes from the range outgoing connections take
    their source ports from, so one of them could take it before our server binds it (seen:
    the Temporal dev server failing with "address already in use").
    """
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    for _ in range(100):
        port = random.randint(max(1024, ephemeral_low - 12000), ephemeral_low - 1)
        if port in _HANDED_OUT:
            continue  # free until its server binds it: two calls in a row must not both get it
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            _HANDED_OUT.add(port)
            return port
    with socket.socket() as s:  # a crowded low range: fall back to the kernel's pick
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
