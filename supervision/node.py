"""The common life cycle of everything a supervisor supervises: actors, workers and nested supervisors.

Why one base: the supervisor must treat an actor and a sub-supervisor alike (OTP does): start it, learn how it
ended, restart it. Each *incarnation* runs inside its own `trio.CancelScope`, so a supervisor can stop one
child without touching its siblings (trio has no per-task cancel, trio#141). The wrapper turns the way the
incarnation ended into an `ExitInfo` — ``normal`` (returned), ``error`` (raised an ``Exception``; single-leaf
exception groups are unwrapped so the report names the real error) or ``cancel`` (its own scope was cancelled)
— and hands it to the parent *synchronously*, from the dying task, so the decision (restart now, back off,
quarantine, escalate) is made before anything else can run. Cancellation from outside (the runtime is being
torn down) is never swallowed: ``BaseException`` is always re-raised, and an exception group that mixes
``Cancelled`` with real errors is split so the errors are recorded before the cancellation propagates.

The exit is recorded before any await in cleanup (trio#455: a ``Cancelled`` raised in cleanup would otherwise
mask the real exit reason).
"""

from __future__ import annotations

import enum
import logging
import random
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import trio

from supervision.budget import backoff_delay
from supervision.specs import BackoffSpec, Restart

if TYPE_CHECKING:
    from supervision.deadletters import DeadLetters
    from supervision.runtime import Runtime
    from supervision.telemetry import Counter, Gauge, Histogram, Telemetry

log = logging.getLogger(__name__)

#: How long to wait for a child after cancelling it before giving up on it (it ignores cancellation).
KILL_GRACE = 1.0


class NodeState(enum.Enum):
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    BACKOFF = "BACKOFF"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    QUARANTINED = "QUARANTINED"
    FAILED = "FAILED"


ALIVE = frozenset({NodeState.STARTING, NodeState.RUNNING, NodeState.STOPPING})


