"""Activity capture: the records the stats listeners produce, how a batch of them is written, and the reads
the daily report and ``/stats`` need.

Write path (used by the storage writer, `actors.storage_writer`): listeners build small immutable records;
the writer groups a batch by kind and calls `ActivityWriteModel.write()`, which stores the whole batch in
one transaction. Each kind is written by a *sink* that knows its table:

* **Append-only events** (messages, edits, reactions, member joins/leaves, role changes, voice, command
  history) carry a key that exists before the write — a Discord snowflake or a uuid the bot generated — so
  writing the same record twice can be detected. The fast path is a binary COPY straight into the table.
  The **idempotent** path (used when retrying after an ambiguous failure, e.g. the connection died while
  COMMIT was in flight, or when the fast path hit a duplicate key) COPYs into a per-connection temporary
  staging table and runs ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``. Together: every row lands exactly
  once however many times a batch is retried.
* **Mirrors** (guilds, users, channels, roles) are upserts (last write wins, deduplicated inside the batch
  because one statement may not update the same row twice), idempotent by nature. A few rows (at most
  `PIPELINED_UPSERT_ROWS`, the common case: a flush of messages carries their handful of authors) go in one
  pipelined ``executemany`` of ``INSERT ... ON CONFLICT DO UPDATE``: one round trip. More go through the
  staging table (create-if-missing, COPY, INSERT ... SELECT, TRUNCATE: five round trips, but COPY's speed per
  row). In the interactions benchmark the one-row user upsert of every 0.1 s flush was five of its eleven
  round trips to PostgreSQL.
* **Deletes/edits of messages** are idempotent updates on ``messages`` (plus an edit event row).

Sinks run in a fixed order (mirrors, then messages before attachments and edits) so a batch never writes a
child before its parent. No SQL here takes a table name from input: every identifier is a constant.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import attrs

from storage.database import Database, Transaction
from storage.repositories.commands import CommandInvocation

# -- records ---------------------------------------------------------------------------------------------


def _new_event_id() -> uuid.UUID:
    return uuid.uuid4()


@attrs.frozen(slots=True)
class AttachmentRecord:
    attachment_id: int
    filename: str
    size_bytes: int = 0
    content_type: str | None = None
    url: str | None = None


@attrs.frozen(slots=True)
class MessageRecord:
    message_id: int
    channel_id: int
    author_id: int
    created_at: datetime
    guild_id: int | None = None
    content: str = ""
    is_bot: bool = False
    reference_id: int | None = None
    embed_count: int = 0
    mention_count: int = 0
    attachments: tuple[AttachmentRecord, ...] = ()


@attrs.frozen(slots=True)
class MessageEditRecord:
    message_id: int
    channel_id: int
    edited_at: datetime
    content: str
    guild_id: int | None = None
    event_id: uuid.UUID = attrs.field(factory=_new_event_id)


@attrs.frozen(slots=True)
class MessageDeleteRecord:
    message_id: int
    deleted_at: datetime


@attrs.frozen(slots=True)
class ReactionRecord:
    message_id: int
    channel_id: int
    user_id: int
    added: bool
    created_at: datetime
    guild_id: int | None = None
    emoji_id: int | None = None
    emoji_name: str | None = None
    event_id: uuid.UUID = attrs.field(factory=_new_event_id)


@attrs.frozen(slots=True)
class MemberEventRecord:
    guild_id: int
    user_id: int
    kind: str  # "join" | "leave"
    created_at: datetime
    event_id: uuid.UUID = attrs.field(factory=_new_event_id)


@attrs.frozen(slots=True)
class RoleChangeRecord:
    guild_id: int
    user_id: int
    role_id: int
    added: bool
    created_at: datetime
    event_id: uuid.UUID = attrs.field(factory=_new_event_id)


@attrs.frozen(slots=True)
class VoiceEventRecord:
    guild_id: int
    user_id: int
    kind: str  # "join" | "leave" | "move"
    created_at: datetime
    channel_id: int | None = None
    previous_channel_id: int | None = None
    event_id: uuid.UUID = attrs.field(factory=_new_event_id)


@attrs.frozen(slots=True)
class GuildRecord:
    guild_id: int
    name: str
    owner_id: int | None = None
    joined_at: datetime | None = None
    left_at: datetime | None = None


@attrs.frozen(slots=True)
class UserRecord:
    user_id: int
    username: str
    global_name: str | None = None
    is_bot: bool = False


@attrs.frozen(slots=True)
class ChannelRecord:
    channel_id: int
    guild_id: int
    name: str
    kind: int
    parent_id: int | None = None
    position: int | None = None
    is_nsfw: bool = False
    deleted: bool = False


@attrs.frozen(slots=True)
class RoleRecord:
    role_id: int
    guild_id: int
    name: str
    color: int = 0
    position: int = 0
    permissions: int = 0
    hoisted: bool = False
    managed: bool = False
    deleted: bool = False


ActivityRecord = (
    MessageRecord
    | MessageEditRecord
    | MessageDeleteRecord
    | ReactionRecord
    | MemberEventRecord
    | RoleChangeRecord
    | VoiceEventRecord
    | GuildRecord
    | UserRecord
    | ChannelRecord
    | RoleRecord
    | CommandInvocation
)

# -- sinks -----------------------------------------------------------------------------------------------

Row = tuple[Any, ...]


async def _staged_insert(
    tx: Transaction, table: str, columns: tuple[str, ...], rows: list[Row], on_conflict: str
) -> None:
    """COPY ``rows`` into a per-session staging table, then INSERT them into ``table`` with ``on_conflict``
    (COPY itself cannot skip or merge rows that collide with a key)."""
    stage = f"_stage_{table}"
    names = ", ".join(columns)
    await tx.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    await tx.copy(stage, rows, columns=columns)
    await tx.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} {on_conflict}")  # noqa: S608
    await tx.execute(f"TRUNCATE {stage}")


@attrs.frozen(slots=True)
class _InsertSink:
    """Append-only rows with a unique key: COPY (fast) or staging + ON CONFLICT DO NOTHING (idempotent)."""

    table: str
    columns: tuple[str, ...]
    to_rows: Callable[[Sequence[Any]], list[Row]]

    async def write(self, tx: Transaction, records: Sequence[Any], *, idempotent: bool) -> None:
        rows = self.to_rows(records)
        if not rows:
            return
        if not idempotent:
            await tx.copy(self.table, rows, columns=self.columns)
            return
        await _staged_insert(tx, self.table, self.columns, rows, "ON CONFLICT DO NOTHING")


#: Mirror batches up to this many rows (after deduplication) are upserted in one pipelined round trip.
PIPELINED_UPSERT_ROWS = 64


@attrs.frozen(slots=True)
class _UpsertSink:
    """Mirror rows: last write wins per key (deduplicated here), ``updated_at`` set by the database."""

    table: str
    key: str
    columns: tuple[str, ...]
    to_rows: Callable[[Sequence[Any]], list[Row]] = attrs.field(init=False)
    key_of: Callable[[Any], Any] = attrs.field(init=False)
    on_conflict: str = attrs.field(init=False)
    pipelined_insert: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "to_rows", _fields_rows(self.columns))
        object.__setattr__(self, "key_of", operator.attrgetter(self.key))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in self.columns if c != self.key)
        on_conflict = f"ON CONFLICT ({self.key}) DO UPDATE SET {updates}, updated_at = now()"
        placeholders = ", ".join(f"${n}" for n in range(1, len(self.columns) + 1))
        names = ", ".join(self.columns)
        # identifiers are this module's constants, values are bind parameters
        insert = f"INSERT INTO {self.table} ({names}) VALUES ({placeholders}) {on_conflict}"  # noqa: S608
        object.__setattr__(self, "on_conflict", on_conflict)
        object.__setattr__(self, "pipelined_insert", insert)

    async def write(self, tx: Transaction, records: Sequence[Any], *, idempotent: bool) -> None:
        # dict(zip(...)) keeps the last row per key, in C (a 2,000-row flush was a 5 ms task step in Python)
        latest: dict[Any, Row] = dict(zip(map(self.key_of, records), self.to_rows(records), strict=True))
        if not latest:
            return
        if len(latest) <= PIPELINED_UPSERT_ROWS:
            await tx.executemany(self.pipelined_insert, latest.values())
            return
        await _staged_insert(tx, self.table, self.columns, list(latest.values()), self.on_conflict)


def _fields_rows(columns: tuple[str, ...]) -> Callable[[Sequence[Any]], list[Row]]:
    fields = operator.attrgetter(*columns)

    def to_rows(records: Sequence[Any]) -> list[Row]:
        return [fields(r) for r in records]

    return to_rows


_MESSAGE_COLUMNS = (
    "message_id",
    "guild_id",
    "channel_id",
    "author_id",
    "created_at",
    "content",
    "is_bot",
    "reference_id",
    "embed_count",
    "mention_count",
    "attachment_count",  # last: computed, appended to the attrgetter's tuple
)
_message_fields = operator.attrgetter(*_MESSAGE_COLUMNS[:-1])


def _message_rows(records: Sequence[MessageRecord]) -> list[Row]:
    # attrgetter builds the tuple in C: this conversion is on the writer's hottest path.
    return [(*_message_fields(m), len(m.attachments)) for m in records]


_ATTACHMENT_COLUMNS = ("attachment_id", "message_id", "filename", "content_type", "size_bytes", "url")


def _attachment_rows(records: Sequence[MessageRecord]) -> list[Row]:
    return [
        (a.attachment_id, m.message_id, a.filename, a.content_type, a.size_bytes, a.url)
        for m in records
        for a in m.attachments
    ]


_MESSAGES = _InsertSink("messages", _MESSAGE_COLUMNS, _message_rows)
_ATTACHMENTS = _InsertSink("attachments", _ATTACHMENT_COLUMNS, _attachment_rows)
_EDIT_COLUMNS = ("event_id", "message_id", "guild_id", "channel_id", "edited_at", "content")
_EDITS = _InsertSink("message_edits", _EDIT_COLUMNS, _fields_rows(_EDIT_COLUMNS))
_REACTION_COLUMNS = (
    "event_id",
    "message_id",
    "guild_id",
    "channel_id",
    "user_id",
    "emoji_id",
    "emoji_name",
    "added",
    "created_at",
)
_REACTIONS = _InsertSink("reactions", _REACTION_COLUMNS, _fields_rows(_REACTION_COLUMNS))
_MEMBER_COLUMNS = ("event_id", "guild_id", "user_id", "kind", "created_at")
_MEMBER_EVENTS = _InsertSink("member_events", _MEMBER_COLUMNS, _fields_rows(_MEMBER_COLUMNS))
_ROLE_CHANGE_COLUMNS = ("event_id", "guild_id", "user_id", "role_id", "added", "created_at")
_ROLE_CHANGES = _InsertSink("role_changes", _ROLE_CHANGE_COLUMNS, _fields_rows(_ROLE_CHANGE_COLUMNS))
_VOICE_COLUMNS = (
    "event_id",
    "guild_id",
    "user_id",
    "channel_id",
    "previous_channel_id",
    "kind",
    "created_at",
)
_VOICE_EVENTS = _InsertSink("voice_events", _VOICE_COLUMNS, _fields_rows(_VOICE_COLUMNS))
_HISTORY_COLUMNS = (
    "invocation_id",
    "command",
    "guild_id",
    "channel_id",
    "user_id",
    "options",
    "started_at",
    "duration_ms",
    "outcome",
    "error_id",
)


def _history_rows(records: Sequence[CommandInvocation]) -> list[Row]:
    return [
        (
            r.invocation_id,
            r.command,
            r.guild_id,
            r.channel_id,
            r.user_id,
            dict(r.options),
            r.started_at,
            r.duration_ms,
            r.outcome,
            r.error_id,
        )
        for r in records
    ]


_HISTORY = _InsertSink("command_history", _HISTORY_COLUMNS, _history_rows)
_GUILDS = _UpsertSink("guilds", "guild_id", ("guild_id", "name", "owner_id", "joined_at", "left_at"))
_USERS = _UpsertSink("users", "user_id", ("user_id", "username", "global_name", "is_bot"))
_CHANNELS = _UpsertSink(
    "channels",
    "channel_id",
    ("channel_id", "guild_id", "name", "kind", "parent_id", "position", "is_nsfw", "deleted"),
)
_ROLES = _UpsertSink(
    "roles",
    "role_id",
    ("role_id", "guild_id", "name", "color", "position", "permissions", "hoisted", "managed", "deleted"),
)


async def _apply_edits(tx: Transaction, records: Sequence[MessageEditRecord]) -> None:
    """Newest edit per message wins; an older edit arriving late never overwrites a newer one."""
    latest: dict[int, MessageEditRecord] = {}
    for edit in records:
        current = latest.get(edit.message_id)
        if current is None or current.edited_at <= edit.edited_at:
            latest[edit.message_id] = edit
    await tx.execute(
        "UPDATE messages AS m SET content = e.content, edited_at = e.edited_at"
        " FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS e(message_id, content, edited_at)"
        " WHERE m.message_id = e.message_id AND (m.edited_at IS NULL OR m.edited_at <= e.edited_at)",
        [e.message_id for e in latest.values()],
        [e.content for e in latest.values()],
        [e.edited_at for e in latest.values()],
    )


async def _apply_deletes(tx: Transaction, records: Sequence[MessageDeleteRecord]) -> None:
    await tx.execute(
        "UPDATE messages AS m SET deleted_at = d.deleted_at"
        " FROM unnest($1::bigint[], $2::timestamptz[]) AS d(message_id, deleted_at)"
        " WHERE m.message_id = d.message_id AND m.deleted_at IS NULL",
        [d.message_id for d in records],
        [d.deleted_at for d in records],
    )


#: Write order: parents before children, inserts before the updates that refer to them.
_ORDER: tuple[type, ...] = (
    GuildRecord,
    UserRecord,
    ChannelRecord,
    RoleRecord,
    MessageRecord,
    MessageEditRecord,
    MessageDeleteRecord,
    ReactionRecord,
    MemberEventRecord,
    RoleChangeRecord,
    VoiceEventRecord,
    CommandInvocation,
)


class ActivityWriteModel:
    """Writes a batch of activity records in one transaction (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def write(self, records: Iterable[ActivityRecord], *, idempotent: bool = False) -> int:
        """Store ``records``; with ``idempotent`` a record already stored is skipped instead of failing.

        Without ``idempotent``, a duplicate key raises asyncpg's UniqueViolationError and nothing of the
        batch is stored; the caller retries with ``idempotent=True``. Returns the number of records.
        """
        groups: dict[type, list[Any]] = {}
        count = 0
        for record in records:
            groups.setdefault(type(record), []).append(record)
            count += 1
        unknown = set(groups) - set(_ORDER)
        if unknown:
            raise TypeError(f"not an activity record: {', '.join(sorted(t.__name__ for t in unknown))}")
        if not count:
            return 0
        if not idempotent and len(groups) == 1 and await self._write_single_copy(groups):
            return count
        async with self._db.transaction() as tx:
            for kind in _ORDER:
                batch = groups.get(kind)
                if batch:
                    await _write_kind(tx, kind, batch, idempotent=idempotent)
        return count

    async def _write_single_copy(self, groups: dict[type, list[Any]]) -> bool:
        """A batch that is one plain COPY needs no explicit transaction (COPY is atomic by itself): this
        saves the BEGIN and COMMIT round trips on the common case, a batch of messages without attachments."""
        ((kind, batch),) = groups.items()
        sink = _SIMPLE_SINKS.get(kind)
        if kind is MessageRecord and not any(m.attachments for m in batch):
            sink = _MESSAGES
        if not isinstance(sink, _InsertSink):
            return False
        await self._db.copy(sink.table, sink.to_rows(batch), columns=sink.columns)
        return True


async def _write_kind(tx: Transaction, kind: type, batch: list[Any], *, idempotent: bool) -> None:
    if kind is MessageRecord:
        await _MESSAGES.write(tx, batch, idempotent=idempotent)
        await _ATTACHMENTS.write(tx, batch, idempotent=idempotent)
    elif kind is MessageEditRecord:
        await _EDITS.write(tx, batch, idempotent=idempotent)
        await _apply_edits(tx, batch)
    elif kind is MessageDeleteRecord:
        await _apply_deletes(tx, batch)
    else:
        await _SIMPLE_SINKS[kind].write(tx, batch, idempotent=idempotent)


_SIMPLE_SINKS: dict[type, _InsertSink | _UpsertSink] = {
    ReactionRecord: _REACTIONS,
    MemberEventRecord: _MEMBER_EVENTS,
    RoleChangeRecord: _ROLE_CHANGES,
    VoiceEventRecord: _VOICE_EVENTS,
    CommandInvocation: _HISTORY,
    GuildRecord: _GUILDS,
    UserRecord: _USERS,
    ChannelRecord: _CHANNELS,
    RoleRecord: _ROLES,
}

DuplicateKeyError = asyncpg.exceptions.UniqueViolationError

# -- reads for the daily report and /stats ----------------------------------------------------------------


@attrs.frozen(slots=True)
class ChannelCount:
    channel_id: int
    name: str | None
    parent_id: int | None
    parent_name: str | None
    messages: int


@attrs.frozen(slots=True)
class MemberFlow:
    joins: int
    leaves: int


@attrs.frozen(slots=True)
class UserActivity:
    user_id: int
    messages: int
    attachments: int
    reactions_given: int


@attrs.frozen(slots=True)
class TopUser:
    user_id: int
    name: str | None
    messages: int


class ActivityStatsRepository:
    """Aggregates over the activity tables; windows are half-open ``[since, until)``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def messages_by_channel(
        self, guild_id: int, since: datetime, until: datetime
    ) -> list[ChannelCount]:
        """Per channel/thread message counts with their category or parent (the daily report's table)."""
        rows = await self._db.fetch(
            "SELECT m.channel_id, c.name, c.parent_id, p.name AS parent_name, count(*) AS messages"
            " FROM messages m LEFT JOIN channels c ON c.channel_id = m.channel_id"
            " LEFT JOIN channels p ON p.channel_id = c.parent_id"
            " WHERE m.guild_id = $1 AND m.created_at >= $2 AND m.created_at < $3"
            " GROUP BY m.channel_id, c.name, c.parent_id, p.name ORDER BY messages DESC, m.channel_id",
            guild_id,
            since,
            until,
        )
        return [ChannelCount(**dict(r)) for r in rows]

    async def member_flow(self, guild_id: int, since: datetime, until: datetime) -> MemberFlow:
        row = await self._db.fetchrow(
            "SELECT count(*) FILTER (WHERE kind = 'join') AS joins, count(*) FILTER (WHERE kind = 'leave')"
            " AS leaves FROM member_events WHERE guild_id = $1 AND created_at >= $2 AND created_at < $3",
            guild_id,
            since,
            until,
        )
        assert row is not None
        return MemberFlow(row["joins"], row["leaves"])

    async def channel_message_count(self, channel_id: int, since: datetime) -> int:
        """``/messagecount``: messages in a channel since a moment (deleted ones included)."""
        value = await self._db.fetchval(
            "SELECT count(*) FROM messages WHERE channel_id = $1 AND created_at >= $2", channel_id, since
        )
        return int(value)

    async def user_activity(self, guild_id: int, user_id: int, since: datetime) -> UserActivity:
        row = await self._db.fetchrow(
            "SELECT"
            " (SELECT count(*) FROM messages WHERE guild_id = $1 AND author_id = $2 AND created_at >= $3)"
            " AS messages,"
            " (SELECT count(*) FROM attachments a JOIN messages m USING (message_id)"
            "  WHERE m.guild_id = $1 AND m.author_id = $2 AND m.created_at >= $3) AS attachments,"
            " (SELECT count(*) FROM reactions WHERE guild_id = $1 AND user_id = $2 AND added"
            "  AND created_at >= $3) AS reactions_given",
            guild_id,
            user_id,
            since,
        )
        assert row is not None
        return UserActivity(user_id, row["messages"], row["attachments"], row["reactions_given"])

    async def top_users(self, guild_id: int, since: datetime, *, limit: int = 10) -> list[TopUser]:
        rows = await self._db.fetch(
            "SELECT m.author_id AS user_id, u.username AS name, count(*) AS messages FROM messages m"
            " LEFT JOIN users u ON u.user_id = m.author_id"
            " WHERE m.guild_id = $1 AND m.created_at >= $2 AND NOT m.is_bot"
            " GROUP BY m.author_id, u.username ORDER BY messages DESC, m.author_id LIMIT $3",
            guild_id,
            since,
            limit,
        )
        return [TopUser(**dict(r)) for r in rows]
