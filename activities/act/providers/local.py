"""LOCAL: each instance is a ``python -m <module>`` process on this machine.

Instances outlive the worker that started them (a restarted worker finds and manages them), so
they are not tied to the worker's life; ``up`` keeps a reaper beside it that stops them when
``up`` dies, even by SIGKILL (``workers.up.instance_reaper``). They are found again by a mark in
their own environment (``SIAGA_LOCAL_STATE`` = this provider's directory, ``SIAGA_INSTANCE`` = the
name): the kernel keeps that for the life of the process, unlike a pid file that a crash can
leave half-written; a pid is trusted only together with the start time it had when it was found,
so a recycled pid is never signalled or waited on.

Each instance gets only the variables its service needs (:func:`fogverse.processes.child_env`)
and ``<state_dir>/instances/<name>.log`` keeps its log; names are checked first, so the log path
is always inside the state directory.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Mapping, NamedTuple

from activities.act.providers import (BlockingProvider, InstanceSpec, ProviderRefused, checked_names, valid_instance,
                                  valid_service)
from fogverse.processes import SERVICE_VARIABLES, ManagedProcess, child_env, python_module
from workflows.messages import InstanceInfo

log = logging.getLogger(__name__)

STATE_MARK = "SIAGA_LOCAL_STATE"
NAME_MARK = "SIAGA_INSTANCE"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Found(NamedTuple):
    """A live instance: its process group leader, identified by pid *and* start time."""

    pid: int
    started: int | None  # clock ticks after boot (``/proc/<pid>/stat`` field 22)
    info: InstanceInfo


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return 0.0


class LocalProcessProvider(BlockingProvider):
    name = "LOCAL"

    def __init__(self, state_dir: Path, modules: Mapping[str, str] | None = None,
                 base_env: Mapping[str, str] | None = None, stop_timeout_s: float = 20.0):
        self.directory = (Path(state_dir) / "instances").resolve()
        self.modules = dict(modules or {})
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.stop_timeout_s = stop_timeout_s
        self._children: dict[str, ManagedProcess] = {}  # started here: reaped here, so no zombies
        self._boot = _boot_time()

    def module_for(self, service: str) -> str:
        return self.modules.get(service, f"apps.{service}")

    def environment_of(self, service: str) -> dict[str, str]:
        """What an instance gets of ``base_env``: its service's variables, or those of the app its
        module is (``svc=apps.analyzer`` runs an analyzer), else all but the known secrets; never a
        ``*_METRICS_PORT``."""
        module = self.module_for(service)
        app = module.removeprefix("apps.").split(".")[0] if module.startswith("apps.") else module
        env = child_env(service if service in SERVICE_VARIABLES else app, self.base_env)
        # instances of a service share this machine: one fixed metrics port would stop all but the first
        return {name: value for name, value in env.items() if not name.endswith("_METRICS_PORT")}

    async def delete_all(self) -> list[str]:
        """Stop every instance of this state directory (``make up`` shutting the whole system down)."""
        names = sorted(self._scan())
        for name in names:
            await self.delete(name)
        return names

    # ── the work, on a thread: it reads /proc and waits for processes ──────────────────────

    def log_path(self, name: str) -> Path:
        path = (self.directory / f"{name}.log").resolve()
        if not path.is_relative_to(self.directory):
            raise ProviderRefused(f"refused instance name {name!r}: its log would be outside {self.directory}")
        return path

    def _create(self, spec: InstanceSpec) -> InstanceInfo:
        checked_names(spec.name, spec.service)  # the name becomes a path below
        log_path = self.log_path(spec.name)
        found = self._scan().get(spec.name)
        if found is not None:
            return found.info
        self.directory.mkdir(parents=True, exist_ok=True)
        env = {**self.environment_of(spec.service), **spec.env, STATE_MARK: str(self.directory),
               NAME_MARK: spec.name, "SERVICE_NAME": spec.service}
        process = ManagedProcess(spec.name, python_module(self.module_for(spec.service)), env=env,
                                 log_path=log_path, die_with_parent=False).start()
        self._children[spec.name] = process
        deadline = time.monotonic() + 5.0
        while spec.name not in self._scan() and process.alive() and time.monotonic() < deadline:
            time.sleep(0.01)  # /proc shows the new environment a moment after exec returns
        return InstanceInfo(spec.name, spec.service, self.name, "running", time.time())

    def _delete(self, name: str) -> bool:
        if not valid_instance(name):
            return False
        self._reap()
        found = self._scan().get(name)
        if found is None:
            return False
        pid, started = found.pid, found.started
        self._signal(name, pid, started, signal.SIGTERM)  # the app drains its in-flight batches and commits
        self._signal(name, pid, started, signal.SIGCONT)  # a stopped (SIGSTOP) process acts on SIGTERM once continued
        deadline = time.monotonic() + self.stop_timeout_s
        while time.monotonic() < deadline and self._alive(name, pid, started):
            time.sleep(0.1)
        if self._alive(name, pid, started):
            self._signal(name, pid, started, signal.SIGKILL)
            deadline = time.monotonic() + self.stop_timeout_s
            while self._alive(name, pid, started):
                if time.monotonic() > deadline:  # stuck in the kernel (D state): no point spinning on it
                    log.warning("%s (pid %d) did not exit %.0f s after SIGKILL", name, pid, self.stop_timeout_s)
                    break
                time.sleep(0.05)
        self._children.pop(name, None)
        return True

    def _list(self, service: str) -> list[InstanceInfo]:
        if not valid_service(service):
            return []
        self._reap()
        return sorted((f.info for f in self._scan().values() if f.info.service == service), key=lambda i: i.name)

    def _alive(self, name: str, pid: int, started: int | None) -> bool:
        """Still the process that was found: same pid, same start time, and not yet gone."""
        child = self._children.get(name)
        if child is not None and child.pid == pid:
            return child.popen.poll() is None  # also reaps it once it exits
        if _start_ticks(pid) != started:
            return False  # gone, and the pid may already be another process's
        return _exiting_or_ours(pid, str(self.directory))

    def _signal(self, name: str, pid: int, started: int | None, sig: int) -> None:
        if self._alive(name, pid, started):
            _signal_group(pid, sig)

    def _reap(self) -> None:
        for name, child in list(self._children.items()):
            if child.popen.poll() is not None:
                del self._children[name]

    def _scan(self) -> dict[str, Found]:
        """Every live process that carries this provider's mark: name ▸ its group leader."""
        found: dict[str, Found] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            mark = _mark_of(pid, str(self.directory))
            if mark is None:
                continue
            name, service = mark
            leader = _group_leader(pid)
            if name in found and found[name].pid == leader:
                continue
            started = _start_ticks(leader)
            created_at = None if started is None else self._boot + started / _CLOCK_TICKS
            if name not in found or pid == leader:
                found[name] = Found(leader, started, InstanceInfo(name, service, self.name, "running", created_at))
        return found


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first); None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    try:
        return int(fields[19])
    except (TypeError, IndexError, ValueError):
        return None


