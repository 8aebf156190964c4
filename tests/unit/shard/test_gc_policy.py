"""The process GC policy: frozen start-up heap and raised thresholds, or Python's settings untouched."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shard import gc_policy
from shard.config import Config


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    applied = gc_policy.applied()
    yield
    gc.unfreeze()
    gc.enable()
    gc.set_threshold(*thresholds)
    gc_policy._PROCESS.applied = applied  # what apply recorded for this process


@pytest.mark.usefixtures("restore_gc")
def test_apply_freezes_the_heap_and_raises_thresholds() -> None:
    gc.unfreeze()
    settings = gc_policy.apply(50_000)
    assert gc.get_threshold() == (50_000, gc_policy.GEN1_THRESHOLD, gc_policy.GEN2_THRESHOLD)
    assert settings.thresholds == gc.get_threshold()
    # Everything alive at start-up (this test process's modules at least) is out of the collector's way.
    assert settings.frozen_objects == gc.get_freeze_count() > 10_000
    assert gc_policy.applied() == settings


@pytest.mark.usefixtures("restore_gc")
def test_zero_leaves_python_settings_alone() -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    settings = gc_policy.apply(0)
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0
    assert settings == gc_policy.GcSettings((700, 10, 10), 0)


def test_default_config_tunes_the_collector_and_times_slow_steps() -> None:
    runtime = Config.defaults("production").runtime
    assert runtime.gc_gen0_threshold == 200_000
    assert runtime.slow_step_threshold_s == 0.05


@pytest.mark.usefixtures("restore_gc")
def test_the_collector_is_off_while_any_shard_loads_and_the_load_is_frozen_after() -> None:
    gc.unfreeze()
    pause = gc_policy.CollectorPausedDuringLoad(enabled=True)
    pause.load_started(0)
    pause.load_started(1)
    pause.load_started(1)  # told twice: still one load for that shard
    assert not gc.isenabled() and pause.paused
    built_during_load = [{"guild": n} for n in range(1_000)]
    pause.load_finished(0)
    assert not gc.isenabled()  # shard 1 is still loading
    assert gc.get_freeze_count() == 0
    pause.load_finished(1)
    assert gc.isenabled() and not pause.paused
    # what the load built is out of the collector's sight now (and still alive, freed by refcounting)
    assert gc.get_freeze_count() >= len(built_during_load)
    assert pause.loads_finished == 2
    pause.load_finished(1)  # a second report of the same end changes nothing
    assert pause.loads_finished == 2 and gc.isenabled()


@pytest.mark.usefixtures("restore_gc")
def test_the_load_pause_leaves_the_collector_alone_unless_the_policy_applies() -> None:
    gc_policy._PROCESS.applied = None  # as in a process that never called apply
    default = gc_policy.CollectorPausedDuringLoad()
    assert not default.enabled
    default.load_started(0)
    assert gc.isenabled() and not default.paused
    default.load_finished(0)
    assert gc.get_freeze_count() == 0
    gc_policy.apply(50_000)
    assert gc_policy.CollectorPausedDuringLoad().enabled
    gc.unfreeze()
    off = gc_policy.CollectorPausedDuringLoad(enabled=False)
    off.load_started(0)
    assert gc.isenabled()
