"""The gateway shard actor: one worker per shard that owns the websocket and performs the session's actions.

Why a worker and not a message-handling actor: the shard's input is the socket, not a mailbox, and its hot
loop (read, inflate, decode, route) must not pay a mailbox hop per frame. So it is a worker child
(``ChildSpec(run=shard.run)``) whose main task reads the websocket; a helper task fires heartbeats; another
reads the mailbox for the few requests it takes (gateway commands, status). Every *decision* — when to beat,
when a connection is a zombie, resume or identify, which URL, how long to back off, which dispatch is a
replay — is made by the sans-IO `protocol.gateway.session.GatewaySession`; this module only performs its
actions. That split is what lets the rules be unit-tested without sockets.

Routing (the hot path, DESIGN §2): INTERACTION_CREATE goes to the interactions sink (the command executor);
dispatches that carry a guild go to that guild's actor with a non-blocking ``tell`` (refs are cached per
guild); READY/RESUMED are handled here (they feed `BotIdentity`); the rest go to an optional sink. Routing
is synchronous so no await sits between reading a frame and handing it on; a full guild mailbox applies that
mailbox's overflow policy instead of stalling every other guild.

Sharding: a process usually runs all its shards through `GatewayFleet` (one worker child): it fetches GET
/gateway/bot once, checks the session start limit for every shard, and gives the shards one identify queue.

Failure policy: transient failures (TCP drops, close codes, zombies, corrupt streams, connect errors) never
leave `run` — the session turns them into a resume or a re-identify with full-jitter backoff. A fatal close
code (4004, 4010-4014), or a gateway TLS certificate that fails verification, raises `GatewayFatalError`
with a message saying what to fix; if a supervisor restarts the worker anyway, `run` re-raises at once
without connecting, so a bad token can never become a reconnect loop that burns session starts. A shard
that crashes or is cancelled closes with a resumable code (only a graceful stop closes with 1000) and keeps
its session object, so its restart RESUMEs. Exceptions from consumers are logged by the router, never
propagated: a poison event would otherwise be replayed forever.
"""

from __future__ import annotations

import functools
import logging
import math
import random as _random
import ssl
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, Protocol, cast

import attrs
import orjson
import trio

from protocol.gateway.compression import DecompressionError, new_inflater
from protocol.gateway.frames import GUILD_ID_IS_ID, Frame, FrameDecodeError, decode_frame
from protocol.gateway.guild_load import DEFAULT_IDLE_TIMEOUT, GuildLoad
from protocol.gateway.identify import (
    GatewayBotInfo,
    IdentifyQueue,
    InMemoryIdentifyQueue,
    check_session_start_limit,
)
from protocol.gateway.identity import BotIdentity
from protocol.gateway.opcodes import CloseCode, Opcode
from protocol.gateway.outbound import (
    GATEWAY_COMMAND_LIMIT,
    GATEWAY_COMMAND_WINDOW,
    HEARTBEAT_RESERVE,
    OutboundLimiter,
)
from protocol.gateway.session import (
    Action,
    Close,
    Dispatch,
    Fatal,
    GatewaySession,
    Reconnect,
    ScheduleHeartbeat,
    Send,
    SendKind,
    SessionConfig,
)
from protocol.transport.websocket import (
    CertificateRejectedError,
    ConnectionClosedError,
    TransportError,
    WebSocketConnection,
    connect_websocket,
)
from supervision import ChildSpec, MailboxSpec, Overflow, Restart, logfields
from supervision.mailbox import Call
from supervision.telemetry import Telemetry

log = logging.getLogger(__name__)

FetchGatewayBot = Callable[[], Awaitable[Mapping[str, Any]]]
EventSink = Callable[[Frame], object]

_SESSION_EVENTS = frozenset({"READY", "RESUMED"})
_LOAD_EVENTS = frozenset({"GUILD_CREATE", "GUILD_DELETE"})
#: Dispatches the shard looks at itself before routing them (session bookkeeping and the guild load).
_WATCHED_EVENTS = _SESSION_EVENTS | _LOAD_EVENTS
_HEARTBEAT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class GuildLoadListener(Protocol):
    """Told when a shard's lazy guild load begins and ends (`protocol.gateway.guild_load`): the GC policy."""

    def load_started(self, shard_id: int) -> None: ...

    def load_finished(self, shard_id: int) -> None: ...


