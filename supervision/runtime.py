"""The runtime: builds the tree from specs, starts it in order, answers ``ref``/``keyed``/``health``.

Why a context manager: structured concurrency. Every actor task lives inside the ``async with
open_runtime(...)`` block's nursery, so leaving the block — normally, by an exception, or by cancellation —
always ends every actor; nothing outlives the runtime. Leaving normally runs the graceful shutdown (reverse
start order, per-child timeouts) under a shield that only `force_shutdown` (a second signal) can break.

If the root supervisor escalates (its restart intensity was exceeded), the block's body is cancelled and
``open_runtime`` raises that `SupervisorEscalation`, with the last crash chained: a bot that crash-loops
should stop with a clear error rather than spin.

Everything the nodes need (telemetry, dead letters, the random source for jitter) is created here and passed
down at construction; nothing is looked up globally.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

from supervision.cell import ActorCell
from supervision.deadletters import DeadLetters
from supervision.errors import SupervisorEscalation
from supervision.keyed import KeyedSupervisorNode
from supervision.looplag import LoopLagMonitor
from supervision.node import ExitInfo, Node, NodeState, Parent, RuntimeEnv
from supervision.refs import ActorRef, KeyedRef
from supervision.slowsteps import SlowStepMonitor
from supervision.specs import AnySpec, ChildSpec, KeyedSupervisorSpec, SupervisorSpec
from supervision.supervisor import SupervisorNode
from supervision.telemetry import Telemetry

log = logging.getLogger(__name__)

SCHEMA = "suphealth/1"


class Runtime:
    """A running supervision tree (create it with `open_runtime`)."""

    def __init__(
        self,
        root: SupervisorSpec,
        *,
        telemetry: Telemetry | None = None,
        loop_lag_threshold: float = 0.5,
        rng: random.Random | None = None,
        slow_step_threshold: float | None = 0.05,
    ) -> None:
        self.telemetry = telemetry if telemetry is not None else Telemetry()
        t = self.telemetry
        self.dead_letters = DeadLetters(t)
        self.env = RuntimeEnv(
            runtime=self,
            telemetry=t,
            dead_letters=self.dead_letters,
            rng=rng or random.Random(),  # noqa: S311 - jitter, not cryptography
            messages=t.counter("shard_actor_messages_total", "Messages handled by actors", ["kind"]),
            restarts=t.counter("shard_actor_restarts_total", "Actor restarts", ["kind"]),
            mailbox_depth=t.gauge("shard_actor_mailbox_depth", "Queued messages (sum over actors)", ["kind"]),
            proc_time=t.histogram("shard_actor_processing_seconds", "Handler time per message", ["kind"]),
        )
        self.lag = LoopLagMonitor(
            t.histogram("shard_loop_lag_seconds", "Event-loop scheduling lag"), loop_lag_threshold
        )
        self.slow_steps = SlowStepMonitor(slow_step_threshold) if slow_step_threshold is not None else None
        self._registry: dict[str, Node] = {}
        self.root = self._build(root, root.id, self)
        assert isinstance(self.root, SupervisorNode)
        self.failure: SupervisorEscalation | None = None
        self.started_wall = time.time()
        self.started_at: float | None = None
        self._nursery: trio.Nursery | None = None
        self._shutdown_scope: trio.CancelScope | None = None
        self._shutdown_started = False
        self._forced = False
        #: Set once the runtime has ended for any reason: graceful shutdown, forced shutdown or failure.
        self.finished = trio.Event()

    def _build(self, spec: AnySpec, path: str, parent: Parent) -> Node:
        node: Node
        if isinstance(spec, SupervisorSpec):
            node = SupervisorNode(spec, path, parent, self.env, self._build)
        elif isinstance(spec, KeyedSupervisorSpec):
            node = KeyedSupervisorNode(spec, path, parent, self.env)
        elif isinstance(spec, ChildSpec):
            node = ActorCell(spec, path, parent, self.env, lambda c: ActorRef(c.path, c, self.dead_letters))
        else:  # pragma: no cover - typing guards this
            raise TypeError(f"not a spec: {spec!r}")
        self._registry[path] = node
        return node

    # ---- the root's parent -------------------------------------------------------------------------------
    def child_exited(self, child: Node, exit_info: ExitInfo) -> None:
        if self._shutdown_started:
            return
        error = exit_info.error
        if isinstance(error, SupervisorEscalation):
            self.failure = error
        else:
            self.failure = SupervisorEscalation(child.path, f"root supervisor ended: {exit_info.describe()}")
            self.failure.__cause__ = error
        child.state = NodeState.FAILED
        log.critical("runtime failed: %s", self.failure)
        self.finished.set()
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel("root supervisor failed")

    # ---- lookups -----------------------------------------------------------------------------------------
    def ref(self, path: str) -> ActorRef:
        """A ref to the actor at ``path`` (e.g. ``"root/commands/executor"``); valid across restarts.

        Keyed children are addressed with ``keyed(path).ref(key)`` (the key keeps its type: ``1234`` and
        ``"1234"`` are different guilds). A keyed child's path resolves here only while that child is live;
        otherwise the ref dead-letters (``no_actor``) rather than spawning a child under a string key.
        """
        node = self._registry.get(path)
        if isinstance(node, ActorCell):
            return node.ref
        parent_path, _, key_text = path.rpartition("/")
        keyed = self._registry.get(parent_path)
        if isinstance(keyed, KeyedSupervisorNode):
            for key, cell in keyed.live.items():
                if str(key) == key_text:
                    return cell.ref
        return ActorRef(path, None, self.dead_letters)

    def keyed(self, path: str) -> KeyedRef:
        """The keyed supervisor at ``path`` (e.g. ``"root/guilds"``); `LookupError` if there is none."""
        node = self._registry.get(path)
        if not isinstance(node, KeyedSupervisorNode):
            raise LookupError(f"no keyed supervisor at {path!r}")
        return KeyedRef(node)

    def node(self, path: str) -> Node | None:
        """The node at a static path (for tests and operator tools)."""
        return self._registry.get(path)

    # ---- health ------------------------------------------------------------------------------------------
    def liveness(self) -> bool:
        return self.failure is None and self.lag.alive()

    def readiness(self) -> bool:
        return self.failure is None and not self._shutdown_started and self.root.is_ready()

    def health(self) -> dict[str, Any]:
        """The schema-versioned JSON snapshot of the whole tree (render it with `render_text`)."""
        now = trio.current_time()
        self._refresh_depth_gauges()
        tree = self.root.snapshot(now)
        alive, ready = self.liveness(), self.readiness()
        problems = _problems(tree)
        status = (
            "FAILED"
            if self.failure is not None
            else ("OK" if ready and alive and not problems else "DEGRADED")
        )
        return {
            "schema": SCHEMA,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "trio": trio.__version__,
            "generated_at": time.time(),
            "uptime_s": None if self.started_at is None else round(now - self.started_at, 3),
            "status": status,
            "problems": problems,
            "alive": alive,
            "ready": ready,
            "failure": None if self.failure is None else str(self.failure),
            "loop": {
                **self.lag.snapshot(),
                "slow_steps": None if self.slow_steps is None else self.slow_steps.snapshot(),
            },
            "dead_letters": self.dead_letters.snapshot(),
            "tree": tree,
        }

    def _refresh_depth_gauges(self) -> None:
        depth: dict[str, int] = {}
        for node in list(self._registry.values()):
            cells: list[ActorCell] = []
            if isinstance(node, ActorCell):
                cells = [node]
            elif isinstance(node, KeyedSupervisorNode):
                cells = list(node.live.values())
            for cell in cells:
                depth[cell.kind] = depth.get(cell.kind, 0) + len(cell.mailbox)
        for kind, value in depth.items():
            self.env.mailbox_depth.set(value, kind)

    # ---- shutdown ----------------------------------------------------------------------------------------
    async def shutdown(self) -> None:
        """Graceful shutdown: children stop in reverse start order, each within its own timeout."""
        if self._shutdown_started:
            await self.finished.wait()
            return
        self._shutdown_started = True
        log.info("graceful shutdown started")
        scope = self._shutdown_scope = trio.CancelScope(shield=True)
        try:
            with scope:
                await self.root.stop()
        finally:
            self._shutdown_scope = None
            log.info("graceful shutdown %s", "interrupted" if scope.cancelled_caught else "finished")
            self.finished.set()
            if self._nursery is not None:
                self._nursery.cancel_scope.cancel("runtime shut down")

    def force_shutdown(self) -> None:
        """Cancel everything now (a second signal): no draining, no timeouts."""
        log.warning("forced shutdown")
        self._forced = True
        self._shutdown_started = True
        self.finished.set()
        if self._shutdown_scope is not None:
            self._shutdown_scope.cancel("forced shutdown")
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel("forced shutdown")

    @property
    def shutting_down(self) -> bool:
        return self._shutdown_started

    async def _run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.started_at = trio.current_time()
        await self.root.main(task_status)


def _problems(tree: dict[str, Any]) -> list[str]:
    """Short human notes on what is not healthy, for the status line."""
    notes: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        state = node["state"]
        if state in ("BACKOFF", "QUARANTINED", "FAILED"):
            notes.append(f"{node['path']} {state.lower()}")
        elif state == "STOPPED" and node.get("critical"):
            notes.append(f"{node['path']} stopped")
        mailbox = node.get("mailbox")
        if mailbox and mailbox["capacity"] and mailbox["depth"] >= 0.9 * mailbox["capacity"]:
            notes.append(f"{node['path']} mailbox {100 * mailbox['depth'] // mailbox['capacity']}%")
        for child in node.get("children", ()):
            walk(child)

    walk(tree)
    return notes


def _no_hook(runtime: Runtime) -> None:
    return None


@asynccontextmanager
async def open_runtime(
    root: SupervisorSpec,
    *,
    telemetry: Telemetry | None = None,
    loop_lag_threshold: float = 0.5,
    rng: random.Random | None = None,
    slow_step_threshold: float | None = 0.05,
    on_created: Callable[[Runtime], None] | None = None,
) -> AsyncIterator[Runtime]:
    """Start the tree (children in order, ``on_start`` awaited); leaving the block shuts it down.

    ``on_created`` receives the runtime after every node (and so every ref) exists but before any child
    starts: objects built before the tree (a client whose limiter is an actor) can bind to it there.

    An exception raised by the block's body comes out as itself, not wrapped in an exception group (the
    runtime's own nursery is an implementation detail of this context manager).
    """
    runtime = Runtime(
        root,
        telemetry=telemetry,
        loop_lag_threshold=loop_lag_threshold,
        rng=rng,
        slow_step_threshold=slow_step_threshold,
    )
    (on_created or _no_hook)(runtime)
    body_error: BaseException | None = None
    unwrapped: BaseException | None = None
    if runtime.slow_steps is not None:
        runtime.slow_steps.start()
    try:
        async with trio.open_nursery() as nursery:
            runtime._nursery = nursery
            nursery.start_soon(runtime.lag.run, name="supervision:loop-lag")
            await nursery.start(runtime._run, name=root.id)
            if runtime.failure is None:
                try:
                    yield runtime
                except BaseException as error:
                    body_error = error
                    raise
                finally:
                    if not runtime._forced and runtime.failure is None:
                        await runtime.shutdown()
                    nursery.cancel_scope.cancel("runtime closed")
            else:
                nursery.cancel_scope.cancel("runtime failed at start")
    except BaseExceptionGroup as group:
        if body_error is None or len(group.exceptions) != 1 or group.exceptions[0] is not body_error:
            raise
        unwrapped = body_error
    finally:
        runtime.finished.set()
        if runtime.slow_steps is not None:
            runtime.slow_steps.stop()
    if unwrapped is not None:
        raise unwrapped
    if runtime.failure is not None:
        raise runtime.failure
