"""Fault injection: the failures a bot must survive, on demand.

Why faults are commands on a live emulator and not configuration: a resume test needs "drop the TCP
connection now, after sequence 5", a zombie test "stop acknowledging the next two heartbeats", a limiter
test "answer the next POST to this route with a shared-scope 429". Each call here arms one fault on the
running gateway or REST server; the server applies it at the next matching moment and it is then spent.

Gateway faults act on every attached connection, or on one shard with ``shard_id=``.
"""

from __future__ import annotations

import attrs

from protocol.emulator import gateway_codes as codes
from protocol.emulator.gateway import GatewayServer
from protocol.emulator.ratelimits import ForcedLimit, Scope, ServerRateLimiter


@attrs.define(slots=True)
class RestFaultState:
    """REST faults waiting for requests: queued error statuses and a per-request latency."""

    pending_statuses: list[int] = attrs.field(factory=list)
    pending_drops: int = 0
    latency: float = 0.0
    gateway_latency: float = 0.0

    def take_status(self) -> int | None:
        return self.pending_statuses.pop(0) if self.pending_statuses else None

    def take_drop(self) -> bool:
        if self.pending_drops > 0:
            self.pending_drops -= 1
            return True
        return False


class Faults:
    """``emu.faults``: arm one failure at a time on the gateway or the REST API."""

    def __init__(self, gateway: GatewayServer, limiter: ServerRateLimiter, rest: RestFaultState) -> None:
        self._gateway = gateway
        self._limiter = limiter
        self._rest = rest

    # ---- gateway ---------------------------------------------------------------------------------------

    def close(self, code: int = codes.UNKNOWN_ERROR, reason: str = "", *, shard_id: int | None = None) -> int:
        """Close attached connections with ``code`` (after frames already queued). Returns how many."""
        targets = self._gateway.attached_connections(shard_id)
        for connection in targets:
            connection.close(code, reason)
        return len(targets)

    def drop_tcp(self, *, shard_id: int | None = None) -> int:
        """Reset the TCP connections with no close frame, as a network failure does."""
        targets = self._gateway.attached_connections(shard_id)
        for connection in targets:
            connection.drop_tcp()
        return len(targets)

    def reconnect(self, *, shard_id: int | None = None) -> int:
        """Send op 7 RECONNECT: the client must close and resume."""
        targets = self._gateway.attached_connections(shard_id)
        for connection in targets:
            connection.send_payload({"op": codes.RECONNECT, "d": None})
        return len(targets)

    def invalidate_session(self, resumable: bool, *, shard_id: int | None = None) -> int:
        """Send op 9 INVALID_SESSION with ``d=resumable``; a non-resumable session is forgotten."""
        targets = self._gateway.attached_connections(shard_id)
        for connection in targets:
            session = connection.session
            if session is not None and not resumable:
                self._gateway.registry.invalidate(session)
            connection.send_payload({"op": codes.INVALID_SESSION, "d": resumable})
        return len(targets)

    def request_heartbeat(self, *, shard_id: int | None = None) -> int:
        """Send op 1 HEARTBEAT from the server: the client must heartbeat at once."""
        targets = self._gateway.attached_connections(shard_id)
        for connection in targets:
            connection.send_payload({"op": codes.HEARTBEAT, "d": None})
        return len(targets)

    def drop_acks(self, count: int = 1) -> None:
        """Do not acknowledge the next ``count`` heartbeats (the connection becomes a zombie)."""
        self._gateway.drop_acks(count)

    def malformed_frame(self, kind: str = "json", *, shard_id: int | None = None) -> int:
        """Send a bad frame. ``kind="json"``: a payload that is not valid JSON (compressed properly when the
        connection compresses, so the stream stays usable); ``kind="compression"``: bytes that are not a
        valid continuation of the compressed stream (ending with the zlib flush marker)."""
        if kind not in ("json", "compression"):
            raise ValueError(f"unknown malformed frame kind {kind!r}")
        targets = self._gateway.attached_connections(shard_id)
        for connection in targets:
            if kind == "json":
                connection.send_raw(b'{"op": 0, "t": "MESSAGE_CREATE", "s": ')
            else:
                connection.send_raw(b"\xde\xad\xbe\xef not deflate\x00\x00\xff\xff", compress=False)
        return len(targets)

    # ---- REST ------------------------------------------------------------------------------------------

    def rate_limit(
        self, route: str | None = None, scope: Scope = "user", retry_after: float = 1.0, *, count: int = 1
    ) -> None:
        """Answer the next ``count`` requests to ``route`` (a template like
        ``/channels/{channel_id}/messages``; None for any route) with a 429 of ``scope``."""
        self._limiter.force(ForcedLimit(route, scope, retry_after), count)

    def server_error(self, count: int = 1, status: int = 502) -> None:
        """Answer the next ``count`` REST requests with ``status`` (a 5xx, say)."""
        self._rest.pending_statuses.extend([status] * count)

    def drop_requests(self, count: int = 1) -> None:
        """Close the connection of the next ``count`` REST requests without answering (a reset)."""
        self._rest.pending_drops += count

    def guild_unavailable(self, guild_id: int) -> int:
        """A guild outage: GUILD_DELETE with ``unavailable: true`` to its shard (the bot stays in it)."""
        self._gateway.state.guilds[guild_id].unavailable = True
        return self._gateway.dispatch(guild_id, "GUILD_DELETE", {"id": str(guild_id), "unavailable": True})

    def withhold_initial_guilds(self, *guild_ids: int) -> None:
        """The next READYs list these guilds, but their lazy-load GUILD_CREATE never comes: a stalled load."""
        self._gateway.withheld_initial_guilds.update(guild_ids)

    def guild_available(self, guild_id: int) -> int:
        """The outage ends: GUILD_CREATE for the guild again."""
        self._gateway.state.guilds[guild_id].unavailable = False
        return self._gateway.announce_guild(guild_id)

    def latency(self, seconds: float) -> None:
        """Delay every REST response by ``seconds`` (0 turns it off)."""
        self._rest.latency = seconds
