"""The emulator as one object: a local Discord (REST v10 + gateway) on a loopback port, with scripting.

Why one port and an async context manager: a test writes ``async with Emulator.running() as emu`` and gets
a server bound to an ephemeral port (so tests run in parallel), the seeded sandbox guild, and handles to
everything — state, requests, faults, interaction scripting — all torn down when the block ends. REST is
served under ``/api/v10`` and the gateway on the same port (any other path upgraded to a WebSocket), so the
bot needs exactly one setting, ``DISCORD_API_BASE``, and finds the gateway through ``GET /gateway/bot``.

The pieces are small and wired here, in one place: state (the world), the gateway server (sessions and
routing), the REST server (auth, limits, faults, routes) and the interaction scripting. Nothing is global;
two emulators in one process are independent.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import trio

from protocol.emulator.config import EmulatorConfig
from protocol.emulator.faults import Faults, RestFaultState
from protocol.emulator.gateway import GatewayServer
from protocol.emulator.http_server import serve_http_connection
from protocol.emulator.interaction_builders import InteractionBuilder
from protocol.emulator.interaction_records import Interaction, InteractionReply, InteractionStore
from protocol.emulator.ratelimits import ServerRateLimiter
from protocol.emulator.rest_router import Router
from protocol.emulator.rest_server import InvalidRequestLimit, RequestObserver, RequestRecord, RestServer
from protocol.emulator.route_deps import RouteDeps
from protocol.emulator.routes_channels import ChannelRoutes
from protocol.emulator.routes_commands import CommandRoutes
from protocol.emulator.routes_core import register as register_core
from protocol.emulator.routes_guilds import GuildRoutes
from protocol.emulator.routes_interactions import InteractionRoutes
from protocol.emulator.routes_messages import MessageRoutes
from protocol.emulator.routes_moderation import ModerationRoutes
from protocol.emulator.sandbox import SandboxGuild, seed_sandbox
from protocol.emulator.snowflakes import SnowflakeFactory
from protocol.emulator.state import EmulatorState, Guild, JSONObject, User
from protocol.emulator.user_actions import UserActions
from protocol.emulator.world_builder import WorldBuilder
from protocol.transport.direct import DirectSocketStream

logger = logging.getLogger(__name__)


def emulated_token(application_id: int) -> str:
    """A bot token in Discord's shape: base64 of the bot's id, a timestamp part and an HMAC part."""
    encoded_id = base64.urlsafe_b64encode(str(application_id).encode()).decode().rstrip("=")
    return f"{encoded_id}.ZW11bGF0b3I.not-a-real-secret-emulator-only"


class Emulator:
    """A local Discord. Build with `Emulator.running`; see the module docstring."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.state = EmulatorState(SnowflakeFactory())
        if self.config.application_id is not None:
            self._rekey_application(self.config.application_id)
        self._token = self.config.token or emulated_token(self.state.application.id)
        self.sandbox: SandboxGuild | None = seed_sandbox(self.state) if self.config.seed_sandbox else None
        self.gateway = GatewayServer(self.config, self.state, self._token)
        self.rate_limiter = ServerRateLimiter(self.config)
        self._rest_faults = RestFaultState()
        self.faults = Faults(self.gateway, self.rate_limiter, self._rest_faults)
        router = Router()
        deps = RouteDeps(self.state, self.state.interactions, self.config, self._emit_from_rest)
        register_core(router, deps, lambda: (self.gateway_url, self.gateway.session_starts))
        CommandRoutes(deps).register(router)
        InteractionRoutes(deps).register(router)
        MessageRoutes(deps).register(router)
        GuildRoutes(deps).register(router)
        ChannelRoutes(deps).register(router)
        ModerationRoutes(deps).register(router)
        self.router = router
        self.rest = RestServer(
            router,
            self.rate_limiter,
            self._rest_faults,
            self.token,
            new_id=self.state.snowflakes.next,
            keep_log=self.config.record_requests,
            invalid_limit=InvalidRequestLimit(
                self.config.invalid_request_limit,
                self.config.invalid_request_window,
                self.config.cloudflare_ban_seconds,
            ),
        )
        self.interactions = InteractionBuilder(self.state, self.state.interactions, self.config)
        self.builder = WorldBuilder(self.state)
        self.users = UserActions(self.state, self.gateway.dispatch)
        self.port = 0

    @property
    def interaction_store(self) -> InteractionStore:
        """Every interaction built so far, by id and by token (the same object as ``state.interactions``)."""
        return self.state.interactions

    # ---- lifecycle --------------------------------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, config: EmulatorConfig | None = None) -> AsyncIterator[Emulator]:
        """Start an emulator on loopback (port 0 unless configured) and stop it when the block ends."""
        emulator = cls(config)
        async with trio.open_nursery() as nursery:
            await emulator.start(nursery)
            try:
                yield emulator
            finally:
                nursery.cancel_scope.cancel()

    async def start(self, nursery: trio.Nursery) -> None:
        """Bind and serve in ``nursery`` (for callers that manage their own lifetime, like the CLI)."""
        serve = functools.partial(
            trio.serve_tcp, self._serve_connection, self.config.port, host=self.config.host
        )
        listeners = await nursery.start(serve)
        sockname = listeners[0].socket.getsockname()
        self.port = int(sockname[1])
        self.gateway.attach_nursery(nursery)
        self.gateway.url = self.gateway_url
        logger.info("emulator listening on %s (gateway %s)", self.api_base, self.gateway_url)

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        # The emulator's side of each connection goes through the scheduler only when it must wait, like the
        # bot's (`protocol.transport.direct`): under load the emulator is a benchmark's driver, and every
        # yield it skips is CPU left for the bot being measured.
        served = DirectSocketStream.from_trio_stream(stream)
        # One misbehaving client must never take the emulator down with it.
        try:
            await serve_http_connection(
                served, self.rest.handle, self.gateway.handle_websocket, self.config.http_codec
            )
        except Exception:
            logger.exception("emulator connection handler failed")

    # ---- addresses and identity ---------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return f"http://{self.config.host}:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.config.host}:{self.port}"

    @property
    def token(self) -> str:
        return self._token

    @property
    def application_id(self) -> int:
        return self.state.application.id

    @property
    def bot_user(self) -> User:
        return self.state.bot_user

    @property
    def sandbox_guild(self) -> SandboxGuild:
        if self.sandbox is None:
            raise LookupError("this emulator was started with seed_sandbox=False")
        return self.sandbox

    def _rekey_application(self, application_id: int) -> None:
        state = self.state
        old = state.bot_user.id
        bot = state.users.pop(old)
        bot.id = application_id
        state.users[application_id] = bot
        state.application.id = application_id
        state.application.bot_user_id = application_id

    # ---- REST observation -------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        return self.rest.requests

    def add_request_observer(self, observer: RequestObserver) -> None:
        """Call ``observer(method, path, body)`` for every REST request (path relative to the API base)."""
        self.rest.observers.append(observer)

    def remove_request_observer(self, observer: RequestObserver) -> None:
        self.rest.observers.remove(observer)

    # ---- dispatching events -------------------------------------------------------------------------------

    def _emit_from_rest(self, guild_id: int | None, event: str, payload: JSONObject) -> None:
        if self.config.echo_rest_events:
            self.gateway.dispatch(guild_id, event, payload)

    async def dispatch(self, guild_id: int | None, event: str, payload: JSONObject) -> int:
        """Push ``event`` to the shard(s) owning ``guild_id`` (None: DMs, shard 0).

        Returns how many sessions it reached."""
        delivered = self.gateway.dispatch(guild_id, event, payload)
        await trio.lowlevel.checkpoint()
        return delivered

    def dispatch_nowait(self, guild_id: int | None, event: str, payload: JSONObject) -> int:
        """`dispatch` without the checkpoint, for benchmarks pushing many events in a loop."""
        return self.gateway.dispatch(guild_id, event, payload)

    def dispatch_encoded(self, guild_id: int | None, event: str, payload_json: bytes) -> int:
        """`dispatch_nowait` for a payload already encoded as JSON (see `GatewayServer.dispatch_encoded`)."""
        return self.gateway.dispatch_encoded(guild_id, event, payload_json)

    def snapshot_initial_load(self, *, include_members: bool = True) -> int:
        """Encode every guild's GUILD_CREATE now (see `GatewayServer.snapshot_initial_load`)."""
        return self.gateway.snapshot_initial_load(include_members=include_members)

    async def wait_until_flushed(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until every attached connection has written all queued frames to its socket."""
        with trio.fail_after(timeout):
            for connection in list(self.gateway.connections):
                await connection.wait_flushed()

    async def wait_for_sessions(self, count: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``count`` sessions are identified and attached to a connection."""
        await self.gateway.wait_until(
            lambda: sum(1 for s in self.gateway.sessions() if s.connection is not None) >= count, timeout
        )

    # ---- interactions -----------------------------------------------------------------------------------

    async def invoke(self, payload: JSONObject) -> Interaction:
        """Dispatch an interaction built by ``emu.interactions`` and return its handle."""
        interaction = self.invoke_nowait(payload)
        await trio.lowlevel.checkpoint()
        return interaction

    def invoke_nowait(self, payload: JSONObject, *, encoded: bytes | None = None) -> Interaction:
        """`invoke` without the checkpoint, for load drivers dispatching thousands a second.

        ``encoded``: ``payload`` already as JSON (``orjson.dumps(payload)``), sent as it is, so a driver can
        encode its interactions before its clock starts."""
        interaction = self.state.interactions.by_id[int(payload["id"])]
        interaction.created_at = trio.current_time()
        if encoded is None:
            delivered = self.gateway.dispatch(interaction.guild_id, "INTERACTION_CREATE", payload)
        else:
            delivered = self.gateway.dispatch_encoded(interaction.guild_id, "INTERACTION_CREATE", encoded)
        interaction.delivered_to = delivered
        if delivered == 0:
            logger.warning(
                "interaction %s reached no gateway session (is the bot connected?)", interaction.id
            )
        return interaction

    async def invoke_slash(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        options: Mapping[str, object] | None = None,
        *,
        channel_id: int | None = None,
    ) -> Interaction:
        return await self.invoke(
            self.interactions.slash(guild_id, user_id, name, options, channel_id=channel_id)
        )

    async def autocomplete(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        options: Mapping[str, object],
        focused: str,
        *,
        channel_id: int | None = None,
    ) -> Interaction:
        payload = self.interactions.autocomplete(
            guild_id, user_id, name, options, focused, channel_id=channel_id
        )
        return await self.invoke(payload)

    async def click(
        self,
        message: JSONObject | InteractionReply,
        custom_id: str,
        user_id: int,
        values: Sequence[str] | None = None,
        *,
        component_type: int | None = None,
    ) -> Interaction:
        payload = self.interactions.component(
            message, custom_id, user_id, values, component_type=component_type
        )
        return await self.invoke(payload)

    async def submit_modal(
        self,
        source: Interaction,
        fields: Mapping[str, str | Sequence[str]],
        *,
        user_id: int | None = None,
        custom_id: str | None = None,
    ) -> Interaction:
        """Submit the modal the bot opened in answer to ``source`` with ``fields`` (custom_id -> text, or
        values for a select), laid out as that modal is."""
        modal = source.reply.modal if source.reply is not None else None
        if modal is None and custom_id is None:
            raise LookupError(f"interaction {source.id} was not answered with a modal")
        payload = self.interactions.modal_submit(
            source.guild_id,
            user_id if user_id is not None else source.user_id,
            custom_id or str(modal["custom_id"] if modal else ""),
            fields,
            channel_id=source.channel_id,
            message=source.source_message,
            modal=modal,
        )
        return await self.invoke(payload)

    async def user_command(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        target_user_id: int,
        *,
        channel_id: int | None = None,
    ) -> Interaction:
        payload = self.interactions.user_command(
            guild_id, user_id, name, target_user_id, channel_id=channel_id
        )
        return await self.invoke(payload)

    async def message_command(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        message: JSONObject,
        *,
        channel_id: int | None = None,
    ) -> Interaction:
        payload = self.interactions.message_command(guild_id, user_id, name, message, channel_id=channel_id)
        return await self.invoke(payload)

    # ---- building the world ------------------------------------------------------------------------------

    async def add_guild(
        self,
        name: str,
        *,
        owner_id: int | None = None,
        shard: tuple[int, int] | None = None,
        text_channels: int = 1,
        roles: int = 0,
        members: int = 0,
        announce: bool = True,
    ) -> Guild:
        """Create a guild the bot is in (on shard ``(shard_id, num_shards)`` when given), with
        ``text_channels`` channels, ``roles`` extra roles and ``members`` extra members; with
        ``announce`` the owning shard receives GUILD_CREATE, as when the bot joins a guild."""
        guild = self.builder.guild(
            name, owner_id=owner_id, shard=shard, text_channels=text_channels, roles=roles, members=members
        )
        if announce:
            self.gateway.announce_guild(guild.id)
            await trio.lowlevel.checkpoint()
        return guild

    # ---- user-side actions -------------------------------------------------------------------------------

    async def send_user_message(
        self, channel_id: int, user_id: int, content: str, **extra: Any
    ) -> JSONObject:
        """A member posts ``content`` in a channel: stored and dispatched as MESSAGE_CREATE."""
        message = self.users.send_message(channel_id, user_id, content, **extra)
        await trio.lowlevel.checkpoint()
        return message
