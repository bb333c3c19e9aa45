"""The LOCAL provider against real processes: idempotent create and delete, and a restarted worker
(a fresh provider object) finding and stopping instances it did not start."""

from __future__ import annotations

import os
import time

import pytest

from activities.providers import InstanceSpec
from activities.providers.local import LocalProcessProvider
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
    assert len({pid for pid, _ in provider._scan().values()}) == 1


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
    (pid, info), = provider._scan().values()
    assert info.created_at is not None and abs(info.created_at - time.time()) < 30
    restarted = LocalProcessProvider(tmp_path, MODULES, stop_timeout_s=5)  # what a restarted worker builds
    assert [i.name for i in await restarted.list("quiet")] == ["quiet-1"]
    again = await restarted.create(spec("quiet-1"))
    assert again.name == "quiet-1" and [p for p, _ in restarted._scan().values()] == [pid]
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
