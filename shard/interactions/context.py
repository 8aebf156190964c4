"""The context object a handler receives: who, what, and how to answer.

Why a state machine around the answer: Discord accepts exactly one initial response per interaction (a
message, a deferral, an update or a modal) within 3 s, and everything after that goes through the webhook
routes (edit the original, follow-ups). Handlers should not have to know which phase they are in, and the
router's auto-defer may fire while a handler is halfway through. So `InteractionContext` owns the phase
behind a lock: ``reply`` sends the initial message, or fills in a deferred one, or sends a follow-up;
``update`` edits the message a component sits on; ``defer`` is a no-op once answered. The auto-defer and
the handler can race safely.

Views: components passed with ``view_timeout`` are disabled by an edit when the timeout passes (the
task runs in the executor's nursery, so it survives the handler and stops with the bot).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import trio

from protocol.models import (
    ActionRow,
    Button,
    Component,
    Embed,
    EntitySelect,
    Interaction,
    InteractionCallbackType,
    InteractionType,
    MessageFlags,
    Modal,
    Resolved,
    Snowflake,
    StringSelect,
    dump,
)
from shard.interactions.custom_ids import CustomIdCodec
from shard.interactions.permissions import PermissionLevel
from shard.interactions.rest import CALLBACK, FOLLOWUP, FOLLOWUPS, ORIGINAL, DiscordRest
from supervision.held import held

log = logging.getLogger(__name__)

EmbedLike = Embed | Mapping[str, Any]

#: Interaction tokens live 15 minutes; a view must be disabled before that (with a margin).
MAX_VIEW_TIMEOUT = 14 * 60.0


class Spawner(Protocol):
    """Where background tasks (view timeouts) run: a trio nursery or the command executor."""

    def start_soon(self, async_fn: Callable[..., Awaitable[Any]], *args: Any) -> None: ...


class Phase(enum.Enum):
    NEW = "new"
    DEFERRED_MESSAGE = "deferred_message"  # "thinking...": the original response is still to be filled in
    DEFERRED_UPDATE = "deferred_update"  # component ack: the message the component sits on may be edited
    ANSWERED = "answered"


def disable_components(components: Sequence[Component]) -> tuple[Component, ...]:
    """The same components with every button and select disabled (link buttons stay usable)."""
    out: list[Component] = []
    for component in components:
        if isinstance(component, ActionRow):
            out.append(attrs.evolve(component, components=disable_components(component.components)))
        elif (isinstance(component, Button) and component.url is None) or isinstance(
            component, StringSelect | EntitySelect
        ):
            out.append(attrs.evolve(component, disabled=True))
        else:
            out.append(component)
    return tuple(out)


def message_body(
    content: str | None = None,
    *,
    embeds: Sequence[EmbedLike] | None = None,
    components: Sequence[Component] | None = None,
    ephemeral: bool = False,
) -> dict[str, Any]:
    """A message body for callbacks, edits and follow-ups (mentions never ping: user text is echoed)."""
    body: dict[str, Any] = {"allowed_mentions": {"parse": []}}
    if content is not None:
        body["content"] = content
    if embeds is not None:
        body["embeds"] = [e if isinstance(e, Mapping) else dump(e) for e in embeds]
    if components is not None:
        body["components"] = [dump(c) for c in components]
    if ephemeral:
        body["flags"] = int(MessageFlags.EPHEMERAL)
    return body


@attrs.define(eq=False)
class InteractionContext:
    """Everything a command, component or modal handler needs to know and to answer."""

    interaction: Interaction
    rest: DiscordRest
    codec: CustomIdCodec
    spawner: Spawner
    level: PermissionLevel
    name: str
    received_at: float
    ephemeral_default: bool = False
    state: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    #: Modal submits: text input custom_id -> value, and select custom_id -> chosen values.
    fields: dict[str, str] = attrs.field(factory=dict)
    selections: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    phase: Phase = Phase.NEW
    #: Set by the router when the handler has returned (the auto-defer then leaves it alone).
    finished: bool = False
    #: Whether a deferral (if any) was ephemeral: the filled-in answer inherits that visibility.
    deferred_ephemeral: bool = False
    _lock: trio.Lock = attrs.field(factory=trio.Lock)

    # -- facts ------------------------------------------------------------------------------------------
    @property
    def user_id(self) -> int:
        return self.interaction.invoker_id or 0

    @property
    def guild_id(self) -> int | None:
        return self.interaction.guild_id

    @property
    def channel_id(self) -> int | None:
        return self.interaction.channel_id

    @property
    def resolved(self) -> Resolved:
        data = self.interaction.data
        resolved = getattr(data, "resolved", None)
        return resolved if isinstance(resolved, Resolved) else Resolved()

    @property
    def is_component(self) -> bool:
        return self.interaction.type is InteractionType.MESSAGE_COMPONENT

    @property
    def answered(self) -> bool:
        return self.phase is not Phase.NEW

    def custom_id(self, route: str, *state: str | int) -> str:
        """A signed custom_id routing a component or modal back to ``route`` with ``state``."""
        return self.codec.encode(route, *state)

    # -- answering --------------------------------------------------------------------------------------
    async def _callback(self, kind: InteractionCallbackType, data: Mapping[str, Any] | None) -> None:
        body: dict[str, Any] = {"type": int(kind)}
        if data is not None:
            body["data"] = data
        await self.rest.request(
            "POST",
            CALLBACK,
            json=body,
            interaction_id=self.interaction.id,
            interaction_token=self.interaction.token,
        )

    async def _edit_original(self, body: Mapping[str, Any]) -> None:
        await self.rest.request(
            "PATCH",
            ORIGINAL,
            json=body,
            webhook_id=self.interaction.application_id,
            webhook_token=self.interaction.token,
        )

    def _mark(self, phase: Phase) -> None:
        self.phase = phase

    async def defer(self, *, ephemeral: bool | None = None) -> None:
        """Acknowledge now and answer later (a loading state for commands, a silent ack for components)."""
        async with held(self._lock):
            if self.phase is not Phase.NEW:
                return
            if self.is_component:
                await self._callback(InteractionCallbackType.DEFERRED_UPDATE_MESSAGE, None)
                self._mark(Phase.DEFERRED_UPDATE)
            else:
                hidden = self.ephemeral_default if ephemeral is None else ephemeral
                data = {"flags": int(MessageFlags.EPHEMERAL)} if hidden else None
                await self._callback(InteractionCallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, data)
                self.deferred_ephemeral = hidden
                self._mark(Phase.DEFERRED_MESSAGE)

    async def reply(
        self,
        content: str | None = None,
        *,
        embeds: Sequence[EmbedLike] | None = None,
        components: Sequence[Component] | None = None,
        ephemeral: bool | None = None,
        view_timeout: float | None = None,
    ) -> None:
        """Send the answer: the initial response, the deferred one, or a follow-up once answered."""
        hidden = self.ephemeral_default if ephemeral is None else ephemeral
        body = message_body(content, embeds=embeds, components=components, ephemeral=hidden)
        followup_id: Snowflake | None = None
        async with held(self._lock):
            if self.phase is Phase.NEW:
                await self._callback(InteractionCallbackType.CHANNEL_MESSAGE_WITH_SOURCE, body)
                self._mark(Phase.ANSWERED)
            elif self.phase is Phase.DEFERRED_MESSAGE and hidden and not self.deferred_ephemeral:
                # A public "thinking..." cannot become private: remove it and answer privately instead,
                # so an auto-deferral never publishes what the handler meant for the user alone.
                await self.delete()
                self._mark(Phase.ANSWERED)
                followup_id = await self._followup(body)
            elif self.phase is Phase.DEFERRED_MESSAGE:
                body.pop("flags", None)  # the deferral already decided visibility
                await self._edit_original(body)
                self._mark(Phase.ANSWERED)
            else:
                followup_id = await self._followup(body)
        if components and view_timeout is not None:
            # From now, not from when the task first runs; and within the token's 15 minutes, after which
            # the message can no longer be edited through the interaction.
            expires_at = trio.current_time() + min(view_timeout, MAX_VIEW_TIMEOUT)
            self.spawner.start_soon(self._expire_view, tuple(components), expires_at, followup_id)

    async def update(
        self,
        content: str | None = None,
        *,
        embeds: Sequence[EmbedLike] | None = None,
        components: Sequence[Component] | None = None,
    ) -> None:
        """Edit the message this component sits on; for a command, its (first or original) response."""
        body = message_body(content, embeds=embeds, components=components)
        async with held(self._lock):
            if self.phase is Phase.NEW:
                kind = (
                    InteractionCallbackType.UPDATE_MESSAGE
                    if self.is_component
                    else InteractionCallbackType.CHANNEL_MESSAGE_WITH_SOURCE
                )
                await self._callback(kind, body)
                self._mark(Phase.ANSWERED)
                return
            if self.phase is Phase.DEFERRED_MESSAGE:
                self._mark(Phase.ANSWERED)
        await self.edit(content, embeds=embeds, components=components)

    async def edit(
        self,
        content: str | None = None,
        *,
        embeds: Sequence[EmbedLike] | None = None,
        components: Sequence[Component] | None = None,
    ) -> None:
        """Edit the original response (after a reply, a deferral or a component ack)."""
        await self._edit_original(message_body(content, embeds=embeds, components=components))

    async def delete(self) -> None:
        """Delete the original response."""
        await self.rest.request(
            "DELETE",
            ORIGINAL,
            webhook_id=self.interaction.application_id,
            webhook_token=self.interaction.token,
        )

    async def _followup(self, body: Mapping[str, Any]) -> Snowflake | None:
        answer = await self.rest.request(
            "POST",
            FOLLOWUPS,
            json=body,
            webhook_id=self.interaction.application_id,
            webhook_token=self.interaction.token,
        )
        ident = answer.get("id") if isinstance(answer, Mapping) else None
        return Snowflake(int(ident)) if isinstance(ident, str | int) else None

    async def followup(
        self,
        content: str | None = None,
        *,
        embeds: Sequence[EmbedLike] | None = None,
        components: Sequence[Component] | None = None,
        ephemeral: bool | None = None,
    ) -> Snowflake | None:
        """Send another message after the answer (returns its id when Discord reports one)."""
        hidden = self.ephemeral_default if ephemeral is None else ephemeral
        return await self._followup(
            message_body(content, embeds=embeds, components=components, ephemeral=hidden)
        )

    async def send_modal(self, modal: Modal) -> None:
        """Answer with a modal (only as the initial response, not to a modal submit)."""
        async with held(self._lock):
            if self.phase is not Phase.NEW:
                raise RuntimeError("a modal can only be the first response to an interaction")
            await self._callback(InteractionCallbackType.MODAL, dump(modal))
            self._mark(Phase.ANSWERED)

    async def autocomplete(self, choices: Sequence[Mapping[str, Any]]) -> None:
        async with held(self._lock):
            await self._callback(
                InteractionCallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, {"choices": list(choices)}
            )
            self._mark(Phase.ANSWERED)

    async def _expire_view(
        self, components: tuple[Component, ...], expires_at: float, followup_id: Snowflake | None
    ) -> None:
        await trio.sleep_until(expires_at)
        body = {"components": [dump(c) for c in disable_components(components)]}
        try:
            if followup_id is None:
                await self._edit_original(body)
            else:
                await self.rest.request(
                    "PATCH",
                    FOLLOWUP,
                    json=body,
                    webhook_id=self.interaction.application_id,
                    webhook_token=self.interaction.token,
                    message_id=followup_id,
                )
        except Exception:
            log.info("could not disable the components of an expired view", exc_info=True)


__all__ = [
    "InteractionContext",
    "Phase",
    "Spawner",
    "disable_components",
    "message_body",
]
