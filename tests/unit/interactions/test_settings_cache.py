"""The settings read-through caches: one database read per key at a time, stale answers while refreshing.

The repository here is a stand-in that counts reads and can be held open, so the interleavings are exact; the
adapters over the real repositories and PostgreSQL are tested in tests/integration/interactions.
"""

from __future__ import annotations

import trio
import trio.testing

from shard.interactions.permissions import GuildRoles
from shard.interactions.storage import StoredCommandSettings, StoredGuildRoles
from storage.errors import StorageError
from storage.repositories.guild_settings import GuildSettings

GUILD = 42


class HeldRepository:
    """``get`` counts reads and waits for ``release`` before answering (or failing)."""

    def __init__(self) -> None:
        self.reads = 0
        self.admin_role_id = 1
        self.fail = False
        self._gate = trio.Event()

    def release(self) -> None:
        self._gate.set()

    def hold(self) -> None:
        self._gate = trio.Event()

    async def get(self, guild_id: int) -> GuildSettings:
        self.reads += 1
        await self._gate.wait()
        if self.fail:
            raise StorageError("database down")
        return GuildSettings(guild_id=guild_id, admin_role_id=self.admin_role_id)


async def _ask_together(roles: StoredGuildRoles, repository: HeldRepository, count: int) -> list[GuildRoles]:
    """``count`` tasks ask at once while the repository holds its read; then it answers."""
    answers: list[GuildRoles] = []
    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(_collect, roles, answers)
        await trio.testing.wait_all_tasks_blocked()
        repository.release()
    return answers


async def test_concurrent_misses_share_one_read(autojump_clock: trio.testing.MockClock) -> None:
    repository = HeldRepository()
    roles = StoredGuildRoles(repository, ttl=10.0)  # type: ignore[arg-type]
    answers = await _ask_together(roles, repository, 50)
    assert repository.reads == 1
    assert answers == [GuildRoles(admin_role_id=1)] * 50


async def test_expired_entry_is_served_while_one_refresh_runs(autojump_clock: trio.testing.MockClock) -> None:
    repository = HeldRepository()
    repository.release()
    roles = StoredGuildRoles(repository, ttl=10.0)  # type: ignore[arg-type]
    assert await roles.guild_roles(GUILD) == GuildRoles(admin_role_id=1)
    await trio.sleep(11)  # expired
    repository.hold()
    repository.admin_role_id = 2
    refreshed: list[GuildRoles] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_collect, roles, refreshed)
        await trio.testing.wait_all_tasks_blocked()
        # Others arriving during the refresh get the expired value at once, without a read of their own.
        with trio.fail_after(0.001):
            assert await roles.guild_roles(GUILD) == GuildRoles(admin_role_id=1)
        assert repository.reads == 2
        repository.release()
    assert refreshed == [GuildRoles(admin_role_id=2)]
    assert await roles.guild_roles(GUILD) == GuildRoles(admin_role_id=2)
    assert repository.reads == 2


async def _collect(roles: StoredGuildRoles, into: list[GuildRoles]) -> None:
    into.append(await roles.guild_roles(GUILD))


async def test_a_failed_shared_read_degrades_every_waiter_then_retries(
    autojump_clock: trio.testing.MockClock,
) -> None:
    repository = HeldRepository()
    repository.fail = True
    roles = StoredGuildRoles(repository, ttl=10.0)  # type: ignore[arg-type]
    answers = await _ask_together(roles, repository, 5)
    assert repository.reads == 1
    assert answers == [GuildRoles()] * 5  # Discord permissions only, as for any outage
    repository.fail = False
    assert await roles.guild_roles(GUILD) == GuildRoles(admin_role_id=1)  # nothing bad was cached
    assert repository.reads == 2


async def test_a_cancelled_read_does_not_strand_the_waiters(autojump_clock: trio.testing.MockClock) -> None:
    repository = HeldRepository()
    roles = StoredGuildRoles(repository, ttl=10.0)  # type: ignore[arg-type]
    waiter_answers: list[GuildRoles] = []
    async with trio.open_nursery() as nursery:
        first = trio.CancelScope()

        async def first_caller() -> None:
            with first:
                await roles.guild_roles(GUILD)

        async def waiter() -> None:
            waiter_answers.append(await roles.guild_roles(GUILD))

        nursery.start_soon(first_caller)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(waiter)
        await trio.testing.wait_all_tasks_blocked()
        first.cancel()
    assert waiter_answers == [GuildRoles()]  # degraded, not hung
    repository.release()
    assert await roles.guild_roles(GUILD) == GuildRoles(admin_role_id=1)


class HeldOverrides:
    def __init__(self) -> None:
        self.reads = 0
        self.gate = trio.Event()

    async def get(self, guild_id: int, command: str) -> object:
        self.reads += 1
        await self.gate.wait()
        raise StorageError("down")


async def test_command_settings_share_one_read_per_guild_and_command(
    autojump_clock: trio.testing.MockClock,
) -> None:
    repository = HeldOverrides()
    overrides = StoredCommandSettings(repository)  # type: ignore[arg-type]
    answers: list[object] = []

    async def ask(command: str) -> None:
        answers.append(await overrides.command_settings(GUILD, command))

    async with trio.open_nursery() as nursery:
        for command in ("ping", "ping", "ping", "help"):
            nursery.start_soon(ask, command)
        await trio.testing.wait_all_tasks_blocked()
        repository.gate.set()
    assert repository.reads == 2  # one per (guild, command)
    assert answers == [None] * 4
