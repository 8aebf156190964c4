"""The contract between the runner and a scenario, and the loop that measures every bot the same way.

Why one emulator per bot per scenario: state left behind by one bot (sessions, interactions, messages,
rate-limit windows) must not shape another bot's numbers, and an emulator starts in milliseconds. Bots run
one after another, never at the same time, so they never compete for the two cores.

A scenario only knows how to measure *one* bot (`Scenario.measure`); the runner turns whatever goes wrong
there — a crash, a timeout, a wrong reply — into a ``failed`` outcome carrying the reason and the bot's last
log lines, and moves on to the next bot.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Protocol

import attrs
import trio

from bench.common import (
    PROBE_DETAIL,
    RESULTS_DIR,
    BotOutcome,
    Metric,
    ScenarioReport,
    cpu_probe_seconds,
    exact_command,
    machine_info,
    merge_rounds,
    our_versions,
    peer_versions,
    utc_stamp,
)
from bench.scenarios.bots import BotSpec
from protocol.emulator import Emulator, EmulatorConfig

logger = logging.getLogger(__name__)


@attrs.frozen(slots=True)
class RunContext:
    """What a scenario may know about the run: quick mode, the run's timestamp, where results go."""

    quick: bool
    started_at: float
    results_dir: Path = RESULTS_DIR
    profile: bool = False

    def profile_path(self, scenario: str, bot: str) -> Path:
        """Where ``--profile`` writes a bot's py-spy samples (collapsed stacks, next to the bot's log)."""
        return self.results_dir / "logs" / f"{scenario}-{bot}-{self.stamp}.pyspy-collapsed.log"

    @property
    def stamp(self) -> str:
        return utc_stamp(self.started_at)


class Scenario(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    def metrics(self, ctx: RunContext) -> list[Metric]: ...

    def setup(self, ctx: RunContext) -> dict[str, object]:
        """Parameters of this run (sizes, rates) recorded in the result document."""
        ...

    async def measure(self, spec: BotSpec, ctx: RunContext) -> BotOutcome: ...

    def plots(self, outcomes: Sequence[BotOutcome], ctx: RunContext) -> list[Path]: ...


@contextlib.asynccontextmanager
async def running_emulator(config: EmulatorConfig) -> AsyncIterator[Emulator]:
    """`Emulator.running`, tolerating a connection reset raised while it shuts down.

    Bots are killed at the end of each measurement; their sockets may reset while the emulator still
    serves them. Whatever the scenario measured is already recorded by then.
    """
    finished = False
    try:
        async with Emulator.running(config) as emu:
            yield emu
            finished = True
    except* (trio.BrokenResourceError, trio.ClosedResourceError) as group:
        if not finished:
            raise
        logger.debug("emulator shut down with connection errors: %r", group)


async def measure_all(
    scenario: Scenario, specs: Sequence[BotSpec], ctx: RunContext, *, timeout_s: float, repeat: int = 1
) -> ScenarioReport:
    """Measure every bot in turn, ``repeat`` rounds interleaved (ours, peer, peer, ours, ...), and merge
    each bot's rounds into medians (`merge_rounds`). Failures become outcomes, never exceptions; a bot
    that has failed every round so far is not tried again."""
    started = ctx.started_at
    rounds: dict[str, list[BotOutcome]] = {spec.name: [] for spec in specs}
    for round_index in range(max(1, repeat)):
        for spec in specs:
            done = rounds[spec.name]
            if done and all(outcome.status != "ok" for outcome in done):
                continue
            reason = spec.unavailable_reason()
            if reason is not None:
                done.append(BotOutcome(bot=spec.name, status="skipped", error=reason))
                continue
            logger.info("%s: measuring %s (round %d)", scenario.name, spec.name, round_index + 1)
            probe = cpu_probe_seconds()  # between bots: what the machine is like for this round
            outcome = await _measure_one(scenario, spec, ctx, timeout_s)
            outcome.details[PROBE_DETAIL] = [round(probe, 4)]
            done.append(outcome)
    outcomes = [merge_rounds(spec.name, rounds[spec.name]) for spec in specs]
    report = ScenarioReport(
        scenario=scenario.name,
        metrics=scenario.metrics(ctx),
        outcomes=outcomes,
        started_at=started,
        finished_at=time.time(),
        quick=ctx.quick,
        command=exact_command(),
        machine=machine_info(),
        versions={"ours": our_versions(), "peers": peer_versions()},
        setup=scenario.setup(ctx),
    )
    report.plots = [str(path) for path in scenario.plots(outcomes, ctx)]
    return report


async def _measure_one(scenario: Scenario, spec: BotSpec, ctx: RunContext, timeout_s: float) -> BotOutcome:
    try:
        with trio.fail_after(timeout_s):
            return await scenario.measure(spec, ctx)
    except trio.TooSlowError:
        return BotOutcome(bot=spec.name, status="failed", error=f"scenario timed out after {timeout_s:g}s")
    except Exception as exc:  # a failing bot is a result, not a crash of the harness
        logger.info("%s: %s failed", scenario.name, spec.name, exc_info=True)
        return BotOutcome(bot=spec.name, status="failed", error=_describe(exc))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(inner) for inner in exc.exceptions)
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 600 else text[:600] + "..."
