"""Scenario 5 — supervision: how fast a crashed guild actor is back, and what 10,000 guild actors cost.

Neither discord.py nor hikari has a supervision tree (a listener that raises is logged and forgotten; there
is nothing to restart), so this scenario measures ours alone and reports the peers as skipped, saying why.

* **Restart latency** — a guild actor under a keyed supervisor (as in the bot) is sent a message that makes
  it raise, immediately followed by a probe. The probe waits in the actor's mailbox (refs and mailboxes
  outlive an incarnation) and is handled by the restarted actor; the latency is from the crash message to
  the probe being handled. Backoff is set to zero so the figure is the mechanism's cost, not a policy
  delay (the bot's default first restart waits up to ``BackoffSpec.base`` with full jitter). Each key
  crashes once, so no per-child budget or quarantine is involved. The supervisor's crash log records are
  suppressed while measuring, so the figure does not include formatting tracebacks to a terminal.
* **Spawn/passivate** — ``python -m bench.actors`` (owned by the supervision runtime) spawns 10,000 keyed
  actors by messaging each once, passivates them all, and compares the runtime's message path with raw
  trio channels; its JSON document is included whole under ``details``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson
import trio

from bench.common import OUR_BOTS, REPO_ROOT, BotOutcome, Metric, Target, summarize_latencies
from bench.scenarios.base import RunContext
from bench.scenarios.bots import BotSpec
from supervision import (
    ActorContext,
    BackoffSpec,
    ChildSpec,
    KeyedSupervisorSpec,
    MailboxSpec,
    SupervisorSpec,
    open_runtime,
)


@attrs.frozen(slots=True)
class SupervisionSizes:
    crashes: int
    actors: int
    messages: int
    repeat: int


def sizes(quick: bool) -> SupervisionSizes:
    if quick:
        return SupervisionSizes(crashes=100, actors=2000, messages=20_000, repeat=1)
    return SupervisionSizes(crashes=1000, actors=10_000, messages=200_000, repeat=3)


class _CrashOnDemand:
    """A guild actor that raises on ``("crash", key)`` and reports every other message as handled."""

    __slots__ = ("_handled",)

    def __init__(self, handled: dict[Hashable, trio.Event]) -> None:
        self._handled = handled

    async def handle(self, msg: object, ctx: ActorContext) -> None:
        if not isinstance(msg, tuple):
            return
        kind, key = msg
        if kind == "crash":
            raise RuntimeError("crash requested by the benchmark")
        event = self._handled.get(key)
        if event is not None:
            event.set()


@contextlib.contextmanager
def _quiet_supervision_logs() -> Iterator[None]:
    logger = logging.getLogger("supervision")
    previous = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(previous)


async def restart_latencies(crashes: int) -> list[float]:
    """Seconds from a crash message to the restarted actor handling the next message, one key per crash."""
    handled: dict[Hashable, trio.Event] = {}

    def child(key: Hashable) -> ChildSpec:
        return ChildSpec(str(key), factory=lambda: _CrashOnDemand(handled), mailbox=MailboxSpec(capacity=64))

    keyed = KeyedSupervisorSpec(
        "guilds", child=child, idle_timeout=None, backoff=BackoffSpec(base=0.0, max=0.0)
    )
    latencies: list[float] = []
    with _quiet_supervision_logs():
        async with open_runtime(SupervisorSpec("root", children=[keyed])) as runtime:
            guilds = runtime.keyed("root/guilds")
            for key in range(crashes):
                handled[key] = trio.Event()
                guilds.tell(key, ("hello", key))
                with trio.fail_after(5):
                    await handled[key].wait()
                handled[key] = trio.Event()
                started = trio.current_time()
                guilds.tell(key, ("crash", key))
                guilds.tell(key, ("probe", key))
                with trio.fail_after(5):
                    await handled[key].wait()
                latencies.append(trio.current_time() - started)
                del handled[key]
    return latencies


async def run_actor_benchmarks(plan: SupervisionSizes) -> dict[str, Any]:
    """``python -m bench.actors`` in a child process; returns its saved JSON document."""
    with tempfile.TemporaryDirectory(prefix="bench-actors-") as out:
        command = [
            sys.executable,
            "-O",
            "-m",
            "bench.actors",
            "--actors",
            str(plan.actors),
            "--messages",
            str(plan.messages),
            "--repeat",
            str(plan.repeat),
            "--out",
            out,
        ]
        done = await trio.run_process(
            command, cwd=str(REPO_ROOT), capture_stdout=True, capture_stderr=True, check=False
        )
        documents = sorted(await trio.Path(out).glob("*.json"))
        if not documents:
            raise RuntimeError(
                f"bench.actors wrote no result (exit {done.returncode}): {done.stderr[-400:]!r}"
            )
        parsed = orjson.loads(await documents[-1].read_bytes())
    if not isinstance(parsed, dict):
        raise RuntimeError("bench.actors result is not a JSON object")
    return parsed


@attrs.frozen(slots=True)
class SupervisionScenario:
    name: str = "supervision"
    description: str = "restart latency of a crashed guild actor; 10,000 keyed actors spawned and passivated"

    def metrics(self, ctx: RunContext) -> list[Metric]:
        return [
            Metric("restart_p50_ms", "ms", "lower", "crash -> restarted actor handles, p50"),
            Metric("restart_p99_ms", "ms", "lower", "crash -> restarted actor handles, p99"),
            Metric(
                "keyed_spawn_s",
                "s",
                "lower",
                f"spawn {sizes(ctx.quick).actors:,} guild actors",
                Target("value", "<=", 1.0),
            ),
            Metric(
                "keyed_passivate_s",
                "s",
                "lower",
                f"passivate {sizes(ctx.quick).actors:,} actors",
                Target("value", "<=", 1.0),
            ),
            Metric(
                "bytes_per_idle_actor", "B", "lower", "memory per idle actor", Target("value", "<=", 10_240)
            ),
            Metric(
                "runtime_vs_raw_channels",
                "x",
                "lower",
                "runtime tell vs raw trio channels (slowdown)",
                Target("value", "<=", 2.0),
            ),
        ]

    def setup(self, ctx: RunContext) -> dict[str, object]:
        return {**attrs.asdict(sizes(ctx.quick)), "restart_backoff_s": 0.0}

    async def measure(self, spec: BotSpec, ctx: RunContext) -> BotOutcome:
        if spec.name in OUR_BOTS and spec.name != "ours":
            return BotOutcome(
                bot=spec.name, status="skipped", error="the same runtime as ours: measured once"
            )
        if spec.name != "ours":
            return BotOutcome(
                bot=spec.name,
                status="skipped",
                error="no supervision tree to compare: a failing listener is logged, nothing restarts",
            )
        plan = sizes(ctx.quick)
        summary = summarize_latencies(await restart_latencies(plan.crashes))
        actors = await run_actor_benchmarks(plan)
        results = actors.get("results", {})
        metrics = {"restart_p50_ms": summary.p50_ms, "restart_p99_ms": summary.p99_ms}
        for ours, theirs in (
            ("keyed_spawn_s", "keyed_spawn_s"),
            ("keyed_passivate_s", "keyed_passivate_s"),
            ("bytes_per_idle_actor", "bytes_per_idle_actor"),
            ("runtime_vs_raw_channels", "slowdown_vs_raw_with_handler"),
        ):
            value = results.get(theirs)
            if isinstance(value, int | float):
                metrics[ours] = float(value)
        return BotOutcome(
            bot=spec.name,
            status="ok",
            metrics=metrics,
            details={"restart_max_ms": summary.max_ms, "bench_actors": actors},
        )

    def plots(self, outcomes: Sequence[BotOutcome], ctx: RunContext) -> list[Path]:
        return []
