"""Interactions in flight: their deadline, their token, and the reply the bot gave, as data.

Why a record per interaction with a live reply: a test invokes a command and wants "what did the user see"
— content, embeds, components, whether it was ephemeral, deferred, a modal, follow-ups — without decoding
REST bodies itself. Every callback, follow-up and ``@original`` edit the bot sends updates the one
`InteractionReply`, and anyone waiting on the interaction is woken.

The 3 s deadline and the 15 min token lifetime are enforced against ``trio.current_time()``, so a test under
MockClock can let an interaction expire without sleeping. An interaction with no callback when its deadline
passes becomes "failed" — what the user sees as "The application did not respond".
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import attrs
import trio

from protocol.emulator.message_flags import EPHEMERAL, LOADING

JSONObject = dict[str, Any]


class InteractionType(enum.IntEnum):
    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    APPLICATION_COMMAND_AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class CallbackType(enum.IntEnum):
    PONG = 1
    CHANNEL_MESSAGE_WITH_SOURCE = 4
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
    MODAL = 9
    LAUNCH_ACTIVITY = 12


class InteractionFailedError(Exception):
    """The bot did not answer within the interaction deadline (the user saw "did not respond")."""


@attrs.define(slots=True, kw_only=True)
class InteractionReply:
    """What the user sees of the bot's answer; updated in place by later edits and follow-ups."""

    type: int
    content: str | None = None
    embeds: list[JSONObject] = attrs.field(factory=list)
    components: list[JSONObject] = attrs.field(factory=list)
    ephemeral: bool = False
    deferred: bool = False
    loading: bool = False
    deleted: bool = False
    followups: list[JSONObject] = attrs.field(factory=list)
    modal: JSONObject | None = None
    choices: list[JSONObject] | None = None
    message: JSONObject | None = None
    edits: int = 0

    def sync_from_message(self) -> None:
        message = self.message
        if message is None:
            return
        self.content = message.get("content")
        self.embeds = list(message.get("embeds") or [])
        self.components = list(message.get("components") or [])
        flags = int(message.get("flags") or 0)
        self.ephemeral = bool(flags & EPHEMERAL)
        self.loading = bool(flags & LOADING)

    @property
    def message_id(self) -> int | None:
        return None if self.message is None else int(self.message["id"])

    def all_messages(self) -> list[JSONObject]:
        """The original response (when there is one) followed by the follow-ups."""
        return ([self.message] if self.message is not None else []) + self.followups


@attrs.define(slots=True, eq=False, kw_only=True)
class Interaction:
    """One interaction: its payload as dispatched, its deadline, and the bot's reply."""

    id: int
    token: str
    type: InteractionType
    payload: JSONObject
    guild_id: int | None
    channel_id: int
    user_id: int
    created_at: float
    deadline: float
    token_lifetime: float
    source_message: JSONObject | None = None
    reply: InteractionReply | None = None
    failed: bool = False
    delivered_to: int = 0  # gateway sessions that received it when invoked
    _changed: trio.Event = attrs.field(factory=trio.Event)

    @property
    def acknowledged(self) -> bool:
        return self.reply is not None

    def deadline_passed(self, now: float) -> bool:
        return now > self.created_at + self.deadline

    def token_expired(self, now: float) -> bool:
        return now > self.created_at + self.token_lifetime

    def touch(self) -> None:
        """Wake everyone waiting on this interaction."""
        self._changed.set()
        self._changed = trio.Event()

    def fail(self) -> None:
        if not self.acknowledged:
            self.failed = True
            self.touch()

    async def response(self, timeout: float = 5.0) -> InteractionReply:  # noqa: ASYNC109 - public API
        """The bot's first answer. Raises `InteractionFailedError` when the deadline passes without one, and
        ``trio.TooSlowError`` when ``timeout`` ends first."""
        # One cancel scope per wait, at whichever comes first (the benchmark driver waits on thousands of
        # these a second, and a scope is most of a wait's cost).
        give_up = trio.current_time() + timeout
        while self.reply is None:
            if self.failed:
                raise InteractionFailedError(f"interaction {self.id} was not answered in time")
            now = trio.current_time()
            expires = self.created_at + self.deadline
            if now > expires:
                self.fail()
                continue
            if now >= give_up:
                raise trio.TooSlowError
            with trio.move_on_at(min(expires + 0.001, give_up)):
                await self._changed.wait()
        return self.reply

    async def wait_for(
        self,
        predicate: Callable[[InteractionReply], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InteractionReply:
        """Wait until the reply satisfies ``predicate`` (for example, a deferred reply got its content)."""
        reply = await self.response(timeout)
        with trio.fail_after(timeout):
            while not predicate(reply):
                await self._changed.wait()
        return reply

    async def final(self, timeout: float = 5.0) -> InteractionReply:  # noqa: ASYNC109
        """The reply once it is no longer only "thinking": a deferred answer edited or followed up."""
        return await self.wait_for(
            lambda r: not r.loading or bool(r.followups) or r.deleted or r.edits > 0, timeout
        )


class InteractionStore:
    """Interactions by id and by token (webhook routes only know the token).

    Bounded: beyond ``capacity`` the oldest interactions are forgotten (their callbacks then get 10062,
    as an expired interaction would), so a long benchmark does not grow memory without limit."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self.by_id: dict[int, Interaction] = {}
        self.by_token: dict[str, Interaction] = {}

    def add(self, interaction: Interaction) -> None:
        self.by_id[interaction.id] = interaction
        self.by_token[interaction.token] = interaction
        while len(self.by_id) > self.capacity:
            oldest = next(iter(self.by_id.values()))
            del self.by_id[oldest.id]
            self.by_token.pop(oldest.token, None)

    def unanswered(self, now: float) -> list[Interaction]:
        """Interactions whose deadline passed with no callback (the user saw "did not respond")."""
        return [i for i in self.by_id.values() if i.reply is None and (i.failed or i.deadline_passed(now))]

    def __len__(self) -> int:
        return len(self.by_id)

    def values(self) -> list[Interaction]:
        return list(self.by_id.values())
