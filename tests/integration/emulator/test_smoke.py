"""The emulator starts, serves REST and the gateway, and answers a scripted slash command."""

from __future__ import annotations

import httpx

from protocol.emulator import Emulator
from tests.fixtures.emulator import RawGatewayClient


async def test_rest_and_gateway_round_trip(emulator: Emulator) -> None:
    headers = {"Authorization": f"Bot {emulator.token}"}
    async with httpx.AsyncClient(base_url=emulator.api_base, headers=headers) as http:
        gateway = (await http.get("/gateway/bot")).json()
        assert gateway["url"] == emulator.gateway_url
        assert gateway["shards"] == 1

        client = await RawGatewayClient.connect(gateway["url"])
        ready = await client.identify(emulator.token)
        assert ready["d"]["guilds"] == [{"id": str(emulator.sandbox_guild.id), "unavailable": True}]
        guild_create = await client.receive()
        assert guild_create["t"] == "GUILD_CREATE"

        interaction = await emulator.invoke_slash(
            emulator.sandbox_guild.id, emulator.sandbox_guild.owner.id, "ping"
        )
        dispatched = await client.receive()
        assert dispatched["t"] == "INTERACTION_CREATE"
        data = dispatched["d"]
        callback = await http.post(
            f"/interactions/{data['id']}/{data['token']}/callback",
            json={"type": 4, "data": {"content": "pong", "flags": 64}},
        )
        assert callback.status_code == 204
        reply = await interaction.response()
        assert reply.content == "pong"
        assert reply.ephemeral
        await client.close()
