"""The LOCAL provider against real processes: idempotent create and delete, and a restarted worker
(a fresh provider object) finding and stopping instances it did not start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from activities.act.providers import InstanceSpec, ProviderRefused
from activities.act.providers.local import LocalProcessProvider, _is_live, _start_ticks
from controller_harness import REPO

MODULES = {"quiet": "controller_silent_app", "other": "controller_silent_app"}


def spec(name: str, service: str = "quiet") -> InstanceSpec:
    return InstanceSpec(name=name, service=service, env={"PYTHONPATH": f"{REPO}:{REPO / 'tests' / 'controller'}",
                                                           "INSTANCE_ID": name})


@pytest.fixture
def provider(tmp_path):
    made = LocalProcessProvider(tmp_path, MODULES, stop_timeout_s=5)
    yield made
    for info in made._list("quiet") + made._list("other"):
        made._delete(info.name)


async def test_create_is_idempotent_by_name(provider):
    first = await provider.create(spec("quiet-1"))
    again = await provider.create(spec("quiet-1"))
    listed = await provider.list("quiet")
    assert [i.name for i in listed] == ["quiet-1"]
    assert first.name == again.name == "quiet-1"
    assert len({found.pid for found in provider._scan().values()}) == 1


async def test_list_is_per_service_and_delete_is_idempotent(provider):
    await provider.create(spec("quiet-1"))
    await provider.create(spec("other-1", service="other"))
    assert [i.name for i in await provider.list("quiet")] == ["quiet-1"]
    assert [i.name for i in await provider.list("other")] == ["other-1"]
    assert await provider.delete("quiet-1") is True
    assert await provider.delete("quiet-1") is False
    assert await provider.list("quiet") == []
    assert [i.name for i in await provider.list("other")] == ["other-1"]


async def test_a_new_provider_finds_and_stops_instances_it_did_not_start(provider, tmp_path):
    await provider.create(spec("quiet-1"))
    (pid, _, info), = provider._scan().values()
    assert info.created_at is not None and abs(info.created_at - time.time()) < 30
    restarted = LocalProcessProvider(tmp_path, MODULES, stop_timeout_s=5)  # what a restarted worker builds
    assert [i.name for i in await restarted.list("quiet")] == ["quiet-1"]
    again = await restarted.create(spec("quiet-1"))
    assert again.name == "quiet-1" and [f.pid for f in restarted._scan().values()] == [pid]
    assert await restarted.delete("quiet-1") is True
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        provider._reap()  # the process is still the first provider's child: it reaps the exit status
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert await provider.list("quiet") == []


async def test_instances_of_another_state_dir_are_not_ours(provider, tmp_path_factory):
    elsewhere = LocalProcessProvider(tmp_path_factory.mktemp("elsewhere"), MODULES, stop_timeout_s=5)
    await elsewhere.create(spec("quiet-1"))
    try:
        assert await provider.list("quiet") == []
        assert await provider.delete("quiet-1") is False
        assert [i.name for i in await elsewhere.list("quiet")] == ["quiet-1"]
    finally:
        await elsewhere.delete("quiet-1")


async def test_an_instance_that_ignores_sigterm_is_killed(tmp_path):
    provider = LocalProcessProvider(tmp_path, {"stubborn": "controller_silent_app"}, stop_timeout_s=0.5)
    stubborn = InstanceSpec("stubborn-1", "stubborn", {**spec("x").env, "IGNORE_SIGTERM": "1"})
    await provider.create(stubborn)
    try:
        assert [i.name for i in await provider.list("stubborn")] == ["stubborn-1"]
        time.sleep(0.5)  # let it install its handler
        assert await provider.delete("stubborn-1") is True
        assert await provider.list("stubborn") == []
    finally:
        provider.stop_timeout_s = 0.1
        await provider.delete("stubborn-1")


# ─── names from the wire, secrets, and the instances' life ────────────────────────────────


@pytest.mark.parametrize("name, service", [("../../../../tmp/x-1", "x"), ("../../../../tmp/x-1", "../../../../tmp/x"),
                                           ("quiet-1/../../../../../tmp/x-1", "quiet"), ("/tmp/x-1", "quiet"),
                                           ("quiet-1\0", "quiet"), ("other-1", "quiet")])
async def test_a_name_that_is_not_service_n_is_refused_and_nothing_is_written(tmp_path, name, service):
    state = tmp_path / "deep" / "er" / "state"
    provider = LocalProcessProvider(state, {service: "controller_silent_app"}, stop_timeout_s=1)
    with pytest.raises(ProviderRefused, match="refused"):
        await provider.create(InstanceSpec(name, service, spec(name).env))
    assert await provider.delete(name, service) is False
    assert await provider.list(service) == []
    assert provider._scan() == {}, "no process was started"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [], "nothing was written anywhere"
    assert not Path("/tmp/x-1.log").exists()


def test_the_log_path_of_a_name_must_resolve_inside_the_state_directory(tmp_path):
    provider = LocalProcessProvider(tmp_path)
    assert provider.log_path("quiet-1") == tmp_path.resolve() / "instances" / "quiet-1.log"
    with pytest.raises(ProviderRefused, match="outside"):
        provider.log_path("../../../../tmp/x-1")


SECRETS = {"TOKEN": "discord-secret", "CHANNEL_SECRET": "line-secret", "CHANNEL_ACCESS_TOKEN": "line-token",
           "FIREBASE_KEY": '{"private_key": "firebase-secret"}', "AWS_SECRET_ACCESS_KEY": "aws-secret"}


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


async def test_each_instance_gets_only_the_variables_its_service_needs(tmp_path):
    base = {**os.environ, **SECRETS, "ANALYZER_MODE": "parallel", "NOTIFIER_PORT": "8123",
            "KAFKA_SASL_PASSWORD": "kafka-secret", "UNRELATED_SETTING": "x"}
    provider = LocalProcessProvider(tmp_path, {"analyzer": "controller_silent_app", "notifier": "controller_silent_app"},
                                    base_env=base, stop_timeout_s=5)
    try:
        await provider.create(spec("analyzer-1", "analyzer"))
        await provider.create(spec("notifier-1", "notifier"))
        found = provider._scan()
        analyzer, notifier = environ_of(found["analyzer-1"].pid), environ_of(found["notifier-1"].pid)
    finally:
        await provider.delete("analyzer-1")
        await provider.delete("notifier-1")
    assert not set(SECRETS) & set(analyzer), "an analyzer holds another service's secret"
    assert analyzer["ANALYZER_MODE"] == "parallel" and analyzer["KAFKA_SASL_PASSWORD"] == "kafka-secret"
    assert analyzer["PATH"] == os.environ["PATH"] and "UNRELATED_SETTING" not in analyzer
    assert "NOTIFIER_PORT" not in analyzer
    assert notifier["FIREBASE_KEY"] == SECRETS["FIREBASE_KEY"] and notifier["NOTIFIER_PORT"] == "8123"
    assert not {"TOKEN", "CHANNEL_SECRET", "CHANNEL_ACCESS_TOKEN", "AWS_SECRET_ACCESS_KEY"} & set(notifier)


def test_a_service_gets_the_variables_of_the_app_its_module_is_else_all_but_the_secrets(tmp_path):
    base = {**SECRETS, "ANALYZER_MODE": "parallel", "TEST_SOURCE_TOPIC": "in"}
    provider = LocalProcessProvider(tmp_path, {"svc-a": "apps.analyzer", "svc-b": "controller_test_app"},
                                    base_env=base)
    assert provider.environment_of("svc-a") == {"ANALYZER_MODE": "parallel"}, "svc-a runs an analyzer"
    assert provider.environment_of("svc-b") == {"ANALYZER_MODE": "parallel", "TEST_SOURCE_TOPIC": "in"}
    assert provider.environment_of("discord_bot")["TOKEN"] == SECRETS["TOKEN"]


def test_instances_never_get_a_metrics_port_the_first_instance_already_holds(tmp_path):
    base = {"ANALYZER_METRICS_PORT": "9101", "CRAWLER_METRICS_PORT": "9102", "METRICS_HOST": "0.0.0.0",
            "ANALYZER_MODE": "parallel"}
    provider = LocalProcessProvider(tmp_path, {"svc-b": "controller_test_app"}, base_env=base)
    assert provider.environment_of("analyzer") == {"ANALYZER_MODE": "parallel", "METRICS_HOST": "0.0.0.0"}
    assert provider.environment_of("svc-b") == {"ANALYZER_MODE": "parallel", "METRICS_HOST": "0.0.0.0"}


#: a worker: deploys one LOCAL instance and serves on, printing the instance's pid
WORKER = """
import asyncio, sys
from activities.act.providers import InstanceSpec
from activities.act.providers.local import LocalProcessProvider

