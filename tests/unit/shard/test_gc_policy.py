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
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restore_gc")
def test_apply_freezes_the_heap_and_raises_thresholds() -> None:
    gc.unfreeze()
    settings = gc_policy.apply(50_000)
    assert gc.get_threshold() == (50_000, gc_policy.GEN1_THRESHOLD, gc_policy.GEN2_THRESHOLD)
    assert settings.thresholds == gc.get_threshold()
    # Everything alive at start-up (this test process's modules at least) is out of the collector's way.
    assert settings.frozen_objects == gc.get_freeze_count() > 10_000


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
