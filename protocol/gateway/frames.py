"""Gateway frames decoded lazily: ``op``, ``t`` and ``s`` up front, the payload ``d`` left as plain JSON data.

Why lazy: the receive path is the bot's hottest loop (DESIGN §6). Most dispatches are routed by ``guild_id``
and handed on untouched; building typed models for every MESSAGE_CREATE would cost more than the whole
transport. So a frame is one ``orjson.loads`` (the fastest full parse Python has) plus a slotted object
holding the four envelope fields. Consumers that need typed objects build them from ``d`` with the models
converter, only for the events they handle. Event names are interned so the router's comparisons and dict
lookups hit the fast identity path.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from protocol.gateway.opcodes import Opcode


class FrameDecodeError(ValueError):
    """A gateway message that is not a JSON object with an integer ``op``."""


class Frame:
    """One gateway payload. ``t``/``s`` are only set for dispatches (op 0); ``d`` is raw JSON data."""

    __slots__ = ("d", "op", "s", "t")

    def __init__(self, op: int, t: str | None, s: int | None, d: Any) -> None:
        self.op = op
        self.t = t
        self.s = s
        self.d = d

    def __repr__(self) -> str:
        return f"Frame(op={self.op}, t={self.t!r}, s={self.s})"

    @property
    def guild_id(self) -> int | None:
        """The guild this dispatch belongs to, if any (GUILD_CREATE/UPDATE/DELETE carry it as ``id``)."""
        d = self.d
        if not isinstance(d, dict):
            return None
        raw = d.get("guild_id")
        if raw is None and self.t is not None and self.t in GUILD_ID_IS_ID:
            raw = d.get("id")
        if raw is None:
            return None
        try:
            return int(raw)
        except (TypeError, ValueError):
            return None


GUILD_ID_IS_ID = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})
_interned: dict[str, str] = {}
_MAX_INTERNED = 4096  # event names are a small closed set; a hostile server cannot grow this without bound
_DISPATCH = int(Opcode.DISPATCH)  # a plain int: comparing against an enum member costs an attribute lookup
_loads = orjson.loads


def _intern(name: str) -> str:
    if len(_interned) < _MAX_INTERNED:
        cached = _interned[name] = sys.intern(name)
        return cached
    return name


def decode_frame(data: bytes | bytearray | memoryview | str) -> Frame:
    """Parse one (already decompressed) gateway message."""
    try:
        payload = _loads(data)
        op = payload["op"]
    except orjson.JSONDecodeError as exc:
        raise FrameDecodeError(f"gateway message is not valid JSON: {exc}") from None
    except (KeyError, TypeError, IndexError):
        raise FrameDecodeError(f"gateway message is not an object with an op: {str(data)[:80]!r}") from None
    if type(op) is not int or type(payload) is not dict:
        raise FrameDecodeError(f"gateway message has no integer op (got {op!r})")
    if op == _DISPATCH:
        t = payload.get("t")
        if type(t) is not str:
            raise FrameDecodeError(f"dispatch without an event name (t={t!r})")
        s = payload.get("s")
        if s is not None and type(s) is not int:
            raise FrameDecodeError(f"dispatch {t} has a non-integer sequence {s!r}")
        return Frame(op, _interned.get(t) or _intern(t), s, payload.get("d"))
    return Frame(op, None, None, payload.get("d"))


def encode_payload(op: int, d: object) -> bytes:
    """Serialise an outgoing payload (``{"op": ..., "d": ...}``) to UTF-8 JSON bytes."""
    return orjson.dumps({"op": op, "d": d})
