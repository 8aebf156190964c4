"""REST routes about the bot itself: users, the application, the gateway URL and DM channels.

Why ``GET /gateway/bot`` matters most here: it is how the bot learns where the gateway is, how many shards
to run and how many identifies it has left (``session_start_limit``). Pointing ``DISCORD_API_BASE`` at the
emulator therefore points the whole bot at it, with no second setting to forget.
"""

from __future__ import annotations

from collections.abc import Callable

from protocol.emulator import errors
from protocol.emulator.rest_router import RequestContext, RestResult, Router
from protocol.emulator.route_deps import RouteDeps


def register(router: Router, deps: RouteDeps, gateway_info: Callable[[], tuple[str, int]]) -> None:
    """``gateway_info()`` returns (gateway url, session starts so far)."""
    state = deps.state
    config = deps.config

    def get_me(ctx: RequestContext) -> RestResult:
        return RestResult(200, state.current_user_payload())

    def get_user(ctx: RequestContext) -> RestResult:
        user = state.users.get(ctx.snowflake("user_id"))
        if user is None:
            raise errors.unknown_user()
        return RestResult(200, user.to_payload())

    def get_application(ctx: RequestContext) -> RestResult:
        return RestResult(200, state.application.to_payload(state.users))

    def get_gateway(ctx: RequestContext) -> RestResult:
        return RestResult(200, {"url": gateway_info()[0]})

    def get_gateway_bot(ctx: RequestContext) -> RestResult:
        url, starts = gateway_info()
        return RestResult(
            200,
            {
                "url": url,
                "shards": config.shard_count,
                "session_start_limit": {
                    "total": config.session_start_limit_total,
                    "remaining": max(config.session_start_limit_total - starts, 0),
                    "reset_after": 86_400_000,
                    "max_concurrency": config.max_concurrency,
                },
            },
        )

    def create_dm(ctx: RequestContext) -> RestResult:
        body = ctx.json_object()
        recipient = errors.snowflake_field(body.get("recipient_id"), "recipient_id")
        if recipient not in state.users:
            raise errors.unknown_user()
        if state.users[recipient].bot:
            raise errors.cannot_message_user()
        return RestResult(200, state.dm_channel(recipient).to_payload(state.users))

    def my_guilds(ctx: RequestContext) -> RestResult:
        bot_id = state.bot_user.id
        return RestResult(
            200,
            [
                {
                    "id": str(g.id),
                    "name": g.name,
                    "icon": None,
                    "banner": None,
                    "owner": False,
                    "permissions": str(state.guild_permissions(g.id, bot_id)),
                    "features": [],
                }
                for g in state.guilds.values()
                if bot_id in g.members
            ],
        )

    router.add("GET", "/users/@me", get_me)
    router.add("GET", "/users/{user_id}", get_user)
    router.add("GET", "/oauth2/applications/@me", get_application)
    router.add("GET", "/applications/@me", get_application)
    router.add("GET", "/gateway", get_gateway, authenticated=False)
    router.add("GET", "/gateway/bot", get_gateway_bot)
    router.add("POST", "/users/@me/channels", create_dm)
    router.add("GET", "/users/@me/guilds", my_guilds)
