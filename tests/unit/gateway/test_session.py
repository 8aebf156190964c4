"""The sans-IO gateway session: every rule walked with explicit timestamps and an injected random source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from protocol.gateway.frames import Frame
from protocol.gateway.opcodes import FATAL_CLOSE_CODES, CloseCode, Opcode
from protocol.gateway.session import (
    Action,
    Close,
    Dispatch,
    Fatal,
    GatewaySession,
    Phase,
    Reconnect,
    ScheduleHeartbeat,
    Send,
    SendKind,
    SessionConfig,
)

GATEWAY = "wss://gateway.example/"
RESUME_HOST = "wss://resume.example"


class FixedRandom:
    """A random source that returns queued values (then 0.5)."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)

    def __call__(self) -> float:
        return self.values.pop(0) if self.values else 0.5


def make_session(*values: float, compression: str | None = "zlib-stream") -> GatewaySession:
    config = SessionConfig(
        token="secret-token", intents=513, shard_id=1, shard_count=4, compression=compression
    )
    return GatewaySession(config, GATEWAY, random=FixedRandom(*values))


def hello(interval_ms: int = 40_000) -> Frame:
    return Frame(Opcode.HELLO, None, None, {"heartbeat_interval": interval_ms})


def dispatch(t: str, s: int, d: Any = None) -> Frame:
    return Frame(Opcode.DISPATCH, t, s, d if d is not None else {})


def ready(s: int = 1, session_id: str = "sess-1") -> Frame:
    return dispatch(
        "READY", s, {"session_id": session_id, "resume_gateway_url": RESUME_HOST, "user": {"id": "42"}}
    )


def sends(actions: list[Action]) -> list[Send]:
    return [a for a in actions if isinstance(a, Send)]


def only(actions: list[Action], kind: type[Any]) -> Any:
    found = [a for a in actions if isinstance(a, kind)]
    assert len(found) == 1, actions
    return found[0]


def connected_session(*values: float) -> GatewaySession:
    """A session that identified and got READY (seq 1) at t=0..1."""
    session = make_session(0.25, *values)
    session.on_connected(0.0)
    session.on_frame(hello(), 0.0)
    session.on_frame(ready(), 1.0)
    return session


def test_hello_schedules_jittered_first_heartbeat_and_identifies() -> None:
    session = make_session(0.25)
    assert session.on_connected(0.0) == []  # nothing is sent before HELLO
    actions = session.on_frame(hello(40_000), 10.0)
    assert only(actions, ScheduleHeartbeat).at == pytest.approx(10.0 + 40.0 * 0.25)
    identify = only(actions, Send)
    assert identify.kind is SendKind.IDENTIFY
    assert identify.payload["op"] == Opcode.IDENTIFY
    d = identify.payload["d"]
    assert d["token"] == "secret-token"
    assert d["intents"] == 513
    assert d["shard"] == [1, 4]
    assert session.phase is Phase.IDENTIFYING


def test_heartbeat_carries_last_seq_and_is_priority() -> None:
    session = connected_session()
    session.on_frame(dispatch("MESSAGE_CREATE", 2), 2.0)
    session.on_frame(dispatch("MESSAGE_CREATE", 3), 3.0)
    actions = session.on_timer(10.0)  # first beat due at 0 + 40 * 0.25
    beat = only(actions, Send)
    assert beat.payload == {"op": Opcode.HEARTBEAT, "d": 3}
    assert beat.priority
    assert only(actions, ScheduleHeartbeat).at == pytest.approx(50.0)


def test_first_heartbeat_before_any_dispatch_sends_null() -> None:
    session = make_session(0.0)
    session.on_connected(0.0)
    session.on_frame(hello(), 0.0)
    assert only(session.on_timer(0.0), Send).payload == {"op": 1, "d": None}


def test_timer_before_due_does_nothing() -> None:
    session = connected_session()
    assert session.on_timer(5.0) == []


def test_ack_measures_latency_and_keeps_connection() -> None:
    session = connected_session()
    session.on_timer(10.0)
    session.on_frame(Frame(Opcode.HEARTBEAT_ACK, None, None, None), 10.125)
    assert session.latency == pytest.approx(0.125)
    actions = session.on_timer(50.0)
    assert only(actions, Send).kind is SendKind.HEARTBEAT


def test_zombie_closes_with_resumable_code_and_resumes() -> None:
    session = connected_session(0.0)
    session.on_timer(10.0)  # beat 1, never ACKed
    actions = session.on_timer(50.0)
    close = only(actions, Close)
    assert close.code not in (1000, 1001)
    reconnect = only(actions, Reconnect)
    assert reconnect.resume
    assert urlsplit(reconnect.url).netloc == "resume.example"
    assert not sends(actions)  # no heartbeat on a zombie connection


def test_server_heartbeat_request_answers_immediately() -> None:
    session = connected_session()
    session.on_frame(dispatch("TYPING_START", 2), 2.0)
    actions = session.on_frame(Frame(Opcode.HEARTBEAT, None, None, None), 3.0)
    assert only(actions, Send).payload == {"op": 1, "d": 2}
    assert not [a for a in actions if isinstance(a, ScheduleHeartbeat)]  # schedule unchanged