async def main():
    provider = LocalProcessProvider(sys.argv[1], {"quiet": "controller_silent_app"})
    await provider.create(InstanceSpec("quiet-1", "quiet", {"PYTHONPATH": sys.argv[2]}))
    print(provider._scan()["quiet-1"].pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""

#: what `up` does: its reaper first, then the worker as a ManagedProcess; then it waits
SUPERVISOR = """
import sys, time
from pathlib import Path
from fogverse.processes import ManagedProcess
from workers.up import instance_reaper
reaper = instance_reaper(Path(sys.argv[2])).start()
worker = ManagedProcess("controller", [sys.executable, "-c", sys.argv[1], *sys.argv[2:]]).start()
print(reaper.pid, worker.pid, flush=True)
time.sleep(3600)
"""
SEARCH_PATH = f"{REPO}:{REPO / 'tests' / 'controller'}"


def gone(pid: int, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _is_live(pid):
            return True
        time.sleep(0.1)
    return False


def instance_pid(state, timeout_s: float = 30) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = LocalProcessProvider(state)._scan()
        if "quiet-1" in found:
            return found["quiet-1"].pid
        time.sleep(0.1)
    raise AssertionError("the instance never started")


def test_an_instance_outlives_a_worker_killed_by_sigkill_for_the_restarted_worker(tmp_path):
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), SEARCH_PATH], cwd=REPO, text=True,
                              stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": SEARCH_PATH})
    try:
        pid = int(worker.stdout.readline())
        worker.kill()
        worker.wait(10)
        assert not gone(pid, 2), "a worker's crash must not take its instances with it"
        assert [i.name for i in LocalProcessProvider(tmp_path)._list("quiet")] == ["quiet-1"]
    finally:
        worker.kill()
        LocalProcessProvider(tmp_path, stop_timeout_s=2)._delete("quiet-1")
    assert gone(pid)


