"""Activity capture: Discord dispatch payloads (raw gateway JSON) -> activity records for the storage writer.

Why here and pure: this is the mapping from what Discord sends to what the stats tables hold, and nothing
else — no I/O, no actors, no protocol models (the hot path hands raw ``d`` mappings around; building typed
models for every MESSAGE_CREATE only to copy six fields would cost more than the write). It is a function of
(event name, payload) plus one small piece of state, the voice channel each member is in, needed to tell a
voice *move* from a *join*. `ActivityCapture.records()` never raises on malformed input: a payload missing
what it needs yields no records (and is counted), because a listener must never crash a guild actor.

What is captured follows the original bot's listeners (inventory §1): messages (with attachments and
embed/mention counts), edits, deletes (single and bulk), reactions added/removed, member joins/leaves, and
mirrors of guilds, channels, threads, roles and users, and role changes. A role change is the difference
between a member's previous and new roles; the slim guild cache keeps no member lists, so this capture keeps
the last role set it saw per member (from GUILD_MEMBER_ADD/UPDATE, bounded LRU of ``max_members``): the first
update of a member it has not seen only sets the baseline.

The users mirror is fed by every message's author, but a user's name rarely changes between two of their
messages: the capture remembers the last (name, display name, bot flag) it emitted per user (bounded by
``max_users``; forgotten all at once when full) and emits a `UserRecord` only when that changes. An active
channel's messages then cost one row each instead of two, and the writer's upserts shrink to the users who
actually changed (or were not seen since the start, or since the memory was last cleared).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from storage.repositories.activity import (
    ActivityRecord,
    AttachmentRecord,
    ChannelRecord,
    GuildRecord,
    MemberEventRecord,
    MessageDeleteRecord,
    MessageEditRecord,
    MessageRecord,
    ReactionRecord,
    RoleChangeRecord,
    RoleRecord,
    UserRecord,
    VoiceEventRecord,
)

DISCORD_EPOCH_MS = 1_420_070_400_000
Payload = Mapping[str, Any]


def snowflake_time(snowflake: int) -> datetime:
    """When a Discord id was created (its top 42 bits are milliseconds since 2015-01-01)."""
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


def _id(value: Any) -> int | None:
    if value is None:
        return None
    return int(value)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value if type(value) is str else str(value))  # "Z" included (3.11+)


def _channel(raw: Payload, guild_id: int, *, deleted: bool = False) -> ChannelRecord:
    return ChannelRecord(
        channel_id=int(raw["id"]),
        guild_id=guild_id,
        name=str(raw.get("name") or ""),
        kind=int(raw.get("type", 0)),
        parent_id=_id(raw.get("parent_id")),
        position=raw.get("position"),
        is_nsfw=bool(raw.get("nsfw", False)),
        deleted=deleted,
    )


def _role(raw: Payload, guild_id: int) -> RoleRecord:
    return RoleRecord(
        role_id=int(raw["id"]),
        guild_id=guild_id,
        name=str(raw.get("name") or ""),
        color=int(raw.get("color", 0)),
        position=int(raw.get("position", 0)),
        permissions=int(raw.get("permissions", 0)),
        hoisted=bool(raw.get("hoist", False)),
        managed=bool(raw.get("managed", False)),
    )


class ActivityCapture:
    """Turns dispatches into records; keeps only the voice channel per (guild, member)."""

    def __init__(
        self,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        max_members: int = 200_000,
        max_users: int = 200_000,
    ) -> None:
        self._now = now
        self._voice: dict[tuple[int, int], int] = {}
        self._roles: OrderedDict[tuple[int, int], frozenset[int]] = OrderedDict()
        self._max_members = max_members
        self._users: dict[int, tuple[str, Any, bool]] = {}  # user id -> what its last UserRecord said
        self._max_users = max_users
        self.malformed = 0
        self._handlers: dict[str, Callable[[Payload], list[ActivityRecord]]] = {
            "MESSAGE_CREATE": self._message_create,
            "MESSAGE_UPDATE": self._message_update,
            "MESSAGE_DELETE": self._message_delete,
            "MESSAGE_DELETE_BULK": self._message_delete_bulk,
            "MESSAGE_REACTION_ADD": lambda d: self._reaction(d, added=True),
            "MESSAGE_REACTION_REMOVE": lambda d: self._reaction(d, added=False),
            "GUILD_MEMBER_ADD": self._member_add,
            "GUILD_MEMBER_REMOVE": self._member_remove,
            "GUILD_MEMBER_UPDATE": self._member_update,
            "GUILD_CREATE": self._guild_create,
            "GUILD_UPDATE": self._guild_update,
            "CHANNEL_CREATE": self._channel_upsert,
            "CHANNEL_UPDATE": self._channel_upsert,
            "THREAD_CREATE": self._channel_upsert,
            "THREAD_UPDATE": self._channel_upsert,
            "CHANNEL_DELETE": self._channel_delete,
            "THREAD_DELETE": self._channel_delete,
            "GUILD_ROLE_CREATE": self._role_upsert,
            "GUILD_ROLE_UPDATE": self._role_upsert,
            "VOICE_STATE_UPDATE": self._voice_state,
        }

    @property
    def events(self) -> frozenset[str]:
        """The dispatch names this capture turns into records (others yield nothing)."""
        return frozenset(self._handlers)

    def records(self, event: str | None, data: Any) -> list[ActivityRecord]:
        handler = self._handlers.get(event or "")
        if handler is None or (type(data) is not dict and not isinstance(data, Mapping)):
            return []
        try:
            return handler(data)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError):
            self.malformed += 1
            return []

    # -- messages -------------------------------------------------------------------------------------

    def _message_create(self, d: Payload) -> list[ActivityRecord]:
        author = d["author"]
        message_id = int(d["id"])
        attachments = tuple(
            AttachmentRecord(
                attachment_id=int(a["id"]),
                filename=str(a.get("filename") or ""),
                size_bytes=int(a.get("size", 0)),
                content_type=a.get("content_type"),
                url=a.get("url"),
            )
            for a in d.get("attachments") or ()
        )
        reference = d.get("message_reference") or {}
        message = MessageRecord(
            message_id=message_id,
            channel_id=int(d["channel_id"]),
            author_id=int(author["id"]),
            created_at=_time(d.get("timestamp")) or snowflake_time(message_id),
            guild_id=_id(d.get("guild_id")),
            content=str(d.get("content") or ""),
            is_bot=bool(author.get("bot", False)),
            reference_id=_id(reference.get("message_id")),
            embed_count=len(d.get("embeds") or ()),
            mention_count=len(d.get("mentions") or ()) + len(d.get("mention_roles") or ()),
            attachments=attachments,
        )
        user = self._changed_user(author)
        return [message] if user is None else [user, message]

    def _changed_user(self, author: Payload) -> UserRecord | None:
        """The author's `UserRecord` if it differs from the last one emitted for them, else None."""
        user_id = int(author["id"])
        seen = (str(author.get("username") or ""), author.get("global_name"), bool(author.get("bot", False)))
        users = self._users
        if users.get(user_id) == seen:
            return None
        if len(users) >= self._max_users:
            users.clear()  # a bounded memory; forgetting only costs a repeated (idempotent) upsert
        users[user_id] = seen
        return UserRecord(user_id=user_id, username=seen[0], global_name=seen[1], is_bot=seen[2])

    def _message_update(self, d: Payload) -> list[ActivityRecord]:
        if "content" not in d:  # embed-only updates (link previews) carry no new text
            return []
        return [
            MessageEditRecord(
                message_id=int(d["id"]),
                channel_id=int(d["channel_id"]),
                edited_at=_time(d.get("edited_timestamp")) or self._now(),
                content=str(d["content"] or ""),
                guild_id=_id(d.get("guild_id")),
            )
        ]

    def _message_delete(self, d: Payload) -> list[ActivityRecord]:
        return [MessageDeleteRecord(message_id=int(d["id"]), deleted_at=self._now())]

    def _message_delete_bulk(self, d: Payload) -> list[ActivityRecord]:
        now = self._now()
        return [MessageDeleteRecord(message_id=int(i), deleted_at=now) for i in d["ids"]]

    def _reaction(self, d: Payload, *, added: bool) -> list[ActivityRecord]:
        emoji = d.get("emoji") or {}
        return [
            ReactionRecord(
                message_id=int(d["message_id"]),
                channel_id=int(d["channel_id"]),
                user_id=int(d["user_id"]),
                added=added,
                created_at=self._now(),
                guild_id=_id(d.get("guild_id")),
                emoji_id=_id(emoji.get("id")),
                emoji_name=emoji.get("name"),
            )
        ]

    # -- members --------------------------------------------------------------------------------------

    def _member_add(self, d: Payload) -> list[ActivityRecord]:
        user = d["user"]
        guild_id, user_id = int(d["guild_id"]), int(user["id"])
        self._remember_roles((guild_id, user_id), frozenset(int(r) for r in d.get("roles") or ()))
        joined = _time(d.get("joined_at")) or self._now()
        event = MemberEventRecord(guild_id, user_id, "join", joined)
        changed = self._changed_user(user)
        return [event] if changed is None else [changed, event]

    def _member_remove(self, d: Payload) -> list[ActivityRecord]:
        guild_id, user_id = int(d["guild_id"]), int(d["user"]["id"])
        self._roles.pop((guild_id, user_id), None)
        return [MemberEventRecord(guild_id, user_id, "leave", self._now())]

    def _member_update(self, d: Payload) -> list[ActivityRecord]:
        user = d["user"]
        key = (int(d["guild_id"]), int(user["id"]))
        roles = frozenset(int(r) for r in d["roles"])
        previous = self._roles.get(key)
        self._remember_roles(key, roles)
        changed = self._changed_user(user)
        records: list[ActivityRecord] = [] if changed is None else [changed]
        if previous is not None:
            now = self._now()
            records += [RoleChangeRecord(key[0], key[1], r, True, now) for r in sorted(roles - previous)]
            records += [RoleChangeRecord(key[0], key[1], r, False, now) for r in sorted(previous - roles)]
        return records

    def _remember_roles(self, key: tuple[int, int], roles: frozenset[int]) -> None:
        self._roles[key] = roles
        self._roles.move_to_end(key)
        while len(self._roles) > self._max_members:
            self._roles.popitem(last=False)

    def _voice_state(self, d: Payload) -> list[ActivityRecord]:
        guild_id = d.get("guild_id")
        if guild_id is None:
            return []
        key = (int(guild_id), int(d["user_id"]))
        channel_id = _id(d.get("channel_id"))
        previous = self._voice.get(key)
        if channel_id == previous:
            return []  # mute/deafen/stream changes: not a movement
        if channel_id is None:
            self._voice.pop(key, None)
            kind = "leave"
        else:
            self._voice[key] = channel_id
            kind = "join" if previous is None else "move"
        return [VoiceEventRecord(key[0], key[1], kind, self._now(), channel_id, previous)]

    # -- mirrors --------------------------------------------------------------------------------------

    def _guild_create(self, d: Payload) -> list[ActivityRecord]:
        if d.get("unavailable"):
            return []
        guild_id = int(d["id"])
        records: list[ActivityRecord] = [
            GuildRecord(guild_id, str(d.get("name") or ""), _id(d.get("owner_id")), _time(d.get("joined_at")))
        ]
        records += [_channel(c, guild_id) for c in d.get("channels") or ()]
        records += [_channel(t, guild_id) for t in d.get("threads") or ()]
        records += [_role(r, guild_id) for r in d.get("roles") or ()]
        for state in d.get("voice_states") or ():
            if state.get("channel_id") is not None:
                self._voice[(guild_id, int(state["user_id"]))] = int(state["channel_id"])
        return records

    def _guild_update(self, d: Payload) -> list[ActivityRecord]:
        return [GuildRecord(int(d["id"]), str(d.get("name") or ""), _id(d.get("owner_id")))]

    def _channel_upsert(self, d: Payload) -> list[ActivityRecord]:
        if d.get("guild_id") is None:
            return []  # DMs are not mirrored
        return [_channel(d, int(d["guild_id"]))]

    def _channel_delete(self, d: Payload) -> list[ActivityRecord]:
        if d.get("guild_id") is None or "name" not in d:
            return []  # THREAD_DELETE carries no name: marking it would blank the mirrored one
        return [_channel(d, int(d["guild_id"]), deleted=True)]

    def _role_upsert(self, d: Payload) -> list[ActivityRecord]:
        return [_role(d["role"], int(d["guild_id"]))]
