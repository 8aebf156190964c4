"""The benchmark scenarios, by name (``python -m bench <name>``); see docs/benchmarks.md."""

from __future__ import annotations

from bench.scenarios.base import RunContext, Scenario, measure_all
from bench.scenarios.event_stream import EventStreamScenario
from bench.scenarios.guild_flood import GuildFloodScenario
from bench.scenarios.interactions import InteractionsScenario
from bench.scenarios.rest_limiter import RestLimiterScenario
from bench.scenarios.supervision import SupervisionScenario


def all_scenarios() -> dict[str, Scenario]:
    """Every scenario in the order ``all`` runs them."""
    found: list[Scenario] = [
        InteractionsScenario(),
        GuildFloodScenario(),
        EventStreamScenario(),
        RestLimiterScenario(),
        SupervisionScenario(),
    ]
    return {scenario.name: scenario for scenario in found}


__all__ = ["RunContext", "Scenario", "all_scenarios", "measure_all"]
