"""RestClient and the rate limiter against the local Discord emulator (real buckets, real 429s, real spec).

Every request these tests send is also checked against Discord's OpenAPI spec: the OpenAPI audit fixtures are
imported here so the check is active for this module whatever the suite's plugin list says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from actors.ratelimiter import ActorRateLimiter, RateLimiterActor
from protocol.emulator import Emulator, EmulatorConfig
from protocol.emulator.config import RouteLimit
from protocol.rest import (
    File,
    LimiterConfig,
    LocalRateLimiter,
    NotFound,
    RateLimiter,
    RestClient,
    RetryPolicy,
    TokenRejected,
    Unauthorized,
)
from supervision import ChildSpec, MailboxSpec, SupervisorSpec, open_runtime
from tests.fixtures import openapi as openapi_fixtures
from tests.fixtures.emulator import RawGatewayClient
from tests.fixtures.openapi import RequestAudit

# The audit fixtures, active for this module even when the suite's plugin list does not name them.
openapi_validator = openapi_fixtures.openapi_validator
openapi_audit = openapi_fixtures.openapi_audit
_openapi_conformance = openapi_fixtures._openapi_conformance

FAST_RETRY = RetryPolicy(max_retries=3, base=0.01, cap=0.04)


@asynccontextmanager
async def running(
    audit: RequestAudit,
    config: EmulatorConfig | None = None,
    limits: LimiterConfig | None = None,
    *,
    actor: bool = False,
    token: str | None = None,
) -> AsyncIterator[tuple[Emulator, RestClient]]:
    limits = limits or LimiterConfig()
    async with Emulator.running(config or EmulatorConfig()) as emu:
        emu.add_request_observer(audit.observe)
        if actor:
            spec = SupervisorSpec(
                id="root",
                children=[
                    ChildSpec(
                        id="ratelimiter",
                        factory=lambda: RateLimiterActor(limits),
                        mailbox=MailboxSpec(capacity=4096),
                    )
                ],
            )
            async with open_runtime(spec) as runtime:
                limiter: RateLimiter = ActorRateLimiter(
                    runtime.ref("root/ratelimiter"), max_wait=limits.max_wait
                )
                async with RestClient(emu.api_base, token or emu.token, limiter, retry=FAST_RETRY) as rest:
                    yield emu, rest
        else:
            limiter = LocalRateLimiter(config=limits)
            async with RestClient(emu.api_base, token or emu.token, limiter, retry=FAST_RETRY) as rest:
                yield emu, rest


def limited(emu: Emulator) -> int:
    return emu.rate_limiter.limited_count


async def test_every_convenience_route_works_and_conforms(openapi_audit: RequestAudit) -> None:
    async with running(openapi_audit) as (emu, rest):
        sandbox = emu.sandbox_guild
        channel = sandbox.general.id
        me = await rest.get_current_user()
        assert int(me["id"]) == emu.bot_user.id
        app = await rest.get_current_application()
        assert int(app["id"]) == emu.application_id
        assert (await rest.get_gateway_bot())["url"].startswith("ws://")

        commands = [{"name": "ping", "description": "Latency", "type": 1}]
        await rest.bulk_overwrite_global_commands(emu.application_id, commands)
        assert [c["name"] for c in await rest.get_global_commands(emu.application_id)] == ["ping"]
        await rest.bulk_overwrite_guild_commands(emu.application_id, sandbox.id, commands)
        assert len(await rest.get_guild_commands(emu.application_id, sandbox.id)) == 1

        message = await rest.create_message(channel, {"content": "hello"})
        message_id = int(message["id"])
        assert (await rest.get_message(channel, message_id))["content"] == "hello"
        assert (await rest.edit_message(channel, message_id, {"content": "edited"}))["content"] == "edited"
        assert any(int(m["id"]) == message_id for m in await rest.get_messages(channel, limit=10))
        await rest.add_reaction(channel, message_id, "👍")
        assert len(await rest.get_reactions(channel, message_id, "👍")) == 1
        await rest.remove_own_reaction(channel, message_id, "👍")
        await rest.pin_message(channel, message_id, reason="keep")
        assert any(int(m["id"]) == message_id for m in await rest.get_pins(channel))
        await rest.unpin_message(channel, message_id)
        await rest.delete_message(channel, message_id, reason="tidy")
        with pytest.raises(NotFound):
            await rest.get_message(channel, message_id)

        assert int((await rest.get_guild(sandbox.id))["id"]) == sandbox.id
        assert int((await rest.get_channel(channel))["id"]) == channel
        assert len(await rest.get_guild_roles(sandbox.id)) >= 3
        member = sandbox.members[0].id
        role = sandbox.self_assignable_roles[0].id
        await rest.add_member_role(sandbox.id, member, role, reason="self-assign")
        assert str(role) in (await rest.get_guild_member(sandbox.id, member))["roles"]
        await rest.remove_member_role(sandbox.id, member, role)
        assert (await rest.create_dm(member))["type"] == 1

        interaction = emu.interactions.slash(sandbox.id, sandbox.owner.id, "ping", channel_id=channel)
        iid, token = int(interaction["id"]), interaction["token"]
        await rest.create_interaction_response(iid, token, {"type": 5, "data": {"flags": 64}})
        await rest.edit_original_response(emu.application_id, token, {"content": "pong"})
        assert (await rest.get_original_response(emu.application_id, token))["content"] == "pong"
        followup = await rest.create_followup(emu.application_id, token, {"content": "more"})
        await rest.edit_followup(emu.application_id, token, int(followup["id"]), {"content": "more!"})
        await rest.delete_followup(emu.application_id, token, int(followup["id"]))
        await rest.delete_original_response(emu.application_id, token)
    assert openapi_audit.requests >= 30
    assert limited(emu) == 0


async def test_file_uploads_reach_the_message_as_attachments(openapi_audit: RequestAudit) -> None:
    async with running(openapi_audit) as (emu, rest):
        channel = emu.sandbox_guild.general.id
        export = File("export.json", b'{"quotes": []}', "application/json", description="your data")
        message = await rest.create_message(channel, {"content": "here"}, files=[export])
        interaction = emu.interactions.slash(emu.sandbox_guild.id, emu.sandbox_guild.owner.id, "export")
        await rest.create_interaction_response(int(interaction["id"]), interaction["token"], {"type": 5})
        image = File('we"ird\r\nname.png', b"\x89PNG" + bytes(100), "image/png")
        edited = await rest.edit_original_response(
            emu.application_id, interaction["token"], {}, files=[image]
        )
    [attachment] = message["attachments"]
    assert (attachment["filename"], attachment["size"]) == ("export.json", 14)
    assert message["content"] == "here"
    assert edited["attachments"][0]["size"] == 104
    assert openapi_audit.problems == []


@pytest.mark.parametrize("actor", [False, True], ids=["local", "actor"])
async def test_tight_bucket_provokes_no_429(openapi_audit: RequestAudit, actor: bool) -> None:
    """3 messages per 0.3 s per channel; 12 concurrent sends to one channel and 6 to another: zero 429s."""
    tight = {"POST /channels/{channel_id}/messages": RouteLimit(3, 0.3, bucket="tight")}
    async with running(openapi_audit, EmulatorConfig(route_limits=tight), actor=actor) as (emu, rest):
        general, bot = emu.sandbox_guild.general.id, emu.sandbox_guild.bot_channel.id
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            for i in range(12):
                nursery.start_soon(rest.create_message, general, {"content": f"g{i}"})
            for i in range(6):
                nursery.start_soon(rest.create_message, bot, {"content": f"b{i}"})
        elapsed = trio.current_time() - started
    assert limited(emu) == 0
    sent = [r for r in emu.rest.requests if r.template == "/channels/{channel_id}/messages"]
    assert len(sent) == 18 and all(r.status == 200 for r in sent)
    assert elapsed >= 0.9  # four windows for the busy channel: the limiter really waited


async def test_global_limit_is_respected_across_buckets(openapi_audit: RequestAudit) -> None:
    config = EmulatorConfig(global_limit_per_second=10)
    limits = LimiterConfig(global_limit=10)
    async with running(openapi_audit, config, limits) as (emu, rest):
        channels = [c.id for c in (emu.sandbox_guild.general, emu.sandbox_guild.bot_channel)]
        async with trio.open_nursery() as nursery:
            for i in range(24):
                nursery.start_soon(rest.get_channel, channels[i % 2])
    assert limited(emu) == 0
    times = sorted(r.time for r in emu.rest.requests)
    assert len(times) == 24
    assert all(times[i + 10] - times[i] >= 1.0 for i in range(len(times) - 10))


@pytest.mark.parametrize("scope", ["user", "shared", "global"])
async def test_injected_429_is_waited_out_before_the_retry(openapi_audit: RequestAudit, scope: Any) -> None:
    async with running(openapi_audit) as (emu, rest):
        channel = emu.sandbox_guild.general.id
        emu.faults.rate_limit("/channels/{channel_id}/messages", scope, retry_after=0.25)
        await rest.create_message(channel, {"content": "after the limit"})
    first, retry = [r for r in emu.rest.requests if r.template == "/channels/{channel_id}/messages"]
    assert (first.status, retry.status) == (429, 200)
    assert retry.time - first.time >= 0.25


async def test_5xx_then_success(openapi_audit: RequestAudit) -> None:
    async with running(openapi_audit) as (emu, rest):
        emu.faults.server_error(2, 502)
        assert int((await rest.get_channel(emu.sandbox_guild.general.id))["id"]) > 0
    assert [r.status for r in emu.rest.requests] == [502, 502, 200]


async def test_wrong_token_latches_after_the_first_401(openapi_audit: RequestAudit) -> None:
    async with running(openapi_audit, token="not.the.right-token") as (emu, rest):
        with pytest.raises(Unauthorized):
            await rest.get_current_user()
        for _ in range(5):
            with pytest.raises(TokenRejected):
                await rest.get_channel(emu.sandbox_guild.general.id)
    assert emu.rest.invalid_requests == 1


async def test_the_fast_http_codec_serves_rest_and_the_gateway_end_to_end(
    openapi_audit: RequestAudit,
) -> None:
    """The benchmarks' codec (``http_codec="fast"``) under real traffic: RestClient calls with JSON bodies,
    204s and a 429 waited out over kept-alive connections, and a gateway session through the upgrade."""
    async with running(openapi_audit, EmulatorConfig(http_codec="fast")) as (emu, rest):
        channel = emu.sandbox_guild.general.id
        assert int((await rest.get_current_user())["id"]) == emu.bot_user.id
        gateway = await rest.get_gateway_bot()
        message = await rest.create_message(channel, {"content": "over the fast codec"})
        await rest.add_reaction(channel, int(message["id"]), "👍")
        emu.faults.rate_limit("/channels/{channel_id}/messages", "user", retry_after=0.1)
        assert (await rest.create_message(channel, {"content": "after a 429"}))["content"] == "after a 429"
        await rest.delete_message(channel, int(message["id"]))

        client = await RawGatewayClient.connect(gateway["url"])
        try:
            ready = await client.identify(emu.token)
            assert ready["d"]["user"]["id"] == str(emu.bot_user.id)
            assert (await client.receive())["t"] == "GUILD_CREATE"
        finally:
            await client.close()

        # the fast codec answered (h11 sends no reason phrase)
        stream = await trio.open_tcp_stream("127.0.0.1", emu.port)
        async with stream:
            await stream.send_all(
                b"GET /api/v10/gateway HTTP/1.1\r\nHost: emulator\r\nConnection: close\r\n\r\n"
            )
            with trio.fail_after(5):
                assert (await stream.receive_some(65536)).startswith(b"HTTP/1.1 200 OK\r\n")
    assert [r.status for r in emu.rest.requests] == [200, 200, 200, 204, 429, 200, 204, 200]
