"""A local Discord: REST v10 and the gateway on loopback, with state, fault injection and scripting.

Tests, the sandbox and the benchmarks all use it::

    async with Emulator.running() as emu:
        emu.api_base, emu.gateway_url, emu.token
        interaction = await emu.invoke_slash(emu.sandbox_guild.id, user_id, "ping")
        reply = await interaction.response()

See `protocol.emulator.emulator` for how the pieces fit.
"""

from protocol.emulator.config import EmulatorConfig, RouteLimit
from protocol.emulator.emulator import Emulator
from protocol.emulator.interaction_builders import ComponentDisabledError
from protocol.emulator.interaction_records import (
    CallbackType,
    Interaction,
    InteractionFailedError,
    InteractionReply,
    InteractionType,
)
from protocol.emulator.rest_server import RequestRecord
from protocol.emulator.sandbox import SandboxGuild

__all__ = [
    "CallbackType",
    "ComponentDisabledError",
    "Emulator",
    "EmulatorConfig",
    "Interaction",
    "InteractionFailedError",
    "InteractionReply",
    "InteractionType",
    "RequestRecord",
    "RouteLimit",
    "SandboxGuild",
]
