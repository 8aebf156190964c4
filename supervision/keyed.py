"""The keyed (dynamic) supervisor: one child per key; spawned on demand, passivated, capped, quarantined.

Why not a static supervisor with many children: per-guild actors come and go with traffic. Like Akka Cluster
Sharding and Orleans' virtual actors, a child exists only while it is useful:

* **Spawn on first message** — `resolve` creates the cell (mailbox included) synchronously, so the message
  that caused the spawn is queued before the child's task even runs; ``tell`` stays non-blocking.
* **Idle passivation** — a reaper passivates children whose last batch is older than ``idle_timeout`` and
  whose mailbox is empty: intake closes, the drain loop ends normally, ``on_stop`` runs. Closing mailboxes is
  the cheap way to stop thousands of actors (anchors §3.9: 2-15x faster than cancelling a nursery).
* **Cap with LRU eviction** — at ``max_children`` the least recently active idle child is passivated to make
  room; the cells sit in an ``OrderedDict`` that the drain loop touches once per batch, so finding the LRU one
  is O(1) in the common case.
* **Per-child budget and quarantine** — a shared budget is wrong for per-key children (anubis-mcp#239,
  homex#64): one guild whose data crashes its actor would take every guild down with it. Each child has its
  own sliding window (``child_max_restarts`` in ``child_window``); exceeding it puts the child in
  ``QUARANTINED`` for ``quarantine_for`` seconds: its messages become ``quarantined`` dead letters, and after
  the cool-off the next message spawns a fresh child. Crashes never count against the parent's intensity.
"""

from __future__ import annotations

import heapq
import logging
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import trio

from supervision.budget import RestartBudget
from supervision.cell import ActorCell
from supervision.node import ALIVE, ExitInfo, Node, NodeState, Parent, RuntimeEnv, should_restart
from supervision.refs import KeyedActorRef
from supervision.specs import KeyedSupervisorSpec, Restart

log = logging.getLogger(__name__)

#: How many of the most interesting children the health snapshot lists.
TOP_N = 10


