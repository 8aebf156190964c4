"""The guilds a READY promises, tracked until each has arrived: when a shard's start-up burst is over.

Why: READY lists every guild of the shard as *unavailable*; Discord then streams one GUILD_CREATE per guild
(the lazy load), and a guild unavailable because of an outage arrives as a GUILD_DELETE with
``unavailable: true`` instead (gateway events docs, "Guild Create"). Until the last of them is in, the
bot's cache is partial and its process is in a burst: thousands of large frames decoded back to back. Two
consumers want to know where that burst stands:

* operators: "loading 1,234 of 2,500 guilds" in the shard status tells a slow start-up from a stuck one;
* the runtime: the cyclic garbage collector is kept off during the burst and the loaded cache frozen
  after it (`shard.gc_policy.CollectorPausedDuringLoad`), because a young-generation pass in the middle of
  the burst traverses every frame still queued for its guild actor (one 116 ms pause in a 2,500-guild
  start-up).

An outage may keep a guild from ever arriving, so a load also ends when no guild has arrived for
``idle_timeout`` seconds (discord.py waits 2 s after the last GUILD_CREATE, hikari does not wait at all);
the guilds still missing are reported, and they are handled like any later GUILD_CREATE when they do come.

Pure and sans-IO: the shard feeds it dispatches and the time, and asks it whether the load is over. The
ids stay the wire's strings, so the hot path does no ``int()`` per guild.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

#: Seconds without a guild arriving after which a load is declared over (the missing guilds are reported).
DEFAULT_IDLE_TIMEOUT = 10.0


@attrs.define(slots=True)
class GuildLoad:
    """One lazy load: the guilds a READY listed that have neither arrived nor been reported unavailable."""

    total: int
    pending: set[str]
    started_at: float
    last_progress_at: float
    finished_at: float | None = None
    #: True when the load ended by `expire` (some guilds never arrived) rather than completing.
    timed_out: bool = False

    @classmethod
    def from_ready(cls, ready: Mapping[str, Any], now: float) -> GuildLoad:
        """The load a READY payload starts (already finished when it lists no guild)."""
        pending = set()
        for guild in ready.get("guilds") or ():
            if isinstance(guild, Mapping) and guild.get("id") is not None:
                pending.add(str(guild["id"]))
        load = cls(total=len(pending), pending=pending, started_at=now, last_progress_at=now)
        if not pending:
            load.finished_at = now
        return load

    @property
    def done(self) -> bool:
        return self.finished_at is not None

    @property
    def loaded(self) -> int:
        """Guilds accounted for so far (arrived, or reported unavailable)."""
        return self.total - len(self.pending)

    def observe(self, event: str, data: Any, now: float) -> bool:
        """Account for one dispatch; True exactly when it completes the load."""
        if self.finished_at is not None or event not in ("GUILD_CREATE", "GUILD_DELETE"):
            return False
        if not isinstance(data, Mapping):
            return False
        guild_id = data.get("id")
        if guild_id is None:
            return False
        key = guild_id if isinstance(guild_id, str) else str(guild_id)
        if key not in self.pending:
            return False  # a guild joined after READY, or a duplicate: not part of this load
        self.pending.discard(key)
        self.last_progress_at = now
        if self.pending:
            return False
        self.finished_at = now
        return True

    def expire(self, now: float, idle_timeout: float = DEFAULT_IDLE_TIMEOUT) -> bool:
        """End the load if no guild arrived for ``idle_timeout`` seconds; True when this call ended it."""
        if self.finished_at is not None or now - self.last_progress_at < idle_timeout:
            return False
        self.finished_at = now
        self.timed_out = True
        return True

    def abandon(self, now: float) -> bool:
        """End the load early: its shard stopped, or a new READY superseded it. True when this call ended it.

        A connection that drops and RESUMEs keeps its load: the resumed session goes on sending the guilds.
        """
        if self.finished_at is not None:
            return False
        self.finished_at = now
        self.timed_out = True
        return True

    def describe(self) -> str:
        """One line for logs and the shard status."""
        of_total = f"{self.total:,} {_guilds(self.total)}"
        if self.finished_at is None:
            return f"loading {self.loaded:,} of {of_total}"
        took = self.finished_at - self.started_at
        if self.timed_out:
            missing = len(self.pending)
            return f"{self.loaded:,} of {of_total} loaded in {took:.2f} s; {missing:,} did not arrive"
        return f"{of_total} loaded in {took:.2f} s"


def _guilds(count: int) -> str:
    return "guild" if count == 1 else "guilds"
