"""Route table for the emulator's REST API: templates named as in Discord's OpenAPI spec.

Why templates and not regexes: the template (``/channels/{channel_id}/messages``) is the identity of a
route everywhere — in rate-limit buckets, in the request log tests read, in the OpenAPI validator, and in
fault injection (``emu.faults.rate_limit("/channels/{channel_id}/messages")``). Matching is per path
segment; a literal segment beats a parameter (``/messages/@original`` before ``/messages/{message_id}``).

Handlers are synchronous: the emulator's state is in memory, so a handler never waits; injected latency
is applied by the server around them. That keeps each request to one pass with no task switches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from protocol.emulator import errors

JSON = Any

#: Parameters that make a top-level resource (Discord's "major parameters"), in priority order.
MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_id", "interaction_id")


@attrs.frozen(slots=True)
class RestResult:
    status: int
    body: JSON = None
    headers: tuple[tuple[str, str], ...] = ()


@attrs.frozen(slots=True)
class RequestContext:
    method: str
    template: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: JSON

    def snowflake(self, name: str) -> int:
        """A path parameter as an int; a non-numeric id is a 404 as on Discord."""
        try:
            return int(self.params[name])
        except ValueError:
            raise errors.not_found() from None

    def query_int(self, name: str, default: int | None, low: int = 0, high: int = 2**63) -> int | None:
        """An integer query parameter clamped to [low, high]; 50035 when it is not a number."""
        raw = self.query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise errors.invalid_form_body(
                {name: errors.field_error("NUMBER_TYPE_COERCE", f'Value "{raw}" is not int.')}
            ) from None
        return min(max(value, low), high)

    def query_limit(self, default: int, high: int) -> int:
        """The ``limit`` query parameter: between 1 and ``high``."""
        value = self.query_int("limit", default, 1, high)
        assert value is not None
        return value

    def json_object(self) -> dict[str, JSON]:
        if not isinstance(self.body, dict):
            raise errors.invalid_form_body(
                {"_errors": [{"code": "DICT_TYPE_CONVERT", "message": "Expected an object."}]}
            )
        return self.body


Handler = Callable[[RequestContext], RestResult]


@attrs.frozen(slots=True)
class Route:
    method: str
    template: str
    segments: tuple[str, ...]
    handler: Handler
    authenticated: bool
    interaction: bool
    literal_count: int
    unmetered: bool = False

    def major(self, params: dict[str, str]) -> str:
        for name in MAJOR_PARAMETERS:
            if name in params:
                if name == "webhook_id" and "webhook_token" in params:
                    return f"{params[name]}/{params['webhook_token']}"
                return params[name]
        return ""


class Router:
    """Routes by segment count, then by first segment (every Discord route starts with a literal such as
    ``channels``), so a request is compared only with the few templates that could match it."""

    def __init__(self) -> None:
        self._by_length: dict[int, list[Route]] = {}
        # Built on the first match after a change: (segment count, literal first segment) -> candidates,
        # and segment count -> routes whose first segment is a parameter (the candidates of any other head).
        self._by_head: dict[tuple[int, str], list[Route]] | None = None
        self._param_head: dict[int, list[Route]] = {}

    def add(
        self,
        method: str,
        template: str,
        handler: Handler,
        *,
        authenticated: bool = True,
        interaction: bool = False,
        unmetered: bool = False,
    ) -> None:
        """``interaction``: exempt from the global limit, bucketed per interaction/token;
        ``unmetered``: no rate limit and no rate-limit headers at all (interaction callbacks)."""
        segments = tuple(template.strip("/").split("/"))
        literal = sum(1 for s in segments if not s.startswith("{"))
        route = Route(method, template, segments, handler, authenticated, interaction, literal, unmetered)
        routes = self._by_length.setdefault(len(segments), [])
        routes.append(route)
        routes.sort(key=lambda r: -r.literal_count)
        self._by_head = None

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        parts = path.strip("/").split("/")
        by_head = self._by_head if self._by_head is not None else self._index()
        candidates = by_head.get((len(parts), parts[0]))
        if candidates is None:
            candidates = self._param_head.get(len(parts), [])
        path_matched = False
        for route in candidates:
            params = _match_segments(route.segments, parts)
            if params is None:
                continue
            path_matched = True
            if route.method == method:
                return route, params
        if path_matched:
            raise errors.method_not_allowed()
        raise errors.not_found()

    def _index(self) -> dict[tuple[int, str], list[Route]]:
        """Each candidate list keeps the order of ``_by_length`` (most literal segments first)."""
        by_head: dict[tuple[int, str], list[Route]] = {}
        self._param_head = {}
        for length, routes in self._by_length.items():
            self._param_head[length] = [r for r in routes if r.segments[0].startswith("{")]
            for head in {r.segments[0] for r in routes if not r.segments[0].startswith("{")}:
                by_head[(length, head)] = [
                    r for r in routes if r.segments[0] == head or r.segments[0].startswith("{")
                ]
        self._by_head = by_head
        return by_head

    def routes(self) -> list[Route]:
        return [route for routes in self._by_length.values() for route in routes]


def _match_segments(template: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for expected, actual in zip(template, parts, strict=True):
        if expected.startswith("{"):
            if not actual:
                return None
            params[expected[1:-1]] = actual
        elif expected != actual:
            return None
    return params
