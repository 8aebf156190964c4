"""``python -m bench <scenario|all> [--bots ours,discordpy,hikari] [--quick] [--repeat N]``.

Runs the named scenarios against the local emulator, each bot in its own process, prints one table per
scenario (a column per bot, the best peer, ``ours / best peer`` and the issue's target) and saves the JSON
document (machine, versions, exact command, every bot's figures and failures) to
``bench/results/<scenario>-<UTC timestamp>.json``. Peers come from ``bash bench/peers/setup.sh``.

The exit status is 0 when every requested bot was measured or reported as failed/skipped — a failing peer
is a finding, not an error of the harness — and 2 for a usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

import orjson
import trio

from bench.common import render_markdown, render_table, write_report
from bench.scenarios import RunContext, all_scenarios, measure_all
from bench.scenarios.bots import BOT_NAMES, bot_specs, reset_our_postgres


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    scenarios = all_scenarios()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=[*scenarios, "all"], help="scenario to run, or all")
    parser.add_argument(
        "--bots",
        default=",".join(BOT_NAMES),
        help=f"comma-separated bots to measure (default: {','.join(BOT_NAMES)})",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run in about a minute")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds one bot may take in one scenario (default 900)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds per bot, interleaved across bots; figures are per-metric medians (default 1)",
    )
    parser.add_argument("--verbose", action="store_true", help="log the harness's progress")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample each bot with py-spy during the measured window (interactions, event_stream)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print each result document (JSON) after its table"
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (for the docs)")
    return parser.parse_args(argv)


async def run(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        specs = bot_specs([name.strip() for name in args.bots.split(",") if name.strip()])
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    scenarios = all_scenarios()
    chosen = list(scenarios.values()) if args.scenario == "all" else [scenarios[args.scenario]]
    ctx = RunContext(quick=args.quick, started_at=time.time(), profile=args.profile)
    if any(spec.name == "ours" for spec in specs):
        print(reset_our_postgres(), flush=True)
    for scenario in chosen:
        report = await measure_all(scenario, specs, ctx, timeout_s=args.timeout, repeat=args.repeat)
        path = write_report(report)
        print(render_markdown(report) if args.markdown else render_table(report))
        for plot in report.plots:
            print(f"plot: {plot}")
        for outcome in report.outcomes:
            profile = outcome.details.get("profile")
            if isinstance(profile, dict):
                print(f"profile of {outcome.bot} (top own samples):")
                for name, share in profile.get("top_self_percent", [])[:8]:
                    print(f"  {share:5.1f}%  {name}")
        if args.json:
            print(orjson.dumps(report.to_document(), option=orjson.OPT_INDENT_2).decode())
        print(f"json: {path}\n", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    level = logging.INFO if "--verbose" in args else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return trio.run(run, args)


if __name__ == "__main__":
    sys.exit(main())
