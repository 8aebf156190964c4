"""Building guilds in bulk for tests and benchmarks: N channels, roles and members, on a chosen shard.

Why a builder next to the state: the sharding tests need a guild that lands on shard 1 of 2 (its id's
timestamp decides), and the guild-flood benchmark needs 2,500 guilds of 50 members, 20 channels and 10 roles.
Both are loops over the state's primitives; keeping them here keeps `EmulatorState` about data, not recipes.
"""

from __future__ import annotations

from protocol.emulator.snowflakes import shard_for_guild
from protocol.emulator.state import EmulatorState, Guild, User


class WorldBuilder:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._users_made = 0

    def guild_id_on_shard(self, shard_id: int, shard_count: int) -> int:
        """A fresh guild id that Discord's formula places on ``shard_id``."""
        snowflakes = self._state.snowflakes
        candidate = snowflakes.next()
        while shard_for_guild(candidate, shard_count) != shard_id:
            candidate = snowflakes.with_timestamp_offset(1)
        return candidate

    def guild(
        self,
        name: str,
        *,
        owner_id: int | None = None,
        shard: tuple[int, int] | None = None,
        text_channels: int = 1,
        roles: int = 0,
        members: int = 0,
    ) -> Guild:
        state = self._state
        if owner_id is None:
            owner_id = self.user("owner").id
        guild_id = None if shard is None else self.guild_id_on_shard(*shard)
        guild = state.create_guild(name, owner_id, guild_id=guild_id)
        for index in range(text_channels):
            state.create_channel(guild.id, "general" if index == 0 else f"channel-{index}")
        role_ids = [state.create_role(guild.id, f"role-{index}").id for index in range(roles)]
        for index in range(members):
            user = self.user("member")
            state.add_member(
                guild.id,
                user.id,
                role_ids[index % len(role_ids) : index % len(role_ids) + 1] if role_ids else [],
            )
        state.add_member(guild.id, state.bot_user.id)
        return guild

    def user(self, prefix: str) -> User:
        self._users_made += 1
        return self._state.create_user(f"{prefix}-{self._users_made}")
