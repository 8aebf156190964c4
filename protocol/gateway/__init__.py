"""Discord gateway (API v10) client protocol, without I/O.

Modules: `opcodes` (opcodes, close codes, the fatal set), `intents`, `frames` (lazy decoding), `compression`
(zlib-stream / zstd-stream inflaters), `session` (the sans-IO session state machine), `outbound` (the
120-per-60 s command limiter), `backoff` (full-jitter reconnect delays), `identify` (identify queue and
session start limit), `urls` (connect/resume URLs with one query string), `identity` (who we are, from
READY). The I/O lives in `protocol.transport` and the driver in `actors.gateway_shard`.
"""

from protocol.gateway.backoff import FullJitterBackoff
from protocol.gateway.compression import DecompressionError, Inflater, new_inflater
from protocol.gateway.frames import Frame, FrameDecodeError, decode_frame, encode_payload
from protocol.gateway.identify import (
    GatewayBotInfo,
    IdentifyQueue,
    InMemoryIdentifyQueue,
    SessionStartLimit,
    SessionStartLimitError,
    check_session_start_limit,
)
from protocol.gateway.identity import BotIdentity
from protocol.gateway.intents import DEFAULT_INTENTS, Intents, intents_from_names
from protocol.gateway.opcodes import FATAL_CLOSE_CODES, CloseCode, Opcode, is_fatal
from protocol.gateway.outbound import OutboundLimiter
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

__all__ = [
    "DEFAULT_INTENTS",
    "FATAL_CLOSE_CODES",
    "Action",
    "BotIdentity",
    "Close",
    "CloseCode",
    "DecompressionError",
    "Dispatch",
    "Fatal",
    "Frame",
    "FrameDecodeError",
    "FullJitterBackoff",
    "GatewayBotInfo",
    "GatewaySession",
    "IdentifyQueue",
    "InMemoryIdentifyQueue",
    "Inflater",
    "Intents",
    "Opcode",
    "OutboundLimiter",
    "Phase",
    "Reconnect",
    "ScheduleHeartbeat",
    "Send",
    "SendKind",
    "SessionConfig",
    "SessionStartLimit",
    "SessionStartLimitError",
    "check_session_start_limit",
    "decode_frame",
    "encode_payload",
    "intents_from_names",
    "is_fatal",
    "new_inflater",
]
