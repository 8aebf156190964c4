"""Property test: any sequence of gateway events keeps the session's invariants (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.gateway.frames import Frame
from protocol.gateway.opcodes import FATAL_CLOSE_CODES, Opcode
from protocol.gateway.session import (
    Action,
    Close,
    Dispatch,
    Fatal,
    GatewaySession,
    Reconnect,
    Send,
    SendKind,
    SessionConfig,
)

events = st.lists(
    st.one_of(
        st.tuples(st.just("connect")),
        st.tuples(st.just("hello")),
        st.tuples(st.just("ready")),
        st.tuples(st.just("dispatch"), st.integers(min_value=1, max_value=30)),
        st.tuples(st.just("ack")),
        st.tuples(st.just("timer"), st.floats(min_value=0.0, max_value=100.0)),
        st.tuples(st.just("op1")),
        st.tuples(st.just("op7")),
        st.tuples(st.just("op9"), st.booleans()),
        st.tuples(st.just("closed"), st.sampled_from([None, 1000, 1006, 4000, 4004, 4007, 4009, 4014])),
    ),
    max_size=60,
)


@settings(max_examples=300)
@given(events, st.floats(min_value=0.0, max_value=0.999))
def test_session_invariants(script: list[tuple[Any, ...]], jitter: float) -> None:
    session = GatewaySession(SessionConfig(token="t", intents=1), "wss://gw.example", random=lambda: jitter)
    now = 0.0
    connected = False  # a socket is open (the driver called on_connected and no Close/Reconnect since)
    hello_seen = False
    fatal = False
    delivered: list[int] = []
    for step in script:
        kind = step[0]
        if session.seq is None:
            delivered = []  # the session was forgotten (op 9 d=false, 4007, 4009...): sequences restart
        actions: list[Action]
        if kind == "connect":
            if connected:
                continue
            actions = session.on_connected(now)
            connected, hello_seen = not fatal, False
        elif not connected:
            continue
        elif kind == "hello":
            actions = session.on_frame(Frame(Opcode.HELLO, None, None, {"heartbeat_interval": 41250}), now)
            hello_seen = True
        elif kind == "ready":
            actions = session.on_frame(
                Frame(0, "READY", 1, {"session_id": "s", "resume_gateway_url": "wss://r.example"}), now
            )
        elif kind == "dispatch":
            actions = session.on_frame(Frame(0, "MESSAGE_CREATE", step[1], {}), now)
        elif kind == "ack":
            actions = session.on_frame(Frame(Opcode.HEARTBEAT_ACK, None, None, None), now)
        elif kind == "timer":
            now += step[1]
            actions = session.on_timer(now)
        elif kind == "op1":
            actions = session.on_frame(Frame(Opcode.HEARTBEAT, None, None, None), now)
        elif kind == "op7":
            actions = session.on_frame(Frame(Opcode.RECONNECT, None, None, None), now)
        elif kind == "op9":
            actions = session.on_frame(Frame(Opcode.INVALID_SESSION, None, None, step[1]), now)
        else:
            actions = session.on_closed(step[1], now)
            connected = False
            if step[1] in FATAL_CLOSE_CODES:
                assert [type(a) for a in actions] == [Fatal]
                fatal = True
            else:
                assert [type(a) for a in actions] == [Reconnect]
        for index, action in enumerate(actions):
            assert not fatal or isinstance(action, Fatal), "nothing happens after a fatal close"
            if isinstance(action, Send):
                if action.kind in (SendKind.IDENTIFY, SendKind.RESUME):
                    assert kind == "hello" and hello_seen, "IDENTIFY/RESUME only in answer to HELLO"
                if action.kind is SendKind.IDENTIFY:
                    delivered = []  # a new session: sequences restart
            elif isinstance(action, Close):
                assert isinstance(actions[index + 1], Reconnect), "a close always says what comes next"
                connected = False
            elif isinstance(action, Reconnect):
                assert 0.0 <= action.delay <= 60.0
                assert action.url.startswith(("wss://gw.example/?", "wss://r.example/?"))
                assert "v=10" in action.url and "encoding=json" in action.url
                if action.resume:
                    assert action.url.startswith("wss://r.example/?")
            elif isinstance(action, Dispatch):
                s = action.frame.s
                assert s is not None
                assert not delivered or s > delivered[-1], "no dispatch delivered twice or out of order"
                delivered.append(s)
