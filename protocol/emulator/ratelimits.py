"""Server-side rate limits: per-route buckets, the global limit, and the headers Discord sends.

Why fixed windows keyed by (bucket, top-level resource): that is what Discord's headers describe. A bucket
has ``Limit`` requests per window; the window starts at the first request and ``Reset-After`` counts down to
its end; routes that share a bucket name share the count, and each top-level resource (channel, guild,
webhook/interaction) gets its own copy (the "major parameter"). A client that reads ``Remaining`` and
``Reset-After`` can therefore avoid every 429 after its first response per bucket, and the emulator can count
the 429s a client provoked.

The global limit (50 requests per second per bot) is a sliding one-second window; interaction callbacks and
interaction webhooks are exempt, as the docs say. Everything here is pure: time comes in as an argument, so
tests drive it with plain floats and the server passes ``trio.current_time()``.
"""

from __future__ import annotations

import collections
import hashlib
import math
import time
from typing import Literal

import attrs

from protocol.emulator.config import EmulatorConfig, RouteLimit

Scope = Literal["user", "global", "shared"]


@attrs.define(slots=True)
class _Window:
    limit: int
    per: float
    reset_at: float = 0.0
    used: int = 0


@attrs.frozen(slots=True)
class RateLimitVerdict:
    """The outcome of one request: headers to send and, when limited, the 429 details."""

    headers: tuple[tuple[str, str], ...]
    limited: bool = False
    retry_after: float = 0.0
    scope: Scope = "user"

    def body(self) -> dict[str, object]:
        is_global = self.scope == "global"
        message = (
            "The resource is being rate limited." if self.scope == "shared" else "You are being rate limited."
        )
        return {"message": message, "retry_after": round(self.retry_after, 3), "global": is_global, "code": 0}


@attrs.frozen(slots=True)
class ForcedLimit:
    """A 429 injected by a test (``emu.faults.rate_limit``)."""

    route: str | None
    scope: Scope
    retry_after: float


def bucket_hash(name: str) -> str:
    """An opaque bucket id, stable for a name, shaped like Discord's."""
    return hashlib.blake2b(name.encode(), digest_size=16).hexdigest()


class ServerRateLimiter:
    """Counts requests per bucket and globally; says whether each one passes and with which headers."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global_times: collections.deque[float] = collections.deque()
        self._forced: list[ForcedLimit] = []
        self.limited_count = 0

    def force(self, limit: ForcedLimit, count: int = 1) -> None:
        self._forced.extend([limit] * count)

    def limit_for(self, method: str, template: str, *, interaction: bool) -> tuple[str, RouteLimit]:
        key = f"{method} {template}"
        configured = self._config.route_limits.get(key)
        if configured is not None:
            return configured.bucket or key, configured
        if interaction:
            return key, self._config.interaction_route_limit
        return key, self._config.default_route_limit

    def check(
        self, method: str, template: str, major: str, *, interaction: bool, now: float
    ) -> RateLimitVerdict:
        bucket_name, route_limit = self.limit_for(method, template, interaction=interaction)
        window = self._windows.get((bucket_name, major))
        if window is None:
            window = _Window(route_limit.limit, route_limit.per)
            self._windows[(bucket_name, major)] = window
        if now >= window.reset_at:
            window.used = 0
            window.reset_at = now + window.per
        bucket_id = bucket_hash(bucket_name)

        forced = self._take_forced(template)
        if forced is not None:
            self.limited_count += 1
            return self._verdict(window, bucket_id, now, limited=forced)

        if not interaction and not self._global_allows(now):
            self.limited_count += 1
            retry = self._global_times[0] + 1.0 - now
            return self._verdict(window, bucket_id, now, limited=ForcedLimit(None, "global", retry))

        if window.used >= window.limit:
            self.limited_count += 1
            return self._verdict(
                window, bucket_id, now, limited=ForcedLimit(template, "user", window.reset_at - now)
            )
        window.used += 1
        if not interaction:
            self._global_times.append(now)
        return self._verdict(window, bucket_id, now, limited=None)

    def check_unmetered(self, template: str) -> RateLimitVerdict:
        """A route Discord does not meter (interaction callbacks): no bucket headers, no count; only an
        injected 429 applies."""
        forced = self._take_forced(template)
        if forced is None:
            return RateLimitVerdict(())
        self.limited_count += 1
        retry_after = max(forced.retry_after, 0.001)
        headers = [("X-RateLimit-Scope", forced.scope), ("Retry-After", str(math.ceil(retry_after)))]
        if forced.scope == "global":
            headers.append(("X-RateLimit-Global", "true"))
        return RateLimitVerdict(tuple(headers), limited=True, retry_after=retry_after, scope=forced.scope)

    def _take_forced(self, template: str) -> ForcedLimit | None:
        for index, forced in enumerate(self._forced):
            if forced.route is None or forced.route == template:
                return self._forced.pop(index)
        return None

    def _global_allows(self, now: float) -> bool:
        times = self._global_times
        while times and times[0] <= now - 1.0:
            times.popleft()
        return len(times) < self._config.global_limit_per_second

    def _verdict(
        self, window: _Window, bucket_id: str, now: float, *, limited: ForcedLimit | None
    ) -> RateLimitVerdict:
        reset_after = max(window.reset_at - now, 0.0)
        headers: list[tuple[str, str]] = [
            ("X-RateLimit-Limit", str(window.limit)),
            ("X-RateLimit-Remaining", str(max(window.limit - window.used, 0))),
            ("X-RateLimit-Reset", f"{time.time() + reset_after:.3f}"),
            ("X-RateLimit-Reset-After", f"{reset_after:.3f}"),
            ("X-RateLimit-Bucket", bucket_id),
        ]
        if limited is None:
            return RateLimitVerdict(tuple(headers))
        retry_after = max(limited.retry_after, 0.001)
        headers.append(("X-RateLimit-Scope", limited.scope))
        headers.append(("Retry-After", str(math.ceil(retry_after))))
        if limited.scope == "global":
            headers.append(("X-RateLimit-Global", "true"))
        return RateLimitVerdict(tuple(headers), limited=True, retry_after=retry_after, scope=limited.scope)
