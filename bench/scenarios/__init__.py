"""The benchmark scenarios, by name (``python -m bench <name>``); see docs/benchmarks.md."""

from __future__ import annotations

from bench.scenarios.base import RunContext, Scenario, measure_all
from bench.scenarios.interactions import InteractionsScenario


def all_scenarios() -> dict[str, Scenario]:
    """Every scenario in the order ``all`` runs them."""
    found: list[Scenario] = [InteractionsScenario()]
    return {scenario.name: scenario for scenario in found}


__all__ = ["RunContext", "Scenario", "all_scenarios", "measure_all"]
