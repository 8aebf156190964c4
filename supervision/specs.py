"""Declarative specs of the supervision tree: what to start, how to restart it, how big its mailbox is.

Why specs instead of objects that start themselves: a supervisor must be able to start a child again, from
scratch, after it crashed (OTP's child spec). So a child is described by data plus a factory, and the runtime
owns every start. The vocabulary follows OTP because operators and reviewers already know it:

* restart types — ``PERMANENT`` (always restarted), ``TRANSIENT`` (restarted only after an error, not after a
  normal return), ``TEMPORARY`` (never restarted);
* strategies — ``ONE_FOR_ONE`` (restart the failed child), ``ONE_FOR_ALL`` (restart every sibling),
  ``REST_FOR_ONE`` (restart the failed child and those started after it);
* intensity — at most ``max_restarts`` restarts in ``window`` seconds, else the supervisor escalates.

Mailboxes are always bounded (``MailboxSpec``); the overflow policy is explicit because there is no right
default for every actor (commands want backpressure, metrics would rather drop). Backoff uses full jitter
(AWS architecture blog's recommendation): ``uniform(0, min(max, base * 2**attempt))``.

The keyed supervisor (`KeyedSupervisorSpec`) is the dynamic one for per-guild actors: children are made on the
first message for a key, passivated when idle and capped; each child has its own restart budget so one
crash-looping guild is quarantined instead of exhausting a budget its siblings share.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

if TYPE_CHECKING:
    from supervision.context import Actor, ActorContext


class Restart(enum.Enum):
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"


class Strategy(enum.Enum):
    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"


class Overflow(enum.Enum):
    BLOCK = "block"
    DROP_NEWEST = "drop_newest"
    DROP_OLDEST = "drop_oldest"
    FAIL = "fail"


def _positive(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _non_negative(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _valid_id(_inst: object, _attribute: attrs.Attribute[Any], value: str) -> None:
    if not value or "/" in value:
        raise ValueError(f"child id must be non-empty and contain no '/', got {value!r}")


@attrs.frozen(slots=True)
class MailboxSpec:
    capacity: int = attrs.field(default=1024, validator=_positive)
    overflow: Overflow = Overflow.BLOCK


@attrs.frozen(slots=True)
class BackoffSpec:
    base: float = attrs.field(default=0.1, validator=_non_negative)
    max: float = attrs.field(default=30.0, validator=_non_negative)
    reset_after: float = attrs.field(default=60.0, validator=_non_negative)


@attrs.frozen(slots=True)
class ChildSpec:
    """One child: exactly one of ``factory`` (a message-handling actor) or ``run`` (a worker task)."""

    id: str = attrs.field(validator=_valid_id)
    factory: Callable[[], Actor] | None = None
    run: Callable[[ActorContext], Awaitable[None]] | None = None
    restart: Restart = Restart.PERMANENT
    shutdown_timeout: float = attrs.field(default=5.0, validator=_non_negative)
    mailbox: MailboxSpec = attrs.field(factory=MailboxSpec)
    critical: bool = False
    kind: str | None = None
    #: Extra facts for the health report (the storage writer's buffer and drops, the gateway's sessions):
    #: called at snapshot time, must be cheap and must not raise; shown under ``status``.
    status: Callable[[], Mapping[str, object]] | None = None

    def __attrs_post_init__(self) -> None:
        if (self.factory is None) == (self.run is None):
            raise ValueError(f"child {self.id!r}: give exactly one of factory= or run=")


def _children_tuple(
    children: Sequence[ChildSpec | SupervisorSpec | KeyedSupervisorSpec],
) -> tuple[ChildSpec | SupervisorSpec | KeyedSupervisorSpec, ...]:
    return tuple(children)


@attrs.frozen(slots=True)
class SupervisorSpec:
    id: str = attrs.field(validator=_valid_id)
    strategy: Strategy = Strategy.ONE_FOR_ONE
    children: Sequence[ChildSpec | SupervisorSpec | KeyedSupervisorSpec] = attrs.field(
        default=(), converter=_children_tuple
    )
    max_restarts: int = attrs.field(default=3, validator=_non_negative)
    window: float = attrs.field(default=5.0, validator=_positive)
    backoff: BackoffSpec = attrs.field(factory=BackoffSpec)
    critical: bool = False

    def __attrs_post_init__(self) -> None:
        ids = [child.id for child in self.children]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"supervisor {self.id!r}: duplicate child ids {duplicates}")


@attrs.frozen(slots=True)
class KeyedSupervisorSpec:
    id: str = attrs.field(validator=_valid_id)
    child: Callable[[Hashable], ChildSpec]
    idle_timeout: float | None = 900.0
    max_children: int = attrs.field(default=100_000, validator=_positive)
    child_max_restarts: int = attrs.field(default=5, validator=_non_negative)
    child_window: float = attrs.field(default=60.0, validator=_positive)
    quarantine_for: float = attrs.field(default=300.0, validator=_non_negative)
    backoff: BackoffSpec = attrs.field(factory=BackoffSpec)
    critical: bool = False


AnySpec: TypeAlias = "ChildSpec | SupervisorSpec | KeyedSupervisorSpec"