class GatewayFatalError(RuntimeError):
    """The gateway refused the session for a reason reconnecting cannot fix (see the message)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------------------------- routing


class Tellable(Protocol):
    def tell(self, msg: Any) -> bool: ...


class GuildRefs(Protocol):
    """What the router needs of the keyed guild supervisor (``rt.keyed("root/guilds")``)."""

    def ref(self, key: Hashable) -> Any: ...


class RuntimeLike(Protocol):
    def keyed(self, path: str) -> Any: ...


class DispatchRouter:
    """Hands each delivered dispatch to its consumer: interactions sink, a guild actor, or the fallback sink.

    ``guilds`` may be given directly, or resolved from ``guilds_path`` on the runtime when the shard starts
    (`attach`), because the keyed supervisor only exists once the runtime is open.
    """

    __slots__ = ("_guild_refs", "failures", "guilds", "guilds_path", "interactions", "others")

    def __init__(
        self,
        *,
        interactions: EventSink | None = None,
        guilds: GuildRefs | None = None,
        guilds_path: str | None = None,
        others: EventSink | None = None,
    ) -> None:
        self.interactions = interactions
        self.guilds = guilds
        self.guilds_path = guilds_path
        self.others = others
        self.failures = 0
        self._guild_refs: dict[str | int, Tellable] = {}

    def attach(self, runtime: RuntimeLike) -> None:
        """Resolve ``guilds_path`` on the running runtime (no-op when ``guilds`` was given)."""
        if self.guilds is None and self.guilds_path is not None:
            self.guilds = runtime.keyed(self.guilds_path)

    def route(self, frame: Frame) -> None:
        """Deliver one dispatch without blocking. A consumer that raises is logged, never propagated: a bug in
        one consumer must not kill the shard, and after a restart the RESUME would replay the same event into
        the same bug (a poison event)."""
        try:
            self._route(frame)
        except Exception:
            self.failures += 1
            log.exception("dispatch %s (seq %s) could not be delivered", frame.t, frame.s)

    def _route(self, frame: Frame) -> None:
        t = frame.t
        if t == "INTERACTION_CREATE":
            if self.interactions is not None:
                self.interactions(frame)
            return
        d = frame.d
        if self.guilds is not None and type(d) is dict:
            # refs are cached by the raw snowflake string, so the hot path does no int() per event
            raw = d.get("guild_id")
            if raw is None and t in GUILD_ID_IS_ID:
                raw = d.get("id")
            if type(raw) is str or type(raw) is int:
                ref = self._guild_refs.get(raw)
                if ref is None:
                    ref = self._resolve_guild(raw)
                if ref is not None:
                    ref.tell(frame)
                    return
        if self.others is not None:
            self.others(frame)

    def _resolve_guild(self, raw: str | int) -> Tellable | None:
        guilds = self.guilds
        if guilds is None:
            return None
        try:
            guild_id = int(raw)
        except ValueError:
            return None
        ref: Tellable = guilds.ref(guild_id)
        self._guild_refs[raw] = ref
        return ref


# ---------------------------------------------------------------------------------------------- sharding


class GatewayBotCache:
    """GET /gateway/bot once for all the shards of this process, with the session start limit checked for all.

    Give the same instance as ``fetch_gateway_bot`` to every `GatewayShard` of the process (and one shared
    `InMemoryIdentifyQueue` sized with `max_concurrency`): the first shard to start fetches, the others reuse
    the answer, and a start budget too small for ``shards_to_start`` fails once, before any shard identifies.
    """

    def __init__(self, fetch: FetchGatewayBot, *, shards_to_start: int = 1) -> None:
        self._fetch = fetch
        self._shards_to_start = shards_to_start
        self._lock = trio.Lock()
        self._payload: Mapping[str, Any] | None = None
        self.info: GatewayBotInfo | None = None

    async def __call__(self) -> Mapping[str, Any]:
        async with self._lock:
            if self._payload is None:
                payload = await self._fetch()
                info = GatewayBotInfo.from_payload(payload)
                check_session_start_limit(info.session_start_limit, self._shards_to_start)
                self._payload, self.info = payload, info
            return self._payload


# ---------------------------------------------------------------------------------------------- status


@attrs.define(slots=True, frozen=True)
class GatewayCommand:
    """Ask the shard to send a gateway command (presence update, request guild members...).

    ``shard_id`` picks the shard when a `GatewayFleet` receives it (a single shard ignores it)."""

    op: int
    d: Any
    shard_id: int = 0


@attrs.define(slots=True, frozen=True)
class GetShardStatus:
    """Ask the shard for a `ShardStatus` (answer to ``ref.call``)."""


@attrs.define(slots=True, frozen=True)
class ShardStatus:
    shard_id: int
    shard_count: int
    phase: str
    connected: bool
    session_id: str | None
    seq: int | None
    heartbeat_latency: float | None
    reconnects: int
    fatal_error: str | None
    #: Where the lazy load of the last READY's guilds stands ("loading 1,234 of 2,500 guilds"), or None.
    guilds: str | None = None


# ---------------------------------------------------------------------------------------------- the shard


@attrs.define(slots=True, frozen=True)
class _ConnectionEnd:
    close: Close | None
    next: Reconnect | Fatal


class GatewayShard:
    """One gateway shard. Use ``ChildSpec(id=f"gateway-{n}", run=shard.run, restart=Restart.TRANSIENT)``."""

    def __init__(
        self,
        *,
        token: str,
        intents: int,
        fetch_gateway_bot: FetchGatewayBot,
        router: DispatchRouter,
        shard_id: int = 0,
        shard_count: int | None = None,
        identify_queue: IdentifyQueue | None = None,
        compression: str | None = "zlib-stream",
        identity: BotIdentity | None = None,
        telemetry: Telemetry | None = None,
        ssl_context: ssl.SSLContext | None = None,
        random: Callable[[], float] = _random.random,
        large_threshold: int = 50,
        presence: Mapping[str, Any] | None = None,
        command_limit: int = GATEWAY_COMMAND_LIMIT,
        command_window: float = GATEWAY_COMMAND_WINDOW,
        heartbeat_reserve: int = HEARTBEAT_RESERVE,
        guild_load_listener: GuildLoadListener | None = None,
        guild_load_idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        self._token = token
        self._intents = int(intents)
        self._fetch_gateway_bot = fetch_gateway_bot
        self.router = router
        self.shard_id = shard_id
        self._shard_count = shard_count
        self._identify_queue = identify_queue
        self._compression = compression
        self.identity = identity if identity is not None else BotIdentity()
        self._ssl_context = ssl_context
        self._random = random
        self._large_threshold = large_threshold
        self._presence = presence
        self._new_limiter: Callable[[], OutboundLimiter] = functools.partial(
            OutboundLimiter, command_limit, command_window, heartbeat_reserve
        )
        telemetry = telemetry if telemetry is not None else Telemetry()
        self._events = telemetry.counter(
            "shard_gateway_events_total", "Gateway dispatches delivered, by event name", ["event"]
        )
        self._reconnects = telemetry.counter(
            "shard_gateway_reconnects_total", "Gateway reconnects, by kind (resume, identify)", ["kind"]
        )
        self._heartbeat_latency = telemetry.histogram(
            "shard_gateway_heartbeat_latency_seconds",
            "Time from heartbeat sent to ACK received",
            bounds=_HEARTBEAT_BUCKETS,
        ).labels()
        self._duplicates = telemetry.counter(
            "shard_gateway_replayed_dispatches_dropped_total", "Dispatches dropped as already delivered"
        )
        self._connected_gauge = telemetry.gauge(
            "shard_gateway_connected", "1 while the shard's session is READY/RESUMED, else 0", ["shard"]
        )
        self._bad_frames = telemetry.counter(
            "shard_gateway_bad_frames_total", "Gateway messages that could not be decoded"
        )
        self.session: GatewaySession | None = None
        self.fatal_error: GatewayFatalError | None = None
        self.reconnect_count = 0
        self.connected = trio.Event()  # set at the first READY/RESUMED; tests and readiness wait on it
        self._ws: WebSocketConnection | None = None
        self._limiter = self._new_limiter()
        self._connection_scope: trio.CancelScope | None = None
        self._end: _ConnectionEnd | None = None
        self._wakeup = trio.Event()
        self._graceful_stop = False
        self.guild_load: GuildLoad | None = None
        self._guild_load_listener = guild_load_listener
        self._guild_load_idle_timeout = guild_load_idle_timeout
        self._guild_load_begun = trio.Event()

    # ------------------------------------------------------------------ public

    @property
    def heartbeat_latency(self) -> float | None:
        """The last heartbeat round trip in seconds (None before the first ACK); /ping shows this."""
        return self.session.latency if self.session is not None else None

    def status(self) -> ShardStatus:
        session = self.session
        return ShardStatus(
            shard_id=self.shard_id,
            shard_count=session.config.shard_count if session else (self._shard_count or 0),
            phase=session.phase.value if session else "starting",
            connected=bool(session and session.phase.value == "connected"),
            session_id=session.session_id if session else None,
            seq=session.seq if session else None,
            heartbeat_latency=self.heartbeat_latency,
            reconnects=self.reconnect_count,
            fatal_error=str(self.fatal_error) if self.fatal_error else None,
            guilds=self.guild_load.describe() if self.guild_load is not None else None,
        )

    async def send_command(self, op: int, d: Any) -> None:
        """Send a gateway command on the current connection, within the outbound limit."""
        ws = self._ws
        if ws is None:
            raise TransportError("gateway shard is not connected")
        if not await self._send(ws, {"op": int(op), "d": d}, priority=False):
            raise TransportError("the gateway connection closed before the command was sent")

    async def run(self, ctx: Any = None) -> None:
        """The worker body: connect and stay connected until cancelled or a fatal close code."""
        if self.fatal_error is not None:
            raise self.fatal_error  # restarted after a fatal close: don't connect again
        self._graceful_stop = False
        logfields.bind_forever(shard_id=self.shard_id)
        if ctx is not None:
            runtime = getattr(ctx, "runtime", None)
            if runtime is not None:
                self.router.attach(runtime)
        info = GatewayBotInfo.from_payload(await self._fetch_gateway_bot())
        check_session_start_limit(info.session_start_limit, 1)
        shard_count = self._shard_count or info.shards
        queue = self._identify_queue or InMemoryIdentifyQueue(info.session_start_limit.max_concurrency)
        config = SessionConfig(
            token=self._token,
            intents=self._intents,
            shard_id=self.shard_id,
            shard_count=shard_count,
            compression=self._compression,
            large_threshold=self._large_threshold,
            presence=self._presence,
        )
        session = self.session
        if session is not None and session.can_resume:
            # restarted by the supervisor after a crash: keep the session and RESUME instead of identifying,
            # so nothing is lost or duplicated across the restart either
            session.prepare_resume()
            log.info("gateway shard %s restarted; resuming session %s", self.shard_id, session.session_id)
        else:
            session = GatewaySession(config, info.url, random=self._random)
            self.session = session
        fatal: GatewayFatalError | None = None
        async with trio.open_nursery() as nursery:
            if ctx is not None and getattr(ctx, "mailbox", None) is not None:
                nursery.start_soon(self._serve_mailbox, ctx.mailbox, nursery.cancel_scope)
            nursery.start_soon(self._watch_guild_load)
            try:
                await self._connection_loop(session, queue)
            except GatewayFatalError as exc:
                fatal = exc  # raised below, outside the nursery, so callers see it unwrapped
            finally:
                nursery.cancel_scope.cancel()
                self._end_guild_load(abandon=True)  # a stopped shard must not leave its listener waiting
        if fatal is not None:
            raise fatal

    # ------------------------------------------------------------------ connections

    async def _connection_loop(self, session: GatewaySession, queue: IdentifyQueue) -> None:
        url = session.connect_url()
        delay = 0.0
        while True:
            if delay > 0:
                log.info("gateway shard %s reconnecting in %.2f s", self.shard_id, delay)
                await trio.sleep(delay)
            end = await self._run_connection(session, queue, url)
            next_step = end.next
            if isinstance(next_step, Fatal):
                self.fatal_error = GatewayFatalError(next_step.message, next_step.code)
                log.critical("gateway shard %s stopped: %s", self.shard_id, next_step.message)
                raise self.fatal_error
            self.reconnect_count += 1
            self._reconnects.inc("resume" if next_step.resume else "identify")
            log.info(
                "gateway shard %s: %s; will %s",
                self.shard_id,
                next_step.cause,
                "resume" if next_step.resume else "identify",
            )
            url, delay = next_step.url, next_step.delay

    async def _run_connection(
        self, session: GatewaySession, queue: IdentifyQueue, url: str
    ) -> _ConnectionEnd:
        try:
            ws = await connect_websocket(url, ssl_context=self._ssl_context)
        except CertificateRejectedError as exc:
            return self._end_from(session.on_certificate_rejected(str(exc)))
        except TransportError as exc:
            log.warning("gateway shard %s: cannot connect: %s", self.shard_id, exc)
            return self._end_from(session.on_closed(None, trio.current_time()))
        self._ws = ws
        self._limiter = self._new_limiter()
        self._end = None
        session.on_connected(trio.current_time())
        try:
            with trio.CancelScope() as scope:
                self._connection_scope = scope
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._heartbeat_loop, session, ws, nursery)
                    await self._receive_loop(session, ws, queue, nursery)
                    nursery.cancel_scope.cancel()
        finally:
            self._connection_scope = None
            self._ws = None
            self._connected_gauge.set(0, str(self.shard_id))
            end = self._end
            with trio.CancelScope(shield=True):
                if end is not None and end.close is not None:
                    await ws.close(end.close.code, end.close.reason, handshake_timeout=2.0)
                elif end is None and self._graceful_stop:
                    await ws.close(1000, "shutting down")  # ends the session: the bot goes offline now
                else:
                    # a crash or an outside cancellation: keep the session resumable for the restart
                    await ws.close(CloseCode.RESUMABLE_CLOSE, "restarting")
        if end is None:  # pragma: no cover - the receive loop only returns after the session decided
            raise RuntimeError("gateway connection ended without a decision")
        return end

    async def _receive_loop(
        self, session: GatewaySession, ws: WebSocketConnection, queue: IdentifyQueue, nursery: trio.Nursery
    ) -> None:
        decode = self._decoder()
        receive = ws.receive
        receive_nowait = ws.receive_nowait
        accept = session.accept_dispatch
        route = self.router.route
        count_event = self._events.inc
        while True:
            try:
                raw: bytes | str | None = await receive()
            except ConnectionClosedError as closed:
                await self._perform(session.on_closed(closed.code, trio.current_time()), ws, queue, nursery)
                return
            # one read usually holds dozens of messages: handle them all without an await per message
            while raw is not None:
                try:
                    frame = decode(raw)
                except DecompressionError as exc:
                    self._bad_frames.inc()
                    now = trio.current_time()
                    await self._perform(session.on_protocol_error(str(exc), now), ws, queue, nursery)
                    return
                raw = receive_nowait()
                if frame is None:
                    continue
                if frame.op == 0:
                    # the hot path: sequence bookkeeping, count, route; no awaits between reading and routing
                    if accept(frame, 0.0):
                        t = frame.t
                        assert t is not None
                        count_event(t)
                        if t in _WATCHED_EVENTS:
                            self._on_watched_event(frame)
                        route(frame)
                    else:
                        self._duplicates.inc()
                    continue
                actions = session.on_frame(frame, trio.current_time())
                if frame.op == Opcode.HEARTBEAT_ACK and session.latency is not None:
                    self._heartbeat_latency.observe(session.latency)
                if actions:
                    await self._perform(actions, ws, queue, nursery)
                    if self._end is not None:
                        return

    def _decoder(self) -> Callable[[bytes | str], Frame | None]:
        """Inflate (one inflater per connection) and decode; None for incomplete or undecodable messages."""
        inflate = new_inflater(self._compression).feed

        def decode(raw: bytes | str) -> Frame | None:
            data: bytes | str
            if isinstance(raw, str):
                data = raw
            else:
                inflated = inflate(raw)
                if inflated is None:
                    return None
                data = inflated
            try:
                return decode_frame(data)
            except FrameDecodeError as exc:
                self._bad_frames.inc()
                log.warning("gateway shard %s: dropping undecodable message: %s", self.shard_id, exc)
                return None

        return decode

    async def _heartbeat_loop(
        self, session: GatewaySession, ws: WebSocketConnection, nursery: trio.Nursery
    ) -> None:
        while True:
            self._wakeup = (
                trio.Event()
            )  # set by a ScheduleHeartbeat action; the deadline lives in the session
            at = session.next_heartbeat_at
            with trio.move_on_at(at if at is not None else math.inf):
                await self._wakeup.wait()
                continue
            actions = session.on_timer(trio.current_time(), backlog=ws.buffered_messages > 0)
            if not actions:  # nothing was due after all: wait for the next schedule rather than spin
                await self._wakeup.wait()
                continue
            await self._perform(actions, ws, None, nursery)

    def _on_watched_event(self, frame: Frame) -> None:
        if frame.t in _LOAD_EVENTS:
            load = self.guild_load
            if load is not None and load.observe(frame.t or "", frame.d, trio.current_time()):
                self._end_guild_load(abandon=False)
            return
        if frame.t == "READY" and isinstance(frame.d, dict):
            self.identity.update_from_ready(frame.d)
            log.info(
                "gateway shard %s READY as %s (session %s, %d guilds)",
                self.shard_id,
                self.identity.username,
                frame.d.get("session_id"),
                len(frame.d.get("guilds") or ()),
            )
            self._begin_guild_load(frame.d)
        else:
            log.info("gateway shard %s RESUMED", self.shard_id)
        self.connected.set()
        self._connected_gauge.set(1, str(self.shard_id))

    # ------------------------------------------------------------------ the lazy guild load

    def _begin_guild_load(self, ready: Mapping[str, Any]) -> None:
        self._end_guild_load(abandon=True)  # a new READY supersedes a load still in progress
        load = GuildLoad.from_ready(ready, trio.current_time())
        self.guild_load = load
        if load.done:
            return
        if self._guild_load_listener is not None:
            self._guild_load_listener.load_started(self.shard_id)
        self._guild_load_begun.set()

    def _end_guild_load(self, *, abandon: bool) -> None:
        """Tell the listener and log, once, that the current load is over (``abandon``: end it now)."""
        load = self.guild_load
        if load is None:
            return
        if abandon and not load.abandon(trio.current_time()):
            return  # already over, and already reported
        if self._guild_load_listener is not None:
            self._guild_load_listener.load_finished(self.shard_id)
        log_at = logging.WARNING if load.timed_out else logging.INFO
        log.log(log_at, "gateway shard %s: %s", self.shard_id, load.describe())

    async def _watch_guild_load(self) -> None:
        """End a load that stalls (guilds lost to an outage never arrive): no guild for the idle timeout."""
        while True:
            load = self.guild_load
            if load is None or load.done:
                self._guild_load_begun = trio.Event()
                await self._guild_load_begun.wait()
                continue
            await trio.sleep_until(load.last_progress_at + self._guild_load_idle_timeout)
            if load.expire(trio.current_time(), self._guild_load_idle_timeout):
                self._end_guild_load(abandon=False)

    # ------------------------------------------------------------------ actions

    async def _perform(
        self,
        actions: list[Action],
        ws: WebSocketConnection,
        queue: IdentifyQueue | None,
        nursery: trio.Nursery,
    ) -> None:
        close: Close | None = None
        for action in actions:
            if isinstance(action, Send):
                if action.kind is SendKind.IDENTIFY:
                    # waiting for the identify queue may take long; keep reading (and ACKing) meanwhile
                    nursery.start_soon(self._identify, ws, queue, action.payload)
                else:
                    await self._send(ws, action.payload, priority=action.priority)
            elif isinstance(action, ScheduleHeartbeat):
                self._wakeup.set()
            elif isinstance(action, Dispatch):
                frame = action.frame
                assert frame.t is not None
                self._events.inc(frame.t)
                self.router.route(frame)
            elif isinstance(action, Close):
                close = action
            else:  # Reconnect / Fatal: this connection is over
                self._end = _ConnectionEnd(close, action)
                if self._connection_scope is not None:
                    self._connection_scope.cancel()

    async def _identify(
        self, ws: WebSocketConnection, queue: IdentifyQueue | None, payload: dict[str, Any]
    ) -> None:
        if queue is None:  # pragma: no cover - identify only comes from the receive loop, which has the queue
            queue = InMemoryIdentifyQueue()
        await queue.acquire(self.shard_id)
        log.info("gateway shard %s identifying", self.shard_id)
        await self._send(ws, payload, priority=False)

    def _end_from(self, actions: list[Action]) -> _ConnectionEnd:
        close: Close | None = None
        for action in actions:
            if isinstance(action, Close):
                close = action
            elif isinstance(action, Reconnect | Fatal):
                return _ConnectionEnd(close, action)
        raise RuntimeError(f"session gave no next step: {actions!r}")  # pragma: no cover

    async def _send(self, ws: WebSocketConnection, payload: Mapping[str, Any], *, priority: bool) -> bool:
        """Send within the outbound limit; False when the connection closed first (the receive loop sees the
        same closure and decides what to do, so the caller only needs to know the payload did not go)."""
        limiter = self._limiter
        while True:
            wait = limiter.try_acquire(trio.current_time(), priority=priority)
            if wait <= 0:
                break
            await trio.sleep(wait)
        try:
            await ws.send(orjson.dumps(payload).decode())
        except ConnectionClosedError:
            return False
        return True

    # ------------------------------------------------------------------ mailbox

    async def _serve_mailbox(self, mailbox: Any, run_scope: trio.CancelScope) -> None:
        """Answer status calls and forward gateway commands. When the mailbox closes (graceful stop), end
        `run`: the connection is closed with 1000 on the way out, so Discord shows the bot offline at once."""
        await _serve_requests(mailbox, self._answer, f"gateway shard {self.shard_id}")
        self.request_graceful_stop()
        run_scope.cancel()

    def request_graceful_stop(self) -> None:
        """The coming cancellation is a shutdown: close with 1000 (end the session) rather than 4900."""
        self._graceful_stop = True

    async def _answer(self, msg: object) -> Any:
        if isinstance(msg, GetShardStatus):
            return self.status()
        if isinstance(msg, GatewayCommand):
            await self.send_command(msg.op, msg.d)
        else:
            log.warning("gateway shard %s: unexpected message %r", self.shard_id, type(msg).__name__)
        return None


async def _serve_requests(mailbox: Any, answer: Callable[[object], Awaitable[Any]], who: str) -> None:
    """Answer each mailbox item with ``answer`` until the mailbox closes: a `Call` gets the result (or the
    `TransportError`); a told command that could not be sent is logged."""
    async for item in mailbox:
        msg = item.msg if isinstance(item, Call) else item
        try:
            result = await answer(msg)
        except TransportError as exc:
            if isinstance(item, Call):
                item.fail(exc)
            else:
                log.warning("%s: command %r not sent: %s", who, msg, exc)
            continue
        if isinstance(item, Call):
            item.reply(result)


# ---------------------------------------------------------------------------------------------- the fleet


def shard_for_guild(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events (Discord's formula: ``(guild_id >> 22) % shard_count``)."""
    return (guild_id >> 22) % shard_count


