"""What an actor sees of the runtime: its own ref and path, its mailbox, telemetry, and a place for helpers.

Why a context object instead of base-class attributes: actors are plain classes implementing `Actor`
(``handle`` plus optional ``on_start``/``on_stop``), so they can be unit-tested with any context and carry no
runtime state of their own. One context exists per actor cell; helper tasks started with `start_soon` belong
to the current *incarnation* and die with it (a helper that raises crashes the actor, which is then restarted
like any other crash).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from supervision.cell import ActorCell
    from supervision.mailbox import Mailbox
    from supervision.refs import ActorRef
    from supervision.runtime import Runtime
    from supervision.telemetry import Telemetry


class ActorContext:
    """Per-incarnation handle given to ``handle``/``on_start``/``on_stop`` and to worker functions."""

    __slots__ = ("_cell",)

    def __init__(self, cell: ActorCell) -> None:
        self._cell = cell

    @property
    def ref(self) -> ActorRef:
        return self._cell.ref

    @property
    def path(self) -> str:
        return self._cell.path

    @property
    def key(self) -> Hashable | None:
        """The key of a keyed child (e.g. the guild id); None for static children."""
        return self._cell.key

    @property
    def mailbox(self) -> Mailbox:
        return self._cell.mailbox

    @property
    def telemetry(self) -> Telemetry:
        return self._cell.env.telemetry

    @property
    def runtime(self) -> Runtime:
        return self._cell.env.runtime

    @property
    def incarnation(self) -> int:
        """1 for the first start, +1 per restart."""
        return self._cell.incarnation

    @property
    def stopping(self) -> bool:
        """True once a graceful stop was requested (workers that don't read their mailbox should check it)."""
        return self._cell.mailbox.closed_reason is not None

    def start_soon(self, fn: Callable[..., Awaitable[Any]], *args: Any, name: str | None = None) -> None:
        """Run a helper task that is cancelled when this incarnation ends; if it raises, the actor crashes."""
        self._cell.start_helper(fn, args, name or f"{self._cell.path}:{getattr(fn, '__name__', 'helper')}")


class Actor(Protocol):
    """A message-handling actor; ``on_start(ctx)`` and ``on_stop(ctx)`` are optional (found with getattr)."""

    async def handle(self, msg: Any, ctx: ActorContext) -> Any:
        """Handle one message; the return value answers a ``call`` (ignored for ``tell``/``send``)."""
        ...
