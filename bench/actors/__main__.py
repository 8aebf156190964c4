"""``python -m bench.actors``: run the actor-runtime benchmarks, print a table, save JSON with machine info.

The runtime and raw-channel runs alternate, ``--repeat`` times, and the reported slowdown is the median of the
per-round ratios, so that momentary load from other processes hits both sides of each ratio alike; the ratio
is what the target (runtime within 2x of raw channels) is about. Rates are medians, shown for scale.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import statistics
import sys
from pathlib import Path
from typing import Any

import orjson
import trio

from bench.actors.scenarios import keyed_spawn_and_passivate, raw_channel, raw_task_spawn, runtime_tell
from bench.common import RESULTS_DIR, cpu_model


def machine_info() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "trio": trio.__version__,
    }


async def run(messages: int, repeat: int, actors: int) -> dict[str, Any]:
    raw, raw_handler, ours, drops, ratios, ratios_bare = [], [], [], [], [], []
    for _ in range(repeat):
        # Adjacent runs share the machine's momentary load, so the ratio is taken per triple and the median
        # of those ratios is reported; medians of each path's rate are shown for scale.
        bare = await raw_channel(messages, with_handler=False)
        with_handler = await raw_channel(messages, with_handler=True)
        rate, dropped = await runtime_tell(messages)
        raw.append(bare)
        raw_handler.append(with_handler)
        ours.append(rate)
        drops.append(dropped)
        ratios.append(with_handler / rate)
        ratios_bare.append(bare / rate)
    spawn, passivate, raw_spawn, raw_passivate, spawn_ratios = [], [], [], [], []
    for _ in range(max(3, repeat // 3)):
        baseline = await raw_task_spawn(actors)
        keyed = await keyed_spawn_and_passivate(actors)
        raw_spawn.append(baseline["spawn_s"])
        raw_passivate.append(baseline["passivate_s"])
        spawn.append(keyed["spawn_s"])
        passivate.append(keyed["passivate_s"])
        spawn_ratios.append(keyed["spawn_s"] / baseline["spawn_s"])
    memory = await keyed_spawn_and_passivate(actors, measure_memory=True)
    median = statistics.median
    return {
        "raw_channel_msgs_per_s": median(raw),
        "raw_channel_with_handler_msgs_per_s": median(raw_handler),
        "runtime_tell_msgs_per_s": median(ours),
        "runtime_dropped": max(drops),
        "slowdown_vs_raw_with_handler": median(ratios),
        "slowdown_vs_raw_bare": median(ratios_bare),
        "keyed_actors": memory["actors"],
        "keyed_spawn_s": median(spawn),
        "keyed_spawn_best_s": min(spawn),
        "raw_task_spawn_s": median(raw_spawn),
        "keyed_spawn_vs_raw_tasks": median(spawn_ratios),
        "keyed_passivate_s": median(passivate),
        "keyed_passivate_best_s": min(passivate),
        "raw_task_close_s": median(raw_passivate),
        "bytes_per_idle_actor": memory["bytes_per_idle_actor"],
    }


TARGETS = {
    "slowdown_vs_raw_with_handler": ("<=", 2.0),
    "keyed_spawn_s": ("<=", 1.0),
    "keyed_passivate_s": ("<=", 1.0),
    "bytes_per_idle_actor": ("<=", 10_240.0),
}


def table(results: dict[str, Any]) -> str:
    lines = [f"{'metric':<40} {'value':>14}  target"]
    for name, value in results.items():
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            ok = value <= target[1]
            verdict = f"{target[0]} {target[1]:g}  {'OK' if ok else 'MISSED'}"
        shown = f"{value:,.0f}" if value >= 100 else f"{value:.3f}"
        lines.append(f"{name:<40} {shown:>14}  {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.actors", description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000, help="messages per throughput run")
    parser.add_argument("--repeat", type=int, default=9, help="throughput runs per path (median reported)")
    parser.add_argument("--actors", type=int, default=10_000, help="keyed actors to spawn and passivate")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="directory for the JSON result")
    args = parser.parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    results = trio.run(run, args.messages, args.repeat, args.actors)
    met = {name: results[name] <= value for name, (_, value) in TARGETS.items()}
    document: dict[str, Any] = {
        "schema": "bench-actors/1",
        "started_at": started.isoformat(),
        "command": shlex.join([sys.executable, "-m", "bench.actors", *(argv or sys.argv[1:])]),
        "machine": machine_info(),
        "parameters": {"messages": args.messages, "repeat": args.repeat, "actors": args.actors},
        "results": results,
        "targets": {name: {"op": op, "value": value} for name, (op, value) in TARGETS.items()},
        "met": met,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"actors-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    print(table(results))
    print(f"\nsaved {path}")
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