class GatewayFleet:
    """All the gateway shards of this process as one worker child (``ChildSpec(run=fleet.run)``).

    Why one worker for all shards: the shard count is only known after GET /gateway/bot (unless configured),
    while the supervision tree is built before anything runs. The fleet fetches once (`GatewayBotCache`),
    checks the session start limit for every shard it will start, builds the shards with one shared
    identify queue (buckets of ``max_concurrency``), and runs them side by side. Each shard still reconnects
    and resumes on its own; only a fatal close code (which would hit every shard alike) or a bug ends the
    fleet. The shard objects survive a restart of the fleet, so their sessions are resumed.
    """

    def __init__(
        self,
        *,
        token: str,
        intents: int,
        fetch_gateway_bot: FetchGatewayBot,
        router: DispatchRouter,
        shard_count: int | None = None,
        shard_ids: Sequence[int] | None = None,
        identify_queue: IdentifyQueue | None = None,
        identity: BotIdentity | None = None,
        telemetry: Telemetry | None = None,
        **shard_options: Any,
    ) -> None:
        self._token = token
        self._intents = intents
        self._gateway_bot = GatewayBotCache(fetch_gateway_bot, shards_to_start=len(shard_ids or ()) or 1)
        self.router = router
        self._shard_count = shard_count
        self._shard_ids = tuple(shard_ids) if shard_ids is not None else None
        self._identify_queue = identify_queue
        self.identity = identity if identity is not None else BotIdentity()
        self._telemetry = telemetry if telemetry is not None else Telemetry()
        self._shard_options = shard_options
        self.shards: list[GatewayShard] = []
        self.shard_count: int | None = shard_count
        self.fatal_error: GatewayFatalError | None = None
        self._shards_built = trio.Event()

    @property
    def heartbeat_latency(self) -> float | None:
        """The mean of the shards' last heartbeat round trips (None before any ACK); /ping shows this."""
        latencies = [s.heartbeat_latency for s in self.shards if s.heartbeat_latency is not None]
        return sum(latencies) / len(latencies) if latencies else None

    def statuses(self) -> tuple[ShardStatus, ...]:
        return tuple(shard.status() for shard in self.shards)

    def health_status(self) -> dict[str, object]:
        """Per-shard session facts for the health tree (phase, last heartbeat round trip, reconnects)."""
        shards: dict[str, object] = {}
        for status in self.statuses():
            latency = status.heartbeat_latency
            beat = f"{latency * 1000:.0f}ms" if latency is not None else "-"
            line = f"{status.phase}/hb {beat}/reconnects {status.reconnects}"
            shards[str(status.shard_id)] = f"{line}/{status.guilds}" if status.guilds else line
        return {"shards": shards} if shards else {"shards": "not started"}

    def readiness(self) -> tuple[bool, str]:
        """Ready when every shard of this process has a live session (readiness probe for operators)."""
        if not self.shards:
            return False, "gateway: no shard started yet"
        down = [s.shard_id for s in self.shards if not s.status().connected]
        if down:
            return False, f"gateway: shard(s) {', '.join(map(str, down))} not connected"
        return True, f"gateway: {len(self.shards)} shard(s) connected"

    async def wait_connected(self) -> None:
        """Return once every shard of this process has had its first READY or RESUMED."""
        await self._shards_built.wait()  # the fleet builds its shards after GET /gateway/bot
        for shard in list(self.shards):
            await shard.connected.wait()

    def shard_of(self, guild_id: int) -> GatewayShard | None:
        if not self.shards or not self.shard_count:
            return None
        wanted = shard_for_guild(guild_id, self.shard_count)
        return next((shard for shard in self.shards if shard.shard_id == wanted), None)

    async def run(self, ctx: Any = None) -> None:
        if self.fatal_error is not None:
            raise self.fatal_error  # restarted after a fatal close: no shard may connect again
        if ctx is not None and getattr(ctx, "runtime", None) is not None:
            self.router.attach(ctx.runtime)
        if not self.shards:
            await self._build()
        fatal: GatewayFatalError | None = None
        async with trio.open_nursery() as nursery:
            if ctx is not None and getattr(ctx, "mailbox", None) is not None:
                nursery.start_soon(self._serve_mailbox, ctx.mailbox, nursery.cancel_scope)
            try:
                async with trio.open_nursery() as shards_nursery:
                    for shard in self.shards:
                        shards_nursery.start_soon(shard.run, None, name=f"gateway-shard-{shard.shard_id}")
            except GatewayFatalError as exc:
                fatal = exc
            except BaseExceptionGroup as group:
                fatal_errors, rest = group.split(GatewayFatalError)
                if rest is not None:
                    raise rest from None
                assert fatal_errors is not None
                fatal = cast(GatewayFatalError, fatal_errors.exceptions[0])
            finally:
                nursery.cancel_scope.cancel()
        if fatal is not None:
            self.fatal_error = fatal
            raise fatal

    async def _build(self) -> None:
        payload = await self._gateway_bot()
        info = GatewayBotInfo.from_payload(payload)
        count = self._shard_count or info.shards
        shard_ids = self._shard_ids if self._shard_ids is not None else tuple(range(count))
        if self._shard_ids is None:
            check_session_start_limit(info.session_start_limit, len(shard_ids))
        queue = self._identify_queue or InMemoryIdentifyQueue(info.session_start_limit.max_concurrency)
        self.shard_count = count
        self.shards = [
            GatewayShard(
                token=self._token,
                intents=self._intents,
                fetch_gateway_bot=self._gateway_bot,
                router=self.router,
                shard_id=shard_id,
                shard_count=count,
                identify_queue=queue,
                identity=self.identity,
                telemetry=self._telemetry,
                **self._shard_options,
            )
            for shard_id in shard_ids
        ]
        self._shards_built.set()
        log.info("gateway fleet: %d shard(s) of %d", len(shard_ids), count)

    async def _serve_mailbox(self, mailbox: Any, run_scope: trio.CancelScope) -> None:
        await _serve_requests(mailbox, self._answer, "gateway fleet")
        for shard in self.shards:
            shard.request_graceful_stop()
        run_scope.cancel()

    async def _answer(self, msg: object) -> Any:
        if isinstance(msg, GetShardStatus):
            return self.statuses()
        if isinstance(msg, GatewayCommand):
            shard = next((s for s in self.shards if s.shard_id == msg.shard_id), None)
            if shard is None:
                raise TransportError(f"no shard {msg.shard_id} in this process")
            await shard.send_command(msg.op, msg.d)
        else:
            log.warning("gateway fleet: unexpected message %r", type(msg).__name__)
        return None


def gateway_child(fleet: GatewayFleet, *, child_id: str = "gateway") -> ChildSpec:
    """The fleet as a child of the tree (put it after `actors.guild.guilds_spec`, which it routes to).

    TRANSIENT: a crash is restarted (and the shards resume); a fatal close code re-raises at once on every
    restart, so the supervisor's restart intensity is exceeded within seconds and the runtime stops with the
    escalation, whose cause is the `GatewayFatalError` saying what to fix — no reconnect loop, no silent
    half-running bot. Critical: readiness is false while it is not running.
    """
    return ChildSpec(
        id=child_id,
        run=fleet.run,
        restart=Restart.TRANSIENT,
        shutdown_timeout=5.0,
        mailbox=MailboxSpec(capacity=256, overflow=Overflow.BLOCK),
        critical=True,
        kind="gateway",
        status=fleet.health_status,
    )
