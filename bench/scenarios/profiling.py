"""``--profile``: sample the bot with py-spy during a scenario's measured window, and summarise the samples.

Why py-spy and from outside: the bots are separate processes (and two of them other people's libraries), so
the profiler must attach to a pid without changing the bot; py-spy samples a running interpreter with no
instrumentation overhead on the bot. It is not a project dependency: the harness looks for ``py-spy`` on
``PATH`` (or in ``$PY_SPY``) and records in the result why it could not profile when it is absent.

Samples are written in py-spy's "raw" (collapsed stacks) format next to the result JSON, so any flame-graph
tool can read them; `summarize_collapsed` turns them into the two lists a reader needs first: the functions
with the most samples of their own, and the share of samples under each of the project's own functions.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import attrs
import trio

PROJECT_FRAME = re.compile(r"\((actors|protocol|shard|storage|supervision)/")
_LINE_NUMBER = re.compile(r":\d+\)$")


@attrs.frozen(slots=True)
class ProfileSummary:
    samples: int
    top_self: list[tuple[str, float]]
    top_project_inclusive: list[tuple[str, float]]

    def as_details(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "top_self_percent": [[name, round(share, 1)] for name, share in self.top_self],
            "project_inclusive_percent": [
                [name, round(share, 1)] for name, share in self.top_project_inclusive
            ],
        }


def summarize_collapsed(lines: Iterable[str], *, top: int = 12) -> ProfileSummary:
    """Self and inclusive sample shares (percent) from collapsed stacks (``a;b;c 42`` per line)."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_LINE_NUMBER.sub(")", frame) for frame in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if total == 0:
        return ProfileSummary(0, [], [])
    project = [(name, n) for name, n in inclusive.most_common() if PROJECT_FRAME.search(name)][:top]
    return ProfileSummary(
        samples=total,
        top_self=[(name, 100.0 * n / total) for name, n in own.most_common(top)],
        top_project_inclusive=[(name, 100.0 * n / total) for name, n in project],
    )


def py_spy_path() -> str | None:
    return os.environ.get("PY_SPY") or shutil.which("py-spy")


@attrs.define(slots=True)
class ProfileResult:
    """Filled in when the profiled block ends: where the samples are and their summary, or why not."""

    path: Path | None = None
    summary: ProfileSummary | None = None
    error: str | None = None

    def as_details(self) -> dict[str, Any]:
        if self.error is not None:
            return {"profile_error": self.error}
        details: dict[str, Any] = {"profile_samples_file": str(self.path)}
        if self.summary is not None:
            details["profile"] = self.summary.as_details()
        return details


@contextlib.asynccontextmanager
async def sampling(
    pid: int, path: Path, *, enabled: bool, rate: int | None = None, attach_delay: float = 0.5
) -> AsyncIterator[ProfileResult]:
    """Sample ``pid`` with py-spy for the duration of the block (a no-op unless ``enabled``).

    ``rate`` is samples per second; by default ``PY_SPY_RATE`` or 200 (raise it for short windows).
    ``attach_delay`` gives py-spy time to attach before the window starts (0 when the window must start
    at once, e.g. a start-up flood that begins the moment the bot identifies).
    """
    result = ProfileResult()
    if rate is None:
        rate = int(os.environ.get("PY_SPY_RATE", "200"))
    if not enabled:
        yield result
        return
    binary = py_spy_path()
    if binary is None:
        result.error = (
            "py-spy not found (install it, e.g. `pip install --target /tmp/pyspy py-spy`, and set PY_SPY)"
        )
        yield result
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [binary, "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate), "--nonblocking"]
    spy = await trio.lowlevel.open_process(
        [*command, "--output", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    await trio.sleep(attach_delay)  # let py-spy attach before the window starts
    try:
        yield result
    finally:
        with trio.CancelScope(shield=True):
            if spy.poll() is None:
                spy.send_signal(signal.SIGINT)
            with trio.move_on_after(30):
                await spy.wait()
            if spy.poll() is None:
                spy.kill()
                await spy.wait()
    samples = trio.Path(path)
    if await samples.exists():
        result.path = path
        text = await samples.read_text(errors="replace")
        result.summary = summarize_collapsed(text.splitlines())
    else:
        result.error = f"py-spy wrote no samples (exit {spy.returncode}); it needs ptrace permission"
