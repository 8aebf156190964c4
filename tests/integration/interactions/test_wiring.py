"""The command system as the application wires it: supervised executor, gateway sink, router from config."""

from __future__ import annotations

import pytest
import trio

from actors.executor import CommandExecutor
from protocol.emulator import Emulator
from protocol.gateway.frames import Frame
from protocol.rest import LocalRateLimiter, RestClient
from shard.config import load_config
from shard.features import core
from shard.interactions import CommandRegistry, CommandSyncer, ForgedCustomIdError
from shard.interactions.router import InteractionRouter
from shard.interactions.wiring import (
    EXECUTOR_PATH,
    build_router,
    custom_id_secret,
    executor_child,
    interaction_sink,
    sync_at_startup,
    sync_scope,
)
from supervision import SupervisorSpec, open_runtime
from supervision.telemetry import Telemetry


def test_custom_id_secret_is_stable_per_token_and_never_the_token() -> None:
    assert custom_id_secret("abc") == custom_id_secret("abc") != custom_id_secret("abd")
    assert b"abc" not in custom_id_secret("abc")
    assert custom_id_secret(None) != custom_id_secret(None)


def test_a_configured_custom_id_secret_replaces_the_token_as_the_key() -> None:
    """``[commands] custom_id_secret``: the key no longer follows the token (a token reset keeps buttons
    working), and changing it changes the key (every component already sent stops verifying)."""
    assert custom_id_secret("token-1", "key") == custom_id_secret("token-2", "key")
    assert custom_id_secret("token-1", "key") != custom_id_secret("token-1", "other key")
    assert custom_id_secret("token-1", "key") != custom_id_secret("token-1")
    assert custom_id_secret(None, "key") == custom_id_secret("token-1", "key")
    assert b"key" not in custom_id_secret(None, "key")


async def test_the_router_signs_with_the_configured_key_from_the_environment(emulator: Emulator) -> None:
    """``SHARD_COMMANDS_CUSTOM_ID_SECRET`` reaches the router's codec: a component signed by a bot with
    one token verifies in a bot with another token and the same key, and not in one without the key."""

    def router_for(token: str, key: str | None) -> InteractionRouter:
        env = {"DISCORD_TOKEN": token, "DISCORD_API_BASE": emulator.api_base}
        if key is not None:
            env["SHARD_COMMANDS_CUSTOM_ID_SECRET"] = key
        config = load_config(profile="testing", env=env, search_default_file=False)
        return build_router(config, CommandRegistry(), rest, CommandExecutor(max_concurrency=1))

    async with RestClient(emulator.api_base, emulator.token, LocalRateLimiter()) as rest:
        signed = router_for("token-a", "shared key").codec.encode("help.cat", "Core")
        assert router_for("token-b", "shared key").codec.decode(signed) == ("help.cat", ("Core",))
        with pytest.raises(ForgedCustomIdError):
            router_for("token-a", None).codec.decode(signed)


@pytest.mark.parametrize("direct", [False, True], ids=["mailbox", "direct-start"])
async def test_interaction_frames_flow_through_the_supervised_executor(
    emulator: Emulator, direct: bool
) -> None:
    """Twenty interactions arrive faster than two slots free up: with ``direct`` the first ones start from
    the sink's step and the rest queue in the executor's mailbox; either way every one is answered."""
    guild = emulator.sandbox_guild
    config = load_config(
        profile="testing",
        env={
            "DISCORD_TOKEN": emulator.token,
            "DISCORD_API_BASE": emulator.api_base,
            "SHARD_COMMANDS_OWNER_IDS": str(guild.owner.id),
        },
        search_default_file=False,
    )
    assert config.commands.owner_ids == (guild.owner.id,)
    telemetry = Telemetry()
    registry = CommandRegistry()
    core.register(registry, heartbeat_latency=lambda: 0.03)
    executor = CommandExecutor(max_concurrency=2, telemetry=telemetry)
    async with RestClient(emulator.api_base, emulator.token, LocalRateLimiter()) as rest:
        await CommandSyncer(rest, emulator.application_id).sync(registry.payloads(), guild_id=guild.id)
        router = build_router(config, registry, rest, executor, telemetry=telemetry)
        tree = SupervisorSpec(id="root", children=[executor_child(executor)])
        async with open_runtime(tree, telemetry=telemetry) as runtime:
            sink = interaction_sink(
                lambda: runtime.ref(EXECUTOR_PATH), router, direct=executor if direct else None
            )
            payloads = [emulator.interactions.slash(guild.id, guild.members[0].id, "ping") for _ in range(20)]
            for payload in payloads:
                emulator.interactions.get(payload).created_at = trio.current_time()
                assert sink(Frame(0, "INTERACTION_CREATE", 1, payload)) is True
            assert executor.running == (2 if direct else 0)  # direct: two started, eighteen queued
            replies = [await emulator.interactions.get(p).final() for p in payloads]
            await executor.wait_idle()
    assert all(r.content is not None and r.content.startswith("Pong!") for r in replies)
    assert telemetry.counter("shard_commands_total", "", ["command", "outcome"]).value("ping", "ok") == 20
    assert telemetry.histogram("shard_command_seconds", "", ["command"]).labels("ping").n == 20


async def test_startup_sync_goes_to_the_dev_guild_in_development(emulator: Emulator) -> None:
    guild = emulator.sandbox_guild
    env = {"DISCORD_TOKEN": emulator.token, "SHARD_COMMANDS_DEV_GUILD_ID": str(guild.id)}
    development = load_config(profile="development", env=env, search_default_file=False)
    production = load_config(profile="production", env=env, search_default_file=False)
    assert sync_scope(development) == guild.id and sync_scope(production) is None
    registry = CommandRegistry()
    core.register(registry, heartbeat_latency=lambda: None)
    async with RestClient(emulator.api_base, emulator.token, LocalRateLimiter()) as rest:
        first = await sync_at_startup(development, registry, rest, emulator.application_id)
        again = await sync_at_startup(development, registry, rest, emulator.application_id)
    assert first.written and first.diff.scope == f"guild {guild.id}"
    assert not again.written


async def test_ping_with_the_rest_clients_latency_answers_in_one_call(
    emulator: Emulator, nursery: trio.Nursery
) -> None:
    from shard.interactions import CustomIdCodec, InteractionRouter, PermissionResolver

    guild = emulator.sandbox_guild
    telemetry = Telemetry()
    registry = CommandRegistry()
    core.register(registry, heartbeat_latency=lambda: 0.02, rest_latency=core.rest_latency_from(telemetry))
    async with RestClient(emulator.api_base, emulator.token, LocalRateLimiter(), telemetry=telemetry) as rest:
        await CommandSyncer(rest, emulator.application_id).sync(registry.payloads(), guild_id=guild.id)
        router = InteractionRouter(
            registry, rest, codec=CustomIdCodec("k" * 32), permissions=PermissionResolver([]), spawner=nursery
        )
        replies = []
        for _ in range(2):
            payload = emulator.interactions.slash(guild.id, guild.members[0].id, "ping")
            emulator.interactions.get(payload).created_at = trio.current_time()
            await router.handle(payload)
            replies.append(await emulator.interactions.get(payload).response())
    assert "REST round trip: n/a" in (replies[0].content or "")  # nothing measured before the first callback
    assert "REST round trip: n/a" not in (replies[1].content or "")
    assert all(r.edits == 0 for r in replies)  # one callback each, no follow-up edit