def test_op7_reconnects_and_resumes_at_resume_url_with_same_query() -> None:
    session = connected_session()
    actions = session.on_frame(Frame(Opcode.RECONNECT, None, None, None), 5.0)
    assert only(actions, Close).code == CloseCode.RESUMABLE_CLOSE
    reconnect = only(actions, Reconnect)
    assert reconnect.resume
    assert reconnect.delay == 0.0
    first, resume = urlsplit(session.gateway_url), urlsplit(reconnect.url)
    assert resume.netloc == "resume.example"
    assert (
        parse_qs(resume.query)
        == parse_qs(first.query)
        == {
            "v": ["10"],
            "encoding": ["json"],
            "compress": ["zlib-stream"],
        }
    )


def test_resume_is_sent_only_after_hello() -> None:
    session = connected_session()
    session.on_frame(dispatch("MESSAGE_CREATE", 2), 2.0)
    session.on_frame(Frame(Opcode.RECONNECT, None, None, None), 5.0)
    assert session.on_connected(6.0) == []
    actions = session.on_frame(hello(), 6.1)
    resume = only(actions, Send)
    assert resume.kind is SendKind.RESUME
    assert resume.payload == {
        "op": Opcode.RESUME,
        "d": {"token": "secret-token", "session_id": "sess-1", "seq": 2},
    }
    assert session.phase is Phase.RESUMING


def test_op9_true_resumes() -> None:
    session = connected_session()
    actions = session.on_frame(Frame(Opcode.INVALID_SESSION, None, None, True), 5.0)
    assert only(actions, Reconnect).resume
    assert only(actions, Close).code not in (1000, 1001)


@pytest.mark.parametrize("jitter", [0.0, 0.5, 0.999])
def test_op9_false_waits_1_to_5_seconds_and_identifies_fresh(jitter: float) -> None:
    session = connected_session(jitter)
    session.on_frame(dispatch("MESSAGE_CREATE", 2), 2.0)
    actions = session.on_frame(Frame(Opcode.INVALID_SESSION, None, None, False), 5.0)
    reconnect = only(actions, Reconnect)
    assert not reconnect.resume
    assert 1.0 <= reconnect.delay <= 5.0
    assert reconnect.delay == pytest.approx(1.0 + 4.0 * jitter)
    assert urlsplit(reconnect.url).netloc == "gateway.example"
    assert session.session_id is None and session.resume_url is None and session.seq is None
    session.on_connected(10.0)
    assert only(session.on_frame(hello(), 10.0), Send).kind is SendKind.IDENTIFY


def test_failed_resume_resets_resume_url() -> None:
    session = connected_session()
    session.on_frame(Frame(Opcode.RECONNECT, None, None, None), 5.0)
    session.on_connected(6.0)
    session.on_frame(hello(), 6.0)  # RESUME sent
    actions = session.on_frame(Frame(Opcode.INVALID_SESSION, None, None, False), 6.5)
    assert urlsplit(only(actions, Reconnect).url).netloc == "gateway.example"
    assert session.resume_url is None


@pytest.mark.parametrize("code", sorted(FATAL_CLOSE_CODES))
def test_fatal_close_codes_stop_without_reconnect(code: int) -> None:
    session = connected_session()
    actions = session.on_closed(code, 5.0)
    fatal = only(actions, Fatal)
    assert fatal.code == code
    assert str(code) in fatal.message
    assert not [a for a in actions if isinstance(a, Reconnect)]
    assert session.phase is Phase.FATAL
    assert session.on_connected(6.0) == []


def test_a_rejected_certificate_stops_without_reconnect_and_says_what_to_check() -> None:
    session = connected_session()
    session.on_closed(None, 5.0)  # the connection dropped; the reconnect's TLS handshake then fails
    actions = session.on_certificate_rejected("the TLS certificate of gateway.example was rejected: expired")
    fatal = only(actions, Fatal)
    assert fatal.code is None
    assert "expired" in fatal.message and "clock" in fatal.message and "trust store" in fatal.message
    assert session.phase is Phase.FATAL and session.fatal_message == fatal.message
    assert session.on_closed(None, 6.0) == [] and session.on_connected(6.0) == []
    assert session.on_certificate_rejected("again") == []


def test_fatal_set_is_exactly_the_docs_table() -> None:
    assert frozenset({4004, 4010, 4011, 4012, 4013, 4014}) == FATAL_CLOSE_CODES


@pytest.mark.parametrize("code", [None, 1006, 4000, 4001, 4002, 4005, 4008])
def test_non_fatal_close_resumes(code: int | None) -> None:
    session = connected_session(0.5)
    reconnect = only(session.on_closed(code, 5.0), Reconnect)
    assert reconnect.resume
    assert urlsplit(reconnect.url).netloc == "resume.example"


