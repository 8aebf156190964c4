"""Command errors and the one handler that turns any exception into a user message with an error id.

Why one mapping instead of per-command try/except: the old bot wrapped every command in a decorator and
still leaked internals or forgot to log. Here handlers simply raise. The router catches everything at one
place and asks `ErrorReporter.report`, which:

* classifies the exception into a small, bounded set of error types (validation, permission, not found,
  conflict, cooldown, external service, storage unavailable, internal) — the label set of
  ``shard_command_errors_total{error_type}``;
* picks the user-facing text: the exception's own ``user_message`` for our `CommandError` family (written
  for users), a fixed sentence for everything else — internal details never reach a user;
* gives every report a short error id (8 hex chars) that appears in the reply, in the log line (bound as
  the ``error_id`` log field) and in the error table, so a user's screenshot leads an operator straight to
  the traceback;
* records it through `ErrorSink` (the storage layer's error repository in production).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Protocol

import attrs

from protocol.rest import errors as rest_errors
from storage import errors as storage_errors
from supervision import logfields
from supervision.telemetry import Telemetry

log = logging.getLogger(__name__)


class CommandError(Exception):
    """Base of errors whose message is written for the user who ran the command."""

    error_type = "internal"

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class ValidationError(CommandError):
    """An option value or form field the user gave is not acceptable."""

    error_type = "validation"


class PermissionDeniedError(CommandError):
    """The invoker's permission level is below what the command, component or modal requires."""

    error_type = "permission"


class NotFoundError(CommandError):
    error_type = "not_found"


class ConflictError(CommandError):
    """The thing already exists or changed under the user (duplicate tag, stale edit)."""

    error_type = "conflict"


class CooldownError(CommandError):
    error_type = "cooldown"

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, round(retry_after + 0.499))
        super().__init__(f"You're doing that too often. Try again in {seconds} s.")
        self.retry_after = retry_after


class ExternalServiceError(CommandError):
    """A service outside the bot (AO3, a wiki, an AI API) failed; the user may retry later."""

    error_type = "external_service"

    def __init__(
        self, user_message: str = "An external service did not answer. Please try again later."
    ) -> None:
        super().__init__(user_message)


class StorageUnavailableError(CommandError):
    error_type = "storage_unavailable"

    def __init__(
        self, user_message: str = "Storage is unavailable right now. Please try again shortly."
    ) -> None:
        super().__init__(user_message)


class ForgedCustomIdError(Exception):
    """A component or modal custom_id whose signature does not verify (tampered with, or another secret)."""


INTERNAL_MESSAGE = "Something went wrong on our side."

#: Errors raised on purpose by lower layers that a handler may let through, with what the user is told.
_LOWER_LAYER_ERRORS: tuple[tuple[tuple[type[BaseException], ...], str, str], ...] = (
    (
        (storage_errors.StorageUnavailable, storage_errors.QueryTimeout),
        "storage_unavailable",
        "Storage is unavailable right now. Please try again shortly.",
    ),
    ((storage_errors.AlreadyExists,), "conflict", "That already exists."),
    ((rest_errors.Forbidden,), "external_service", "Discord refused: I am missing a permission for that."),
    ((rest_errors.NotFound,), "not_found", "That no longer exists on Discord."),
    ((rest_errors.RestError,), "external_service", "Discord did not accept that. Please try again later."),
)

#: Every error type the reporter can emit (bounded metric label set).
ERROR_TYPES: tuple[str, ...] = (
    "validation",
    "permission",
    "not_found",
    "conflict",
    "cooldown",
    "external_service",
    "storage_unavailable",
    "forged_custom_id",
    "malformed_interaction",
    "internal",
)


@attrs.frozen
class ErrorRecord:
    """What is stored about one error (the error table row)."""

    error_id: str
    error_type: str
    command: str
    guild_id: int | None
    user_id: int | None
    exception_type: str
    message: str


class ErrorSink(Protocol):
    """Where error records go (the storage error repository in production)."""

    async def record_error(self, record: ErrorRecord) -> None: ...


@attrs.frozen
class ErrorReport:
    error_id: str
    error_type: str
    user_message: str

    @property
    def reply_text(self) -> str:
        return f"{self.user_message} (error id `{self.error_id}`)"


class ErrorReporter:
    """Classifies exceptions, logs them with an error id, records and counts them."""

    def __init__(
        self,
        sink: ErrorSink | None = None,
        telemetry: Telemetry | None = None,
        make_error_id: Callable[[], str] = lambda: secrets.token_hex(4),
    ) -> None:
        self._sink = sink
        self._make_error_id = make_error_id
        telemetry = telemetry or Telemetry()
        self._errors = telemetry.counter(
            "shard_command_errors_total", "Command errors by error type.", ["error_type"]
        )

    def count(self, error_type: str) -> None:
        """Count an error that never reached a handler (e.g. a malformed interaction)."""
        self._errors.inc(error_type)

    @staticmethod
    def classify(exc: BaseException) -> tuple[str, str]:
        """(error type, user message) for an exception; never exposes an internal message."""
        if isinstance(exc, CommandError):
            return exc.error_type, exc.user_message
        if isinstance(exc, ForgedCustomIdError):
            return "forged_custom_id", "This button or form is not valid any more."
        for types, error_type, message in _LOWER_LAYER_ERRORS:
            if isinstance(exc, types):
                return error_type, message
        return "internal", INTERNAL_MESSAGE

    async def report(
        self, exc: BaseException, *, command: str, guild_id: int | None, user_id: int | None
    ) -> ErrorReport:
        error_type, user_message = self.classify(exc)
        error_id = self._make_error_id()
        self._errors.inc(error_type)
        with logfields.bind(error_id=error_id, command=command, guild_id=guild_id):
            if error_type == "internal":
                log.error("command %s failed [%s]", command, error_id, exc_info=exc)
            else:
                log.info("command %s refused (%s) [%s]: %s", command, error_type, error_id, exc)
        if self._sink is not None and error_type not in ("cooldown", "validation"):
            record = ErrorRecord(
                error_id=error_id,
                error_type=error_type,
                command=command,
                guild_id=guild_id,
                user_id=user_id,
                exception_type=type(exc).__name__,
                message=str(exc)[:500],
            )
            try:
                await self._sink.record_error(record)
            except Exception:
                log.warning("could not record error %s", error_id, exc_info=True)
        return ErrorReport(error_id, error_type, user_message)
