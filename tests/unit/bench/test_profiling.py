"""`--profile` helpers: summarising collapsed stacks, and sampling that degrades to a stated reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.scenarios.profiling import sampling, summarize_collapsed

STACKS = [
    "run (shard/cli.py:90);_receive_loop (actors/gateway_shard.py:480);"
    "decode_frame (protocol/gateway/frames.py:73) 6",
    "run (shard/cli.py:90);_receive_loop (actors/gateway_shard.py:481);"
    "inflate (protocol/gateway/compression.py:40) 2",
    "run (shard/cli.py:91);send (httpcore/_async/http11.py:72) 2",
    "not a sample line",
]


def test_summary_merges_line_numbers_and_reports_shares() -> None:
    summary = summarize_collapsed(STACKS, top=3)
    assert summary.samples == 10
    assert summary.top_self[0] == ("decode_frame (protocol/gateway/frames.py)", 60.0)
    inclusive = dict(summary.top_project_inclusive)
    assert inclusive["run (shard/cli.py)"] == 100.0
    assert inclusive["_receive_loop (actors/gateway_shard.py)"] == 80.0
    assert all("httpcore" not in name for name in inclusive)  # only the project's own frames
    assert summary.as_details()["top_self_percent"][0] == ["decode_frame (protocol/gateway/frames.py)", 60.0]


def test_summary_of_nothing_is_empty() -> None:
    assert summarize_collapsed([]).samples == 0


async def test_sampling_disabled_is_a_no_op(tmp_path: Path) -> None:
    async with sampling(1, tmp_path / "p.txt", enabled=False) as result:
        pass
    assert result.path is None
    assert result.error is None
    assert not (tmp_path / "p.txt").exists()


async def test_sampling_without_py_spy_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PY_SPY", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no py-spy here
    async with sampling(1, tmp_path / "p.txt", enabled=True) as result:
        pass
    assert "py-spy not found" in result.as_details()["profile_error"]
