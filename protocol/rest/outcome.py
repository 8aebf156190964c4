"""What a REST response says about rate limits: the headers, the 429 body, and its scope.

Parsed once per response by the client and handed to the planner (`protocol.rest.buckets`) as an `Outcome`.
Header values that are missing, negative or not numbers are treated as absent, never as zero: a malformed
``Reset-After`` must not turn into "retry at once".
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

__all__ = ["DEFAULT_RETRY_AFTER", "UNKNOWN_WEBHOOK", "Outcome", "RateLimitHeaders", "Scope"]

#: When a 429 gives no usable retry time at all, wait this long rather than retrying at once.
DEFAULT_RETRY_AFTER: Final = 1.0
#: Discord's JSON error code "Unknown Webhook".
UNKNOWN_WEBHOOK: Final = 10015


class Scope(enum.Enum):
    """``X-RateLimit-Scope`` of a 429."""

    USER = "user"
    GLOBAL = "global"
    SHARED = "shared"


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        result = float(value)
    except ValueError:
        return None
    return result if math.isfinite(result) and result >= 0 else None


def _int(value: str | None) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


@attrs.frozen(slots=True)
class RateLimitHeaders:
    """The rate-limit headers of one response (absent headers are ``None``)."""

    bucket: str | None = None
    limit: int | None = None
    remaining: int | None = None
    reset_after: float | None = None
    scope: str | None = None
    is_global: bool = False
    retry_after: float | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateLimitHeaders:
        """Read the headers from a mapping with lower-case keys (or a case-insensitive one, e.g. httpx's)."""
        get = headers.get
        bucket = get("x-ratelimit-bucket")
        if bucket is None and get("x-ratelimit-global") is None and get("retry-after") is None:
            return _NO_HEADERS
        return cls(
            bucket=bucket,
            limit=_int(get("x-ratelimit-limit")),
            remaining=_int(get("x-ratelimit-remaining")),
            reset_after=_float(get("x-ratelimit-reset-after")),
            scope=get("x-ratelimit-scope"),
            is_global=(get("x-ratelimit-global") or "").lower() == "true",
            retry_after=_float(get("retry-after")),
        )


_NO_HEADERS: Final = RateLimitHeaders()


@attrs.frozen(slots=True)
class Outcome:
    """What the planner needs to know about a finished request."""

    status: int
    limits: RateLimitHeaders = _NO_HEADERS
    #: ``retry_after`` from a 429's JSON body (more precise than the ``Retry-After`` header).
    body_retry_after: float | None = None
    body_global: bool = False
    #: Discord's JSON error ``code`` of an error answer (0 when absent).
    error_code: int = 0

    @classmethod
    def from_response(cls, status: int, headers: Mapping[str, str], body: Any = None) -> Outcome:
        limits = RateLimitHeaders.parse(headers)
        retry_after: float | None = None
        body_global = False
        error_code = 0
        if status >= 400 and isinstance(body, dict):
            code = body.get("code")
            error_code = code if type(code) is int else 0
            if status == 429:
                raw = body.get("retry_after")
                if (
                    isinstance(raw, int | float)
                    and not isinstance(raw, bool)
                    and math.isfinite(raw)
                    and raw >= 0
                ):
                    retry_after = float(raw)
                body_global = body.get("global") is True
        return cls(status, limits, retry_after, body_global, error_code)

    @property
    def scope(self) -> Scope | None:
        """The 429's scope (``None`` for other statuses)."""
        if self.status != 429:
            return None
        raw = self.limits.scope
        if raw == "shared":
            return Scope.SHARED
        if raw == "global" or self.limits.is_global or self.body_global:
            return Scope.GLOBAL
        return Scope.USER

    @property
    def retry_after(self) -> float:
        """Seconds to wait before retrying a 429."""
        for candidate in (self.body_retry_after, self.limits.retry_after, self.limits.reset_after):
            if candidate is not None:
                return candidate
        return DEFAULT_RETRY_AFTER
