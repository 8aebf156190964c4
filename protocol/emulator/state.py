"""The emulator's world: users, guilds, channels, roles, members, messages and application commands.

Why typed entities for the world but plain dicts for messages and commands: guilds, channels, roles and
members are built by tests (``state.create_channel(...)``) and read by permission maths, so typed attrs
classes catch mistakes; messages and commands arrive as JSON bodies from the bot and leave as JSON, so they
are stored in Discord's own wire shape and served without conversion (the benchmarks push tens of thousands).

The state is plain data with no I/O: REST handlers mutate it and then ask the gateway to dispatch the event
that Discord would send. Tests read it directly (``emu.state.messages_in(channel_id)``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from protocol.emulator import permissions as perms
from protocol.emulator.interaction_records import InteractionStore
from protocol.emulator.snowflakes import SnowflakeFactory, snowflake_time_ms

JSONObject = dict[str, Any]

TEXT_CHANNEL = 0
DM_CHANNEL = 1
CATEGORY_CHANNEL = 4
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})


def iso_timestamp(snowflake: int) -> str:
    """Discord's ISO 8601 timestamp for the moment a snowflake was made."""
    moment = datetime.datetime.fromtimestamp(snowflake_time_ms(snowflake) / 1000, tz=datetime.UTC)
    return moment.isoformat()


@attrs.define(slots=True, kw_only=True)
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None
    # False: the user closed DMs from server members; the bot's DMs fail with 50007.
    accepts_dms: bool = True

    def to_payload(self) -> JSONObject:
        payload: JSONObject = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if self.bot:
            payload["bot"] = True
        return payload


@attrs.define(slots=True, kw_only=True)
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False

    def to_payload(self) -> JSONObject:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }


@attrs.define(slots=True, kw_only=True)
class Channel:
    id: int
    type: int
    guild_id: int | None = None
    name: str | None = None
    position: int = 0
    nsfw: bool = False
    topic: str | None = None
    parent_id: int | None = None
    recipient_ids: list[int] = attrs.field(factory=list)
    permission_overwrites: list[JSONObject] = attrs.field(factory=list)
    last_message_id: int | None = None
    rate_limit_per_user: int = 0
    # threads only
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    message_count: int = 0
    member_ids: list[int] = attrs.field(factory=list)

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def to_payload(self, users: dict[int, User] | None = None) -> JSONObject:
        payload: JSONObject = {
            "id": str(self.id),
            "type": self.type,
            "last_message_id": None if self.last_message_id is None else str(self.last_message_id),
            "flags": 0,
        }
        if self.is_thread:
            payload.update(
                guild_id=str(self.guild_id),
                name=self.name,
                parent_id=None if self.parent_id is None else str(self.parent_id),
                owner_id=None if self.owner_id is None else str(self.owner_id),
                rate_limit_per_user=self.rate_limit_per_user,
                message_count=self.message_count,
                total_message_sent=self.message_count,
                member_count=len(self.member_ids),
                thread_metadata={
                    "archived": self.archived,
                    "archive_timestamp": iso_timestamp(self.id),
                    "auto_archive_duration": self.auto_archive_duration,
                    "locked": self.locked,
                    "create_timestamp": iso_timestamp(self.id),
                },
            )
        elif self.guild_id is not None:
            payload.update(
                guild_id=str(self.guild_id),
                name=self.name,
                position=self.position,
                nsfw=self.nsfw,
                topic=self.topic,
                parent_id=None if self.parent_id is None else str(self.parent_id),
                permission_overwrites=list(self.permission_overwrites),
                rate_limit_per_user=self.rate_limit_per_user,
            )
        else:
            known = users or {}
            payload["recipients"] = [known[uid].to_payload() for uid in self.recipient_ids if uid in known]
        return payload


@attrs.define(slots=True, kw_only=True)
class Member:
    guild_id: int
    user_id: int
    role_ids: list[int] = attrs.field(factory=list)
    nick: str | None = None
    joined_at: str = "2015-01-01T00:00:00+00:00"
    communication_disabled_until: str | None = None


@attrs.define(slots=True, kw_only=True)
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = attrs.field(factory=dict)
    channel_ids: list[int] = attrs.field(factory=list)
    thread_ids: list[int] = attrs.field(factory=list)
    members: dict[int, Member] = attrs.field(factory=dict)
    bans: dict[int, str | None] = attrs.field(factory=dict)  # user id -> reason
    unavailable: bool = False

    @property
    def everyone_role(self) -> Role:
        return self.roles[self.id]


@attrs.define(slots=True, kw_only=True)
class Webhook:
    id: int
    token: str
    channel_id: int
    guild_id: int | None
    name: str
    user_id: int

    def to_payload(self, users: dict[int, User]) -> JSONObject:
        return {
            "id": str(self.id),
            "type": 1,
            "guild_id": None if self.guild_id is None else str(self.guild_id),
            "channel_id": str(self.channel_id),
            "name": self.name,
            "avatar": None,
            "token": self.token,
            "application_id": None,
            "user": users[self.user_id].to_payload(),
        }


