"""The sandbox console: reads console lines, acts on the emulator as a guild member, prints the bot's replies.

Why it drives the emulator and not the bot: the point of the sandbox is to use the bot exactly as a Discord
user would — an interaction goes out through the emulator's gateway, the bot answers over REST, and what is
printed is what the emulator recorded as the user-visible reply. So the console needs only the emulator's
scripting API (`invoke_slash`, `click`, `Interaction.final`); the bot runs beside it, unaware of the console.

Script mode (``shard sandbox --script FILE``) echoes each line, prints each reply, and counts failures: a
reply carrying an error id (the command framework's error replies say ``error id `abcd1234` ``), an
interaction the bot did not answer in time, a line the console could not read or act on, or a crashed bot.
`run_script` returns the exit status (0 when nothing failed), so CI can run scripted sessions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs
import trio

from shard.sandbox.parser import (
    HELP_TEXT,
    Blank,
    Click,
    ConsoleLine,
    ConsoleSyntaxError,
    Quit,
    Select,
    ShowHealth,
    ShowHelp,
    SlashCommand,
    SwitchMember,
    parse_line,
)
from shard.sandbox.render import NumberedComponent, Rendered, render_reply

if TYPE_CHECKING:
    from protocol.emulator import Emulator, Interaction, InteractionReply
    from protocol.emulator.state import User

__all__ = ["ERROR_ID_PATTERN", "SandboxConsole", "reply_has_error"]

log = logging.getLogger(__name__)

#: How the command framework marks an error reply (shard.interactions.errors): "(error id `1a2b3c4d`)".
ERROR_ID_PATTERN = re.compile(r"error id `?[0-9a-f]{6,16}`?", re.IGNORECASE)
DEFAULT_REPLY_TIMEOUT_S = 10.0
#: Callback types that edit the message a component was on (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE).
UPDATE_CALLBACKS = frozenset({6, 7})


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def reply_has_error(reply: InteractionReply) -> bool:
    """True when any text of the reply (content, embeds, follow-ups) carries an error id."""
    sources: list[Any] = [reply.content, reply.embeds, reply.followups]
    return any(ERROR_ID_PATTERN.search(text) for source in sources for text in _texts(source))


class ConsoleActionError(Exception):
    """A line that parsed but cannot be carried out (unknown member, no such component...)."""


@attrs.define
class SandboxConsole:
    """One console session against a running emulator (and the bot connected to it)."""

    emulator: Emulator
    write: Callable[[str], None]
    health_text: Callable[[], str] | None = None
    bot_failure: Callable[[], str | None] | None = None
    reply_timeout_s: float = DEFAULT_REPLY_TIMEOUT_S
    failures: int = 0
    member: User | None = None
    last: Interaction | None = None
    last_rendered: Rendered | None = None

    def __attrs_post_init__(self) -> None:
        if self.member is None:
            self.member = self.emulator.sandbox_guild.owner

    @property
    def prompt(self) -> str:
        return f"{self.member.username if self.member else '?'}> "

    # ---- one line ---------------------------------------------------------------------------------------

    async def execute(self, line: str) -> bool:
        """Carry out one line and print the outcome; False after ``:quit``."""
        try:
            parsed = parse_line(line)
        except ConsoleSyntaxError as exc:
            self._fail(f"{line.rstrip()}\n{' ' * exc.column}^ {exc}")
            return True
        try:
            return await self._act(parsed)
        except ConsoleActionError as exc:
            self._fail(str(exc))
            return True

    async def _act(self, parsed: ConsoleLine) -> bool:  # noqa: PLR0911 - one branch per line kind
        match parsed:
            case Blank():
                return True
            case Quit():
                return False
            case ShowHelp():
                self.write(HELP_TEXT)
                return True
            case ShowHealth():
                self.write(self.health_text() if self.health_text else "(no supervision tree attached)")
                return True
            case SwitchMember(name=name):
                try:
                    self.member = self.emulator.sandbox_guild.member_by_name(name)
                except KeyError:
                    raise ConsoleActionError(
                        f"no member {name!r} (try owner, admin, moderator, or a username)"
                    ) from None
                self.write(f"(now acting as {self.member.username})")
                return True
            case SlashCommand():
                await self._slash(parsed)
                return True
            case Click(number=number):
                await self._component(self._numbered(number), ())
                return True
            case Select(number=number, values=values):
                await self._component(self._numbered(number), values)
                return True
        raise ConsoleActionError(f"cannot act on {parsed!r}")  # pragma: no cover - exhaustive above

    async def _slash(self, command: SlashCommand) -> None:
        assert self.member is not None
        guild = self.emulator.sandbox_guild
        interaction = await self.emulator.invoke_slash(
            guild.id, self.member.id, command.name, command.option_dict(), channel_id=guild.bot_channel.id
        )
        await self._show(interaction)

    def _numbered(self, number: int) -> NumberedComponent:
        if self.last_rendered is None or self.last is None:
            raise ConsoleActionError("there is no reply to act on yet")
        try:
            return self.last_rendered.component(number)
        except LookupError as exc:
            raise ConsoleActionError(str(exc)) from None

    async def _component(self, component: NumberedComponent, values: tuple[str, ...]) -> None:
        assert self.last is not None and self.last.reply is not None and self.member is not None
        if component.disabled:
            raise ConsoleActionError(f"component {component.number} ({component.label}) is disabled")
        if component.is_select and not values:
            raise ConsoleActionError(f"component {component.number} is a select menu: use :select")
        if not component.is_select and values:
            raise ConsoleActionError(f"component {component.number} is a button: use :click")
        reply = self.last.reply
        source: dict[str, Any] | InteractionReply = (
            reply if component.source == 0 else reply.followups[component.source - 1]
        )
        chosen = [self._option_value(component, value) for value in values]
        interaction = await self.emulator.click(
            source, component.custom_id, self.member.id, chosen if component.is_select else None
        )
        await self._show(interaction)

    @staticmethod
    def _option_value(component: NumberedComponent, typed: str) -> str:
        """Accept an option's value or its label (case-insensitive) for string selects."""
        if not component.options:
            return typed  # user/role/channel selects take ids
        for _label, value in component.options:
            if typed == value:
                return value
        for label, value in component.options:
            if typed.lower() == label.lower():
                return value
        known = ", ".join(value for _, value in component.options)
        raise ConsoleActionError(
            f"{typed!r} is not an option of select {component.number} (options: {known})"
        )

    async def _show(self, interaction: Interaction) -> None:
        from protocol.emulator import InteractionFailedError

        try:
            reply = await interaction.final(self.reply_timeout_s)
        except InteractionFailedError:
            self._fail("(the application did not respond)")
            return
        except (TimeoutError, trio.TooSlowError):
            self._fail(f"(no answer within {self.reply_timeout_s:g} s)")
            return
        rendered = render_reply(reply)
        if rendered.components or reply.type in UPDATE_CALLBACKS or self.last_rendered is None:
            # :click/:select act on the latest reply that has components (or the latest update of a message),
            # so answering a select with a plain ephemeral message does not take the view's buttons away.
            self.last, self.last_rendered = interaction, rendered
        if reply_has_error(reply):
            self._fail(rendered.text)
        else:
            self.write(rendered.text)

    def _fail(self, text: str) -> None:
        self.failures += 1
        self.write(text)

    # ---- whole sessions ---------------------------------------------------------------------------------

    def _bot_crashed(self) -> bool:
        failure = self.bot_failure() if self.bot_failure else None
        if failure:
            self._fail(f"(the bot crashed: {failure})")
            return True
        return False

    async def run_script(self, lines: Iterable[str]) -> int:
        """Run every line (echoed with the prompt); the exit status is 1 if anything failed."""
        for line in lines:
            if not line.strip():
                continue
            self.write(f"{self.prompt}{line.rstrip()}")
            keep_going = await self.execute(line)
            self.write("")
            if self._bot_crashed() or not keep_going:
                break
        return 1 if self.failures else 0

    async def interactive(self, read_line: Callable[[str], Awaitable[str | None]]) -> int:
        """Prompt until ``:quit`` or end of input (`read_line` returns None)."""
        self.write("sandbox console: type /ping, or :help")
        while True:
            line = await read_line(self.prompt)
            if line is None or not await self.execute(line) or self._bot_crashed():
                return 1 if self.bot_failure and self.bot_failure() else 0


async def read_stdin_line(prompt: str) -> str | None:
    """Read one line from the terminal without blocking the event loop."""
    import sys

    def read() -> str | None:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        line = sys.stdin.readline()
        return None if line == "" else line

    return await trio.to_thread.run_sync(read, abandon_on_cancel=True)
