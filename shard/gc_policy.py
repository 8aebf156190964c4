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

During a shard's lazy load (READY, then one GUILD_CREATE per guild: `protocol.gateway.guild_load`) even that
is too much: the one young pass of a 2,500-guild start-up took 84-127 ms, because it traversed every frame
still queued for its guild actor. So `CollectorPausedDuringLoad` turns the collector off while any shard is
loading (no collection at all during that flood now) and, when the last load ends, freezes what it built
(the guild caches, which live as long as the process) and turns the collector back on. Freezing moves
objects out of the collector's sight; reference counting still frees them as usual, so frames still queued
are released once handled. What it costs: a reference cycle created during the load is never collected (the
load builds plain dicts, lists and frozen attrs objects; cycles come from exceptions and cancellations,
which a healthy load does not raise), and the collector is off for the load's length (a second or two per
2,500 guilds); a load that never finishes is ended by the shard after its idle timeout (10 s without a
guild), so the collector cannot stay off.

``runtime.gc_gen0_threshold = 0`` leaves the collector exactly as Python configures it (and the load
pause off). Either way the bot reports every collection's pause (`PauseObserver`, ``shard_gc_pause_seconds``).
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


@attrs.define
class _ProcessState:
    applied: GcSettings | None = None


_PROCESS = _ProcessState()  # the collector is process-wide state, so is the record of what we set


def applied() -> GcSettings | None:
    """What `apply` set in this process, or None when it did not run (tests, embedding) or changed nothing."""
    return _PROCESS.applied


def apply(gen0_threshold: int) -> GcSettings:
    """Freeze the start-up heap and raise the thresholds (``gen0_threshold == 0``: change nothing)."""
    if gen0_threshold <= 0:
        a, b, c = gc.get_threshold()
        return GcSettings((a, b, c), 0)
    gc.collect()  # free start-up garbage first, so it is not frozen forever
    gc.freeze()
    gc.set_threshold(gen0_threshold, GEN1_THRESHOLD, GEN2_THRESHOLD)
    settings = GcSettings((gen0_threshold, GEN1_THRESHOLD, GEN2_THRESHOLD), gc.get_freeze_count())
    _PROCESS.applied = settings
    log.debug("gc: froze %d start-up objects, thresholds %s", settings.frozen_objects, settings.thresholds)
    return settings


class CollectorPausedDuringLoad:
    """The gateway's guild-load listener: the cyclic collector is off while any shard is loading its guilds.

    Give it to the gateway fleet (``guild_load_listener=``). ``enabled=False`` makes it a no-op; the default
    follows `applied`, so the collector is only touched in a process whose policy `apply` set (``shard run``),
    never in one that asked for Python's defaults or embeds the bot (the test suite).
    """

    def __init__(self, *, enabled: bool | None = None) -> None:
        if enabled is None:
            enabled = applied() is not None
        self.enabled = enabled
        self._loading: set[int] = set()
        self.loads_finished = 0

    @property
    def paused(self) -> bool:
        """True while the collector is off because of a load."""
        return bool(self._loading) and self.enabled

    def load_started(self, shard_id: int) -> None:
        if shard_id in self._loading:
            return
        self._loading.add(shard_id)
        if self.enabled and len(self._loading) == 1:
            gc.disable()

    def load_finished(self, shard_id: int) -> None:
        if shard_id not in self._loading:
            return
        self._loading.discard(shard_id)
        self.loads_finished += 1
        if self.enabled and not self._loading:
            gc.freeze()  # the caches the load built are permanent: no collection needs to traverse them
            gc.enable()
            log.debug("gc: guild load over; its objects frozen, collector back on")


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
