"""The notifier's heap keeper: survivors are frozen out of the collector's walks, young cyclic
garbage is still freed, and a thaw frees cycles that died frozen."""

import gc
import weakref

import pytest

from apps.notifier.heap import HeapKeeper, HeapSettings
from fogverse.settings import ConfigError


class Node:
    def __init__(self):
        self.other = self


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def keeper():
    clock = Clock()
    keeper = HeapKeeper(HeapSettings.from_env({"GC_THAW_INTERVAL": "60"}), clock=clock)
    keeper.clock = clock
    gc.unfreeze()
    yield keeper
    keeper.release()
    gc.collect()


def test_a_tick_freezes_what_survives(keeper):
    survivor = [Node()]
    keeper.tick()
    assert gc.get_freeze_count() > 0
    assert not any(o is survivor for o in gc.get_objects()), "frozen objects are out of every generation"


def test_cyclic_garbage_is_freed_at_a_tick_not_frozen(keeper):
    cycle = Node()
    alive = weakref.ref(cycle)
    del cycle
    keeper.tick()
    assert alive() is None


def test_a_cycle_that_dies_frozen_waits_for_the_thaw(keeper):
    cycle = Node()
    alive = weakref.ref(cycle)
    keeper.tick()  # frozen while still referenced
    del cycle
    gc.collect()
    assert alive() is not None, "a collection does not walk frozen objects"
    keeper.clock.now = 30
    keeper.tick()
    assert alive() is not None and keeper.thaws == 0, "before GC_THAW_INTERVAL only the young are collected"
    keeper.clock.now = 61
    keeper.tick()
    assert alive() is None and keeper.thaws == 1


def test_release_hands_everything_back(keeper):
    keeper.tick()
    keeper.release()
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize(("environ", "variable"), [
    ({"GC_FREEZE_INTERVAL": "-1"}, "GC_FREEZE_INTERVAL"),
    ({"GC_THAW_INTERVAL": "0"}, "GC_THAW_INTERVAL"),
    ({"GC_FREEZE_INTERVAL": "often"}, "GC_FREEZE_INTERVAL"),
])
def test_bad_settings_name_their_variable(environ, variable):
    with pytest.raises(ConfigError, match=variable):
        HeapSettings.from_env(environ)


async def test_an_interval_of_zero_leaves_the_collector_alone():
    keeper = HeapKeeper(HeapSettings.from_env({"GC_FREEZE_INTERVAL": "0"}))
    gc.unfreeze()
    await keeper.run()  # returns at once
    assert gc.get_freeze_count() == 0
