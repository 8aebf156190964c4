"""Network transport for the gateway: a websocket client of wsproto on trio streams (see `websocket`)."""

from protocol.transport.websocket import (
    CertificateRejectedError,
    ConnectionClosedError,
    HandshakeError,
    TransportError,
    WebSocketConnection,
    connect_websocket,
    open_websocket,
)

__all__ = [
    "CertificateRejectedError",
    "ConnectionClosedError",
    "HandshakeError",
    "TransportError",
    "WebSocketConnection",
    "connect_websocket",
    "open_websocket",
]