class KeyedSupervisorNode(Node):
    __slots__ = (
        "_budgets",
        "_restart_scopes",
        "_wake_reaper",
        "live",
        "nursery",
        "passivated_total",
        "spawned_total",
        "spec",
        "stopping",
    )
    node_type = "keyed"

    def __init__(self, spec: KeyedSupervisorSpec, path: str, parent: Parent, env: RuntimeEnv) -> None:
        super().__init__(spec.id, path, parent, env, restart=Restart.PERMANENT, critical=spec.critical)
        self.spec = spec
        self.live: OrderedDict[Hashable, ActorCell] = OrderedDict()
        self.nursery: trio.Nursery | None = None
        self.stopping = False
        self.passivated_total = 0
        self.spawned_total = 0
        self._budgets: dict[Hashable, RestartBudget] = {}
        self._restart_scopes: set[trio.CancelScope] = set()
        self._wake_reaper = trio.Event()

    # ---- one incarnation ---------------------------------------------------------------------------------
    async def _body(self) -> None:
        self.stopping = False
        self._discard_all_children("stopped")
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                nursery.start_soon(self._reaper, name=f"{self.path}:reaper")
                self._mark_started()
                await trio.sleep_forever()
        finally:
            self.nursery = None

    def _discard_all_children(self, reason: str) -> None:
        for cell in list(self.live.values()):
            cell.terminate(reason)
        self.live.clear()
        self._budgets.clear()

    # ---- spawning ----------------------------------------------------------------------------------------
    def live_count(self) -> int:
        return sum(1 for cell in self.live.values() if cell.state is not NodeState.QUARANTINED)

    def resolve(self, key: Hashable) -> ActorCell | None:
        """The live (or quarantined) child for ``key``, spawning it if needed; None if impossible."""
        cell = self.live.get(key)
        if cell is not None:
            if cell.state is NodeState.QUARANTINED:
                until = cell.backoff_until
                if until is None or trio.current_time() < until:
                    return cell
                self._forget(key, cell)
            elif not cell.passivating and cell.mailbox.closed_reason is None:
                return cell
            else:
                self._forget(key, cell)
        return self._spawn(key)

    def refusal_reason(self) -> str:
        """Why `resolve` returned None: the dead-letter reason for the message that could not be delivered."""
        if self.nursery is not None and not self.stopping and len(self.live) >= self.spec.max_children:
            return "capacity"
        return "no_actor"

    def _forget(self, key: Hashable, cell: ActorCell) -> None:
        if self.live.get(key) is cell:
            del self.live[key]
            self._budgets.pop(key, None)

    def _spawn(self, key: Hashable) -> ActorCell | None:
        nursery = self.nursery
        if nursery is None or self.stopping:
            return None
        if len(self.live) >= self.spec.max_children and not self._evict_one():
            return None
        try:
            spec = self.spec.child(key)
        except Exception:
            # A key the factory rejects is bad input from the sender; it must not crash the sender's task.
            log.exception("%s: no child spec for key %r", self.path, key)
            return None
        cell = ActorCell(
            spec,
            f"{self.path}/{key}",
            self,
            self.env,
            lambda c: KeyedActorRef(self, key, c),
            key=key,
            kind=self.spec.id,
        )
        cell.lru = self.live
        cell.last_active = trio.current_time()
        self.live[key] = cell
        self.spawned_total += 1
        nursery.start_soon(cell.main, name=cell.path)
        return cell

    def _evict_one(self) -> bool:
        """Passivate the least recently active idle child; False if every child is busy."""
        for key, cell in self.live.items():
            if cell.state is NodeState.QUARANTINED:
                until = cell.backoff_until
                if until is not None and trio.current_time() >= until:
                    self._forget(key, cell)
                    return True
                continue
            if cell.state is NodeState.RUNNING and not cell.busy and not len(cell.mailbox):
                self._passivate(key, cell)
                return True
        return False

    def _passivate(self, key: Hashable, cell: ActorCell) -> None:
        cell.passivating = True
        cell.mailbox.close("stopped")
        self._forget(key, cell)
        self.passivated_total += 1

    # ---- decisions ---------------------------------------------------------------------------------------
    def child_exited(self, child: Node, exit_info: ExitInfo) -> None:
        assert isinstance(child, ActorCell)
        key = child.key
        if self.stopping or child.passivating or child.expected_exit or self.nursery is None:
            if child.passivating:
                child.terminate("stopped")
            self._forget(key, child)
            return
        if not should_restart(child.restart, exit_info):
            child.terminate("stopped")
            self._forget(key, child)
            return
        now = trio.current_time()
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = RestartBudget(self.spec.child_max_restarts, self.spec.child_window)
        if not budget.record(now):
            log.error(
                "%s exceeded %d restarts within %gs (last: %s); quarantined for %gs",
                child.path,
                self.spec.child_max_restarts,
                self.spec.child_window,
                exit_info.describe(),
                self.spec.quarantine_for,
            )
            child.terminate("quarantined")
            child.state = NodeState.QUARANTINED
            child.backoff_until = now + self.spec.quarantine_for
            return
        child.restarts_total += 1
        self.env.restarts.inc(child.kind)
        delay = child.next_backoff(now, self.spec.backoff, self.env.rng)
        log.warning(
            "%s exited (%s); restarting in %.3fs (budget %d/%d)",
            child.path,
            exit_info.describe(),
            delay,
            budget.in_window(now),
            self.spec.child_max_restarts,
            exc_info=exit_info.error,
        )
        child.state = NodeState.BACKOFF
        child.backoff_until = now + delay
        self.nursery.start_soon(self._restart_one, child, delay)

    async def _restart_one(self, child: ActorCell, delay: float) -> None:
        with trio.CancelScope() as scope:
            self._restart_scopes.add(scope)
            try:
                await trio.sleep(delay)
                if not self.stopping and self.nursery is not None and self.live.get(child.key) is child:
                    await self.nursery.start(child.main, name=child.path)
            finally:
                self._restart_scopes.discard(scope)

    # ---- passivation -------------------------------------------------------------------------------------
    def _reaper_interval(self) -> float:
        candidates = [self.spec.quarantine_for / 4 if self.spec.quarantine_for > 0 else 1.0]
        if self.spec.idle_timeout is not None:
            candidates.append(self.spec.idle_timeout / 4)
        return min(30.0, max(0.01, min(candidates)))

    async def _reaper(self) -> None:
        interval = self._reaper_interval()
        while True:
            await trio.sleep(interval)
            self.reap(trio.current_time())

    def reap(self, now: float) -> int:
        """Passivate idle children and forget expired quarantines; returns how many were passivated."""
        idle_timeout = self.spec.idle_timeout
        passivated = 0
        for key, cell in list(self.live.items()):
            state = cell.state
            if state is NodeState.QUARANTINED:
                if cell.backoff_until is not None and now >= cell.backoff_until:
                    self._forget(key, cell)
                continue
            if idle_timeout is None:
                continue
            if now - max(cell.last_active, cell.mailbox.last_taken) < idle_timeout:
                if state is NodeState.RUNNING and cell.spec.factory is not None:
                    break  # LRU order (kept by drain loops): everything after this was active later
                continue
            if state is NodeState.RUNNING and not cell.busy and not len(cell.mailbox):
                self._passivate(key, cell)
                passivated += 1
        return passivated

    # ---- control -----------------------------------------------------------------------------------------
    async def stop(self) -> None:
        """Close every child's intake at once, wait for them to drain (bounded), then stop."""
        self.stopping = True
        for scope in list(self._restart_scopes):
            scope.cancel()
        if self.state in ALIVE:
            self.state = NodeState.STOPPING
            cells = list(self.live.values())
            for cell in cells:
                if cell.alive:
                    cell.state = NodeState.STOPPING
                    cell.mailbox.close("stopped")
            timeout = max((cell.spec.shutdown_timeout for cell in cells), default=0.0)
            with trio.move_on_after(timeout):
                for cell in cells:
                    await cell.done.wait()
            await self.kill("stopped")
        self.terminate("stopped")

    def terminate(self, reason: str) -> None:
        super().terminate(reason)
        self._discard_all_children(reason)

    # ---- health ------------------------------------------------------------------------------------------
    def snapshot(self, now: float) -> dict[str, Any]:
        data = super().snapshot(now)
        spec = self.spec
        cells = list(self.live.values())
        states = [cell.state for cell in cells]
        data["max_children"] = spec.max_children
        data["idle_timeout_s"] = spec.idle_timeout
        data["live"] = sum(s is not NodeState.QUARANTINED for s in states)
        data["passivated"] = self.passivated_total
        data["spawned"] = self.spawned_total
        data["in_backoff"] = sum(s is NodeState.BACKOFF for s in states)
        data["quarantined"] = sum(s is NodeState.QUARANTINED for s in states)
        data["child_budget"] = {
            "max_restarts": spec.child_max_restarts,
            "window_s": spec.child_window,
            "quarantine_s": spec.quarantine_for,
        }

        def interest(cell: ActorCell) -> tuple[int, int]:
            rank = {NodeState.QUARANTINED: 0, NodeState.BACKOFF: 1}.get(cell.state, 2)
            return (rank, -len(cell.mailbox))

        top = heapq.nsmallest(TOP_N, cells, key=interest)
        children = []
        for cell in top:
            child = cell.snapshot(now)
            budget = self._budgets.get(cell.key)
            child["restarts"]["in_window"] = 0 if budget is None else budget.in_window(now)
            child["restarts"]["budget"] = spec.child_max_restarts
            child["restarts"]["window_s"] = spec.child_window
            children.append(child)
        data["children"] = children
        return data