def _is_live(pid: int) -> bool:
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] not in ("Z", "X")


def _mark_in(raw_environ: bytes, directory: str) -> tuple[str, str] | None:
    """(instance name, service) if this environment carries this provider's mark."""
    env = dict(item.split(b"=", 1) for item in raw_environ.split(b"\0") if b"=" in item)
    if env.get(STATE_MARK.encode()) != directory.encode():
        return None
    return env.get(NAME_MARK.encode(), b"").decode(), env.get(b"SERVICE_NAME", b"").decode()


def _mark_of(pid: int, directory: str) -> tuple[str, str] | None:
    """(instance name, service) if process ``pid`` is alive and was started by this provider."""
    if not _is_live(pid):
        return None
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()  # empty for exiting processes, unreadable for others'
    except OSError:
        return None
    return _mark_in(raw, directory) if raw else None


def _exiting_or_ours(pid: int, directory: str) -> bool:
    """Not yet gone: running with our mark, or on its way out (environment already released)."""
    if not _is_live(pid):
        return False
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except PermissionError:
        return False  # another user's process under a reused pid: not ours
    except OSError:
        return True  # it exists and is no zombie yet: still on its way out
    return not raw or _mark_in(raw, directory) is not None


def _group_leader(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return pid


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # ManagedProcess starts each instance in its own process group
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)
