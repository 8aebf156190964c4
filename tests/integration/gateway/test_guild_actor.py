"""The guild actor through the real supervision runtime: cache updates, queries, listeners, bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import Any

import trio

from actors.gateway_shard import DispatchRouter
from actors.guild import (
    GetChannel,
    GetChannels,
    GetGuild,
    GetMemberPermissions,
    GetRoles,
    GuildActor,
    Listener,
)
from protocol.gateway.frames import Frame
from protocol.gateway.identity import BotIdentity
from protocol.permissions import ALL_PERMISSIONS, Permissions
from supervision import ChildSpec, KeyedSupervisorSpec, Runtime, SupervisorSpec, open_runtime
from tests.integration.gateway.guild_payloads import (
    BOT_ID,
    BOT_PERMS,
    BOT_ROLE,
    EVERYONE,
    GENERAL,
    GUILD_ID,
    MOD_LOG,
    MOD_ROLE,
    OWNER_ID,
    dispatch,
    guild_create,
    role,
)


@asynccontextmanager
async def guild_runtime(listeners: list[Listener]) -> AsyncIterator[Runtime]:
    identity = BotIdentity(user_id=BOT_ID)

    def child(key: Hashable) -> ChildSpec:
        return ChildSpec(
            id=str(key), factory=lambda: GuildActor(int(str(key)), identity=identity, listeners=listeners)
        )

    spec = SupervisorSpec(
        id="root", children=[KeyedSupervisorSpec(id="guilds", child=child, idle_timeout=None)]
    )
    async with open_runtime(spec) as rt:
        yield rt


async def test_guild_create_fills_the_slim_cache() -> None:
    async with guild_runtime([]) as rt:
        ref = rt.keyed("root/guilds").ref(GUILD_ID)
        assert await ref.call(GetGuild()) is None
        ref.tell(guild_create())
        guild = await ref.call(GetGuild())
        assert guild.name == "The Wandering Inn (sandbox)"
        assert guild.owner_id == OWNER_ID
        channels = await ref.call(GetChannels())
        assert [c.name for c in channels] == ["general", "mod-log"]
        assert [r.name for r in await ref.call(GetRoles())] == ["@everyone", "Bot", "Moderator"]
        general = await ref.call(GetChannel(GENERAL))
        assert general.guild_id == GUILD_ID
        # the bot's own permissions: @everyone + Bot role; mod-log is hidden from it
        assert await ref.call(GetMemberPermissions()) == int(EVERYONE | BOT_PERMS)
        assert await ref.call(GetMemberPermissions(channel_id=MOD_LOG)) == 0
        # another member, from the roles an interaction carries
        assert await ref.call(GetMemberPermissions(channel_id=MOD_LOG, user_id=7, role_ids=(MOD_ROLE,))) & (
            Permissions.VIEW_CHANNEL
        )
        assert await ref.call(GetMemberPermissions(user_id=OWNER_ID, role_ids=())) == ALL_PERMISSIONS
        assert await ref.call(GetMemberPermissions(user_id=7)) is None  # unknown roles: no guess


async def test_role_channel_and_member_updates() -> None:
    async with guild_runtime([]) as rt:
        ref = rt.keyed("root/guilds").ref(GUILD_ID)
        ref.tell(guild_create())
        # the bot role gains Administrator
        ref.tell(
            dispatch(
                "GUILD_ROLE_UPDATE",
                {"guild_id": str(GUILD_ID), "role": role(BOT_ROLE, "Bot", Permissions.ADMINISTRATOR)},
            )
        )
        assert await ref.call(GetMemberPermissions(channel_id=MOD_LOG)) == ALL_PERMISSIONS
        # the bot loses the role
        ref.tell(
            dispatch(
                "GUILD_MEMBER_UPDATE",
                {"guild_id": str(GUILD_ID), "user": {"id": str(BOT_ID)}, "roles": []},
            )
        )
        assert await ref.call(GetMemberPermissions()) == int(EVERYONE)
        # a member update for someone else does not touch the bot's member
        ref.tell(
            dispatch(
                "GUILD_MEMBER_UPDATE",
                {"guild_id": str(GUILD_ID), "user": {"id": "7"}, "roles": [str(BOT_ROLE)]},
            )
        )
        assert await ref.call(GetMemberPermissions()) == int(EVERYONE)
        ref.tell(dispatch("CHANNEL_DELETE", {"id": str(GENERAL), "guild_id": str(GUILD_ID), "type": 0}))
        ref.tell(
            dispatch(
                "CHANNEL_CREATE",
                {"id": "2003", "guild_id": str(GUILD_ID), "name": "bot", "type": 0, "position": 2},
            )
        )
        assert [c.name for c in await ref.call(GetChannels())] == ["mod-log", "bot"]
        ref.tell(dispatch("GUILD_ROLE_DELETE", {"guild_id": str(GUILD_ID), "role_id": str(MOD_ROLE)}))
        assert MOD_ROLE not in [r.id for r in await ref.call(GetRoles())]
        ref.tell(dispatch("GUILD_UPDATE", {"id": str(GUILD_ID), "name": "Renamed", "owner_id": "5"}))
        guild = await ref.call(GetGuild())
        assert (guild.name, guild.owner_id) == ("Renamed", 5)


async def test_outage_keeps_cache_removal_clears_it() -> None:
    async with guild_runtime([]) as rt:
        ref = rt.keyed("root/guilds").ref(GUILD_ID)
        ref.tell(guild_create())
        ref.tell(dispatch("GUILD_DELETE", {"id": str(GUILD_ID), "unavailable": True}))
        guild = await ref.call(GetGuild())
        assert guild.unavailable and guild.name == "The Wandering Inn (sandbox)"
        assert await ref.call(GetMemberPermissions()) is None
        assert await ref.call(GetChannel(GENERAL)) is not None
        ref.tell(dispatch("GUILD_DELETE", {"id": str(GUILD_ID)}))
        assert await ref.call(GetGuild()) is None
        assert await ref.call(GetChannels()) == ()


async def test_listeners_get_every_event_and_a_failing_one_is_isolated() -> None:
    seen: list[str] = []
    awaited: list[str] = []

    def broken(frame: Frame) -> None:
        raise RuntimeError("listener bug")

    def recorder(frame: Frame) -> None:
        seen.append(frame.t or "")

    async def async_recorder(frame: Frame) -> None:
        await trio.sleep(0)
        awaited.append(frame.t or "")

    listeners: list[Listener] = [broken, recorder]
    async with guild_runtime(listeners) as rt:
        ref = rt.keyed("root/guilds").ref(GUILD_ID)
        ref.tell(guild_create())
        assert (await ref.call(GetGuild())) is not None  # GUILD_CREATE handled
        listeners.append(async_recorder)  # subscribing later reaches running actors too
        ref.tell(dispatch("MESSAGE_CREATE", {"guild_id": str(GUILD_ID), "content": "hi"}))
        assert (await ref.call(GetGuild())) is not None
        assert seen == ["GUILD_CREATE", "MESSAGE_CREATE"]
        assert awaited == ["MESSAGE_CREATE"]
        health: dict[str, Any] = rt.health()
        assert "guilds" in str(health)


async def test_listeners_run_in_order_and_an_async_one_finishes_before_the_next_starts() -> None:
    order: list[str] = []

    async def slow_async(frame: Frame) -> None:
        order.append("async:start")
        await trio.sleep(0.01)
        order.append("async:end")

    async def failing_async(frame: Frame) -> None:
        await trio.sleep(0)
        raise RuntimeError("async listener bug")

    listeners: list[Listener] = [
        lambda frame: order.append("first"),
        slow_async,
        lambda frame: order.append("after-async"),
        failing_async,
        lambda frame: order.append("last"),
    ]
    async with guild_runtime(listeners) as rt:
        ref = rt.keyed("root/guilds").ref(GUILD_ID)
        ref.tell(dispatch("MESSAGE_CREATE", {"guild_id": str(GUILD_ID), "content": "hi"}))
        assert (await ref.call(GetChannels())) == ()  # the call is answered after the event: all ran
    assert order == ["first", "async:start", "async:end", "after-async", "last"]


async def test_malformed_payload_is_skipped_not_fatal() -> None:
    async with guild_runtime([]) as rt:
        ref = rt.keyed("root/guilds").ref(GUILD_ID)
        ref.tell(guild_create())
        ref.tell(dispatch("CHANNEL_CREATE", {"guild_id": str(GUILD_ID), "name": "no id"}))
        ref.tell(dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(GUILD_ID), "role": {"id": "not-a-number"}}))
        ref.tell(Frame(0, "CHANNEL_UPDATE", 9, ["not", "an", "object"]))
        assert len(await ref.call(GetChannels())) == 2
        assert (await ref.call(GetGuild())).name == "The Wandering Inn (sandbox)"


async def test_router_sends_guild_events_to_their_actor_and_the_rest_elsewhere() -> None:
    seen_by_guilds: list[Frame] = []
    interactions: list[Frame] = []
    others: list[Frame] = []
    async with guild_runtime([seen_by_guilds.append]) as rt:
        router = DispatchRouter(
            guilds_path="root/guilds", interactions=interactions.append, others=others.append
        )
        router.attach(rt)
        router.route(guild_create())  # routed by d.id
        router.route(dispatch("MESSAGE_CREATE", {"guild_id": str(GUILD_ID), "content": "x"}))
        router.route(dispatch("INTERACTION_CREATE", {"guild_id": str(GUILD_ID), "id": "9"}))
        router.route(dispatch("MESSAGE_CREATE", {"content": "a DM"}))
        router.route(dispatch("MESSAGE_CREATE", {"guild_id": "not-a-snowflake"}))
        router.route(dispatch("MESSAGE_CREATE", {"guild_id": ["odd"]}))
        router.route(Frame(0, "RESUMED", 3, None))
        assert (await rt.keyed("root/guilds").ref(GUILD_ID).call(GetGuild())) is not None
        assert rt.keyed("root/guilds").live_count() == 1
    assert [f.t for f in seen_by_guilds] == ["GUILD_CREATE", "MESSAGE_CREATE"]
    assert [f.t for f in interactions] == ["INTERACTION_CREATE"]
    assert [f.d for f in others] == [
        {"content": "a DM"},
        {"guild_id": "not-a-snowflake"},
        {"guild_id": ["odd"]},
        None,
    ]


async def test_threads_are_cached_and_use_their_parents_permissions() -> None:
    async with guild_runtime([]) as rt:
        ref = rt.keyed("root/guilds").ref(GUILD_ID)
        ref.tell(guild_create())
        ref.tell(
            dispatch(
                "THREAD_CREATE",
                {
                    "id": "3001",
                    "guild_id": str(GUILD_ID),
                    "name": "secret-thread",
                    "type": 11,
                    "parent_id": str(MOD_LOG),
                },
            )
        )
        thread = await ref.call(GetChannel(3001))
        assert thread.parent_id == MOD_LOG
        assert await ref.call(GetMemberPermissions(channel_id=3001)) == 0  # mod-log is hidden from the bot
        mod = await ref.call(GetMemberPermissions(channel_id=3001, user_id=7, role_ids=(MOD_ROLE,)))
        assert mod & Permissions.VIEW_CHANNEL
        ref.tell(dispatch("THREAD_DELETE", {"id": "3001", "guild_id": str(GUILD_ID), "type": 11}))
        assert await ref.call(GetChannel(3001)) is None