@pytest.mark.parametrize("code", [4003, 4007, 4009])
def test_session_ending_close_codes_identify_fresh(code: int) -> None:
    session = connected_session(0.5)
    reconnect = only(session.on_closed(code, 5.0), Reconnect)
    assert not reconnect.resume
    assert urlsplit(reconnect.url).netloc == "gateway.example"


def test_no_duplicate_or_lost_dispatch_across_resume() -> None:
    session = connected_session()
    delivered: list[int] = [1]

    def feed(frames: Iterator[Frame], now: float) -> None:
        for frame in frames:
            for action in session.on_frame(frame, now):
                if isinstance(action, Dispatch):
                    assert action.frame.s is not None
                    delivered.append(action.frame.s)

    feed((dispatch("MESSAGE_CREATE", s) for s in range(2, 6)), 2.0)
    # The connection drops; events 6..7 were sent by the server but never arrived.
    session.on_closed(None, 3.0)
    session.on_connected(4.0)
    resume = only(session.on_frame(hello(), 4.0), Send)
    assert resume.payload["d"]["seq"] == 5
    # The server replays from its own view, overlapping what we already have (4, 5) and then 6, 7.
    feed((dispatch("MESSAGE_CREATE", s) for s in (4, 5, 6, 7)), 4.5)
    feed(iter([dispatch("RESUMED", 8)]), 4.6)
    assert session.phase is Phase.CONNECTED
    assert delivered == list(range(1, 9))
    assert session.duplicates_dropped == 2


def test_new_session_restarts_sequence() -> None:
    session = connected_session(0.0)
    session.on_frame(dispatch("MESSAGE_CREATE", 50), 2.0)
    session.on_closed(4009, 3.0)  # session timed out: identify again, sequence restarts
    session.on_connected(4.0)
    session.on_frame(hello(), 4.0)
    actions = session.on_frame(ready(1, "sess-2"), 4.5)
    assert isinstance(actions[0], Dispatch)
    assert session.session_id == "sess-2"
    assert session.seq == 1


def test_backoff_grows_on_repeated_failures_and_resets_on_ready() -> None:
    session = make_session(0.25, *([0.999] * 10))
    session.on_connected(0.0)
    session.on_frame(hello(), 0.0)
    delays = []
    for i in range(5):
        delays.append(only(session.on_closed(None, float(i)), Reconnect).delay)
        session.on_connected(float(i))
    assert delays == sorted(delays)
    assert delays[-1] > 8.0
    session.on_frame(hello(), 10.0)
    session.on_frame(ready(), 10.0)
    assert session.backoff.attempt == 0


def test_ready_without_resume_url_falls_back_to_identify() -> None:
    session = make_session(0.25)
    session.on_connected(0.0)
    session.on_frame(hello(), 0.0)
    session.on_frame(dispatch("READY", 1, {"session_id": "s"}), 1.0)
    reconnect = only(session.on_closed(None, 2.0), Reconnect)
    assert not reconnect.resume


def test_bad_hello_reconnects() -> None:
    session = make_session(0.25)
    session.on_connected(0.0)
    actions = session.on_frame(Frame(Opcode.HELLO, None, None, {"heartbeat_interval": "soon"}), 0.0)
    assert only(actions, Close)
    assert only(actions, Reconnect)


def test_query_without_compression() -> None:
    session = make_session(compression=None)
    assert parse_qs(urlsplit(session.gateway_url).query) == {"v": ["10"], "encoding": ["json"]}


def test_prepare_resume_after_a_driver_restart() -> None:
    session = connected_session()
    session.on_frame(dispatch("MESSAGE_CREATE", 2), 2.0)
    session.prepare_resume()  # the driver crashed mid-connection and was restarted
    assert urlsplit(session.connect_url()).netloc == "resume.example"
    session.on_connected(3.0)
    resume = only(session.on_frame(hello(), 3.0), Send)
    assert resume.kind is SendKind.RESUME and resume.payload["d"]["seq"] == 2


def test_protocol_error_resumes_with_backoff() -> None:
    session = connected_session(0.5)
    actions = session.on_protocol_error("zlib-stream corrupt", 2.0)
    assert only(actions, Close).code == CloseCode.RESUMABLE_CLOSE
    assert only(actions, Reconnect).resume


def test_zombie_verdict_waits_once_for_an_unprocessed_backlog() -> None:
    session = connected_session(0.0)
    session.on_timer(10.0)  # beat, ACK outstanding
    postponed = session.on_timer(50.0, backlog=True)
    assert postponed == [ScheduleHeartbeat(54.0)]  # a tenth of the 40 s interval
    session.on_frame(Frame(Opcode.HEARTBEAT_ACK, None, None, None), 51.0)  # the ACK was in the backlog
    assert only(session.on_timer(54.0, backlog=True), Send).kind is SendKind.HEARTBEAT
    # without an ACK, the second check is final even with a backlog
    actions = session.on_timer(94.0, backlog=True)
    assert only(actions, ScheduleHeartbeat).at == pytest.approx(98.0)
    assert only(session.on_timer(98.0, backlog=True), Close).code == CloseCode.RESUMABLE_CLOSE
