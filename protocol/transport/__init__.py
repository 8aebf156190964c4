"""Network transport for the gateway: a websocket client of wsproto on trio streams (see `websocket`)."""

from protocol.transport.websocket import (
    ConnectionClosedError,
    HandshakeError,
    TransportError,
    WebSocketConnection,
    connect_websocket,
    open_websocket,
)

__all__ = [
    "ConnectionClosedError",
    "HandshakeError",
    "TransportError",
    "WebSocketConnection",
    "connect_websocket",
    "open_websocket",
]
