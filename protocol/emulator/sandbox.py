"""The seeded sandbox guild of DESIGN §9: "The Wandering Inn (sandbox)".

Why a fixed cast: tests, the sandbox console and the benchmarks all need a guild with one member at each
permission level (owner, Administrator, Ban Members, plain) and the channels the bot's features write to.
Seeding it the same way every time means a test reads ``emu.sandbox_guild.moderator`` instead of building
its own world, and the permission-matrix tests of the command system have every level ready.
"""

from __future__ import annotations

import attrs

from protocol.emulator import permissions as perms
from protocol.emulator.state import Channel, EmulatorState, Guild, Role, User

SANDBOX_GUILD_NAME = "The Wandering Inn (sandbox)"

BOT_ROLE_PERMISSIONS = (
    perms.DEFAULT_EVERYONE
    | perms.MANAGE_ROLES
    | perms.MANAGE_MESSAGES
    | perms.MANAGE_NICKNAMES
    | perms.KICK_MEMBERS
    | perms.BAN_MEMBERS
    | perms.MODERATE_MEMBERS
    | perms.MANAGE_WEBHOOKS
    | perms.MANAGE_THREADS
    | perms.MANAGE_CHANNELS
    | perms.VIEW_AUDIT_LOG
)


@attrs.frozen(slots=True, kw_only=True)
class SandboxGuild:
    """Handles to everything seeded in the sandbox guild."""

    guild: Guild
    general: Channel
    bot_channel: Channel
    mod_log: Channel
    nsfw: Channel
    everyone_role: Role
    admin_role: Role
    moderator_role: Role
    bot_role: Role
    self_assignable_roles: tuple[Role, ...]
    owner: User
    admin: User
    moderator: User
    members: tuple[User, ...]

    @property
    def id(self) -> int:
        return self.guild.id

    def member_by_name(self, name: str) -> User:
        """The seeded user called ``name`` (owner, admin, moderator or a plain member's username)."""
        for user in (self.owner, self.admin, self.moderator, *self.members):
            if user.username == name:
                return user
        aliases = {
            "owner": self.owner,
            "admin": self.admin,
            "moderator": self.moderator,
            "mod": self.moderator,
        }
        if name in aliases:
            return aliases[name]
        raise KeyError(name)


def seed_sandbox(state: EmulatorState) -> SandboxGuild:
    """Create the sandbox guild in ``state`` and return handles to it."""
    owner = state.create_user("erin")
    admin = state.create_user("lyonette")
    moderator = state.create_user("zevara")
    plain = (state.create_user("mrsha"), state.create_user("numbtongue"))
    guild = state.create_guild(SANDBOX_GUILD_NAME, owner.id)
    self_assignable = (
        state.create_role(guild.id, "Reader"),
        state.create_role(guild.id, "Artist"),
        state.create_role(guild.id, "Spoilers"),
    )
    moderator_role = state.create_role(guild.id, "Moderator", perms.BAN_MEMBERS | perms.KICK_MEMBERS)
    admin_role = state.create_role(guild.id, "Admin", perms.ADMINISTRATOR)
    bot_role = state.create_role(guild.id, "Twi Bot Shard", BOT_ROLE_PERMISSIONS, managed=True)
    general = state.create_channel(guild.id, "general", topic="Talk about anything")
    bot_channel = state.create_channel(guild.id, "bot", topic="Bot commands go here")
    mod_log = state.create_channel(guild.id, "mod-log")
    mod_log.permission_overwrites.append(
        {"id": str(guild.id), "type": 0, "allow": "0", "deny": str(perms.VIEW_CHANNEL)}
    )
    mod_log.permission_overwrites.append(
        {"id": str(moderator_role.id), "type": 0, "allow": str(perms.VIEW_CHANNEL), "deny": "0"}
    )
    mod_log.permission_overwrites.append(
        {"id": str(bot_role.id), "type": 0, "allow": str(perms.VIEW_CHANNEL), "deny": "0"}
    )
    nsfw = state.create_channel(guild.id, "after-dark", nsfw=True)
    state.add_member(guild.id, admin.id, [admin_role.id])
    state.add_member(guild.id, moderator.id, [moderator_role.id])
    for user in plain:
        state.add_member(guild.id, user.id, [self_assignable[0].id])
    state.add_member(guild.id, state.bot_user.id, [bot_role.id])
    return SandboxGuild(
        guild=guild,
        general=general,
        bot_channel=bot_channel,
        mod_log=mod_log,
        nsfw=nsfw,
        everyone_role=guild.everyone_role,
        admin_role=admin_role,
        moderator_role=moderator_role,
        bot_role=bot_role,
        self_assignable_roles=self_assignable,
        owner=owner,
        admin=admin,
        moderator=moderator,
        members=plain,
    )
