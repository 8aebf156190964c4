"""``python -m bench.models``: what `protocol.models.parse` costs per payload, against the detailed converter.

Why: every INTERACTION_CREATE goes through ``parse(Interaction, payload)`` before the router can look at it,
so its cost is paid per command. `parse` tries the fast converter first and runs the detailed one
(``protocol.models.converter.converter``, which collects every bad field's path) only when the fast one
fails, so on good payloads the detailed converter alone is what `parse` cost before the fast path existed.
Both are measured side by side in one run, on the same payloads, so the ratio holds on a noisy machine.

Payloads are real ones built by the emulator's builders (`protocol.emulator.interaction_builders`): a
``/ping`` as Discord sends it in a guild (member with user, partial guild and channel, app permissions,
entitlements...), a slash command with user/role/channel options and their ``resolved`` entities, a button
click on a message with components, a modal submit, a DM command, and a MESSAGE_CREATE `Message` (no hot
path parses messages today; it is here for scale). `sample_payloads` also feeds the equivalence tests
(``tests/unit/models/test_fast_parse.py``).

Rounds alternate the two paths; each path reports the median µs per call over the rounds, and the speedup is
the median of the per-round ratios. JSON goes to ``bench/results/models-<UTC time>.json`` with machine info.
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
import trio

from bench.common import RESULTS_DIR, exact_command, machine_info, our_versions, result_path
from protocol.emulator.emulator import Emulator
from protocol.models import Interaction, Message, converter, parse
from protocol.models.converter import fast_converter

Payload = dict[str, Any]

#: ids of the command the emulator is told the bot registered (so option types come from it).
INFO_COMMAND_ID = 990000000000000001


def _register_info_command(emu: Emulator) -> None:
    """Put a global ``/info`` command with typed options into the emulator, as ``PUT .../commands`` would."""
    emu.state.global_commands[INFO_COMMAND_ID] = {
        "id": str(INFO_COMMAND_ID),
        "application_id": str(emu.application_id),
        "name": "info",
        "type": 1,
        "description": "who and where",
        "options": [
            {"name": "user", "type": 6, "description": "a user"},
            {"name": "other", "type": 6, "description": "another user"},
            {"name": "role", "type": 8, "description": "a role"},
            {"name": "channel", "type": 7, "description": "a channel"},
            {"name": "count", "type": 4, "description": "how many"},
            {"name": "reason", "type": 3, "description": "why", "autocomplete": True},
        ],
    }


def sample_payloads() -> dict[str, tuple[type[Any], Payload]]:
    """Named real payloads with the model each parses into, built by one fresh emulator world."""
    emu = Emulator()
    sandbox = emu.sandbox_guild
    guild, owner = sandbox.id, sandbox.owner.id
    member, other = sandbox.members[-1].id, sandbox.members[0].id
    _register_info_command(emu)
    interactions = emu.interactions

    async def build() -> dict[str, tuple[type[Any], Payload]]:
        options = {
            "user": member,
            "other": other,
            "role": sandbox.moderator_role.id,
            "channel": sandbox.general.id,
            "count": 3,
            "reason": "testing",
        }
        bot_message = emu.users.send_message(
            sandbox.general.id,
            emu.state.bot_user.id,
            "pick one",
            embeds=[{"title": "Menu", "description": "choose", "color": 0x3366FF, "fields": []}],
            components=[
                {
                    "type": 1,
                    "components": [
                        {"type": 2, "style": 1, "label": "Yes", "custom_id": "yes"},
                        {"type": 2, "style": 5, "label": "Docs", "url": "https://example.com"},
                    ],
                },
                {
                    "type": 1,
                    "components": [
                        {
                            "type": 3,
                            "custom_id": "colour",
                            "options": [{"label": "Red", "value": "r"}, {"label": "Blue", "value": "b"}],
                        }
                    ],
                },
                {"type": 1, "components": [{"type": 5, "custom_id": "who"}]},
            ],
        )
        modal = {
            "custom_id": "feedback",
            "title": "Feedback",
            "components": [
                {"type": 18, "label": "Name", "component": {"type": 4, "custom_id": "name", "style": 1}},
                {"type": 1, "components": [{"type": 4, "custom_id": "text", "style": 2}]},
                {"type": 18, "label": "Who", "component": {"type": 5, "custom_id": "who"}},
            ],
        }
        chat = emu.users.send_message(sandbox.general.id, member, f"hello <@{owner}> and everyone")
        return {
            "ping": (Interaction, interactions.slash(guild, owner, "ping")),
            "slash_resolved": (Interaction, interactions.slash(guild, owner, "info", options)),
            "autocomplete": (
                Interaction,
                interactions.autocomplete(guild, member, "info", {"user": owner, "reason": "te"}, "reason"),
            ),
            "subcommand": (
                Interaction,
                interactions.slash(guild, owner, "link get", {"title": "discord", "limit": 5, "exact": True}),
            ),
            "button": (Interaction, interactions.component(bot_message, "yes", member)),
            "string_select": (Interaction, interactions.component(bot_message, "colour", member, ["r"])),
            "user_select": (Interaction, interactions.component(bot_message, "who", member, [str(owner)])),
            "modal_submit": (
                Interaction,
                interactions.modal_submit(
                    guild,
                    member,
                    "feedback",
                    {"name": "Erin", "text": "hi", "who": [str(owner)]},
                    modal=modal,
                ),
            ),
            "modal_plain": (Interaction, interactions.modal_submit(guild, member, "m", {"a": "1", "b": "2"})),
            "user_command": (Interaction, interactions.user_command(guild, owner, "Inspect", member)),
            "message_command": (Interaction, interactions.message_command(guild, owner, "Quote", chat)),
            "dm_ping": (Interaction, interactions.slash(None, member, "ping")),
            "dm_slash": (Interaction, interactions.slash(None, member, "info", {"count": 2, "reason": "x"})),
            "message_create": (Message, chat),
            "message_with_components": (Message, bot_message),
        }

    return trio.run(build)


#: The payloads the table shows (the rest are for the tests).
MEASURED = ("ping", "slash_resolved", "button", "modal_submit", "dm_ping", "message_create")


def _per_call_us(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def run(calls: int, rounds: int) -> dict[str, Any]:
    payloads = sample_payloads()
    results: dict[str, Any] = {}
    for name in MEASURED:
        model, payload = payloads[name]
        if fast_converter.structure(payload, model) != converter.structure(payload, model):
            raise RuntimeError(f"{name}: the fast path does not build the detailed converter's object")
        paths: dict[str, Callable[[], object]] = {
            "detailed_us": functools.partial(converter.structure, payload, model),
            "parse_us": functools.partial(parse, model, payload),
        }
        samples: dict[str, list[float]] = {key: [] for key in paths}
        ratios: list[float] = []
        for fn in paths.values():
            _per_call_us(fn, max(1, calls // 10))  # warm up (hooks generated, caches filled)
        for _ in range(rounds):
            gc.collect()
            detailed = _per_call_us(paths["detailed_us"], calls)
            fast = _per_call_us(paths["parse_us"], calls)
            samples["detailed_us"].append(detailed)
            samples["parse_us"].append(fast)
            ratios.append(detailed / fast)  # adjacent runs share the machine's momentary load
        results[name] = {
            "model": model.__name__,
            "payload_bytes": len(orjson.dumps(payload)),
            "detailed_us": statistics.median(samples["detailed_us"]),
            "parse_us": statistics.median(samples["parse_us"]),
            "speedup": statistics.median(ratios),
            "samples": samples,
        }
    return results


def table(results: dict[str, Any]) -> str:
    lines = [f"{'payload':<18}{'model':<13}{'bytes':>7}{'detailed µs':>13}{'parse µs':>10}{'speedup':>9}"]
    for name, row in results.items():
        lines.append(
            f"{name:<18}{row['model']:<13}{row['payload_bytes']:>7}{row['detailed_us']:>13.2f}"
            f"{row['parse_us']:>10.2f}{row['speedup']:>8.2f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.models", description=__doc__)
    parser.add_argument("--calls", type=int, default=2000, help="calls per path per round")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (median reported)")
    parser.add_argument("--no-save", action="store_true", help="print only; do not write bench/results")
    args = parser.parse_args(argv)
    started = time.time()
    results = run(args.calls, args.rounds)
    print(table(results))
    if not args.no_save:
        document = {
            "scenario": "models",
            "started_at": started,
            "command": exact_command(["-m", "bench.models", *(sys.argv[1:] if argv is None else argv)]),
            "machine": machine_info(),
            "versions": our_versions(),
            "parameters": {"calls": args.calls, "rounds": args.rounds},
            "results": results,
        }
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = result_path("models", started)
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
