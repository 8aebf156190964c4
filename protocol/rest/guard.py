"""The guard against Discord's invalid-request limit (topics--rate-limits.mdx, "Invalid Request Limit").

An IP that gets 10,000 answers with status 401, 403 or 429 (except ``X-RateLimit-Scope: shared`` 429s) within
10 minutes is banned by Cloudflare for a while — every bot on it goes deaf. The guard counts those answers in
a sliding window and refuses new requests with a clear error well before the limit. A 401 to a request that
carried the bot token means the token is no longer valid: the guard latches and refuses every further
bot-token request (routes authenticated by a token in their path — interaction callbacks, webhooks — are
unaffected, since their 401s say nothing about the bot token).
"""

from __future__ import annotations

from collections import deque

from protocol.rest.errors import InvalidRequestLimitReached, TokenRejected
from protocol.rest.outcome import Outcome, Scope
from protocol.rest.routes import Route

__all__ = ["InvalidRequestGuard"]


class InvalidRequestGuard:
    """Counts invalid responses (401, 403, non-shared 429) in a sliding window and refuses before the ban."""

    __slots__ = ("_refuse_at", "_times", "_window", "token_rejected")

    def __init__(self, *, window: float = 600.0, refuse_at: int = 9_000) -> None:
        self._window = window
        self._refuse_at = refuse_at
        self._times: deque[float] = deque()
        self.token_rejected = False

    def count(self, now: float) -> int:
        """Invalid responses within the window ending at ``now``."""
        times = self._times
        horizon = now - self._window
        while times and times[0] <= horizon:
            times.popleft()
        return len(times)

    def check(self, route: Route, now: float) -> None:
        """Raise if a request on ``route`` must not be sent now."""
        if self.token_rejected and route.uses_bot_token:
            raise TokenRejected(
                f"{route.name}: refused, Discord rejected the bot token earlier (401); "
                "fix DISCORD_TOKEN and restart"
            )
        if self._times and self.count(now) >= self._refuse_at:
            raise InvalidRequestLimitReached(
                f"{route.name}: refused, {len(self._times)} invalid responses (401/403/429) in the last "
                f"{self._window:.0f} s; Discord bans the IP at 10,000"
            )

    def record(self, route: Route, outcome: Outcome, now: float) -> None:
        status = outcome.status
        if status in (401, 403) or (status == 429 and outcome.scope is not Scope.SHARED):
            self._times.append(now)
            if status == 401 and route.uses_bot_token:
                self.token_rejected = True