@attrs.define(slots=True, kw_only=True)
class Application:
    id: int
    name: str
    owner_id: int
    bot_user_id: int

    def to_payload(self, users: dict[int, User]) -> JSONObject:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "description": "The Wandering Inn community bot (emulated application)",
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": users[self.owner_id].to_payload(),
            "bot": users[self.bot_user_id].to_payload(),
            "team": None,
            "summary": "",
            "type": None,
            "flags_new": "0",
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "approximate_guild_count": 1,
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "eligible_oauth2_scopes": ["bot", "applications.commands"],
            "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
            "integration_types_config": {"0": {}},
        }


class EmulatorState:
    """Everything the emulated Discord knows. Pure data plus the queries REST handlers and scripts need."""

    def __init__(self, snowflakes: SnowflakeFactory) -> None:
        self.snowflakes = snowflakes
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        # channel id -> message id -> message payload, in creation order (dicts keep insertion order)
        self.messages: dict[int, dict[int, JSONObject]] = {}
        # ephemeral interaction messages are never visible in channels; they live only here
        self.ephemeral_messages: dict[int, JSONObject] = {}
        self.pins: dict[int, list[int]] = {}
        # message id -> emoji key -> user ids
        self.reactions: dict[int, dict[str, list[int]]] = {}
        self.global_commands: dict[int, JSONObject] = {}
        self.guild_commands: dict[int, dict[int, JSONObject]] = {}
        self.dm_channel_by_user: dict[int, int] = {}
        self.webhooks: dict[int, Webhook] = {}
        self.interactions = InteractionStore()
        bot_id = snowflakes.next()
        self.bot_user = self.create_user("Twi Bot Shard", bot=True, user_id=bot_id)
        self.application_owner = self.create_user("pirateaba")
        self.application = Application(
            id=bot_id, name="Twi Bot Shard", owner_id=self.application_owner.id, bot_user_id=bot_id
        )

    # ---- building the world -------------------------------------------------------------------------------

    def create_user(self, username: str, *, bot: bool = False, user_id: int | None = None) -> User:
        user = User(id=user_id or self.snowflakes.next(), username=username, global_name=username, bot=bot)
        self.users[user.id] = user
        return user

    def create_guild(self, name: str, owner_id: int, *, guild_id: int | None = None) -> Guild:
        gid = guild_id or self.snowflakes.next()
        guild = Guild(id=gid, name=name, owner_id=owner_id)
        guild.roles[gid] = Role(id=gid, guild_id=gid, name="@everyone", permissions=perms.DEFAULT_EVERYONE)
        self.guilds[gid] = guild
        self.add_member(gid, owner_id)
        return guild

    def create_role(self, guild_id: int, name: str, permissions: int = 0, *, managed: bool = False) -> Role:
        guild = self.guilds[guild_id]
        role = Role(
            id=self.snowflakes.next(),
            guild_id=guild_id,
            name=name,
            permissions=permissions,
            position=len(guild.roles),
            managed=managed,
        )
        guild.roles[role.id] = role
        return role

    def create_channel(
        self,
        guild_id: int,
        name: str,
        *,
        channel_type: int = TEXT_CHANNEL,
        nsfw: bool = False,
        topic: str | None = None,
        parent_id: int | None = None,
    ) -> Channel:
        guild = self.guilds[guild_id]
        channel = Channel(
            id=self.snowflakes.next(),
            type=channel_type,
            guild_id=guild_id,
            name=name,
            position=len(guild.channel_ids),
            nsfw=nsfw,
            topic=topic,
            parent_id=parent_id,
        )
        guild.channel_ids.append(channel.id)
        self.channels[channel.id] = channel
        self.messages[channel.id] = {}
        return channel

    def create_thread(
        self, parent_id: int, name: str, owner_id: int, *, private: bool = False, thread_id: int | None = None
    ) -> Channel:
        """A thread under a text channel (``thread_id``: the id of the message it starts from, if any)."""
        parent = self.channels[parent_id]
        if parent.guild_id is None:
            raise ValueError("threads live in guild channels")
        thread = Channel(
            id=thread_id or self.snowflakes.next(),
            type=PRIVATE_THREAD if private else PUBLIC_THREAD,
            guild_id=parent.guild_id,
            name=name,
            parent_id=parent_id,
            owner_id=owner_id,
            member_ids=[owner_id],
        )
        self.guilds[parent.guild_id].thread_ids.append(thread.id)
        self.channels[thread.id] = thread
        self.messages[thread.id] = {}
        return thread

    def remove_channel(self, channel_id: int) -> Channel:
        channel = self.channels.pop(channel_id)
        self.messages.pop(channel_id, None)
        if channel.guild_id is not None:
            guild = self.guilds[channel.guild_id]
            for ids in (guild.channel_ids, guild.thread_ids):
                if channel_id in ids:
                    ids.remove(channel_id)
        return channel

    def add_member(self, guild_id: int, user_id: int, role_ids: Iterable[int] = ()) -> Member:
        guild = self.guilds[guild_id]
        member = Member(guild_id=guild_id, user_id=user_id, role_ids=list(role_ids))
        guild.members[user_id] = member
        return member

    def dm_channel(self, user_id: int) -> Channel:
        existing = self.dm_channel_by_user.get(user_id)
        if existing is not None:
            return self.channels[existing]
        channel = Channel(id=self.snowflakes.next(), type=DM_CHANNEL, recipient_ids=[user_id])
        self.channels[channel.id] = channel
        self.messages[channel.id] = {}
        self.dm_channel_by_user[user_id] = channel.id
        return channel

    def current_user_payload(self) -> JSONObject:
        """The bot's own user as ``GET /users/@me`` and READY carry it (with the private fields)."""
        payload = self.bot_user.to_payload()
        payload.update(verified=True, mfa_enabled=True, locale="en-US", email=None)
        return payload

    # ---- queries -----------------------------------------------------------------------------------------

    def guild_permissions(self, guild_id: int, user_id: int) -> int:
        guild = self.guilds[guild_id]
        member = guild.members.get(user_id)
        role_ids = member.role_ids if member is not None else []
        return perms.base_permissions(
            is_owner=guild.owner_id == user_id,
            everyone_permissions=guild.everyone_role.permissions,
            role_permissions=(guild.roles[r].permissions for r in role_ids if r in guild.roles),
        )

    def channel_permissions(self, channel_id: int, user_id: int) -> int:
        """Permissions in a channel; a thread has its parent channel's."""
        channel = self.channels[channel_id]
        if channel.is_thread and channel.parent_id in self.channels:
            channel = self.channels[channel.parent_id]
        if channel.guild_id is None:
            return perms.DEFAULT_EVERYONE
        guild = self.guilds[channel.guild_id]
        member = guild.members.get(user_id)
        return perms.apply_overwrites(
            self.guild_permissions(channel.guild_id, user_id),
            guild_id=guild.id,
            member_id=user_id,
            member_role_ids=member.role_ids if member is not None else [],
            overwrites=channel.permission_overwrites,
        )

    def highest_role_position(self, guild_id: int, user_id: int) -> int:
        guild = self.guilds[guild_id]
        member = guild.members.get(user_id)
        if member is None:
            return -1
        return max((guild.roles[r].position for r in member.role_ids if r in guild.roles), default=0)

    def member_payload(self, guild_id: int, user_id: int, *, with_user: bool = True) -> JSONObject:
        member = self.guilds[guild_id].members[user_id]
        payload: JSONObject = {
            "roles": [str(r) for r in member.role_ids],
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "joined_at": member.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": member.communication_disabled_until,
        }
        if with_user:
            payload["user"] = self.users[user_id].to_payload()
        return payload

    def guild_payload(self, guild_id: int) -> JSONObject:
        """The REST guild object (no channels or members, as GET /guilds/{id} returns)."""
        guild = self.guilds[guild_id]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": [role.to_payload() for role in sorted(guild.roles.values(), key=lambda r: r.position)],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "max_members": 500_000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "max_presences": None,
            "nsfw": False,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "home_header": None,
            "region": "deprecated",
            "widget_enabled": False,
            "widget_channel_id": None,
            "incidents_data": None,
        }

    def guild_create_payload(self, guild_id: int, *, include_members: bool = True) -> JSONObject:
        """The gateway GUILD_CREATE object: the guild plus channels, members and lazy-load fields."""
        guild = self.guilds[guild_id]
        bot_id = self.bot_user.id
        payload = self.guild_payload(guild_id)
        payload.update(
            joined_at="2015-01-01T00:00:00+00:00",
            large=len(guild.members) > 250,
            unavailable=False,
            member_count=len(guild.members),
            voice_states=[],
            members=[
                self.member_payload(guild_id, uid)
                for uid in guild.members
                if include_members or uid == bot_id
            ],
            channels=[self.channels[cid].to_payload() for cid in guild.channel_ids],
            threads=[
                self.channels[t].to_payload() for t in guild.thread_ids if not self.channels[t].archived
            ],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
        )
        return payload

    def channel_messages(self, channel_id: int) -> dict[int, JSONObject]:
        return self.messages.setdefault(channel_id, {})

    def all_commands(self, guild_id: int | None) -> Iterator[JSONObject]:
        """Commands visible in a guild: guild commands first, then global ones."""
        if guild_id is not None:
            yield from self.guild_commands.get(guild_id, {}).values()
        yield from self.global_commands.values()
