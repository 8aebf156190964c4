"""Static supervisors: ordered children, OTP strategies, restart intensity, backoff, escalation.

How it maps onto trio (anchors §3 and §6): a supervisor is a task that owns one nursery; each child runs in
that nursery inside its own cancel scope (see `supervision.node`). Children are started *in order* with
``nursery.start`` so a child's ``on_start`` has finished before the next one starts (OTP's ``start_link``),
and stopped in reverse order at shutdown.

When a child ends, the supervisor decides synchronously (in the dying child's task, before anything else
runs):

1. stopping, or an exit we caused ourselves (a sibling stopped for ``ONE_FOR_ALL``) → nothing to do;
2. the restart type says no (``TEMPORARY``, or ``TRANSIENT`` after a normal exit) → the child stays stopped;
3. record the restart in the sliding window; over ``max_restarts`` in ``window`` → **escalate**: the
   supervisor cancels its children and ends with `SupervisorEscalation`, which its own parent treats as a
   crash of this whole subtree (the root escalating stops the runtime with that error);
4. otherwise restart after a full-jitter backoff: just the child (``ONE_FOR_ONE``), every child
   (``ONE_FOR_ALL``), or the child and those after it (``REST_FOR_ONE``). The siblings are cancelled in
   reverse order first, then everything restarts in order. Restarts that pile up while a group restart waits
   are merged into one.

The restart budget counts every restart, immediate or delayed, so backoff cannot hide a crash loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from supervision.budget import RestartBudget
from supervision.errors import SupervisorEscalation
from supervision.node import ALIVE, ExitInfo, Node, NodeState, Parent, RuntimeEnv, should_restart
from supervision.specs import Restart, Strategy, SupervisorSpec

if TYPE_CHECKING:
    from supervision.specs import AnySpec

log = logging.getLogger(__name__)

NodeBuilder = Callable[["AnySpec", str, Parent], Node]


class SupervisorNode(Node):
    __slots__ = (
        "_escalated",
        "_group",
        "_group_scope",
        "_restart_scopes",
        "budget",
        "children",
        "escalation",
        "nursery",
        "spec",
        "stopping",
    )
    node_type = "supervisor"

    def __init__(
        self, spec: SupervisorSpec, path: str, parent: Parent, env: RuntimeEnv, build: NodeBuilder
    ) -> None:
        super().__init__(spec.id, path, parent, env, restart=Restart.PERMANENT, critical=spec.critical)
        self.spec = spec
        self.children: list[Node] = [build(child, f"{path}/{child.id}", self) for child in spec.children]
        self.budget = RestartBudget(spec.max_restarts, spec.window)
        self.nursery: trio.Nursery | None = None
        self.stopping = False
        self.escalation: SupervisorEscalation | None = None
        self._escalated = trio.Event()
        self._restart_scopes: set[trio.CancelScope] = set()
        self._group: list[Node] = []
        self._group_scope: trio.CancelScope | None = None

    # ---- one incarnation ---------------------------------------------------------------------------------
    async def _body(self) -> None:
        self.budget.reset()
        self.stopping = False
        self.escalation = None
        self._group = []
        escalated = self._escalated = trio.Event()
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                for child in self.children:
                    if self.escalation is not None or self.stopping:
                        break
                    await nursery.start(child.main, name=child.path)
                self._mark_started()
                await escalated.wait()
                nursery.cancel_scope.cancel("supervisor escalated")
        finally:
            self.nursery = None
        if self.escalation is not None:
            raise self.escalation

    # ---- decisions ---------------------------------------------------------------------------------------
    def child_exited(self, child: Node, exit_info: ExitInfo) -> None:
        if self.stopping or child.expected_exit or self.escalation is not None or self.nursery is None:
            return
        if not should_restart(child.restart, exit_info):
            log.info(
                "%s exited (%s); %s child not restarted",
                child.path,
                exit_info.describe(),
                child.restart.value,
            )
            child.terminate("stopped")
            return
        now = trio.current_time()
        if not self.budget.record(now):
            spec = self.spec
            self.escalation = SupervisorEscalation(
                self.path,
                f"more than {spec.max_restarts} restarts within {spec.window:g}s; "
                f"last: {child.path} {exit_info.describe()}",
            )
            self.escalation.__cause__ = exit_info.error
            child.state = NodeState.FAILED
            log.error("%s", self.escalation)
            self._escalated.set()
            return
        child.restarts_total += 1
        self.env.restarts.inc(child.kind)
        delay = child.next_backoff(now, self.spec.backoff, self.env.rng)
        log_fn = log.warning if exit_info.kind == "error" else log.info
        log_fn(
            "%s exited (%s); restarting (%s) in %.3fs, budget %d/%d",
            child.path,
            exit_info.describe(),
            self.spec.strategy.value,
            delay,
            self.budget.in_window(now),
            self.spec.max_restarts,
            exc_info=exit_info.error,
        )
        # Restart tasks get their cancel scope *now*, synchronously, so a stop or a newer group restart can
        # cancel them even before they first run.
        scope = trio.CancelScope()
        self._restart_scopes.add(scope)
        strategy = self.spec.strategy
        if strategy is Strategy.ONE_FOR_ONE:
            child.state = NodeState.BACKOFF
            child.backoff_until = now + delay
            self.nursery.start_soon(self._restart_one, child, delay, scope)
            return
        index = self.children.index(child)
        affected = set(self.children if strategy is Strategy.ONE_FOR_ALL else self.children[index:])
        affected.update(self._group)  # a pending group restart is merged into this one, never run beside it
        group = [c for c in self.children if c in affected]
        for sibling in group:
            if sibling is not child and sibling.alive:
                sibling.expected_exit = True
        if self._group_scope is not None:
            self._group_scope.cancel()
        self._group = group
        self._group_scope = scope
        for member in group:
            if not member.alive:
                member.state = NodeState.BACKOFF
                member.backoff_until = now + delay
        self.nursery.start_soon(self._restart_group, group, delay, scope)

    async def _restart_one(self, child: Node, delay: float, scope: trio.CancelScope) -> None:
        try:
            with scope:
                await trio.sleep(delay)
                if not self.stopping and self.nursery is not None:
                    await self.nursery.start(child.main, name=child.path)
        finally:
            self._restart_scopes.discard(scope)

    async def _restart_group(self, group: list[Node], delay: float, scope: trio.CancelScope) -> None:
        """Stop the group's live members in reverse order, wait out the backoff, start them all in order.

        The scope stays cancellable until the last member has started: a failure in the middle of the start
        phase cancels this task (an unfinished ``nursery.start`` cancels that member too) and the merged group
        restart that replaces it stops whatever this one had already started, so no child ever runs twice.
        """
        try:
            with scope:
                until = trio.current_time() + delay
                for member in reversed(group):
                    if member.alive:
                        member.expected_exit = True
                        await member.kill("sibling restart")
                for member in group:
                    member.state = NodeState.BACKOFF
                    member.backoff_until = until
                await trio.sleep_until(until)
                for member in group:
                    if self.stopping or self.nursery is None:
                        break
                    await self.nursery.start(member.main, name=member.path)
        finally:
            self._restart_scopes.discard(scope)
            if self._group_scope is scope:
                self._group_scope = None
                self._group = []

    # ---- control -----------------------------------------------------------------------------------------
    async def stop(self) -> None:
        """Stop children in reverse start order (each with its own timeout), then this supervisor."""
        self.stopping = True
        for scope in list(self._restart_scopes):
            scope.cancel()
        if self.state in ALIVE:
            self.state = NodeState.STOPPING
        for child in reversed(self.children):
            await child.stop()
        if self.state in ALIVE:
            await self.kill("stopped")
        self.terminate("stopped")

    def terminate(self, reason: str) -> None:
        super().terminate(reason)
        self.backoff_until = None
        for child in self.children:
            if not child.alive:
                child.terminate(reason)

    # ---- health ------------------------------------------------------------------------------------------
    def is_ready(self) -> bool:
        return super().is_ready() and all(child.is_ready() for child in self.children)

    def snapshot(self, now: float) -> dict[str, Any]:
        data = super().snapshot(now)
        spec = self.spec
        data["strategy"] = spec.strategy.value
        data["restarts"]["in_window"] = self.budget.in_window(now)
        data["restarts"]["budget"] = spec.max_restarts
        data["restarts"]["window_s"] = spec.window
        states = [child.state for child in self.children]
        data["children_count"] = {
            "specs": len(self.children),
            "active": sum(s is NodeState.RUNNING for s in states),
            "restarting": sum(s is NodeState.BACKOFF for s in states),
        }
        data["children"] = [child.snapshot(now) for child in self.children]
        return data
