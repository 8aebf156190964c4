"""Configuration of the local Discord emulator.

Why a plain frozen attrs class and not the bot's TOML configuration: the emulator is a test instrument that
tests, the sandbox and the benchmarks build in code, each with its own knobs (a tight bucket to provoke 429s,
four shards, a short interaction deadline under MockClock). Every default mirrors what real Discord does
today, so a test that sets nothing sees Discord-like behaviour.

Route limits are keyed by ``"METHOD /route/template"`` using the OpenAPI spec's parameter names (for example
``"POST /channels/{channel_id}/messages"``), the same names the REST client uses for its routes. Routes that
share a ``bucket`` name share one limit per top-level resource, as Discord's shared buckets do.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from protocol.emulator.http_server import HTTP_CODECS, HttpCodec


@attrs.frozen(slots=True)
class RouteLimit:
    """A fixed-window limit: ``limit`` requests per ``per`` seconds for one route and top-level resource."""

    limit: int
    per: float
    bucket: str | None = None


def _default_route_limits() -> dict[str, RouteLimit]:
    # Values chosen after what Discord returns for these routes in practice.
    return {
        "POST /channels/{channel_id}/messages": RouteLimit(5, 5.0, bucket="channel-messages-create"),
        "PATCH /channels/{channel_id}/messages/{message_id}": RouteLimit(
            5, 5.0, bucket="channel-messages-edit"
        ),
        "DELETE /channels/{channel_id}/messages/{message_id}": RouteLimit(
            5, 5.0, bucket="channel-messages-delete"
        ),
        # Discord's reaction limit is 1 per 0.25 s. Adding and removing get separate buckets here so that an
        # ordinary add-then-remove does not meet a shared bucket the client could not have learned yet;
        # tests of shared buckets configure one explicitly (``RouteLimit(..., bucket="name")``).
        "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me": RouteLimit(
            1, 0.25, bucket="reactions-add"
        ),
        "DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me": RouteLimit(
            1, 0.25, bucket="reactions-remove"
        ),
        "PUT /applications/{application_id}/commands": RouteLimit(5, 20.0, bucket="commands-bulk"),
        "PUT /applications/{application_id}/guilds/{guild_id}/commands": RouteLimit(
            5, 20.0, bucket="guild-commands-bulk"
        ),
        "PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}": RouteLimit(
            10, 10.0, bucket="member-roles"
        ),
        "DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}": RouteLimit(
            10, 10.0, bucket="member-roles"
        ),
    }


@attrs.frozen(slots=True, kw_only=True)
class EmulatorConfig:
    """Every knob of the emulator; defaults behave like Discord."""

    host: str = "127.0.0.1"
    port: int = 0
    # None: a token shaped like Discord's (base64 of the bot id, a dot, ...), which some libraries parse
    # (hikari reads the application id from it). Never a real credential.
    token: str | None = None
    application_id: int | None = None
    bot_username: str = "Twi Bot Shard"
    seed_sandbox: bool = True

    # Gateway
    shard_count: int = 1
    max_concurrency: int = 1
    session_start_limit_total: int = 1000
    heartbeat_interval_ms: int = 41_250
    gateway_send_limit: int = 120
    gateway_send_window: float = 60.0
    replay_buffer_size: int = 50_000
    # Privileged intents the application is approved for (IDENTIFY asking for others closes with 4014);
    # None: all of GUILD_MEMBERS, GUILD_PRESENCES and MESSAGE_CONTENT.
    privileged_intents: int | None = None
    # Opt-in strictness (off by default so tests under MockClock are not surprised):
    # close (4000, resumable) a connection that sends no heartbeat for interval * factor;
    heartbeat_timeout_factor: float | None = None
    # answer an IDENTIFY with op 9 (false) when the same bucket (shard_id % max_concurrency) identified less
    # than ``identify_interval`` seconds ago, as Discord does with clients that identify too fast.
    enforce_identify_rate: bool = False
    identify_interval: float = 5.0
    # Events caused by the bot's own REST calls (MESSAGE_CREATE for its messages, ...) are dispatched back,
    # as Discord does. Benchmarks that only want the REST side may turn this off.
    echo_rest_events: bool = True

    # REST
    # The invalid request limit ("Cloudflare ban"): this many 401/403/429 (not shared-scope 429) within the
    # window blocks every REST request for ``cloudflare_ban_seconds``.
    invalid_request_limit: int = 10_000
    invalid_request_window: float = 600.0
    cloudflare_ban_seconds: float = 3600.0
    # Keep every request in ``emu.requests`` (tests read it); benchmarks sending millions turn it off.
    record_requests: bool = True
    global_limit_per_second: int = 50
    default_route_limit: RouteLimit = RouteLimit(50, 1.0)
    route_limits: Mapping[str, RouteLimit] = attrs.field(factory=_default_route_limits)
    # Limits on interaction callbacks and interaction webhooks are per interaction / token, so a bot answering
    # many interactions never shares a bucket between them (and they are exempt from the global limit).
    interaction_route_limit: RouteLimit = RouteLimit(5, 1.0)

    # Gateway transport compression: zlib's level for ``zlib-stream`` (-1: zlib's default, 6). Clients decode
    # any level; benchmarks use 1, which costs the emulator less than half the CPU per frame.
    zlib_level: int = -1
    # HTTP/1.1 codec of the REST and gateway port: "h11" (strict, independent of our code: what tests run) or
    # "fast" (`protocol.emulator.http_fast`, a sixth of h11's CPU per request; benchmarks use it so the
    # driver process hosting the emulator does not become the bottleneck).
    http_codec: HttpCodec = attrs.field(default="h11", validator=attrs.validators.in_(HTTP_CODECS))

    # Interactions
    interaction_deadline: float = 3.0
    interaction_token_lifetime: float = 15 * 60.0