def test_instances_do_not_outlive_up_killed_by_sigkill(tmp_path):
    state = tmp_path / "state"
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISOR, WORKER, str(state), SEARCH_PATH], cwd=REPO,
                                  text=True, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": SEARCH_PATH})
    try:
        reaper, worker = map(int, supervisor.stdout.readline().split())
        pid = instance_pid(state)
        time.sleep(1)  # the reaper is waiting for its signal by now
        supervisor.kill()
        supervisor.wait(10)
        assert gone(pid), "a deployed instance outlived up"
        assert gone(worker) and gone(reaper), "up's children outlived it"
        assert "stopped deployed instances: quiet-1" in (state / "logs" / "reaper.log").read_text()
    finally:
        supervisor.kill()
        LocalProcessProvider(state, stop_timeout_s=1)._delete("quiet-1")


def test_a_recycled_pid_is_not_taken_for_the_instance(tmp_path):
    """A process of the same pid but another start time (here: one with an empty environment, which
    reads like an exiting instance) is not ours: never signalled, never waited on."""
    stranger = subprocess.Popen(["env", "-i", "sleep", "60"])
    try:
        provider = LocalProcessProvider(tmp_path, stop_timeout_s=1)
        time.sleep(0.2)  # exec'd into sleep, with its empty environment
        started = _start_ticks(stranger.pid)
        assert provider._alive("quiet-1", stranger.pid, started), "same pid and start time: still the one found"
        assert not provider._alive("quiet-1", stranger.pid, started - 1), "another start time: a recycled pid"
        provider._signal("quiet-1", stranger.pid, started - 1, signal.SIGKILL)
        time.sleep(0.2)
        assert stranger.poll() is None, "a recycled pid was signalled"
    finally:
        stranger.kill()
        stranger.wait()
