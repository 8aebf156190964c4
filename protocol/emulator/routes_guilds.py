"""REST routes for guilds: the guild, its channels, roles and members, and member role changes.

Why role changes check the hierarchy: self-assignable roles are a feature of the bot, and the most common
real failure is a bot whose own role sits below the role it hands out. Discord answers that with 50013;
so does the emulator, so a test can reproduce the misconfiguration by moving a role.
"""

from __future__ import annotations

import datetime

from protocol.emulator import errors
from protocol.emulator import permissions as perms
from protocol.emulator.rest_router import RequestContext, RestResult, Router
from protocol.emulator.route_deps import RouteDeps
from protocol.emulator.routes_moderation import parse_timeout
from protocol.emulator.state import Guild, Member


class GuildRoutes:
    def __init__(self, deps: RouteDeps) -> None:
        self._deps = deps
        self._state = deps.state

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/guilds/{guild_id}", self.get_guild)
        add("GET", "/guilds/{guild_id}/channels", self.list_channels)
        add("GET", "/guilds/{guild_id}/roles", self.list_roles)
        add("GET", "/guilds/{guild_id}/roles/{role_id}", self.get_role)
        add("GET", "/guilds/{guild_id}/members", self.list_members)
        add("GET", "/guilds/{guild_id}/members/search", self.search_members)
        add("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member)
        add("PATCH", "/guilds/{guild_id}/members/{user_id}", self.edit_member)
        add("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.add_role)
        add("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.remove_role)

    def _guild(self, ctx: RequestContext) -> Guild:
        guild = self._deps.guild(ctx.snowflake("guild_id"))
        if self._state.bot_user.id not in guild.members:
            raise errors.missing_access()
        return guild

    def _member(self, guild: Guild, ctx: RequestContext) -> Member:
        member = guild.members.get(ctx.snowflake("user_id"))
        if member is None:
            raise errors.unknown_member()
        return member

    def get_guild(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        payload = self._state.guild_payload(guild.id)
        if ctx.query.get("with_counts", "").lower() == "true":
            payload["approximate_member_count"] = len(guild.members)
            payload["approximate_presence_count"] = 0
        return RestResult(200, payload)

    def list_channels(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        return RestResult(200, [self._state.channels[c].to_payload() for c in guild.channel_ids])

    def list_roles(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        return RestResult(
            200, [r.to_payload() for r in sorted(guild.roles.values(), key=lambda r: r.position)]
        )

    def get_role(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        role = guild.roles.get(ctx.snowflake("role_id"))
        if role is None:
            raise errors.unknown_role()
        return RestResult(200, role.to_payload())

    def list_members(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        limit = ctx.query_limit(1, 1000)
        after = ctx.query_int("after", 0) or 0
        ids = sorted(uid for uid in guild.members if uid > after)[:limit]
        return RestResult(200, [self._state.member_payload(guild.id, uid) for uid in ids])

    def search_members(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        query = ctx.query.get("query", "").lower()
        limit = ctx.query_limit(1, 1000)
        found = [
            uid
            for uid, member in guild.members.items()
            if self._state.users[uid].username.lower().startswith(query)
            or (member.nick or "").lower().startswith(query)
        ]
        return RestResult(200, [self._state.member_payload(guild.id, uid) for uid in found[:limit]])

    def get_member(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        member = self._member(guild, ctx)
        return RestResult(200, self._state.member_payload(guild.id, member.user_id))

    def _check_role_change(self, guild: Guild, role_id: int) -> None:
        role = guild.roles.get(role_id)
        if role is None:
            raise errors.unknown_role()
        bot_id = self._state.bot_user.id
        if not self._state.guild_permissions(guild.id, bot_id) & perms.MANAGE_ROLES:
            raise errors.missing_permissions()
        if guild.owner_id != bot_id and role.position >= self._state.highest_role_position(guild.id, bot_id):
            raise errors.missing_permissions()
        if role.managed or role.id == guild.id:
            raise errors.missing_permissions()

    def _member_updated(self, guild: Guild, member: Member) -> None:
        payload = self._state.member_payload(guild.id, member.user_id)
        payload["guild_id"] = str(guild.id)
        self._deps.emit(guild.id, "GUILD_MEMBER_UPDATE", payload)

    def add_role(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        member = self._member(guild, ctx)
        role_id = ctx.snowflake("role_id")
        self._check_role_change(guild, role_id)
        if role_id not in member.role_ids:
            member.role_ids.append(role_id)
            self._member_updated(guild, member)
        return RestResult(204)

    def remove_role(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        member = self._member(guild, ctx)
        role_id = ctx.snowflake("role_id")
        self._check_role_change(guild, role_id)
        if role_id in member.role_ids:
            member.role_ids.remove(role_id)
            self._member_updated(guild, member)
        return RestResult(204)

    def edit_member(self, ctx: RequestContext) -> RestResult:
        guild = self._guild(ctx)
        member = self._member(guild, ctx)
        body = ctx.json_object()
        if "nick" in body:
            if not self._state.guild_permissions(guild.id, self._state.bot_user.id) & perms.MANAGE_NICKNAMES:
                raise errors.missing_permissions()
            nick = body["nick"]
            if nick is not None and (not isinstance(nick, str) or len(nick) > 32):
                raise errors.invalid_form_body(
                    {"nick": errors.field_error("BASE_TYPE_MAX_LENGTH", "Must be 32 or fewer in length.")}
                )
            member.nick = nick or None
        if "communication_disabled_until" in body:
            self._deps.require_outranks(guild, member.user_id, perms.MODERATE_MEMBERS)
            now = datetime.datetime.now(tz=datetime.UTC)
            member.communication_disabled_until = parse_timeout(body["communication_disabled_until"], now)
        if "roles" in body:
            raw_roles = body["roles"] or []
            if not isinstance(raw_roles, list):
                raise errors.invalid_form_body(
                    {"roles": errors.field_error("BASE_TYPE_LIST", "Must be a list.")}
                )
            wanted = [errors.snowflake_field(r, "roles") for r in raw_roles]
            for role_id in set(wanted) ^ set(member.role_ids):
                self._check_role_change(guild, role_id)
            member.role_ids = wanted
        self._member_updated(guild, member)
        return RestResult(200, self._state.member_payload(guild.id, member.user_id))