def _leaf(error: BaseException) -> BaseException:
    """The single real error inside nested single-member groups (what an operator wants to read)."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


@attrs.frozen(slots=True)
class ExitInfo:
    """How one incarnation ended; ``error`` is kept for chaining into callers but never serialised."""

    kind: str  # "normal" | "error" | "cancel"
    at: float
    exc_type: str | None = None
    msg: str = ""
    error: BaseException | None = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def from_error(cls, error: BaseException, at: float) -> ExitInfo:
        leaf = _leaf(error)
        return cls("error", at, type(leaf).__name__, str(leaf)[:200], leaf)

    def describe(self) -> str:
        if self.kind == "error":
            return f"{self.exc_type} {self.msg!r}" if self.msg else str(self.exc_type)
        return self.kind if not self.msg else f"{self.kind} ({self.msg})"

    def to_json(self, now: float) -> dict[str, object]:
        return {
            "kind": self.kind,
            "exc_type": self.exc_type,
            "msg": self.msg,
            "at": self.at,
            "ago_s": round(now - self.at, 3),
        }


@attrs.define(slots=True, eq=False)
class RuntimeEnv:
    """What every node needs from the runtime, passed down the tree at construction (no global lookup)."""

    runtime: Runtime
    telemetry: Telemetry
    dead_letters: DeadLetters
    rng: random.Random
    messages: Counter
    restarts: Counter
    mailbox_depth: Gauge
    proc_time: Histogram


class Parent(Protocol):
    def child_exited(self, child: Node, exit_info: ExitInfo) -> None: ...


def should_restart(restart: Restart, exit_info: ExitInfo) -> bool:
    if restart is Restart.PERMANENT:
        return True
    if restart is Restart.TRANSIENT:
        return exit_info.kind == "error"
    return False


class Node:
    """One supervised thing; subclasses implement `_body`, `stop` and `snapshot`."""

    __slots__ = (
        "_cancel_reason",
        "_task_status",
        "backoff_attempt",
        "backoff_until",
        "critical",
        "done",
        "env",
        "expected_exit",
        "id",
        "incarnation",
        "kind",
        "last_exit",
        "parent",
        "path",
        "restart",
        "restarts_total",
        "scope",
        "started_at",
        "state",
    )
    node_type = "node"

    def __init__(
        self,
        node_id: str,
        path: str,
        parent: Parent,
        env: RuntimeEnv,
        *,
        restart: Restart = Restart.PERMANENT,
        critical: bool = False,
        kind: str | None = None,
    ) -> None:
        self.id = node_id
        self.path = path
        self.parent = parent
        self.env = env
        self.restart = restart
        self.critical = critical
        self.kind = kind or node_id
        self.state = NodeState.STARTING
        self.started_at: float | None = None
        self.restarts_total = 0
        self.last_exit: ExitInfo | None = None
        self.scope: trio.CancelScope | None = None
        self.done = trio.Event()
        self.incarnation = 0
        self.backoff_attempt = 0
        self.backoff_until: float | None = None
        self.expected_exit = False
        self._cancel_reason: str | None = None
        self._task_status: trio.TaskStatus[None] | None = None

    # ---- one incarnation ---------------------------------------------------------------------------------
    async def main(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        if self.done.is_set():
            self.done = trio.Event()
        done = self.done
        self.incarnation += 1
        self.state = NodeState.STARTING
        self.expected_exit = False
        self._cancel_reason = None
        self.backoff_until = None
        self._task_status = task_status
        exit_info: ExitInfo | None = None
        try:
            try:
                with trio.CancelScope() as scope:
                    self.scope = scope
                    await self._body()
                if scope.cancelled_caught:
                    exit_info = self._cancelled_exit(trio.current_time())
                else:
                    exit_info = ExitInfo("normal", trio.current_time())
            except Exception as error:
                exit_info = ExitInfo.from_error(error, trio.current_time())
            except BaseExceptionGroup as group:
                # Torn down from outside while failing: keep the errors for the report, let Cancelled go on
                # alone (the errors must not escape into the parent's nursery during a teardown). Anything
                # else that is not an Exception (KeyboardInterrupt, SystemExit) is never swallowed.
                cancelled, rest = group.split(trio.Cancelled)
                errors, fatal = rest.split(Exception) if rest is not None else (None, None)
                if errors is not None:
                    self.last_exit = ExitInfo.from_error(errors, trio.current_time())
                    log.error("%s failed while being torn down", self.path, exc_info=errors)
                if fatal is not None or cancelled is None:
                    raise
                raise cancelled from None
        finally:
            self.scope = None
            pending_start = self._task_status
            if pending_start is not None:
                self._task_status = None
                pending_start.started()
            if exit_info is not None:
                self.last_exit = exit_info
            if self.state is not NodeState.QUARANTINED:
                self.state = NodeState.STOPPED
            self._on_exit(exit_info)
            done.set()
        if exit_info is not None:
            self.parent.child_exited(self, exit_info)

    def _mark_started(self) -> None:
        """Called by `_body` once the incarnation is up: RUNNING, and ``nursery.start`` returns."""
        task_status = self._task_status
        if task_status is not None:
            self._task_status = None
            if self.state is NodeState.STARTING:
                self.state = NodeState.RUNNING
            self.started_at = trio.current_time()
            task_status.started()

    def _cancelled_exit(self, now: float) -> ExitInfo:
        return ExitInfo("cancel", now, msg=self._cancel_reason or "")

    async def _body(self) -> None:
        raise NotImplementedError

    def _on_exit(self, exit_info: ExitInfo | None) -> None:
        """Hook run when an incarnation ends, before the parent hears of it."""

    # ---- control -----------------------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.state in ALIVE

    def cancel(self, reason: str) -> None:
        """Cancel the running incarnation (out of band: never waits behind the mailbox)."""
        self._cancel_reason = reason
        if self.scope is not None:
            self.scope.cancel(reason)

    async def kill(self, reason: str) -> None:
        """Cancel the incarnation and wait (bounded) until it has ended."""
        if not self.alive:
            return
        done = self.done
        self.cancel(reason)
        with trio.move_on_after(KILL_GRACE):
            await done.wait()
        if not done.is_set():
            log.error("%s did not stop within %.1fs of being cancelled (%s)", self.path, KILL_GRACE, reason)

    async def stop(self) -> None:
        """Stop for good (shutdown): graceful first, then cancel after the shutdown timeout."""
        raise NotImplementedError

    def terminate(self, reason: str) -> None:
        """This node will not run again: release what it holds (subclasses dead-letter their mailbox)."""
        if self.state is not NodeState.QUARANTINED:
            self.state = NodeState.STOPPED

    def next_backoff(self, now: float, spec: BackoffSpec, rng: random.Random) -> float:
        """Full-jitter delay for the next restart; the attempt counter resets after a stable run."""
        if self.started_at is not None and now - self.started_at >= spec.reset_after:
            self.backoff_attempt = 0
        delay = backoff_delay(spec, self.backoff_attempt, rng)
        self.backoff_attempt += 1
        return delay

    # ---- health ------------------------------------------------------------------------------------------
    def is_ready(self) -> bool:
        return not self.critical or self.state is NodeState.RUNNING

    def snapshot(self, now: float) -> dict[str, Any]:
        running = self.state is NodeState.RUNNING and self.started_at is not None
        return {
            "path": self.path,
            "id": self.id,
            "type": self.node_type,
            "kind": self.kind,
            "restart_type": self.restart.value,
            "state": self.state.value,
            "critical": self.critical,
            "started_at": self.started_at,
            "uptime_s": round(now - self.started_at, 3) if running and self.started_at is not None else None,
            "restarts": {"total": self.restarts_total},
            "last_exit": None if self.last_exit is None else self.last_exit.to_json(now),
            "backoff": (
                None
                if self.backoff_until is None
                else {
                    "attempt": self.backoff_attempt,
                    "next_at": self.backoff_until,
                    "in_s": round(max(0.0, self.backoff_until - now), 3),
                }
            ),
        }
