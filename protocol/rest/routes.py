"""REST routes, named after Discord's own path templates.

A route is identified the way Discord's documentation and OpenAPI spec write it: ``POST
/channels/{channel_id}/messages``. Keeping Discord's spelling (rather than inventing names such as
``CREATE_MESSAGE``) means a reader can grep the spec for any route we call, the OpenAPI validator can match
our requests against the spec one to one, and telemetry labels are the bounded set of templates.

Why a `Route` and a `CompiledRoute`:

* `Route` is the *template* (method + path with ``{placeholders}``). It is parsed once and cached, because the
  bot calls the same few dozen templates millions of times. It knows which placeholders are *major
  parameters* — Discord computes per-route limits per top-level resource: ``channel_id``, ``guild_id`` and
  ``webhook_id`` (+ ``webhook_token``) — and whether the route is exempt from the global 50 req/s limit
  (interaction callbacks and token-authenticated webhook routes, which include interaction follow-ups).
* `CompiledRoute` is one concrete request target: the route plus the percent-encoded path and the tuple of
  major-parameter values. The rate limiter keys buckets on ``(bucket hash or route, major values)``, so two
  channels never share a bucket even when Discord reports the same ``X-RateLimit-Bucket`` hash for both.

Interaction callbacks (``/interactions/{interaction_id}/{interaction_token}/callback``) are treated as their
own top-level resource (the interaction id): each interaction is answered once, and serialising the
callbacks of different interactions behind one unknown bucket would add latency exactly where Discord's
3-second deadline bites. They are also *single-use* (`Route.single_use`): an interaction accepts one
callback, so there is no bucket to share or learn, and the client sends them without asking the rate limiter
— on a bot answering interactions that saves an actor round trip per answer (the limiter is still consulted
for a retry after a 429, whose ``retry_after`` the client always honours).

Some routes are known to share one limit before any response says so: adding and removing reactions are
limited together per channel (roughly one change per quarter second). Such routes carry a ``bucket_group`` so
the rate limiter starts them in one shared pseudo-bucket and, once any of them has learned the bucket hash,
sends the others to that bucket too — otherwise the first removal after an addition provokes a 429 that
nothing could have predicted. The group is only a first guess; each route's own ``X-RateLimit-Bucket``
overrides it.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

import attrs

__all__ = ["CompiledRoute", "Route", "route"]

_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# The characters `quote` never encodes (RFC 3986 "unreserved"): ids, and tokens (base64url: ``-`` and ``_``).
_UNRESERVED: Final = re.compile(r"[A-Za-z0-9_.~-]*")

#: Path parameters that make a top-level resource, in the order they appear in bucket keys.
MAJOR_PARAMETERS: Final[frozenset[str]] = frozenset(
    {"channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_id", "interaction_token"}
)

_METHODS: Final[frozenset[str]] = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def _is_global_exempt(template: str) -> bool:
    # Interaction endpoints (callback, follow-ups and original-response edits, which live under the
    # application's webhook) are not bound to the global limit; neither are token-authenticated webhooks.
    return template.startswith("/interactions/") or template.startswith(
        "/webhooks/{webhook_id}/{webhook_token}"
    )


_SINGLE_USE: Final[frozenset[str]] = frozenset(
    {"POST /interactions/{interaction_id}/{interaction_token}/callback"}
)


def _bucket_group(method: str, template: str) -> str | None:
    if method in ("PUT", "DELETE") and "/reactions/" in template:
        return "reaction-changes"
    return None


def _uses_bot_token(template: str) -> bool:
    # Routes authenticated by a token in the path never send the bot token; a 401 from them says nothing
    # about the bot token's validity.
    return not _is_global_exempt(template)


@attrs.frozen(slots=True, eq=False)
class Route:
    """One Discord REST route template, e.g. ``Route("POST", "/channels/{channel_id}/messages")``.

    Build routes with `route` (cached) rather than the constructor on hot paths.
    """

    method: str
    template: str
    #: ``"POST /channels/{channel_id}/messages"``: the stable name used in bucket keys and telemetry.
    name: str = attrs.field(init=False)
    params: tuple[str, ...] = attrs.field(init=False)
    major_params: tuple[str, ...] = attrs.field(init=False)
    global_exempt: bool = attrs.field(init=False)
    uses_bot_token: bool = attrs.field(init=False)
    #: Routes known to share one limit before Discord says so (see the module docstring), else None.
    bucket_group: str | None = attrs.field(init=False)
    #: One request per resource ever (an interaction's callback): nothing for a rate limiter to track.
    single_use: bool = attrs.field(init=False)
    param_names: frozenset[str] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        method = self.method.upper()
        if method not in _METHODS:
            raise ValueError(f"unsupported HTTP method {self.method!r}")
        if not self.template.startswith("/"):
            raise ValueError(f"route template must start with '/': {self.template!r}")
        params = tuple(_PLACEHOLDER.findall(self.template))
        if len(set(params)) != len(params):
            raise ValueError(f"duplicate placeholder in {self.template!r}")
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "name", f"{method} {self.template}")
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "param_names", frozenset(params))
        object.__setattr__(self, "major_params", tuple(p for p in params if p in MAJOR_PARAMETERS))
        object.__setattr__(self, "global_exempt", _is_global_exempt(self.template))
        object.__setattr__(self, "uses_bot_token", _uses_bot_token(self.template))
        object.__setattr__(self, "bucket_group", _bucket_group(method, self.template))
        object.__setattr__(self, "single_use", f"{method} {self.template}" in _SINGLE_USE)

    def compile(self, **values: int | str) -> CompiledRoute:
        """Fill the placeholders (percent-encoding each value) and compute the major-parameter key."""
        if values.keys() != self.param_names:
            missing = [p for p in self.params if p not in values]
            extra = [k for k in values if k not in self.params]
            raise TypeError(f"{self.name}: missing path parameters {missing}, unexpected {extra}")
        encoded: dict[str, str] = {}
        for name, value in values.items():
            if type(value) is int:
                encoded[name] = str(value)
                continue
            text = str(value)
            # ids and tokens are unreserved characters, which `quote` returns unchanged: skip it (it is the
            # costliest step of an interaction callback's compile)
            encoded[name] = text if _UNRESERVED.fullmatch(text) else quote(text, safe="")
        path = self.template.format_map(encoded)
        return CompiledRoute(self, path, tuple([encoded[p] for p in self.major_params]))

    def __repr__(self) -> str:
        return f"Route({self.name!r})"


@attrs.frozen(slots=True)
class CompiledRoute:
    """A concrete request target: the route, its encoded path and its major-parameter values."""

    route: Route
    path: str
    major: tuple[str, ...]

    @property
    def method(self) -> str:
        return self.route.method

    def __repr__(self) -> str:
        # Never print the path: webhook and interaction tokens live in it.
        return f"CompiledRoute({self.route.name!r})"


_CACHE: dict[tuple[str, str], Route] = {}


def route(method: str, template: str) -> Route:
    """The cached `Route` for ``method`` and ``template`` (parsed once per process)."""
    key = (method, template)
    found = _CACHE.get(key)
    if found is None:
        found = Route(method, template)
        if len(_CACHE) < 4096:  # templates are a bounded set; a runaway caller must not grow this forever
            _CACHE[key] = found
    return found
