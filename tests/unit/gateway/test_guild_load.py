"""The lazy guild load after READY (pure): which guilds are still due, when the load is over, and why."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.gateway.guild_load import DEFAULT_IDLE_TIMEOUT, GuildLoad


def ready(*ids: int | str) -> dict[str, Any]:
    return {"session_id": "s", "guilds": [{"id": str(i), "unavailable": True} for i in ids]}


def test_the_load_is_over_when_every_listed_guild_has_arrived() -> None:
    load = GuildLoad.from_ready(ready(1, 2, 3), now=100.0)
    assert (load.total, load.loaded, load.done) == (3, 0, False)
    assert load.describe() == "loading 0 of 3 guilds"
    assert load.observe("GUILD_CREATE", {"id": "2", "name": "b"}, now=100.5) is False
    assert load.observe("GUILD_CREATE", {"id": "1", "name": "a"}, now=101.0) is False
    assert load.describe() == "loading 2 of 3 guilds"
    assert load.observe("GUILD_CREATE", {"id": "3", "name": "c"}, now=101.5) is True
    assert load.done and not load.timed_out
    assert load.finished_at == 101.5
    assert load.describe() == "3 guilds loaded in 1.50 s"
    # Completion is reported exactly once: later events for the same guilds change nothing.
    assert load.observe("GUILD_CREATE", {"id": "3"}, now=102.0) is False
    assert load.finished_at == 101.5


def test_a_guild_lost_to_an_outage_counts_as_accounted_for() -> None:
    load = GuildLoad.from_ready(ready(1, 2), now=0.0)
    assert load.observe("GUILD_DELETE", {"id": "1", "unavailable": True}, now=1.0) is False
    assert load.observe("GUILD_CREATE", {"id": "2"}, now=2.0) is True
    assert load.loaded == 2


def test_events_outside_the_load_do_not_count() -> None:
    load = GuildLoad.from_ready(ready(1, 2), now=0.0)
    assert load.observe("GUILD_CREATE", {"id": "99"}, now=1.0) is False  # joined after READY
    assert load.observe("GUILD_UPDATE", {"id": "1"}, now=1.0) is False
    assert load.observe("GUILD_CREATE", ["not", "a", "mapping"], now=1.0) is False
    assert load.observe("GUILD_CREATE", {"name": "no id"}, now=1.0) is False
    assert load.loaded == 0
    assert load.last_progress_at == 0.0  # only a listed guild's arrival is progress


def test_one_guild_is_singular() -> None:
    load = GuildLoad.from_ready(ready(1), now=0.0)
    assert load.describe() == "loading 0 of 1 guild"
    load.observe("GUILD_CREATE", {"id": "1"}, now=0.25)
    assert load.describe() == "1 guild loaded in 0.25 s"


def test_integer_ids_on_either_side_match_the_wire_strings() -> None:
    load = GuildLoad.from_ready({"guilds": [{"id": 7}, {"id": "8"}]}, now=0.0)
    assert load.observe("GUILD_CREATE", {"id": "7"}, now=1.0) is False
    assert load.observe("GUILD_CREATE", {"id": 8}, now=1.0) is True


@pytest.mark.parametrize(
    "payload", [{}, {"guilds": []}, {"guilds": None}, {"guilds": [{"no": "id"}, "junk"]}]
)
def test_a_ready_without_guilds_is_a_finished_load(payload: dict[str, Any]) -> None:
    load = GuildLoad.from_ready(payload, now=5.0)
    assert load.done and load.total == 0 and not load.timed_out
    assert load.describe() == "0 guilds loaded in 0.00 s"


def test_a_stalled_load_expires_after_the_idle_timeout_and_names_the_missing() -> None:
    load = GuildLoad.from_ready(ready(1, 2, 3), now=0.0)
    load.observe("GUILD_CREATE", {"id": "1"}, now=4.0)
    # The idle time counts from the last arrival, not from READY.
    assert load.expire(now=4.0 + DEFAULT_IDLE_TIMEOUT - 0.01) is False
    assert load.expire(now=4.0 + DEFAULT_IDLE_TIMEOUT) is True
    assert load.done and load.timed_out
    assert load.describe() == "1 of 3 guilds loaded in 14.00 s; 2 did not arrive"
    assert load.expire(now=100.0) is False  # already over
    # A guild arriving after the load ended is not part of it any more.
    assert load.observe("GUILD_CREATE", {"id": "2"}, now=101.0) is False


def test_abandon_ends_a_running_load_once() -> None:
    load = GuildLoad.from_ready(ready(1, 2), now=0.0)
    assert load.abandon(now=3.0) is True
    assert load.done and load.timed_out and load.finished_at == 3.0
    assert load.abandon(now=4.0) is False
    finished = GuildLoad.from_ready(ready(1), now=0.0)
    finished.observe("GUILD_CREATE", {"id": "1"}, now=1.0)
    assert finished.abandon(now=2.0) is False
    assert not finished.timed_out
