"""The errors the supervision runtime raises to its callers.

Why a small fixed set: callers of `ActorRef.call` must be able to tell "the callee is gone" (`ActorExited`,
raised at once, with the real cause chained) from "the callee is slow" (`CallTimeout`), and senders under an
``Overflow.FAIL`` policy must see backpressure as an exception (`MailboxFull`). `SupervisorEscalation` is
what a supervisor raises when its restart intensity is exceeded; when the root raises it the whole runtime
stops with that error, because restarting forever would hide a broken deployment.
"""

from __future__ import annotations


class SupervisionError(Exception):
    """Base class of every error raised by the runtime."""


class ActorExited(SupervisionError):  # noqa: N818 - public API name
    """The callee exited, crashed, was stopped or was never started; ``__cause__`` holds the crash if any."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"actor {path!r} exited: {reason}")
        self.path = path
        self.reason = reason


class CallTimeout(SupervisionError, TimeoutError):  # noqa: N818 - public API name
    """No reply arrived within the call's timeout (the callee is still alive)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__(f"call to {path!r} got no reply within {timeout:g}s")
        self.path = path
        self.timeout = timeout


class MailboxFull(SupervisionError):  # noqa: N818 - public API name
    """The target's mailbox is full (raised under ``Overflow.FAIL``; callers whose call was dropped)."""

    def __init__(self, path: str, capacity: int) -> None:
        super().__init__(f"mailbox of {path!r} is full (capacity {capacity})")
        self.path = path
        self.capacity = capacity


class SupervisorEscalation(SupervisionError):  # noqa: N818 - public API name
    """A supervisor exceeded its restart intensity and gives up; its parent decides what happens next."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"supervisor {path!r} escalated: {reason}")
        self.path = path
        self.reason = reason
