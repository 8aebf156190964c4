"""The gateway session as a pure state machine: events in, actions out, no sockets and no clock of its own.

Why sans-IO: every rule that libraries have got wrong (anchors §4: RESUME sent before HELLO, the resume URL
losing its query string, a stale resume URL reused after a failure, zombie loops, duplicated events after a
resume) is a decision about *what to do next*, not about I/O. Keeping those decisions in one object that
takes the current time as an argument lets the tests walk every path with explicit timestamps, and leaves
the shard actor with nothing to decide: it performs the actions it is given.

The driver feeds:
    ``on_connected(now)``        the websocket is open (we now wait for HELLO);
    ``on_frame(frame, now)``     a decoded gateway frame arrived (``accept_dispatch``: hot-path shortcut);
    ``on_timer(now, backlog)``   the heartbeat deadline it was told to schedule has passed;
    ``on_closed(code, now)``     the connection ended (``None`` = TCP dropped without a close frame);
and performs the returned actions in order: `Send`, `ScheduleHeartbeat`, `Close`, `Reconnect`, `Fatal`,
`Dispatch`. After `Close` the connection is finished from the machine's point of view — it has already
issued the `Reconnect` that follows, so the driver must not report that close back.

Sequence bookkeeping: ``seq`` is the sequence of the last dispatch *handed to the driver*. A dispatch whose
``s`` is not above it is a replay of something already delivered (Discord replays from the RESUME's seq, and
a server may repeat) and is dropped. Because ``seq`` only advances when a dispatch is delivered, dispatches
that were in flight when a connection died are replayed by the RESUME rather than lost. A fresh IDENTIFY
starts a new session whose sequence restarts at 1, so ``seq`` is reset then.
"""

from __future__ import annotations

import enum
import logging
import platform
import random as _random
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from protocol.gateway.backoff import FullJitterBackoff
from protocol.gateway.frames import Frame
from protocol.gateway.opcodes import (
    FATAL_CLOSE_CODES,
    CloseCode,
    Opcode,
    describe_close,
)
from protocol.gateway.urls import gateway_query, with_query

log = logging.getLogger(__name__)

#: Close codes from the server after which the session is gone and we must IDENTIFY again.
_SESSION_LOST_CODES = frozenset(
    {CloseCode.NOT_AUTHENTICATED, CloseCode.INVALID_SEQ, CloseCode.SESSION_TIMED_OUT}
)


class Phase(enum.Enum):
    DISCONNECTED = "disconnected"  # waiting to (re)connect
    WAITING_HELLO = "waiting_hello"  # socket open, nothing sent yet
    IDENTIFYING = "identifying"  # IDENTIFY sent, waiting for READY
    RESUMING = "resuming"  # RESUME sent, waiting for RESUMED (replayed dispatches arrive meanwhile)
    CONNECTED = "connected"  # READY or RESUMED received
    FATAL = "fatal"  # stopped for good


class SendKind(enum.Enum):
    HEARTBEAT = "heartbeat"
    IDENTIFY = "identify"
    RESUME = "resume"
    COMMAND = "command"


@attrs.define(slots=True, frozen=True)
class Send:
    """Send this payload (``{"op", "d"}``); ``kind`` tells the driver priority and identify-queue use."""

    payload: dict[str, Any]
    kind: SendKind

    @property
    def priority(self) -> bool:
        return self.kind is SendKind.HEARTBEAT


@attrs.define(slots=True, frozen=True)
class ScheduleHeartbeat:
    """Call ``on_timer`` at (or after) time ``at``; replaces any earlier schedule."""

    at: float


@attrs.define(slots=True, frozen=True)
class Close:
    """Close the current connection with this code (the machine has already decided what comes next)."""

    code: int
    reason: str


@attrs.define(slots=True, frozen=True)
class Reconnect:
    """After ``delay`` seconds open a new connection to ``url`` (``resume`` says which handshake follows)."""

    url: str
    resume: bool
    delay: float
    cause: str


@attrs.define(slots=True, frozen=True)
class Fatal:
    """Stop: reconnecting cannot help (a fatal close code). ``message`` says what to fix."""

    code: int | None
    message: str


@attrs.define(slots=True, frozen=True)
class Dispatch:
    """Deliver this dispatch to consumers."""

    frame: Frame


