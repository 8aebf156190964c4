"""``python -m bench.models`` runs end to end on a tiny budget and reports every measured payload."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bench import models


def test_bench_models_measures_each_payload_and_saves_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(models, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(models, "result_path", lambda scenario, started: tmp_path / f"{scenario}.json")
    assert models.main(["--calls", "3", "--rounds", "2"]) == 0
    printed = capsys.readouterr().out
    document = orjson.loads((tmp_path / "models.json").read_bytes())
    assert set(document["results"]) == set(models.MEASURED)
    for name, row in document["results"].items():
        assert row["detailed_us"] > 0 and row["parse_us"] > 0 and row["speedup"] > 0
        assert len(row["samples"]["parse_us"]) == 2
        assert name in printed
    assert document["machine"]["python"] and document["parameters"] == {"calls": 3, "rounds": 2}
