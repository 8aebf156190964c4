"""Command definitions and the registry every feature module registers into.

Why a registry object passed to ``register(registry)`` (no module-level magic): each feature module exposes
``def register(registry: CommandRegistry, ...) -> None`` and defines its commands inside it with the
decorators below, closing over the dependencies it was given (repositories, services). Nothing is
registered at import time, nothing is global, and tests build a registry with exactly the features they
need.

Everything /help and the permission matrix need is declared here and checked when the command is defined:
a description and at least one example (help shows them), an option description per option, a permission
level and an optional cooldown. A subcommand's level may differ from its group's; Discord only honours
``default_member_permissions`` on the top-level command, so the group is made visible to the lowest level
among its subcommands and the router enforces each subcommand's own level.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

import attrs

from protocol.models import ApplicationCommandType, OptionType
from shard.interactions.cooldowns import Cooldown
from shard.interactions.options import DefinitionError, OptionSpec, options_from_signature
from shard.interactions.permissions import PermissionLevel, default_member_permissions_for

Handler = Callable[..., Awaitable[None]]
H = TypeVar("H", bound=Handler)

_NAME = re.compile(r"^[-_'\w]{1,32}$")


def _check_name(name: str, where: str) -> None:
    if not _NAME.match(name) or name != name.lower():
        raise DefinitionError(f"{where}: {name!r} is not a valid lower-case command name (1-32 chars)")


def _check_docs(name: str, description: str, examples: Sequence[str]) -> None:
    if not description.strip() or len(description) > 100:
        raise DefinitionError(f"{name}: a description of 1-100 characters is required")
    if not examples:
        raise DefinitionError(f"{name}: at least one usage example is required (it feeds /help)")


@attrs.define(eq=False)
class SlashCommand:
    """A slash command or subcommand."""

    name: str
    description: str
    examples: tuple[str, ...]
    handler: Handler
    options: tuple[OptionSpec, ...]
    level: PermissionLevel
    category: str
    cooldown: Cooldown | None = None
    ephemeral: bool = False
    parent: CommandGroup | None = None

    @property
    def qualified_name(self) -> str:
        return self.name if self.parent is None else f"{self.parent.qualified_name} {self.name}"

    @property
    def kind(self) -> ApplicationCommandType:
        return ApplicationCommandType.CHAT_INPUT

    def option_payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": int(OptionType.SUB_COMMAND),
            "name": self.name,
            "description": self.description,
        }
        if self.options:
            body["options"] = [o.payload() for o in self.options]
        return body


@attrs.define(eq=False)
class CommandGroup:
    """A top-level command with subcommands, or a subcommand group inside one (max depth 2)."""

    name: str
    description: str
    category: str
    level: PermissionLevel = PermissionLevel.EVERYONE
    parent: CommandGroup | None = None
    children: dict[str, SlashCommand | CommandGroup] = attrs.field(factory=dict)

    @property
    def qualified_name(self) -> str:
        return self.name if self.parent is None else f"{self.parent.qualified_name} {self.name}"

    def command(
        self,
        name: str,
        *,
        description: str,
        examples: Sequence[str],
        level: PermissionLevel | None = None,
        cooldown: Cooldown | None = None,
        ephemeral: bool = False,
    ) -> Callable[[H], H]:
        """Define a subcommand (its level defaults to the group's)."""
        _check_name(name, self.qualified_name)
        defining_scope = dict(sys._getframe(1).f_locals)

        def decorate(handler: H) -> H:
            where = f"/{self.qualified_name} {name}"
            _check_docs(where, description, examples)
            if name in self.children:
                raise DefinitionError(f"{where} is defined twice")
            self.children[name] = SlashCommand(
                name=name,
                description=description,
                examples=tuple(examples),
                handler=handler,
                options=options_from_signature(handler, where, defining_scope),
                level=self.level if level is None else level,
                category=self.category,
                cooldown=cooldown,
                ephemeral=ephemeral,
                parent=self,
            )
            return handler

        return decorate

    def group(self, name: str, *, description: str, level: PermissionLevel | None = None) -> CommandGroup:
        """A subcommand group (only directly under a top-level command)."""
        _check_name(name, self.qualified_name)
        if self.parent is not None:
            raise DefinitionError(f"/{self.qualified_name}: subcommand groups cannot be nested deeper")
        if name in self.children:
            raise DefinitionError(f"/{self.qualified_name} {name} is defined twice")
        _check_docs(f"/{self.qualified_name} {name}", description, ["-"])
        sub = CommandGroup(
            name, description, self.category, self.level if level is None else level, parent=self
        )
        self.children[name] = sub
        return sub

    def leaves(self) -> Iterator[SlashCommand]:
        for child in self.children.values():
            if isinstance(child, CommandGroup):
                yield from child.leaves()
            else:
                yield child

    def option_payload(self) -> dict[str, Any]:
        return {
            "type": int(OptionType.SUB_COMMAND_GROUP),
            "name": self.name,
            "description": self.description,
            "options": [child.option_payload() for child in self.children.values()],
        }


@attrs.define(eq=False)
class ContextMenuCommand:
    """A user or message context-menu command; the handler gets ``target`` (User/Member or Message)."""

    name: str
    kind: ApplicationCommandType
    description: str
    examples: tuple[str, ...]
    handler: Handler
    level: PermissionLevel
    category: str
    cooldown: Cooldown | None = None
    ephemeral: bool = False

    @property
    def qualified_name(self) -> str:
        return self.name

    @property
    def options(self) -> tuple[OptionSpec, ...]:
        return ()


@attrs.define(eq=False)
class ComponentRoute:
    """A handler for components or modals whose signed custom_id names ``route``."""

    route: str
    handler: Handler
    level: PermissionLevel
    modal: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{'modal' if self.modal else 'component'}:{self.route}"


TopLevel = SlashCommand | CommandGroup | ContextMenuCommand

#: Discord's limits on top-level commands per application (per scope).
_LIMITS = {
    ApplicationCommandType.CHAT_INPUT: 100,
    ApplicationCommandType.USER: 15,
    ApplicationCommandType.MESSAGE: 15,
}
Runnable = SlashCommand | ContextMenuCommand


def _lowest_level(entry: TopLevel) -> PermissionLevel:
    if isinstance(entry, CommandGroup):
        return min((leaf.level for leaf in entry.leaves()), default=entry.level)
    return entry.level


class CommandRegistry:
    """All commands, context menus, component and modal routes of one bot."""

    def __init__(self) -> None:
        self._top: dict[tuple[ApplicationCommandType, str], TopLevel] = {}
        self._routes: dict[str, ComponentRoute] = {}

    # -- definition -------------------------------------------------------------------------------------
    def _add_top(self, kind: ApplicationCommandType, entry: TopLevel) -> None:
        key = (kind, entry.name)
        if key in self._top:
            raise DefinitionError(f"/{entry.name} is defined twice")
        limit = _LIMITS.get(kind, 100)
        if sum(1 for k, _ in self._top if k is kind) >= limit:
            raise DefinitionError(f"Discord allows at most {limit} {kind.name.lower()} commands")
        self._top[key] = entry

    def slash(
        self,
        name: str,
        *,
        description: str,
        examples: Sequence[str],
        category: str,
        level: PermissionLevel = PermissionLevel.EVERYONE,
        cooldown: Cooldown | None = None,
        ephemeral: bool = False,
    ) -> Callable[[H], H]:
        """Define a top-level slash command from a typed async handler ``(ctx, **options)``."""
        _check_name(name, "slash command")
        defining_scope = dict(sys._getframe(1).f_locals)  # see options_from_signature

        def decorate(handler: H) -> H:
            _check_docs(f"/{name}", description, examples)
            command = SlashCommand(
                name=name,
                description=description,
                examples=tuple(examples),
                handler=handler,
                options=options_from_signature(handler, f"/{name}", defining_scope),
                level=level,
                category=category,
                cooldown=cooldown,
                ephemeral=ephemeral,
            )
            self._add_top(ApplicationCommandType.CHAT_INPUT, command)
            return handler

        return decorate

    def group(
        self, name: str, *, description: str, category: str, level: PermissionLevel = PermissionLevel.EVERYONE
    ) -> CommandGroup:
        """Define a top-level command whose subcommands (and groups) are added with ``.command``."""
        _check_name(name, "command group")
        _check_docs(f"/{name}", description, ["-"])
        group = CommandGroup(name, description, category, level)
        self._add_top(ApplicationCommandType.CHAT_INPUT, group)
        return group

    def _context_menu(
        self,
        *,
        kind: ApplicationCommandType,
        name: str,
        description: str,
        examples: Sequence[str],
        category: str,
        level: PermissionLevel,
        cooldown: Cooldown | None,
        ephemeral: bool,
    ) -> Callable[[H], H]:
        if not 1 <= len(name) <= 32:
            raise DefinitionError(f"context menu name {name!r} must be 1-32 characters")

        def decorate(handler: H) -> H:
            _check_docs(name, description, examples)
            entry = ContextMenuCommand(
                name, kind, description, tuple(examples), handler, level, category, cooldown, ephemeral
            )
            self._add_top(kind, entry)
            return handler

        return decorate

    def user_command(
        self,
        name: str,
        *,
        description: str,
        examples: Sequence[str],
        category: str,
        level: PermissionLevel = PermissionLevel.EVERYONE,
        cooldown: Cooldown | None = None,
        ephemeral: bool = False,
    ) -> Callable[[H], H]:
        """A right-click-on-a-user command; the handler is ``(ctx, target: Member | User)``."""
        return self._context_menu(
            kind=ApplicationCommandType.USER,
            name=name,
            description=description,
            examples=examples,
            category=category,
            level=level,
            cooldown=cooldown,
            ephemeral=ephemeral,
        )

    def message_command(
        self,
        name: str,
        *,
        description: str,
        examples: Sequence[str],
        category: str,
        level: PermissionLevel = PermissionLevel.EVERYONE,
        cooldown: Cooldown | None = None,
        ephemeral: bool = False,
    ) -> Callable[[H], H]:
        """A right-click-on-a-message command; the handler is ``(ctx, target: Message)``."""
        return self._context_menu(
            kind=ApplicationCommandType.MESSAGE,
            name=name,
            description=description,
            examples=examples,
            category=category,
            level=level,
            cooldown=cooldown,
            ephemeral=ephemeral,
        )

    def _route(self, route: str, level: PermissionLevel, modal: bool) -> Callable[[H], H]:
        if route in self._routes:
            raise DefinitionError(f"component route {route!r} is defined twice")

        def decorate(handler: H) -> H:
            self._routes[route] = ComponentRoute(route, handler, level, modal)
            return handler

        return decorate

    def component(self, route: str, *, level: PermissionLevel = PermissionLevel.EVERYONE) -> Callable[[H], H]:
        """Handle buttons/selects whose custom_id was made with ``ctx.custom_id(route, *state)``."""
        return self._route(route, level, modal=False)

    def modal(self, route: str, *, level: PermissionLevel = PermissionLevel.EVERYONE) -> Callable[[H], H]:
        """Handle submissions of modals whose custom_id was made with ``ctx.custom_id(route, *state)``."""
        return self._route(route, level, modal=True)

    # -- lookup -----------------------------------------------------------------------------------------
    def top_level(self) -> list[TopLevel]:
        return list(self._top.values())

    def get_top(self, kind: ApplicationCommandType, name: str) -> TopLevel | None:
        return self._top.get((kind, name))

    def route(self, name: str) -> ComponentRoute | None:
        return self._routes.get(name)

    def runnables(self) -> Iterator[Runnable]:
        """Every command a user can run: top-level commands, subcommands and context menus."""
        for entry in self._top.values():
            if isinstance(entry, CommandGroup):
                yield from entry.leaves()
            else:
                yield entry

    # -- Discord payloads -------------------------------------------------------------------------------
    def payloads(self) -> list[dict[str, Any]]:
        """The application command payloads for a bulk overwrite, in a stable order."""
        out = []
        for (kind, _), entry in sorted(self._top.items(), key=lambda item: (int(item[0][0]), item[0][1])):
            body: dict[str, Any] = {"type": int(kind), "name": entry.name}
            if isinstance(entry, ContextMenuCommand):
                body["description"] = ""
            else:
                body["description"] = entry.description
                if isinstance(entry, CommandGroup):
                    body["options"] = [child.option_payload() for child in entry.children.values()]
                elif entry.options:
                    body["options"] = [o.payload() for o in entry.options]
            permissions = default_member_permissions_for(_lowest_level(entry))
            body["default_member_permissions"] = permissions
            body["contexts"] = [0]  # guild only: the permission table is guild-based
            out.append(body)
        return out
