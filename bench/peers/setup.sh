#!/usr/bin/env bash
# Create the peers' private virtualenv at .peers/venv (repository root) with discord.py and hikari.
#
# Why a separate virtualenv: the peers pull in aiohttp/asyncio stacks (and their own pins of yarl,
# multidict, ...) that have no business in the bot's environment, and a benchmark must measure each
# library as its users install it. The project venv never imports these packages; the harness only
# starts `.peers/venv/bin/python bench/peers/<bot>.py` as a child process.
#
# Usage: bash bench/peers/setup.sh            (idempotent; re-run to upgrade)
#        PEERS_PYTHON=python3.11 bash bench/peers/setup.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.peers/venv"
python="${PEERS_PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# The speed extras are what a performance-minded user of each library installs (orjson, brotli,
# aiodns...); comparing against the slow defaults would flatter us.
"$venv/bin/python" -m pip install --quiet --upgrade \
    "discord.py[speed]>=2.4" \
    "hikari[speedups]>=2.1" \
    "aiohttp>=3.9" \
    "psutil>=5.9"
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
for name in ("discord.py", "hikari", "aiohttp", "orjson"):
    try:
        print(f"{name} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"{name} (missing)")
PY
