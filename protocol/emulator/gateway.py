"""The emulator's gateway: sessions, routing of dispatches to shards, and the hooks faults use.

Why routing lives here and not in the state: Discord decides which socket receives an event by the shard
formula ``(guild_id >> 22) % num_shards`` and by the session's intents, and then numbers it per session. The
state only knows that something happened in a guild; this module turns that into one numbered frame per
interested session (and DMs go to shard 0). A test that pushes an event for a guild therefore exercises the
bot's shard routing exactly as Discord would.

Identifies are recorded with their time and shard so the client's identify queue (``shard_id %
max_concurrency``, one per bucket per 5 s) can be checked from the outside.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

import attrs
import orjson
import trio
import trio.lowlevel

from protocol.emulator import gateway_codes as codes
from protocol.emulator.config import EmulatorConfig
from protocol.emulator.gateway_connection import GatewayConnection
from protocol.emulator.gateway_sessions import GatewaySession, SessionRegistry
from protocol.emulator.http_server import HttpRequest
from protocol.emulator.snowflakes import shard_for_guild
from protocol.emulator.state import EmulatorState, JSONObject

logger = logging.getLogger(__name__)

MEMBER_CHUNK_SIZE = 1000

#: Initial loads up to this many guilds are sent at once; bigger ones stream in chunks of this size.
INLINE_GUILD_LOAD = 50
_CONTENT_FIELDS = ("content", "embeds", "attachments", "components", "poll")


@attrs.frozen(slots=True)
class IdentifyRecord:
    shard_id: int
    shard_count: int
    intents: int
    time: float
    session_id: str


@attrs.frozen(slots=True)
class ConnectionRecord:
    path: str
    query: str
    time: float


class GatewayServer:
    """All gateway connections and sessions of one emulator."""

    def __init__(self, config: EmulatorConfig, state: EmulatorState, token: str) -> None:
        self.config = config
        self.token = token
        self.state = state
        self.registry = SessionRegistry(config.replay_buffer_size)
        self.connections: list[GatewayConnection] = []
        self.identifies: list[IdentifyRecord] = []
        self.connection_log: list[ConnectionRecord] = []
        self.client_ops: list[tuple[int, int]] = []  # (id(connection), op) in arrival order, for tests
        self.allowed_privileged_intents = (
            codes.PRIVILEGED_INTENTS if config.privileged_intents is None else config.privileged_intents
        )
        self.session_starts = 0
        self.url = ""
        self._acks_to_drop = 0
        self._changed = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._last_identify_by_bucket: dict[int, float] = {}
        self.rejected_identifies: list[IdentifyRecord] = []
        # GUILD_CREATE payloads encoded ahead of IDENTIFY (`snapshot_initial_load`), by (guild, members?).
        self._initial_load: dict[tuple[int, bool], bytes] = {}
        # Guilds a READY lists whose lazy-load GUILD_CREATE is never sent (`Faults.withhold_initial_guilds`).
        self.withheld_initial_guilds: set[int] = set()

    # ---- connections ------------------------------------------------------------------------------------

    async def handle_websocket(self, stream: trio.abc.Stream, request: HttpRequest, trailing: bytes) -> None:
        connection = GatewayConnection(self, stream, request)
        self.connections.append(connection)
        self.connection_log.append(ConnectionRecord(request.path, request.raw_query, trio.current_time()))
        self._notify()
        await connection.run(trailing)

    def connection_ended(self, connection: GatewayConnection) -> None:
        if connection in self.connections:
            self.connections.remove(connection)
        session = connection.session
        if session is not None and session.connection is connection:
            session.connection = None
            if (
                connection.client_close_code in codes.CLIENT_SESSION_ENDING_CODES
                or connection.closed_with in codes.SESSION_ENDING_CODES
            ):
                self.registry.invalidate(session)
        self._notify()

    def record_client_op(self, connection: GatewayConnection, op: int) -> None:
        self.client_ops.append((id(connection), op))
        self._notify()

    def take_dropped_ack(self) -> bool:
        if self._acks_to_drop > 0:
            self._acks_to_drop -= 1
            return True
        return False

    def drop_acks(self, count: int) -> None:
        self._acks_to_drop += count

    # ---- sessions ---------------------------------------------------------------------------------------

    def guilds_on_shard(self, shard_id: int, shard_count: int) -> list[int]:
        bot_id = self.state.bot_user.id
        return [
            gid
            for gid, guild in self.state.guilds.items()
            if shard_for_guild(gid, shard_count) == shard_id and bot_id in guild.members
        ]

    def guilds_per_shard(self, shard_id: int, shard_count: int) -> int:
        return len(self.guilds_on_shard(shard_id, shard_count))

    def identify_refusal(self, shard_id: int, shard_count: int, intents: int) -> bool:
        """Whether to refuse this IDENTIFY with op 9: the daily session start limit is spent, or (when
        enforced) its identify bucket identified too recently. Records the attempt either way."""
        now = trio.current_time()
        bucket = shard_id % max(self.config.max_concurrency, 1)
        last = self._last_identify_by_bucket.get(bucket)
        too_fast = (
            self.config.enforce_identify_rate
            and last is not None
            and now - last < self.config.identify_interval
        )
        spent = self.session_starts >= self.config.session_start_limit_total
        if too_fast or spent:
            self.rejected_identifies.append(IdentifyRecord(shard_id, shard_count, intents, now, ""))
            return True
        self._last_identify_by_bucket[bucket] = now
        return False

    def start_session(
        self, connection: GatewayConnection, shard_id: int, shard_count: int, intents: int
    ) -> GatewaySession:
        session_id = secrets.token_hex(16)
        session = self.registry.create(session_id, shard_id, shard_count, intents)
        session.resume_query = connection.request.raw_query
        identify_presence = connection.identify_presence
        if identify_presence is not None:
            session.presence = identify_presence
        session.connection = connection
        self.session_starts += 1
        self.identifies.append(
            IdentifyRecord(shard_id, shard_count, intents, trio.current_time(), session_id)
        )
        guild_ids = self.guilds_on_shard(shard_id, shard_count)
        session.push_initial(
            "READY",
            {
                "v": 10,
                "user": self.state.current_user_payload(),
                "guilds": [{"id": str(gid), "unavailable": True} for gid in guild_ids],
                "session_id": session_id,
                "resume_gateway_url": self.resume_url,
                "shard": [shard_id, shard_count],
                "application": {"id": str(self.state.application.id), "flags": 0},
                "session_type": "normal",
                "private_channels": [],
                "presences": [],
                "relationships": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": ["emulator"],
                "user_settings": {},
                "auth": {},
            },
        )
        include_members = bool(intents & codes.GUILD_MEMBERS)
        if self._nursery is None or len(guild_ids) <= INLINE_GUILD_LOAD:
            for gid in guild_ids:
                self._push_guild_create(session, gid, include_members)
        else:
            session.hold()
            self._nursery.start_soon(self._stream_initial_guilds, session, guild_ids, include_members)
        self._notify()
        return session

    async def _stream_initial_guilds(
        self, session: GatewaySession, guild_ids: list[int], include_members: bool
    ) -> None:
        """Send a big initial load in chunks, letting the connection write (and the client read) between
        them, as Discord streams GUILD_CREATEs after READY; dispatches wait until the load is out."""
        try:
            for start in range(0, len(guild_ids), INLINE_GUILD_LOAD):
                for gid in guild_ids[start : start + INLINE_GUILD_LOAD]:
                    if gid in self.state.guilds:
                        self._push_guild_create(session, gid, include_members)
                await trio.lowlevel.checkpoint()
        finally:
            session.release()
            self._notify()

    def _push_guild_create(self, session: GatewaySession, guild_id: int, include_members: bool) -> None:
        if guild_id in self.withheld_initial_guilds:
            return
        if self.state.guilds[guild_id].unavailable:
            # an outage during the lazy load: Discord accounts for the guild with a GUILD_DELETE instead
            session.push_initial("GUILD_DELETE", {"id": str(guild_id), "unavailable": True})
            return
        encoded = self._initial_load.get((guild_id, include_members)) if self._initial_load else None
        if encoded is not None:
            session.push_initial_encoded("GUILD_CREATE", encoded)
        else:
            payload = self.state.guild_create_payload(guild_id, include_members=include_members)
            session.push_initial("GUILD_CREATE", payload)

    def snapshot_initial_load(self, *, include_members: bool = True) -> int:
        """Encode every guild's GUILD_CREATE now, so an IDENTIFY later only copies bytes out.

        For start-up benchmarks: building and encoding a 50-member guild costs the emulator ~0.5 ms, which
        for thousands of guilds would make the emulator, not the client, the measured bottleneck. A guild's
        snapshot is dropped when any event is dispatched for it; changes made to the world without an event
        (the builder) after the snapshot are not reflected, so take it once the world is built. Returns the
        number of guilds encoded."""
        for gid in self.state.guilds:
            payload = self.state.guild_create_payload(gid, include_members=include_members)
            self._initial_load[(gid, include_members)] = orjson.dumps(payload)
        return len(self.state.guilds)

    def _forget_initial_load(self, guild_id: int | None) -> None:
        if guild_id is not None:
            self._initial_load.pop((guild_id, True), None)
            self._initial_load.pop((guild_id, False), None)

    def attach_nursery(self, nursery: trio.Nursery) -> None:
        """Where background work (streaming big initial loads) runs; set when the emulator starts."""
        self._nursery = nursery

    def resume_session(
        self, connection: GatewayConnection, session: GatewaySession, missed: list[bytes]
    ) -> None:
        previous = session.connection
        session.connection = connection
        if isinstance(previous, GatewayConnection) and previous is not connection:
            previous.session = None
            previous.close(codes.UNKNOWN_ERROR, "Session resumed elsewhere.")
        for frame in missed:
            connection.send_frame(frame)
        session.push_initial("RESUMED", {})
        self._notify()

    @property
    def resume_url(self) -> str:
        return f"{self.url}/resume"

    def sessions(self) -> list[GatewaySession]:
        return self.registry.live()

    # ---- dispatch ---------------------------------------------------------------------------------------

    def sessions_for_guild(self, guild_id: int | None) -> list[GatewaySession]:
        found = []
        for session in self.registry.sessions_view():
            target = 0 if guild_id is None else shard_for_guild(guild_id, session.shard_count)
            if target == session.shard_id:
                found.append(session)
        return found

    def dispatch(self, guild_id: int | None, event: str, payload: JSONObject) -> int:
        """Send ``event`` to every session whose shard owns ``guild_id`` and whose intents allow it.

        Returns how many sessions it was numbered for (attached or not)."""
        needed = codes.required_intent(event, payload)
        delivered = 0
        if self._initial_load:
            self._forget_initial_load(guild_id)
        for session in self.sessions_for_guild(guild_id):
            if needed and not session.intents & needed:
                continue
            session.push(event, self._filter_content(session, event, payload))
            delivered += 1
        return delivered

    def announce_guild(self, guild_id: int) -> int:
        """GUILD_CREATE for a guild the bot just joined, to its shard, with members only for sessions
        that have the GUILD_MEMBERS intent (as in the initial load)."""
        delivered = 0
        for session in self.sessions_for_guild(guild_id):
            if not session.intents & codes.GUILDS:
                continue
            include_members = bool(session.intents & codes.GUILD_MEMBERS)
            session.push(
                "GUILD_CREATE", self.state.guild_create_payload(guild_id, include_members=include_members)
            )
            delivered += 1
        return delivered

    def dispatch_encoded(self, guild_id: int | None, event: str, payload_json: bytes) -> int:
        """`dispatch` for an already-encoded payload. Intents are applied; MESSAGE_CONTENT stripping is not
        (the payload is opaque here), so send such payloads only to sessions that have the intent."""
        needed = codes.required_intent(event, {"guild_id": guild_id})
        delivered = 0
        if self._initial_load:
            self._forget_initial_load(guild_id)
        for session in self.sessions_for_guild(guild_id):
            if needed and not session.intents & needed:
                continue
            session.push_encoded(event, payload_json)
            delivered += 1
        return delivered

    def _filter_content(self, session: GatewaySession, event: str, payload: JSONObject) -> JSONObject:
        """Without MESSAGE_CONTENT, message content is empty except in DMs, mentions and the bot's own."""
        if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE") or session.intents & codes.MESSAGE_CONTENT:
            return payload
        if payload.get("guild_id") is None:
            return payload
        bot_id = str(self.state.bot_user.id)
        author = payload.get("author") or {}
        if author.get("id") == bot_id or any(m.get("id") == bot_id for m in payload.get("mentions", ())):
            return payload
        stripped = dict(payload)
        for field in _CONTENT_FIELDS:
            if field in stripped:
                stripped[field] = "" if field == "content" else []
        return stripped

    def answer_member_request(self, connection: GatewayConnection, data: dict[str, Any]) -> None:
        """Op 8: GUILD_MEMBERS_CHUNK dispatches (1,000 members each) for a query or a list of user ids."""
        session = connection.session
        if session is None:
            return
        request = _parse_member_request(data)
        if request is None:
            connection.close(codes.DECODE_ERROR, "Error while decoding payload.")
            return
        guild_id, query, limit, user_ids = request
        guild = self.state.guilds.get(guild_id)
        if guild is None:
            return
        if user_ids is not None:
            members = [uid for uid in guild.members if uid in user_ids]
        else:
            members = [
                uid for uid in guild.members if self.state.users[uid].username.lower().startswith(query)
            ]
        members = members[: limit or None]
        chunks = [members[i : i + MEMBER_CHUNK_SIZE] for i in range(0, len(members), MEMBER_CHUNK_SIZE)] or [
            []
        ]
        for index, chunk_members in enumerate(chunks):
            chunk: JSONObject = {
                "guild_id": str(guild_id),
                "members": [self.state.member_payload(guild_id, uid) for uid in chunk_members],
                "chunk_index": index,
                "chunk_count": len(chunks),
            }
            if user_ids is not None and index == len(chunks) - 1:
                chunk["not_found"] = [str(u) for u in user_ids if u not in guild.members]
            if "nonce" in data:
                chunk["nonce"] = data["nonce"]
            session.push("GUILD_MEMBERS_CHUNK", chunk)

    # ---- faults and waiting -----------------------------------------------------------------------------

    def attached_connections(self, shard_id: int | None = None) -> list[GatewayConnection]:
        return [c for c in self.connections if shard_id is None or c.shard_id == shard_id]

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``predicate()`` holds after gateway activity (TooSlowError after ``timeout``)."""
        with trio.fail_after(timeout):
            while not predicate():
                await self._changed.wait()


def _parse_member_request(data: dict[str, Any]) -> tuple[int, str, int, set[int] | None] | None:
    """(guild id, query, limit, user ids) of an op 8 payload; None when its fields have the wrong types."""
    guild_id, query, limit, user_ids = (
        data.get("guild_id"),
        data.get("query", ""),
        data.get("limit", 0),
        data.get("user_ids"),
    )
    if not isinstance(guild_id, int | str) or isinstance(guild_id, bool) or not str(guild_id).isdigit():
        return None
    if not isinstance(query, str) or isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        return None
    wanted: set[int] | None = None
    if user_ids is not None:
        listed = user_ids if isinstance(user_ids, list) else [user_ids]
        if not all(isinstance(u, int | str) and not isinstance(u, bool) and str(u).isdigit() for u in listed):
            return None
        wanted = {int(u) for u in listed}
    return int(guild_id), query.lower(), limit, wanted
