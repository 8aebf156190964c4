"""The bot's supervision tree and its main loop.

Why a function that returns a spec: the tree is data (`SupervisorSpec`), so the integrator, the sandbox and
the tests can all build the same tree and add their children to one list — the gateway shards, the guild
supervisor, the REST rate limiter, the executor and the storage writer arrive as `children` (built
by `shard.bot.assemble`) — without this module importing every area. The base children are the metrics
actor and the operator HTTP endpoints; they come first so a bot whose later children crash-loop can still be
inspected. Readiness is "every critical child running" plus the `readiness_checks` given (the gateway fleet
adds "every shard has a live session").

`RuntimeEndpoints` adapts a running `Runtime` to what `shard.health_http` serves: liveness and readiness with
a one-line reason, the JSON snapshot, the text tree (`supervision.render_text`) and the metrics (a `call` to
the metrics actor, so scrapes are serialised with its gauge refresh). Exit messages in the health report quote
whatever an exception said, so the report passes through the same redactor as the logs. Nothing here is
global: the runtime reaches the HTTP worker through its `ActorContext`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, cast

import trio

from actors.metrics import CONTENT_TYPE, MetricsActor, Scrape
from shard.config import Config
from shard.health_http import BoundAddress, MetricsUnavailable, health_child
from shard.logging import Redactor
from supervision import (
    ActorContext,
    ActorRef,
    ChildSpec,
    KeyedSupervisorSpec,
    MailboxSpec,
    Overflow,
    Restart,
    Runtime,
    Strategy,
    SupervisionError,
    SupervisorSpec,
    open_runtime,
    render_text,
    run_until_signalled,
)
from supervision.telemetry import Telemetry

__all__ = ["ROOT_ID", "AnyChild", "ReadinessCheck", "RuntimeEndpoints", "build_tree", "run_bot"]

log = logging.getLogger(__name__)

ROOT_ID = "root"
METRICS_ID = "metrics"
HEALTH_ID = "health-http"
METRICS_CALL_TIMEOUT_S = 5.0

AnyChild = ChildSpec | SupervisorSpec | KeyedSupervisorSpec
#: An extra readiness condition beyond "critical children running" (e.g. the gateway has a live session).
ReadinessCheck = Callable[[], tuple[bool, str]]


class RuntimeEndpoints:
    """`shard.health_http.HealthEndpoints` over a running tree."""

    def __init__(
        self,
        runtime: Runtime,
        metrics: ActorRef,
        redactor: Redactor | None = None,
        readiness_checks: Sequence[ReadinessCheck] = (),
    ) -> None:
        self._runtime = runtime
        self._metrics = metrics
        self._redactor = redactor or Redactor()
        self._checks = tuple(readiness_checks)

    def liveness(self) -> tuple[bool, str]:
        rt = self._runtime
        lag = rt.lag.last_lag
        if rt.failure is not None:
            return False, f"runtime failed: {rt.failure}"
        alive = rt.liveness()
        return alive, f"event loop lag {lag * 1000:.1f} ms (threshold {rt.lag.threshold * 1000:.0f} ms)"

    def readiness(self) -> tuple[bool, str]:
        rt = self._runtime
        if rt.readiness():
            for check in self._checks:
                ready, reason = check()
                if not ready:
                    return False, reason
            return True, "all critical children running"
        if rt.shutting_down:
            return False, "shutting down"
        if rt.failure is not None:
            return False, f"runtime failed: {rt.failure}"
        problems = rt.health().get("problems") or ["a critical child is not running"]
        return False, "; ".join(str(p) for p in problems)

    def snapshot(self) -> dict[str, Any]:
        redacted: dict[str, Any] = _redact_strings(self._runtime.health(), self._redactor)
        return redacted

    def text(self) -> str:
        return self._redactor.redact(render_text(self._runtime.health()))

    async def metrics(self) -> tuple[bytes, str]:
        try:
            body = await self._metrics.call(Scrape(), timeout=METRICS_CALL_TIMEOUT_S)
        except SupervisionError as exc:
            raise MetricsUnavailable(str(exc)) from exc
        return bytes(body), CONTENT_TYPE


def _redact_strings(value: Any, redactor: Redactor) -> Any:
    """Exit messages in the snapshot can quote anything an exception said, including a token."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {key: _redact_strings(item, redactor) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_strings(item, redactor) for item in value]
    return value


def metrics_child(telemetry: Telemetry | None = None) -> ChildSpec:
    """The metrics actor; scrapes are calls, so a small blocking mailbox is plenty."""
    return ChildSpec(
        id=METRICS_ID,
        factory=lambda: MetricsActor(telemetry),
        restart=Restart.PERMANENT,
        shutdown_timeout=1.0,
        mailbox=MailboxSpec(capacity=32, overflow=Overflow.BLOCK),
        kind="metrics",
    )


def build_tree(
    config: Config,
    *,
    telemetry: Telemetry | None = None,
    children: Sequence[AnyChild] = (),
    health_bound: BoundAddress | None = None,
    readiness_checks: Sequence[ReadinessCheck] = (),
) -> SupervisorSpec:
    """The root supervisor: metrics actor, health endpoints, then `children` in start order."""
    metrics_path = f"{ROOT_ID}/{METRICS_ID}"

    redactor = Redactor(config.secret_values())

    def endpoints(ctx: ActorContext) -> RuntimeEndpoints:
        return RuntimeEndpoints(ctx.runtime, ctx.runtime.ref(metrics_path), redactor, readiness_checks)

    base: list[AnyChild] = [
        metrics_child(telemetry),
        health_child(config.health, endpoints, bound=health_bound, child_id=HEALTH_ID),
    ]
    all_children: tuple[AnyChild, ...] = (*base, *children)
    return SupervisorSpec(
        id=ROOT_ID,
        strategy=Strategy.ONE_FOR_ONE,
        children=cast(Any, all_children),  # attrs' converter=tuple confuses mypy's generics
        max_restarts=10,
        window=60.0,
    )


async def run_bot(
    config: Config,
    *,
    telemetry: Telemetry | None = None,
    children: Sequence[AnyChild] = (),
    health_bound: BoundAddress | None = None,
    handle_signals: bool = True,
    on_runtime: Callable[[Runtime], None] | None = None,
    readiness_checks: Sequence[ReadinessCheck] = (),
    task_status: trio.TaskStatus[Runtime] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the tree until SIGINT/SIGTERM (or, without `handle_signals`, until cancelled).

    ``await nursery.start(run_bot, config)`` returns the running `Runtime` once every child has started.
    ``on_runtime`` gets the runtime before any child starts (see `supervision.open_runtime`'s ``on_created``).
    """
    telemetry = telemetry if telemetry is not None else Telemetry()
    tree = build_tree(
        config,
        telemetry=telemetry,
        children=children,
        health_bound=health_bound,
        readiness_checks=readiness_checks,
    )
    async with open_runtime(
        tree,
        telemetry=telemetry,
        loop_lag_threshold=config.health.loop_lag_threshold_s,
        slow_step_threshold=config.runtime.slow_step_threshold_s or None,
        on_created=on_runtime,
    ) as rt:
        log.info("bot started (profile %s, %d top-level children)", config.profile, len(tree.children))
        task_status.started(rt)
        if handle_signals:
            await run_until_signalled(rt)
        else:
            await rt.finished.wait()  # until someone calls rt.shutdown() (or the tree fails)
    log.info("bot stopped")
