"""Permission computation (protocol.permissions), by table: owner, roles, Administrator, overwrite order."""

from __future__ import annotations

from protocol.permissions import (
    ALL_PERMISSIONS,
    Overwrite,
    OverwriteType,
    Permissions,
    compute_permissions,
    has_permissions,
    missing_permissions,
    parse_overwrites,
)

GUILD = 100
OWNER = 1
MEMBER = 2
MOD_ROLE = 10
MUTED_ROLE = 11
ADMIN_ROLE = 12

P = Permissions
EVERYONE_PERMS = P.VIEW_CHANNEL | P.SEND_MESSAGES | P.READ_MESSAGE_HISTORY
ROLES = {GUILD: int(EVERYONE_PERMS), MOD_ROLE: int(P.BAN_MEMBERS | P.MANAGE_MESSAGES), MUTED_ROLE: 0,
         ADMIN_ROLE: int(P.ADMINISTRATOR)}  # fmt: skip


def perms(member: int, roles: list[int], overwrites: list[Overwrite] | None = None) -> int:
    return compute_permissions(
        guild_id=GUILD,
        owner_id=OWNER,
        member_id=member,
        member_role_ids=roles,
        role_permissions=ROLES,
        overwrites=overwrites,
    )


def role_ow(role: int, allow: int = 0, deny: int = 0) -> Overwrite:
    return Overwrite(role, OverwriteType.ROLE, allow, deny)


def test_owner_has_everything_even_with_denies() -> None:
    assert perms(OWNER, [], [role_ow(GUILD, deny=int(P.VIEW_CHANNEL))]) == ALL_PERMISSIONS


def test_base_is_everyone_or_roles() -> None:
    assert perms(MEMBER, []) == EVERYONE_PERMS
    assert perms(MEMBER, [MOD_ROLE]) == EVERYONE_PERMS | P.BAN_MEMBERS | P.MANAGE_MESSAGES


def test_administrator_is_everything_and_ignores_overwrites() -> None:
    deny_all = [role_ow(GUILD, deny=int(EVERYONE_PERMS))]
    assert perms(MEMBER, [ADMIN_ROLE], deny_all) == ALL_PERMISSIONS
    assert has_permissions(ALL_PERMISSIONS, P.BAN_MEMBERS)


def test_overwrite_order_everyone_then_roles_then_member() -> None:
    overwrites = [
        role_ow(GUILD, deny=int(P.SEND_MESSAGES)),  # channel is read-only for @everyone
        role_ow(MOD_ROLE, allow=int(P.SEND_MESSAGES)),  # ...but mods may talk
        role_ow(MUTED_ROLE, deny=int(P.SEND_MESSAGES)),  # role deny and role allow combine: allow wins
        Overwrite(MEMBER, OverwriteType.MEMBER, 0, int(P.READ_MESSAGE_HISTORY)),
    ]
    plain = perms(3, [], overwrites)
    assert not plain & P.SEND_MESSAGES
    mod = perms(3, [MOD_ROLE, MUTED_ROLE], overwrites)
    assert mod & P.SEND_MESSAGES
    member = perms(MEMBER, [MOD_ROLE], overwrites)
    assert member & P.SEND_MESSAGES and not member & P.READ_MESSAGE_HISTORY


def test_member_overwrite_beats_role_deny() -> None:
    overwrites = [
        role_ow(MUTED_ROLE, deny=int(P.SEND_MESSAGES)),
        Overwrite(MEMBER, OverwriteType.MEMBER, int(P.SEND_MESSAGES), 0),
    ]
    assert perms(MEMBER, [MUTED_ROLE], overwrites) & P.SEND_MESSAGES


def test_no_view_channel_means_nothing() -> None:
    assert perms(MEMBER, [MOD_ROLE], [role_ow(GUILD, deny=int(P.VIEW_CHANNEL))]) == 0


def test_parse_overwrites_from_wire_strings() -> None:
    parsed = parse_overwrites([{"id": "100", "type": 0, "allow": "1024", "deny": "2048"}])
    assert parsed == (Overwrite(100, OverwriteType.ROLE, 1024, 2048),)
    assert parse_overwrites(None) == ()


def test_missing_permissions_names() -> None:
    assert missing_permissions(int(P.VIEW_CHANNEL), int(P.VIEW_CHANNEL | P.BAN_MEMBERS)) == ["ban_members"]
    assert missing_permissions(int(P.ADMINISTRATOR), int(P.BAN_MEMBERS)) == []
    assert not has_permissions(int(P.VIEW_CHANNEL), int(P.BAN_MEMBERS))
