"""The seeded sandbox guild, permission maths, snowflakes and the route table."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from protocol.emulator import Emulator, errors
from protocol.emulator import permissions as perms
from protocol.emulator.rest_router import RequestContext, RestResult, Router
from protocol.emulator.sandbox import SANDBOX_GUILD_NAME, SandboxGuild, seed_sandbox
from protocol.emulator.snowflakes import SnowflakeFactory, shard_for_guild
from protocol.emulator.state import EmulatorState


def world() -> tuple[EmulatorState, SandboxGuild]:
    state = EmulatorState(SnowflakeFactory())
    return state, seed_sandbox(state)


def test_sandbox_has_the_design_cast() -> None:
    state, sandbox = world()
    guild = sandbox.guild
    assert guild.name == SANDBOX_GUILD_NAME
    names = {state.channels[c].name for c in guild.channel_ids}
    assert {"general", "bot", "mod-log"} <= names
    assert any(state.channels[c].nsfw for c in guild.channel_ids)
    assert len(sandbox.self_assignable_roles) >= 2
    assert len(guild.members) == 6  # owner, admin, moderator, two members, the bot


def test_permissions_by_level() -> None:
    state, sandbox = world()
    gid = sandbox.id
    owner = state.guild_permissions(gid, sandbox.owner.id)
    admin = state.guild_permissions(gid, sandbox.admin.id)
    moderator = state.guild_permissions(gid, sandbox.moderator.id)
    plain = state.guild_permissions(gid, sandbox.members[0].id)
    assert owner == perms.ALL_PERMISSIONS
    assert admin == perms.ALL_PERMISSIONS
    assert moderator & perms.BAN_MEMBERS and not moderator & perms.ADMINISTRATOR
    assert not plain & perms.BAN_MEMBERS
    assert plain & perms.SEND_MESSAGES


def test_mod_log_overwrites_hide_it_from_plain_members_only() -> None:
    state, sandbox = world()
    mod_log = sandbox.mod_log.id
    assert not state.channel_permissions(mod_log, sandbox.members[0].id) & perms.VIEW_CHANNEL
    assert state.channel_permissions(mod_log, sandbox.moderator.id) & perms.VIEW_CHANNEL
    assert state.channel_permissions(mod_log, state.bot_user.id) & perms.VIEW_CHANNEL


def test_snowflakes_increase_and_shard_by_timestamp() -> None:
    factory = SnowflakeFactory()
    ids = [factory.next() for _ in range(1000)]
    assert ids == sorted(set(ids))
    shifted = factory.with_timestamp_offset(1)
    assert shard_for_guild(shifted, 2) == ((shifted >> 22) % 2)
    assert shard_for_guild(shifted, 2) != shard_for_guild(factory.with_timestamp_offset(1), 2)


def _ok(tag: str) -> Callable[[RequestContext], RestResult]:
    def handler(ctx: RequestContext) -> RestResult:
        return RestResult(200, {"tag": tag, "params": ctx.params})

    return handler


def _refusal(router: Router, method: str, path: str) -> int:
    """The HTTP status of the error `Router.match` raises for a path it must refuse."""
    with pytest.raises(errors.DiscordHTTPError) as refused:
        router.match(method, path)
    return refused.value.status


def test_router_prefers_literal_segments_and_reports_404_and_405() -> None:
    router = Router()
    router.add("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", _ok("by-id"))
    router.add("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", _ok("original"))
    route, params = router.match("GET", "/webhooks/1/abc/messages/@original")
    assert route.template.endswith("@original")
    route, params = router.match("GET", "/webhooks/1/abc/messages/55")
    assert params == {"webhook_id": "1", "webhook_token": "abc", "message_id": "55"}
    assert route.major(params) == "1/abc"
    assert _refusal(router, "POST", "/webhooks/1/abc/messages/55") == 405
    assert _refusal(router, "GET", "/nothing/here") == 404


def test_router_finds_every_emulator_route_by_its_own_path() -> None:
    """The head index must not hide a route: each template, its parameters filled in, reaches a route of
    that method which matches the path and is at least as literal (``@original`` beats ``{message_id}``)."""
    router = Emulator().rest._router
    routes = router.routes()
    assert len(routes) > 50
    for route in routes:
        path = "/" + "/".join("1" if s.startswith("{") else s for s in route.segments)
        found, params = router.match(route.method, path)
        assert found.method == route.method
        assert found.literal_count >= route.literal_count, (route.template, found.template)
        assert len(found.segments) == len(route.segments)
        assert set(params) == {s[1:-1] for s in found.segments if s.startswith("{")}


def test_router_keeps_routes_whose_first_segment_is_a_parameter() -> None:
    router = Router()
    router.add("GET", "/{kind}/{id}", _ok("any"))
    router.add("GET", "/users/{id}", _ok("users"))
    router.add("GET", "/users/@me", _ok("me"))
    assert router.match("GET", "/users/@me")[0].template == "/users/@me"
    assert router.match("GET", "/users/5")[0].template == "/users/{id}"
    assert router.match("GET", "/guilds/5") == (router.routes()[-1], {"kind": "guilds", "id": "5"})
    router.add("GET", "/guilds/{id}", _ok("guilds"))  # added after a match: the index is rebuilt
    assert router.match("GET", "/guilds/5")[0].template == "/guilds/{id}"
    assert _refusal(router, "POST", "/channels/5") == 405
    assert _refusal(router, "GET", "/a/b/c") == 404
