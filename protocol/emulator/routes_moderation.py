"""REST routes for moderation: bans, kicks and timeouts, with Discord's permission and hierarchy rules.

Why hierarchy is checked: a moderation command that tries to ban the guild owner, an admin above the bot,
or the bot itself must fail the way Discord fails it (50013 Missing Permissions), so the command system's
error mapping is exercised by real responses. Each action emits what Discord emits (GUILD_BAN_ADD,
GUILD_MEMBER_REMOVE, GUILD_MEMBER_UPDATE) and the audit reason header is kept in the request log.
"""

from __future__ import annotations

import datetime

from protocol.emulator import errors
from protocol.emulator import permissions as perms
from protocol.emulator.rest_router import RequestContext, RestResult, Router
from protocol.emulator.route_deps import RouteDeps
from protocol.emulator.state import Guild, JSONObject

MAX_TIMEOUT = datetime.timedelta(days=28)


class ModerationRoutes:
    def __init__(self, deps: RouteDeps) -> None:
        self._deps = deps
        self._state = deps.state

    def register(self, router: Router) -> None:
        router.add("GET", "/guilds/{guild_id}/bans", self.list_bans)
        router.add("GET", "/guilds/{guild_id}/bans/{user_id}", self.get_ban)
        router.add("PUT", "/guilds/{guild_id}/bans/{user_id}", self.ban)
        router.add("DELETE", "/guilds/{guild_id}/bans/{user_id}", self.unban)
        router.add("DELETE", "/guilds/{guild_id}/members/{user_id}", self.kick)

    def _guild(self, ctx: RequestContext) -> Guild:
        guild = self._deps.guild(ctx.snowflake("guild_id"))
        if self._state.bot_user.id not in guild.members:
            raise errors.missing_access()
        return guild

    def _ban_payload(self, user_id: int, reason: str | None) -> JSONObject:
        return {"user": self._state.users[user_id].to_payload(), "reason": reason}

    def list_bans(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        if not self._state.guild_permissions(guild.id, self._state.bot_user.id) & perms.BAN_MEMBERS:
            raise errors.missing_permissions()
        return RestResult(200, [self._ban_payload(uid, reason) for uid, reason in guild.bans.items()])

    def get_ban(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        user_id = ctx.snowflake("user_id")
        if user_id not in guild.bans:
            raise errors.unknown_ban()
        return RestResult(200, self._ban_payload(user_id, guild.bans[user_id]))

    def ban(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        user_id = ctx.snowflake("user_id")
        if user_id not in self._state.users:
            raise errors.unknown_user()
        self._deps.require_outranks(guild, user_id, perms.BAN_MEMBERS)
        body = ctx.body if isinstance(ctx.body, dict) else {}
        seconds = body.get("delete_message_seconds", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= 604_800:
            raise errors.invalid_form_body(
                {
                    "delete_message_seconds": errors.field_error(
                        "NUMBER_TYPE_MAX", "Must be between 0 and 604800."
                    )
                }
            )
        guild.bans[user_id] = ctx.headers.get("x-audit-log-reason")
        self._deps.emit(
            guild.id,
            "GUILD_BAN_ADD",
            {"guild_id": str(guild.id), "user": self._state.users[user_id].to_payload()},
        )
        if guild.members.pop(user_id, None) is not None:
            self._member_removed(guild, user_id)
        return RestResult(204)

    def unban(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        user_id = ctx.snowflake("user_id")
        if not self._state.guild_permissions(guild.id, self._state.bot_user.id) & perms.BAN_MEMBERS:
            raise errors.missing_permissions()
        if guild.bans.pop(user_id, "missing") == "missing":
            raise errors.unknown_ban()
        payload = {"guild_id": str(guild.id), "user": self._state.users[user_id].to_payload()}
        self._deps.emit(guild.id, "GUILD_BAN_REMOVE", payload)
        return RestResult(204)

    def kick(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        user_id = ctx.snowflake("user_id")
        if user_id not in guild.members:
            raise errors.unknown_member()
        self._deps.require_outranks(guild, user_id, perms.KICK_MEMBERS)
        del guild.members[user_id]
        self._member_removed(guild, user_id)
        return RestResult(204)

    def _member_removed(self, guild: Guild, user_id: int) -> None:
        payload = {"guild_id": str(guild.id), "user": self._state.users[user_id].to_payload()}
        self._deps.emit(guild.id, "GUILD_MEMBER_REMOVE", payload)


def parse_timeout(value: object, now: datetime.datetime) -> str | None:
    """A ``communication_disabled_until`` value: None, or an ISO timestamp at most 28 days ahead."""
    if value is None:
        return None
    problem = errors.invalid_form_body(
        {
            "communication_disabled_until": errors.field_error(
                "DATE_TYPE_INVALID", "Must be an ISO8601 timestamp up to 28 days ahead."
            )
        }
    )
    if not isinstance(value, str):
        raise problem
    try:
        until = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise problem from None
    if until.tzinfo is None:
        until = until.replace(tzinfo=datetime.UTC)
    if until - now > MAX_TIMEOUT:
        raise problem
    return until.isoformat()