Action = Send | ScheduleHeartbeat | Close | Reconnect | Fatal | Dispatch


@attrs.define(slots=True)
class SessionConfig:
    """What IDENTIFY says about us. ``compression`` is the ``compress`` query value (None = none)."""

    token: str = attrs.field(repr=False)
    intents: int
    shard_id: int = 0
    shard_count: int = 1
    compression: str | None = "zlib-stream"
    large_threshold: int = 50
    presence: Mapping[str, Any] | None = None
    properties: Mapping[str, str] = attrs.field(
        factory=lambda: {"os": platform.system().lower() or "linux", "browser": "twi-bot-shard",
                         "device": "twi-bot-shard"}
    )  # fmt: skip


class GatewaySession:
    """One shard's session across any number of connections."""

    def __init__(
        self,
        config: SessionConfig,
        gateway_url: str,
        *,
        random: Callable[[], float] = _random.random,
        backoff: FullJitterBackoff | None = None,
    ) -> None:
        self.config = config
        self._query = gateway_query(config.compression)
        self.gateway_url = with_query(gateway_url, self._query)
        self._random = random
        self.backoff = backoff if backoff is not None else FullJitterBackoff(random=random)
        self.phase = Phase.DISCONNECTED
        self.session_id: str | None = None
        self.resume_url: str | None = None
        self.seq: int | None = None
        self.heartbeat_interval: float | None = None
        self.next_heartbeat_at: float | None = None
        self.heartbeat_sent_at: float | None = None
        self.awaiting_ack = False
        self.latency: float | None = None
        self.fatal_message: str | None = None
        self.user: Mapping[str, Any] | None = None
        # counters the driver exports as metrics
        self.duplicates_dropped = 0
        self.sequence_gaps = 0
        self._resume_next = False
        self._zombie_check_postponed = False
        self._handlers: dict[int, Callable[[Frame, float], list[Action]]] = {
            Opcode.HELLO: self._on_hello,
            Opcode.HEARTBEAT: self._on_server_heartbeat,
            Opcode.RECONNECT: self._on_reconnect,
            Opcode.INVALID_SESSION: self._on_invalid_session,
        }

    # ------------------------------------------------------------------ queries

    @property
    def can_resume(self) -> bool:
        return self.session_id is not None and self.resume_url is not None

    def connect_url(self) -> str:
        """Where the next connection should go: the resume URL when resuming, else the gateway URL."""
        if self._resume_next and self.resume_url is not None:
            return self.resume_url
        return self.gateway_url

    # ------------------------------------------------------------------ events

    def on_connected(self, now: float) -> list[Action]:
        """The websocket is open. Nothing is sent until HELLO arrives (RESUME before HELLO loses replays)."""
        if self.phase is Phase.FATAL:
            return []
        self.phase = Phase.WAITING_HELLO
        self.heartbeat_interval = None
        self.next_heartbeat_at = None
        self.awaiting_ack = False
        self.heartbeat_sent_at = None
        return []

    def on_frame(self, frame: Frame, now: float) -> list[Action]:
        op = frame.op
        if op == Opcode.DISPATCH:
            return [Dispatch(frame)] if self.accept_dispatch(frame, now) else []
        if op == Opcode.HEARTBEAT_ACK:
            self._on_ack(now)
            return []
        handler = self._handlers.get(op)
        if handler is None:
            log.debug("ignoring gateway opcode %s", op)
            return []
        return handler(frame, now)

    def _on_server_heartbeat(self, frame: Frame, now: float) -> list[Action]:
        """op 1: the server wants a heartbeat right now (the regular schedule is unchanged)."""
        if self.phase is Phase.WAITING_HELLO or self.phase is Phase.DISCONNECTED:
            return []
        return [self._heartbeat(now)]

    def _on_reconnect(self, frame: Frame, now: float) -> list[Action]:
        """op 7: close with a resumable code and RESUME on a new connection."""
        return self._close_and_reconnect(
            CloseCode.RESUMABLE_CLOSE, "server asked to reconnect (op 7)", resume=True, delay=0.0
        )

    def _on_invalid_session(self, frame: Frame, now: float) -> list[Action]:
        """op 9: d=true -> resume; d=false -> forget the session, wait 1-5 s, identify afresh."""
        if frame.d is True and self.can_resume:
            return self._close_and_reconnect(
                CloseCode.RESUMABLE_CLOSE, "invalid session, resumable (op 9 d=true)", resume=True, delay=0.0
            )
        self._forget_session()
        delay = 1.0 + 4.0 * self._random()
        return self._close_and_reconnect(
            CloseCode.NORMAL, "invalid session (op 9 d=false)", resume=False, delay=delay
        )

    def accept_dispatch(self, frame: Frame, now: float) -> bool:
        """Sequence bookkeeping for one dispatch; True when it is new and must be delivered."""
        s = frame.s
        if s is not None:
            last = self.seq
            if last is not None:
                if s <= last:
                    self.duplicates_dropped += 1
                    return False
                if s != last + 1:
                    self.sequence_gaps += 1
                    log.warning("gateway sequence gap: %s -> %s", last, s)
            self.seq = s
        t = frame.t
        if t == "READY":
            self._on_ready(frame)
        elif t == "RESUMED":
            self.phase = Phase.CONNECTED
            self._resume_next = False
            self.backoff.reset()
        return True

    def on_timer(self, now: float, *, backlog: bool = False) -> list[Action]:
        """The scheduled heartbeat is due: detect a zombie, else beat and schedule the next one.

        ``backlog`` says the driver holds received messages it has not processed yet. The missing ACK may be
        among them (a large burst delays it, which is why discord.py gave up on ACK-based detection), so the
        verdict is postponed once, by a tenth of the interval, instead of killing a healthy connection.
        """
        due = self.next_heartbeat_at
        interval = self.heartbeat_interval
        if due is None or now < due or interval is None:
            return []
        if self.awaiting_ack:
            if backlog and not self._zombie_check_postponed:
                self._zombie_check_postponed = True
                self.next_heartbeat_at = now + interval / 10.0
                return [ScheduleHeartbeat(self.next_heartbeat_at)]
            return self._close_and_reconnect(
                CloseCode.RESUMABLE_CLOSE,
                "zombied connection: no heartbeat ACK since the last heartbeat",
                resume=self.can_resume,
                delay=self.backoff.next_delay(),
            )
        self._zombie_check_postponed = False
        self.next_heartbeat_at = now + interval
        return [self._heartbeat(now), ScheduleHeartbeat(self.next_heartbeat_at)]

    def on_closed(self, code: int | None, now: float) -> list[Action]:
        """The connection ended without us asking (server close frame, or TCP drop when ``code`` is None)."""
        if self.phase is Phase.FATAL:
            return []
        self.next_heartbeat_at = None
        self.awaiting_ack = False
        was = self.phase
        self.phase = Phase.DISCONNECTED
        if code in FATAL_CLOSE_CODES:
            return self._stop(
                code, f"gateway closed the session with fatal code {describe_close(code)}; not reconnecting"
            )
        if code in _SESSION_LOST_CODES or (was is Phase.RESUMING and code is not None and code >= 4000):
            self._forget_session()
        resume = self.can_resume
        self._resume_next = resume
        return [
            Reconnect(
                url=self.connect_url(),
                resume=resume,
                delay=self.backoff.next_delay(),
                cause=f"connection closed: {describe_close(code)}",
            )
        ]

    def on_certificate_rejected(self, reason: str) -> list[Action]:
        """The gateway's TLS certificate failed verification. Stop instead of reconnecting: no retry fixes a
        trust store, a clock or a proxy, and a reconnect loop would only hide the reason."""
        if self.phase is Phase.FATAL:
            return []
        self.next_heartbeat_at = None
        self.awaiting_ack = False
        return self._stop(
            None,
            f"{reason}; not reconnecting (check the system clock and trust store, a proxy intercepting TLS,"
            " or the gateway URL)",
        )

    def _stop(self, code: int | None, message: str) -> list[Action]:
        """Enter the terminal phase: every later event is ignored and the shard raises ``message``."""
        self.phase = Phase.FATAL
        self.fatal_message = message
        return [Fatal(code, message)]

    def prepare_resume(self) -> None:
        """The driver lost its connection without telling us (it crashed and was restarted): the next
        connection should RESUME if the session allows it."""
        if self.phase is Phase.FATAL:
            return
        self.phase = Phase.DISCONNECTED
        self.next_heartbeat_at = None
        self.awaiting_ack = False
        self._resume_next = self.can_resume

    def on_protocol_error(self, reason: str, now: float) -> list[Action]:
        """The connection delivered garbage (corrupt compression stream): drop it and resume elsewhere."""
        if self.phase is Phase.FATAL:
            return []
        return self._close_and_reconnect(
            CloseCode.RESUMABLE_CLOSE, reason, resume=True, delay=self.backoff.next_delay()
        )

    def command(self, op: int, d: object) -> Send:
        """Wrap an ordinary gateway command (presence update, request guild members) for sending."""
        return Send({"op": int(op), "d": d}, SendKind.COMMAND)

    # ------------------------------------------------------------------ internals

    def _on_hello(self, frame: Frame, now: float) -> list[Action]:
        if self.phase is not Phase.WAITING_HELLO:
            log.warning("unexpected HELLO in phase %s; ignoring", self.phase.value)
            return []
        d = frame.d if isinstance(frame.d, dict) else {}
        interval_ms = d.get("heartbeat_interval")
        if not isinstance(interval_ms, int | float) or interval_ms <= 0:
            return self._close_and_reconnect(
                CloseCode.RESUMABLE_CLOSE,
                f"HELLO without a valid heartbeat_interval ({interval_ms!r})",
                resume=self.can_resume,
                delay=self.backoff.next_delay(),
            )
        self.heartbeat_interval = interval_ms / 1000.0
        self.next_heartbeat_at = now + self.heartbeat_interval * self._random()
        actions: list[Action] = [ScheduleHeartbeat(self.next_heartbeat_at)]
        if self._resume_next and self.can_resume:
            self.phase = Phase.RESUMING
            actions.append(
                Send(
                    {
                        "op": int(Opcode.RESUME),
                        "d": {"token": self.config.token, "session_id": self.session_id, "seq": self.seq},
                    },
                    SendKind.RESUME,
                )
            )
        else:
            self.phase = Phase.IDENTIFYING
            self._forget_session()
            actions.append(Send({"op": int(Opcode.IDENTIFY), "d": self._identify_data()}, SendKind.IDENTIFY))
        return actions

    def _identify_data(self) -> dict[str, Any]:
        config = self.config
        data: dict[str, Any] = {
            "token": config.token,
            "properties": dict(config.properties),
            "compress": False,
            "large_threshold": config.large_threshold,
            "shard": [config.shard_id, config.shard_count],
            "intents": int(config.intents),
        }
        if config.presence is not None:
            data["presence"] = dict(config.presence)
        return data

    def _on_ready(self, frame: Frame) -> None:
        d = frame.d if isinstance(frame.d, dict) else {}
        session_id = d.get("session_id")
        resume_url = d.get("resume_gateway_url")
        self.session_id = str(session_id) if session_id is not None else None
        try:
            self.resume_url = with_query(str(resume_url), self._query) if resume_url else None
        except ValueError:
            log.warning(
                "READY carried an unusable resume_gateway_url %r; resumes will reconnect fresh", resume_url
            )
            self.resume_url = None
        user = d.get("user")
        self.user = user if isinstance(user, dict) else None
        self.phase = Phase.CONNECTED
        self._resume_next = False
        self.backoff.reset()

    def _on_ack(self, now: float) -> None:
        self.awaiting_ack = False
        if self.heartbeat_sent_at is not None:
            self.latency = now - self.heartbeat_sent_at

    def _heartbeat(self, now: float) -> Send:
        self.awaiting_ack = True
        self.heartbeat_sent_at = now
        return Send({"op": int(Opcode.HEARTBEAT), "d": self.seq}, SendKind.HEARTBEAT)

    def _forget_session(self) -> None:
        """A new session will start: no resume URL, no session id, and sequences restart from 1."""
        self.session_id = None
        self.resume_url = None
        self.seq = None
        self._resume_next = False

    def _close_and_reconnect(self, code: int, reason: str, *, resume: bool, delay: float) -> list[Action]:
        self.phase = Phase.DISCONNECTED
        self.next_heartbeat_at = None
        self.awaiting_ack = False
        resume = resume and self.can_resume
        self._resume_next = resume
        return [
            Close(int(code), reason),
            Reconnect(url=self.connect_url(), resume=resume, delay=delay, cause=reason),
        ]
