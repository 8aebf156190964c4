"""Garbage-collector settings for a long-running bot whose heap is large and mostly permanent.

Why: CPython's cyclic collector runs a young-generation pass every 700 container allocations and, from time
to time, a full pass over every tracked object. A bot allocates containers at a furious rate (each gateway
frame parses into thousands of dicts and lists; a GUILD_CREATE of 50 members is ~2,000) while its live heap
is large and long-lived (imported modules, caches, one actor per guild). With the defaults, the collector
traverses the same permanent objects again and again: in the guild-flood benchmark (2,500 GUILD_CREATE)
``orjson.loads`` of the frames looked five times slower than it is (466 µs instead of 88 µs per 33 KB frame
when the parsed frames stay alive: the difference is the collections the allocations trigger), and the bot
spent a third of its start-up CPU there.

What we do, once, after the imports and before the bot connects:

* ``gc.freeze()`` moves everything allocated so far (modules, classes, the configuration) to the permanent
  generation, which no collection traverses again;
* the young-generation threshold is raised (default 200,000 allocations instead of 700; in the guild flood
  50,000 still left a fifth of the CPU in collections, because every young pass traverses the frames still
  queued for their guild actors), so a collection runs after a batch of frames rather than inside each one,
  and the older generations' thresholds are raised so full passes are rare. Reference counting still frees
  almost everything immediately; only reference *cycles* wait a little longer (and those are rare and
  short-lived in this code base: trio's cancellation tracebacks are the usual source).

The price is pause length: a young pass now runs rarely but traverses whatever survived since the last one.
In steady interaction load there are almost no collections at all (most allocations die young, and the
threshold counts allocations minus deallocations); during the 2,500-guild start-up flood there was one
116 ms pause (the frames still queued for guild actors), against ~0.4 s of collector CPU saved over the
flood. The pauses are measured, see below.

``runtime.gc_gen0_threshold = 0`` leaves the collector exactly as Python configures it. Either way the bot
reports every collection's pause (`PauseObserver`, ``shard_gc_pause_seconds``).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time

import attrs

from supervision.telemetry import Telemetry

log = logging.getLogger(__name__)

#: Older generations: a full pass only after this many middle passes (Python: 10 and 10).
GEN1_THRESHOLD = 20
GEN2_THRESHOLD = 100


@attrs.frozen
class GcSettings:
    """What `apply` did, for the start-up log and the tests."""

    thresholds: tuple[int, int, int]
    frozen_objects: int


def apply(gen0_threshold: int) -> GcSettings:
    """Freeze the start-up heap and raise the thresholds (``gen0_threshold == 0``: change nothing)."""
    if gen0_threshold <= 0:
        a, b, c = gc.get_threshold()
        return GcSettings((a, b, c), 0)
    gc.collect()  # free start-up garbage first, so it is not frozen forever
    gc.freeze()
    gc.set_threshold(gen0_threshold, GEN1_THRESHOLD, GEN2_THRESHOLD)
    settings = GcSettings((gen0_threshold, GEN1_THRESHOLD, GEN2_THRESHOLD), gc.get_freeze_count())
    log.debug("gc: froze %d start-up objects, thresholds %s", settings.frozen_objects, settings.thresholds)
    return settings


class PauseObserver:
    """Times every collection (``gc.callbacks``) into ``shard_gc_pause_seconds{generation}``.

    A collection stops the whole process, event loop included, so its pauses belong next to loop lag in
    an operator's view: a latency spike with no slow task step and a long gen-2 pause has its explanation.
    Use as a context manager around the bot's run; the callback is removed on exit.
    """

    def __init__(self, telemetry: Telemetry) -> None:
        self._pauses = telemetry.histogram(
            "shard_gc_pause_seconds",
            "Garbage-collector pauses (the whole process stops), by generation.",
            ["generation"],
        )
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            self._pauses.observe(time.perf_counter() - self._started, str(info.get("generation", "?")))
            self._started = 0.0

    def __enter__(self) -> PauseObserver:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)
