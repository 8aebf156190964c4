"""Activity capture: dispatch payloads -> records, and malformed payloads never raise."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.capture import ActivityCapture, snowflake_time
from storage.repositories.activity import (
    ChannelRecord,
    GuildRecord,
    MemberEventRecord,
    MessageDeleteRecord,
    MessageEditRecord,
    MessageRecord,
    ReactionRecord,
    RoleRecord,
    UserRecord,
    VoiceEventRecord,
)

NOW = datetime(2026, 5, 1, tzinfo=UTC)
MESSAGE = {
    "id": "1300000000000000001",
    "channel_id": "51",
    "guild_id": "1",
    "author": {"id": "7", "username": "erin", "global_name": "Erin"},
    "content": "Pasta tonight!",
    "timestamp": "2026-05-01T12:00:00.000000+00:00",
    "attachments": [{"id": "900", "filename": "pasta.png", "size": 1234, "content_type": "image/png"}],
    "embeds": [{}],
    "mentions": [{"id": "8"}],
    "mention_roles": ["3"],
    "message_reference": {"message_id": "1299999999999999999"},
}


def capture() -> ActivityCapture:
    return ActivityCapture(now=lambda: NOW)


def test_message_create_becomes_user_and_message() -> None:
    user, message = capture().records("MESSAGE_CREATE", MESSAGE)
    assert user == UserRecord(7, "erin", "Erin", False)
    assert isinstance(message, MessageRecord)
    assert (message.message_id, message.channel_id, message.guild_id, message.author_id) == (
        1300000000000000001,
        51,
        1,
        7,
    )
    assert message.created_at == datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert (message.embed_count, message.mention_count, message.reference_id) == (1, 2, 1299999999999999999)
    assert [a.filename for a in message.attachments] == ["pasta.png"]


def test_edits_deletes_and_reactions() -> None:
    c = capture()
    [edit] = c.records(
        "MESSAGE_UPDATE",
        {"id": "5", "channel_id": "51", "content": "fixed", "edited_timestamp": "2026-05-01T13:00:00Z"},
    )
    assert isinstance(edit, MessageEditRecord) and edit.content == "fixed"
    assert edit.edited_at == datetime(2026, 5, 1, 13, tzinfo=UTC)
    assert c.records("MESSAGE_UPDATE", {"id": "5", "channel_id": "51", "embeds": []}) == []
    assert c.records("MESSAGE_DELETE", {"id": "5", "channel_id": "51"}) == [MessageDeleteRecord(5, NOW)]
    assert len(c.records("MESSAGE_DELETE_BULK", {"ids": ["1", "2", "3"], "channel_id": "51"})) == 3
    [reaction] = c.records(
        "MESSAGE_REACTION_REMOVE",
        {"message_id": "5", "channel_id": "51", "user_id": "8", "guild_id": "1", "emoji": {"name": "👍"}},
    )
    assert isinstance(reaction, ReactionRecord)
    assert (reaction.added, reaction.emoji_name, reaction.emoji_id) == (False, "👍", None)


def test_members_and_voice_movements() -> None:
    c = capture()
    user, join = c.records(
        "GUILD_MEMBER_ADD", {"guild_id": "1", "user": {"id": "9", "username": "new"}, "joined_at": None}
    )
    assert isinstance(user, UserRecord) and join == MemberEventRecord(1, 9, "join", NOW, join.event_id)  # type: ignore[union-attr]
    [leave] = c.records("GUILD_MEMBER_REMOVE", {"guild_id": "1", "user": {"id": "9"}})
    assert isinstance(leave, MemberEventRecord) and leave.kind == "leave"

    def voice(channel: str | None) -> list[Any]:
        return c.records("VOICE_STATE_UPDATE", {"guild_id": "1", "user_id": "9", "channel_id": channel})

    kinds = [voice("70"), voice("70"), voice("71"), voice(None)]
    assert [[r.kind for r in batch] for batch in kinds] == [["join"], [], ["move"], ["leave"]]
    move = kinds[2][0]
    assert isinstance(move, VoiceEventRecord) and (move.previous_channel_id, move.channel_id) == (70, 71)


def test_guild_create_mirrors_channels_threads_and_roles() -> None:
    records = capture().records(
        "GUILD_CREATE",
        {
            "id": "1",
            "name": "The Wandering Inn",
            "owner_id": "2",
            "channels": [
                {"id": "50", "name": "Inn", "type": 4},
                {"id": "51", "name": "general", "parent_id": "50"},
            ],
            "threads": [{"id": "60", "name": "a thread", "type": 11, "parent_id": "51"}],
            "roles": [{"id": "3", "name": "Moderator", "permissions": "4", "color": 5}],
            "voice_states": [{"user_id": "9", "channel_id": "70"}],
        },
    )
    assert isinstance(records[0], GuildRecord) and records[0].name == "The Wandering Inn"
    assert [r.channel_id for r in records if isinstance(r, ChannelRecord)] == [50, 51, 60]
    [role] = [r for r in records if isinstance(r, RoleRecord)]
    assert (role.name, role.permissions, role.color) == ("Moderator", 4, 5)
    assert capture().records("GUILD_CREATE", {"id": "1", "unavailable": True}) == []


def test_unknown_events_and_dm_channels_yield_nothing() -> None:
    c = capture()
    assert c.records("TYPING_START", {"channel_id": "1"}) == []
    assert c.records(None, None) == []
    assert c.records("CHANNEL_CREATE", {"id": "5", "type": 1}) == []
    assert c.malformed == 0


def test_snowflake_time() -> None:
    assert snowflake_time(175928847299117063) == datetime(2016, 4, 30, 11, 18, 25, 796000, tzinfo=UTC)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200)
@given(
    event=st.sampled_from(sorted(ActivityCapture().events)),
    payload=st.dictionaries(
        st.sampled_from(
            ["id", "channel_id", "guild_id", "author", "user", "user_id", "ids", "role", "content"]
        ),
        json_values,
        max_size=6,
    ),
)
def test_malformed_payloads_never_raise(event: str, payload: dict[str, Any]) -> None:
    c = capture()
    records = c.records(event, payload)
    assert isinstance(records, list)


def test_absurd_snowflakes_are_malformed_not_fatal() -> None:
    c = capture()
    payload = {**MESSAGE, "id": str(10**40), "timestamp": None}
    assert c.records("MESSAGE_CREATE", payload) == []
    assert c.malformed == 1


def test_role_changes_are_diffs_against_the_last_seen_roles() -> None:
    from storage.repositories.activity import RoleChangeRecord

    c = ActivityCapture(now=lambda: NOW, max_members=2)

    def update(user: str, roles: list[str]) -> list[Any]:
        return c.records(
            "GUILD_MEMBER_UPDATE", {"guild_id": "1", "user": {"id": user, "username": "u"}, "roles": roles}
        )

    assert [type(r) for r in update("9", ["1", "2"])] == [UserRecord]  # first sight: baseline only
    changes = [r for r in update("9", ["2", "3"]) if isinstance(r, RoleChangeRecord)]
    assert [(r.role_id, r.added) for r in changes] == [(3, True), (1, False)]
    c.records("GUILD_MEMBER_ADD", {"guild_id": "1", "user": {"id": "10"}, "roles": ["5"]})
    assert [(r.role_id, r.added) for r in update("10", []) if isinstance(r, RoleChangeRecord)] == [(5, False)]
    update("11", ["1"])  # a third member evicts the least recently seen one (9) from the bounded memory
    # forgotten: this update only sets a new baseline (and user 9's name is unchanged: no user row either)
    assert update("9", ["7"]) == []


def test_an_author_is_mirrored_again_only_when_their_name_changes() -> None:
    c = capture()

    def message(n: int, **author: Any) -> list[Any]:
        payload = {**MESSAGE, "id": str(1300000000000000001 + n), "author": {"id": "7", **author}}
        return c.records("MESSAGE_CREATE", payload)

    assert [type(r) for r in message(0, username="erin", global_name="Erin")] == [UserRecord, MessageRecord]
    assert [type(r) for r in message(1, username="erin", global_name="Erin")] == [MessageRecord]
    renamed = message(2, username="erin", global_name="Erin Solstice")
    assert renamed[0] == UserRecord(7, "erin", "Erin Solstice", False) and len(renamed) == 2
    # a join of a user already mirrored with the same name adds no user row; a rename through it does
    join = {"guild_id": "1", "user": {"id": "7", "username": "erin", "global_name": "Erin Solstice"}}
    assert [type(r) for r in c.records("GUILD_MEMBER_ADD", join)] == [MemberEventRecord]
    join["user"] = {"id": "7", "username": "erin", "global_name": "Innkeeper"}
    assert [type(r) for r in c.records("GUILD_MEMBER_ADD", join)] == [UserRecord, MemberEventRecord]


def test_the_author_memory_is_bounded_and_forgetting_only_repeats_a_user_row() -> None:
    c = ActivityCapture(now=lambda: NOW, max_users=2)

    def authors(*ids: str) -> list[int]:
        found = []
        for n, user_id in enumerate(ids):
            author = {"id": user_id, "username": "u"}
            payload = {**MESSAGE, "id": str(1300000000000000100 + n), "author": author}
            found += [r.user_id for r in c.records("MESSAGE_CREATE", payload) if isinstance(r, UserRecord)]
        return found

    assert authors("1", "2", "1", "2") == [1, 2]  # remembered
    assert authors("3", "1") == [3, 1]  # full at 3: the memory was cleared, so 1 is mirrored again


def test_a_utc_timestamp_written_with_z_is_read() -> None:
    (_, message) = capture().records("MESSAGE_CREATE", {**MESSAGE, "timestamp": "2026-05-01T12:00:00Z"})
    assert message.created_at == datetime(2026, 5, 1, 12, tzinfo=UTC)
