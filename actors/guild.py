"""The per-guild actor: a slim cache of one guild, fed by its dispatches, and the fan-out to listeners.

Why one actor per guild (under a keyed supervisor): events of one guild are applied in order by one task,
with no locks, while guilds proceed in parallel and a crash in one guild's handling restarts only that
guild. Why *slim*: memory is the most common scale complaint of Discord libraries (anchors §4: discord.py
1.5 GB at 2.4k guilds, twilight 8 GB at 100k). The bot needs the guild's name and owner, its channels
(names, types, overwrites), its roles (permissions), and *its own* member (roles, to compute what it may do)
— never the full member list, presences or messages. So GUILD_CREATE's members are scanned for the bot's own
entry and dropped.

Cached values are frozen attrs objects: a `GetChannel` reply can be handed to another actor without copying,
because nobody can mutate it; an update replaces the object.

Bad input never kills the actor: a malformed payload is logged with its event name and skipped (the last
good cache stays). Every frame, after the cache update, goes to the listeners (features, the storage
writer), each isolated so one failing listener neither stops the others nor crashes the guild.

Note for the tree: passivating a guild actor drops its cache; give the keyed supervisor
``idle_timeout=None`` (or longer than the quietest guild's silence) unless a cold cache is acceptable until
the next GUILD_CREATE.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from protocol.gateway.frames import Frame
from protocol.gateway.identity import BotIdentity
from protocol.permissions import Overwrite, compute_permissions, parse_overwrites
from supervision import ChildSpec, KeyedSupervisorSpec, MailboxSpec, Overflow, logfields

log = logging.getLogger(__name__)

Listener = Callable[[Frame], object]

#: Channel types of threads (announcement, public, private): their permissions are the parent channel's.
THREAD_TYPES = frozenset({10, 11, 12})


# ---------------------------------------------------------------------------------------------- cache model


@attrs.frozen(slots=True)
class CachedGuild:
    id: int
    name: str
    owner_id: int | None
    unavailable: bool = False
    member_count: int | None = None
    icon: str | None = None


@attrs.frozen(slots=True)
class CachedChannel:
    id: int
    guild_id: int
    name: str
    type: int
    parent_id: int | None = None
    position: int = 0
    nsfw: bool = False
    overwrites: tuple[Overwrite, ...] = ()


@attrs.frozen(slots=True)
class CachedRole:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False


@attrs.frozen(slots=True)
class CachedMember:
    user_id: int
    role_ids: tuple[int, ...]
    nick: str | None = None


# ---------------------------------------------------------------------------------------------- messages


@attrs.frozen(slots=True)
class GetGuild:
    """Reply: `CachedGuild` or None (not seen yet)."""


@attrs.frozen(slots=True)
class GetChannel:
    """Reply: `CachedChannel` or None."""

    channel_id: int


@attrs.frozen(slots=True)
class GetChannels:
    """Reply: tuple of `CachedChannel`, by position."""


@attrs.frozen(slots=True)
class GetRoles:
    """Reply: tuple of `CachedRole`, by position."""


@attrs.frozen(slots=True)
class GetMemberPermissions:
    """Reply: effective permission bits (int), or None when the guild (or the member's roles) is unknown.

    Without ``user_id`` it is the bot's own permissions. For any other member give ``role_ids`` (e.g. from an
    interaction's member object): the cache keeps no member list.
    """

    channel_id: int | None = None
    user_id: int | None = None
    role_ids: tuple[int, ...] | None = None


# ---------------------------------------------------------------------------------------------- state (pure)


class GuildState:
    """The cache of one guild and the pure functions that update it from dispatches."""

    def __init__(self, guild_id: int, identity: BotIdentity) -> None:
        self.guild_id = guild_id
        self.identity = identity
        self.guild: CachedGuild | None = None
        self.channels: dict[int, CachedChannel] = {}
        self.roles: dict[int, CachedRole] = {}
        self.bot_member: CachedMember | None = None
        self._appliers: dict[str, Callable[[Mapping[str, Any]], None]] = {
            "GUILD_CREATE": self._guild_create,
            "GUILD_UPDATE": self._guild_update,
            "GUILD_DELETE": self._guild_delete,
            "CHANNEL_CREATE": self._channel_upsert,
            "CHANNEL_UPDATE": self._channel_upsert,
            "CHANNEL_DELETE": self._channel_delete,
            "THREAD_CREATE": self._channel_upsert,
            "THREAD_UPDATE": self._channel_upsert,
            "THREAD_DELETE": self._channel_delete,
            "GUILD_ROLE_CREATE": self._role_upsert,
            "GUILD_ROLE_UPDATE": self._role_upsert,
            "GUILD_ROLE_DELETE": self._role_delete,
            "GUILD_MEMBER_UPDATE": self._member_update,
            "GUILD_MEMBER_ADD": self._member_update,
        }

    def apply(self, frame: Frame) -> bool:
        """Update the cache from one dispatch; True when the event touched the cache."""
        applier = self._appliers.get(frame.t or "")
        if applier is None or not isinstance(frame.d, Mapping):
            return False
        applier(frame.d)
        return True

    # ---- guild
    def _guild_create(self, d: Mapping[str, Any]) -> None:
        if d.get("unavailable"):
            self._mark_unavailable(d)
            return
        self._guild_update(d)
        self.channels = {}
        for raw in (*(d.get("channels") or ()), *(d.get("threads") or ())):
            channel = _channel(raw, self.guild_id)
            self.channels[channel.id] = channel
        bot_id = self.identity.user_id
        if bot_id is not None:
            wanted = str(bot_id)  # compare the wire's strings: no int per member on a 2,500-guild start-up
            for raw in d.get("members") or ():
                user = raw.get("user") or {}
                if user.get("id") == wanted:
                    self.bot_member = _member(raw, bot_id)
                    break

    def _guild_update(self, d: Mapping[str, Any]) -> None:
        self.guild = CachedGuild(
            id=self.guild_id,
            name=str(d.get("name") or (self.guild.name if self.guild else "")),
            owner_id=_int(d.get("owner_id")),
            unavailable=False,
            member_count=_int(d.get("member_count")),
            icon=d.get("icon"),
        )
        if "roles" in d:
            self.roles = {role.id: role for role in (_role(raw) for raw in d.get("roles") or ())}

    def _guild_delete(self, d: Mapping[str, Any]) -> None:
        if d.get("unavailable"):
            self._mark_unavailable(d)
            return
        # removed from the guild (kicked, left, guild deleted): nothing cached is true any more
        self.guild = None
        self.channels = {}
        self.roles = {}
        self.bot_member = None

    def _mark_unavailable(self, d: Mapping[str, Any]) -> None:
        if self.guild is None:
            self.guild = CachedGuild(id=self.guild_id, name="", owner_id=None, unavailable=True)
        else:
            self.guild = attrs.evolve(self.guild, unavailable=True)

    # ---- channels
    def _channel_upsert(self, d: Mapping[str, Any]) -> None:
        channel = _channel(d, self.guild_id)
        self.channels[channel.id] = channel

    def _channel_delete(self, d: Mapping[str, Any]) -> None:
        self.channels.pop(int(d["id"]), None)

    # ---- roles
    def _role_upsert(self, d: Mapping[str, Any]) -> None:
        role = _role(d["role"])
        self.roles[role.id] = role

    def _role_delete(self, d: Mapping[str, Any]) -> None:
        self.roles.pop(int(d["role_id"]), None)
        if self.bot_member is not None:
            removed = int(d["role_id"])
            if removed in self.bot_member.role_ids:
                self.bot_member = attrs.evolve(
                    self.bot_member, role_ids=tuple(r for r in self.bot_member.role_ids if r != removed)
                )

    # ---- the bot's own member
    def _member_update(self, d: Mapping[str, Any]) -> None:
        bot_id = self.identity.user_id
        user = d.get("user") or {}
        if bot_id is not None and _int(user.get("id")) == bot_id:
            self.bot_member = _member(d, bot_id)

    # ---- queries
    def permissions(
        self, *, channel_id: int | None, user_id: int | None, role_ids: Iterable[int] | None
    ) -> int | None:
        if self.guild is None or self.guild.unavailable:
            return None
        if user_id is None or (self.identity.user_id is not None and user_id == self.identity.user_id):
            member = self.bot_member
            if member is None:
                return None
            user_id, roles = member.user_id, tuple(member.role_ids)
        elif role_ids is None:
            return None
        else:
            roles = tuple(role_ids)
        overwrites: Sequence[Overwrite] | None = None
        if channel_id is not None:
            channel = self.channels.get(channel_id)
            if channel is None:
                return None
            if channel.type in THREAD_TYPES and channel.parent_id is not None:
                parent = self.channels.get(channel.parent_id)  # threads take their parent's overwrites
                if parent is None:
                    return None
                channel = parent
            overwrites = channel.overwrites
        return compute_permissions(
            guild_id=self.guild_id,
            owner_id=self.guild.owner_id,
            member_id=user_id,
            member_role_ids=roles,
            role_permissions={role.id: role.permissions for role in self.roles.values()},
            overwrites=overwrites,
        )


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _channel(raw: Mapping[str, Any], guild_id: int) -> CachedChannel:
    return CachedChannel(
        id=int(raw["id"]),
        guild_id=guild_id,
        name=str(raw.get("name") or ""),
        type=int(raw.get("type", 0)),
        parent_id=_int(raw.get("parent_id")),
        position=int(raw.get("position") or 0),
        nsfw=bool(raw.get("nsfw", False)),
        overwrites=parse_overwrites(raw.get("permission_overwrites")),
    )


def _role(raw: Mapping[str, Any]) -> CachedRole:
    return CachedRole(
        id=int(raw["id"]),
        name=str(raw.get("name") or ""),
        permissions=int(raw.get("permissions") or 0),
        position=int(raw.get("position") or 0),
        managed=bool(raw.get("managed", False)),
    )


def _member(raw: Mapping[str, Any], user_id: int) -> CachedMember:
    return CachedMember(
        user_id=user_id, role_ids=tuple(int(r) for r in raw.get("roles") or ()), nick=raw.get("nick")
    )


# ---------------------------------------------------------------------------------------------- the actor


class GuildActor:
    """Actor for one guild: ``KeyedSupervisorSpec(id="guilds", child=lambda key: ChildSpec(id=str(key),
    factory=lambda: GuildActor(int(key), identity=identity, listeners=listeners)))``.

    ``listeners`` is a live sequence: appending to the list given here subscribes new listeners for
    every guild actor created afterwards *and* the running ones (they share the list).
    """

    def __init__(
        self, guild_id: int, *, identity: BotIdentity, listeners: Sequence[Listener] | None = None
    ) -> None:
        self.state = GuildState(guild_id, identity)
        self.listeners: Sequence[Listener] = listeners if listeners is not None else []

    async def on_start(self, ctx: Any) -> None:
        logfields.bind_forever(guild_id=self.state.guild_id)

    async def handle(self, msg: Any, ctx: Any) -> Any:
        if isinstance(msg, Frame):
            self._apply(msg)
            listeners = tuple(self.listeners)
            pending = self._notify(msg, listeners, 0)
            while pending is not None:  # an async listener: await it, then go on with the next ones
                index, awaitable = pending
                try:
                    await awaitable
                except Exception:
                    self._listener_failed(listeners[index], msg)
                pending = self._notify(msg, listeners, index + 1)
            return None
        return self.query(msg)

    def query(self, msg: object) -> Any:
        """Answer a cache query (pure; no awaits, so a query never interleaves with an update)."""
        state = self.state
        if isinstance(msg, GetGuild):
            result: Any = state.guild
        elif isinstance(msg, GetChannel):
            result = state.channels.get(msg.channel_id)
        elif isinstance(msg, GetChannels):
            result = tuple(sorted(state.channels.values(), key=lambda c: (c.position, c.id)))
        elif isinstance(msg, GetRoles):
            result = tuple(sorted(state.roles.values(), key=lambda r: (r.position, r.id)))
        elif isinstance(msg, GetMemberPermissions):
            result = state.permissions(channel_id=msg.channel_id, user_id=msg.user_id, role_ids=msg.role_ids)
        else:
            log.warning("guild %s: unexpected message %s", state.guild_id, type(msg).__name__)
            result = None
        return result

    def _apply(self, frame: Frame) -> None:
        try:
            self.state.apply(frame)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("guild %s: malformed %s payload skipped: %r", self.state.guild_id, frame.t, exc)

    def _notify(
        self, frame: Frame, listeners: tuple[Listener, ...], start: int
    ) -> tuple[int, Awaitable[Any]] | None:
        """Call ``listeners[start:]`` in order until one returns an awaitable: (its index, the awaitable) for
        the caller to await before the next one, or None when all ran. Plain listeners cost no coroutine
        per event this way; a failing listener is logged, never propagated."""
        for index in range(start, len(listeners)):
            try:
                result = listeners[index](frame)
            except Exception:
                self._listener_failed(listeners[index], frame)
                continue
            if result is not None and inspect.isawaitable(result):
                return index, result
        return None

    def _listener_failed(self, listener: Listener, frame: Frame) -> None:
        log.exception("guild %s: listener %r failed on %s", self.state.guild_id, listener, frame.t)


def guilds_spec(
    *,
    identity: BotIdentity,
    listeners: Sequence[Listener],
    child_id: str = "guilds",
    mailbox_capacity: int = 4096,
    idle_timeout: float | None = None,
    max_children: int = 100_000,
) -> KeyedSupervisorSpec:
    """The keyed supervisor of guild actors, one per guild id, spawned by the first event routed to it.

    ``idle_timeout=None`` keeps a guild's cache for the life of the process (see the module docstring). The
    mailbox is bounded with the BLOCK policy: the router only ever uses ``tell``, so a full mailbox turns the
    event into a counted ``full`` dead letter instead of stalling the gateway for every other guild.
    """

    def child(key: Hashable) -> ChildSpec:
        guild_id = int(str(key))
        return ChildSpec(
            id=str(key),
            factory=lambda: GuildActor(guild_id, identity=identity, listeners=listeners),
            mailbox=MailboxSpec(capacity=mailbox_capacity, overflow=Overflow.BLOCK),
            kind="guild",
        )

    return KeyedSupervisorSpec(id=child_id, child=child, idle_timeout=idle_timeout, max_children=max_children)
