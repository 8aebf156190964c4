"""What the humans in the emulated guilds do: post, react, type, join, leave, change roles.

Why these are separate from the REST routes: the routes are the bot acting (authenticated as the bot, rate
limited, permission-checked); these are other users acting, which the bot only ever sees as gateway events.
Each method updates the state exactly as the matching route would and dispatches the event Discord sends,
with the member object attached where Discord attaches it (MESSAGE_CREATE, MESSAGE_REACTION_ADD,
TYPING_START in guilds). They are synchronous so benchmarks can drive thousands in a loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from protocol.emulator.messages import build_message
from protocol.emulator.state import EmulatorState, JSONObject, Member, User, iso_timestamp

Dispatch = Callable[[int | None, str, JSONObject], int]


class UserActions:
    """``emu.users``: act as a (non-bot) user."""

    def __init__(self, state: EmulatorState, dispatch: Dispatch) -> None:
        self._state = state
        self._dispatch = dispatch

    def _guild_of(self, channel_id: int) -> int | None:
        return self._state.channels[channel_id].guild_id

    def send_message(self, channel_id: int, user_id: int, content: str, **extra: Any) -> JSONObject:
        """``user_id`` posts ``content`` in ``channel_id``; stored and dispatched as MESSAGE_CREATE."""
        state = self._state
        channel = state.channels[channel_id]
        message = build_message(
            state, channel_id=channel_id, author=state.users[user_id], body={"content": content, **extra}
        )
        if channel.guild_id is not None:
            message["member"] = state.member_payload(channel.guild_id, user_id, with_user=False)
        state.channel_messages(channel_id)[int(message["id"])] = message
        channel.last_message_id = int(message["id"])
        if channel.is_thread:
            channel.message_count += 1
        self._dispatch(channel.guild_id, "MESSAGE_CREATE", message)
        return message

    def edit_message(self, message: JSONObject, content: str) -> JSONObject:
        message["content"] = content
        message["edited_timestamp"] = iso_timestamp(self._state.snowflakes.next())
        self._dispatch(self._guild_of(int(message["channel_id"])), "MESSAGE_UPDATE", message)
        return message

    def delete_message(self, message: JSONObject) -> None:
        channel_id = int(message["channel_id"])
        self._state.channel_messages(channel_id).pop(int(message["id"]), None)
        payload: JSONObject = {"id": message["id"], "channel_id": message["channel_id"]}
        guild_id = self._guild_of(channel_id)
        if guild_id is not None:
            payload["guild_id"] = str(guild_id)
        self._dispatch(guild_id, "MESSAGE_DELETE", payload)

    def react(self, message: JSONObject, user_id: int, emoji: str, *, remove: bool = False) -> None:
        """``user_id`` adds (or removes) ``emoji`` (unicode, or ``name:id`` for a custom one)."""
        users = self._state.reactions.setdefault(int(message["id"]), {}).setdefault(emoji, [])
        if remove == (user_id not in users):
            return
        if remove:
            users.remove(user_id)
        else:
            users.append(user_id)
        name, _, emoji_id = emoji.partition(":")
        payload: JSONObject = {
            "user_id": str(user_id),
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "emoji": {"id": emoji_id or None, "name": name},
            "burst": False,
            "type": 0,
        }
        guild_id = self._guild_of(int(message["channel_id"]))
        if guild_id is not None:
            payload["guild_id"] = str(guild_id)
            if not remove and user_id in self._state.guilds[guild_id].members:
                payload["member"] = self._state.member_payload(guild_id, user_id)
        self._dispatch(guild_id, "MESSAGE_REACTION_REMOVE" if remove else "MESSAGE_REACTION_ADD", payload)

    def start_typing(self, channel_id: int, user_id: int) -> None:
        guild_id = self._guild_of(channel_id)
        payload: JSONObject = {
            "channel_id": str(channel_id),
            "user_id": str(user_id),
            "timestamp": int(time.time()),
        }
        if guild_id is not None:
            payload["guild_id"] = str(guild_id)
            payload["member"] = self._state.member_payload(guild_id, user_id)
        self._dispatch(guild_id, "TYPING_START", payload)

    def join(self, guild_id: int, username: str, role_ids: Iterable[int] = ()) -> User:
        """A new user joins ``guild_id`` (GUILD_MEMBER_ADD)."""
        user = self._state.create_user(username)
        self._state.add_member(guild_id, user.id, role_ids)
        payload = self._state.member_payload(guild_id, user.id)
        payload["guild_id"] = str(guild_id)
        self._dispatch(guild_id, "GUILD_MEMBER_ADD", payload)
        return user

    def leave(self, guild_id: int, user_id: int) -> None:
        """``user_id`` leaves ``guild_id`` (GUILD_MEMBER_REMOVE)."""
        self._state.guilds[guild_id].members.pop(user_id, None)
        payload = {"guild_id": str(guild_id), "user": self._state.users[user_id].to_payload()}
        self._dispatch(guild_id, "GUILD_MEMBER_REMOVE", payload)

    def create_channel(
        self, guild_id: int, name: str, *, nsfw: bool = False, topic: str | None = None
    ) -> JSONObject:
        """A guild admin creates a text channel (CHANNEL_CREATE)."""
        channel = self._state.create_channel(guild_id, name, nsfw=nsfw, topic=topic)
        payload = channel.to_payload()
        self._dispatch(guild_id, "CHANNEL_CREATE", payload)
        return payload

    def create_role(self, guild_id: int, name: str, permissions: int = 0) -> JSONObject:
        """A guild admin creates a role (GUILD_ROLE_CREATE)."""
        role = self._state.create_role(guild_id, name, permissions)
        payload = {"guild_id": str(guild_id), "role": role.to_payload()}
        self._dispatch(guild_id, "GUILD_ROLE_CREATE", payload)
        return payload

    def create_thread(
        self,
        channel_id: int,
        user_id: int,
        name: str,
        *,
        private: bool = False,
        from_message: JSONObject | None = None,
    ) -> JSONObject:
        """``user_id`` starts a thread in ``channel_id`` (from a message, if given): THREAD_CREATE."""
        thread_id = None if from_message is None else int(from_message["id"])
        thread = self._state.create_thread(channel_id, name, user_id, private=private, thread_id=thread_id)
        payload = dict(thread.to_payload(), newly_created=True)
        self._dispatch(thread.guild_id, "THREAD_CREATE", payload)
        return payload

    def archive_thread(self, thread_id: int, *, archived: bool = True, locked: bool = False) -> JSONObject:
        """A moderator archives (or reopens) a thread: THREAD_UPDATE."""
        thread = self._state.channels[thread_id]
        thread.archived, thread.locked = archived, locked
        payload = thread.to_payload()
        self._dispatch(thread.guild_id, "THREAD_UPDATE", payload)
        return payload

    def delete_thread(self, thread_id: int) -> None:
        """A moderator deletes a thread: THREAD_DELETE."""
        thread = self._state.remove_channel(thread_id)
        payload = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "parent_id": None if thread.parent_id is None else str(thread.parent_id),
            "type": thread.type,
        }
        self._dispatch(thread.guild_id, "THREAD_DELETE", payload)

    def join_thread(self, thread_id: int, user_id: int) -> None:
        """``user_id`` joins a thread: THREAD_MEMBERS_UPDATE (needs the GUILD_MEMBERS intent)."""
        thread = self._state.channels[thread_id]
        if user_id in thread.member_ids:
            return
        thread.member_ids.append(user_id)
        payload = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "member_count": len(thread.member_ids),
            "added_members": [
                {
                    "id": str(thread.id),
                    "user_id": str(user_id),
                    "join_timestamp": iso_timestamp(thread.id),
                    "flags": 0,
                }
            ],
        }
        self._dispatch(thread.guild_id, "THREAD_MEMBERS_UPDATE", payload)

    def set_roles(self, guild_id: int, user_id: int, role_ids: Iterable[int]) -> Member:
        """Someone (a moderator, say) changes ``user_id``'s roles (GUILD_MEMBER_UPDATE)."""
        member = self._state.guilds[guild_id].members[user_id]
        member.role_ids = list(role_ids)
        payload = self._state.member_payload(guild_id, user_id)
        payload["guild_id"] = str(guild_id)
        self._dispatch(guild_id, "GUILD_MEMBER_UPDATE", payload)
        return member
