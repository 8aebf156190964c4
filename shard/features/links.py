"""Links and tags: ``/link get|list|add|edit|delete`` and ``/tag``, one guild's saved links at a time.

Why the rules sit where they do:

* **Guild scope comes from the interaction, never from an option.** The old bot dropped its guild filter
  and one server's ``/link add`` shadowed another's; here every call passes ``ctx.guild_id`` to a store
  whose every query is guild-scoped (`storage.repositories.links.LinkRepository`), and the commands refuse
  to run outside a guild.
* **Who may change links is declared, not hoped for.** ``add`` and ``delete`` carry the MODERATOR level, so
  the router checks them (and audits a denial) before the handler runs, and Discord hides them from members
  through ``default_member_permissions``. ``edit`` is open to the link's author *or* an admin, which only
  the stored record can tell, so the handler checks it after loading the link and raises
  `PermissionDeniedError` (the error table records it; an optional `AuditSink` records it in the audit log
  too, like the router's own denials).
* **Validation before storage.** Titles ≤ 100, tags ≤ 50 (the schema's limits; Discord enforces the option
  lengths too), and a link shown as an embed must be an http(s) URL, because that is what turns
  ``[title](url)`` into a clickable link. A duplicate title is a `ConflictError` naming it.
* **The store is a protocol.** The handlers only touch the database inside their bodies, so registering the
  commands needs no connection: ``shard commands list/diff`` build the same command set with
  `StorageNotOpen`, and the bot passes the real repository.

The database being down is not handled here at all: the store raises ``storage.errors.StorageUnavailable``
and the router's one error mapping answers "storage unavailable" ephemerally with an error id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Protocol
from urllib.parse import urlsplit

from shard.interactions import (
    AuditSink,
    Choice,
    CommandGroup,
    CommandRegistry,
    ConflictError,
    InteractionContext,
    NotFoundError,
    Option,
    Pagination,
    PermissionDeniedError,
    PermissionLevel,
    ValidationError,
    pages_from_lines,
)
from storage.errors import AlreadyExists, StorageUnavailable
from storage.repositories.links import Link, TagCount

__all__ = [
    "CATEGORY",
    "EXAMPLE_LINKS",
    "LinkStore",
    "StorageNotOpen",
    "register",
    "render_link",
    "seed_example_links",
    "validate_new_link",
]

log = logging.getLogger(__name__)

CATEGORY = "Links"
MAX_TITLE = 100
MAX_TAG = 50
MAX_CONTENT = 2000
PER_PAGE = 15
LIST_COLOR = 0x3BA55C

#: What a fresh sandbox guild starts with, so ``/link get title:discord`` answers out of the box.
EXAMPLE_LINKS: tuple[tuple[str, str, str], ...] = (
    ("discord", "https://discord.gg/thewanderinginn", "community"),
    ("wiki", "https://wiki.wanderinginn.com/", "reference"),
    ("patreon", "https://www.patreon.com/pirateaba", "support"),
)


class LinkStore(Protocol):
    """The guild-scoped link storage the commands use (`LinkRepository` in production)."""

    async def add(
        self,
        guild_id: int,
        title: str,
        content: str,
        *,
        added_by: int,
        tag: str | None = None,
        embed: bool = True,
    ) -> Link: ...

    async def get(self, guild_id: int, title: str) -> Link | None: ...

    async def edit(self, guild_id: int, title: str, content: str) -> Link | None: ...

    async def delete(self, guild_id: int, title: str) -> bool: ...

    async def by_tag(self, guild_id: int, tag: str) -> list[Link]: ...

    async def tags(self, guild_id: int) -> list[TagCount]: ...

    async def autocomplete(self, guild_id: int, prefix: str, *, limit: int = 25) -> list[Link]: ...


class StorageNotOpen:
    """A `LinkStore` for processes that only build the command set (``shard commands list/diff/sync``):
    registering needs no database, and running a command against it says storage is unavailable."""

    async def _unavailable(self) -> Any:
        raise StorageUnavailable("this process has no database connection")

    async def add(
        self,
        guild_id: int,
        title: str,
        content: str,
        *,
        added_by: int,
        tag: str | None = None,
        embed: bool = True,
    ) -> Link:
        return await self._unavailable()  # type: ignore[no-any-return]

    async def get(self, guild_id: int, title: str) -> Link | None:
        return await self._unavailable()  # type: ignore[no-any-return]

    async def edit(self, guild_id: int, title: str, content: str) -> Link | None:
        return await self._unavailable()  # type: ignore[no-any-return]

    async def delete(self, guild_id: int, title: str) -> bool:
        return await self._unavailable()  # type: ignore[no-any-return]

    async def by_tag(self, guild_id: int, tag: str) -> list[Link]:
        return await self._unavailable()  # type: ignore[no-any-return]

    async def tags(self, guild_id: int) -> list[TagCount]:
        return await self._unavailable()  # type: ignore[no-any-return]

    async def autocomplete(self, guild_id: int, prefix: str, *, limit: int = 25) -> list[Link]:
        return await self._unavailable()  # type: ignore[no-any-return]


# -- pure rules ---------------------------------------------------------------------------------------------
def is_web_url(text: str) -> bool:
    """An absolute http(s) URL with a host (what Discord turns into a link)."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in text)


def clean_title(title: str) -> str:
    cleaned = " ".join(title.split())
    if not cleaned:
        raise ValidationError("The title cannot be empty.")
    if len(cleaned) > MAX_TITLE:
        raise ValidationError(f"The title is too long ({len(cleaned)} characters; at most {MAX_TITLE}).")
    return cleaned


def clean_tag(tag: str | None) -> str | None:
    if tag is None:
        return None
    cleaned = " ".join(tag.split())
    if not cleaned:
        return None
    if len(cleaned) > MAX_TAG:
        raise ValidationError(f"The tag is too long ({len(cleaned)} characters; at most {MAX_TAG}).")
    return cleaned


ADD_URL_HINT = " (set embed:False to save plain text)"
EDIT_URL_HINT = " (this link is posted as a clickable link)"


def clean_content(content: str, *, embed: bool, hint: str = ADD_URL_HINT) -> str:
    cleaned = content.strip()
    if not cleaned:
        raise ValidationError("The content cannot be empty.")
    if len(cleaned) > MAX_CONTENT:
        raise ValidationError(f"The content is too long ({len(cleaned)} characters; at most {MAX_CONTENT}).")
    if embed and not is_web_url(cleaned):
        raise ValidationError(f"The content must be a web address starting with http:// or https://{hint}.")
    return cleaned


def validate_new_link(
    title: str, content: str, tag: str | None, *, embed: bool
) -> tuple[str, str, str | None]:
    """The cleaned (title, content, tag) of a link about to be saved, or a `ValidationError`."""
    return clean_title(title), clean_content(content, embed=embed), clean_tag(tag)


def render_link(link: Link) -> str:
    """``[title](url)`` for embedded links (Discord shows a preview), ``**title**: content`` otherwise."""
    if link.embed and is_web_url(link.content):
        return f"[{link.title}]({link.content})"
    return f"**{link.title}**: {link.content}"


def choice_label(link: Link) -> str:
    """``title: content`` cut to Discord's 100-character choice name."""
    label = f"{link.title}: {link.content}"
    return label if len(label) <= 100 else label[:99] + "…"


def _guild(ctx: InteractionContext) -> int:
    if ctx.guild_id is None:
        raise ValidationError("Links belong to a server; use this command in one.")
    return ctx.guild_id


# -- the commands ---------------------------------------------------------------------------------------
class _LinkCommands:
    """What the handlers share: the store, the pagination helper, the audit sink and the autocompletes."""

    def __init__(self, links: LinkStore, pagination: Pagination, audit: AuditSink | None) -> None:
        self.links = links
        self.pagination = pagination
        self.audit = audit

    async def titles(self, ctx: InteractionContext, typed: str) -> list[Choice]:
        if ctx.guild_id is None:
            return []
        found = await self.links.autocomplete(ctx.guild_id, typed.strip()[:MAX_TITLE])
        return [Choice(choice_label(link), link.title) for link in found]

    async def tag_names(self, ctx: InteractionContext, typed: str) -> list[Choice]:
        if ctx.guild_id is None:
            return []
        wanted = typed.strip().lower()
        counts = await self.links.tags(ctx.guild_id)
        return [Choice(f"{t.tag} ({t.count})"[:100], t.tag) for t in counts if wanted in t.tag.lower()][:25]

    async def get(self, ctx: InteractionContext, title: str) -> Link:
        link = await self.links.get(_guild(ctx), title.strip())
        if link is None:
            raise NotFoundError(f"There is no link titled `{title.strip()[:MAX_TITLE]}` in this server.")
        return link

    async def send_tag(self, ctx: InteractionContext, tag: str) -> None:
        found = await self.links.by_tag(_guild(ctx), tag.strip())
        if not found:
            raise NotFoundError(f"No links are tagged `{tag.strip()[:MAX_TAG]}`.")
        lines = [f"**{link.title}**" for link in found]
        heading = f"Links tagged {found[0].tag} ({len(found)})"
        pages = pages_from_lines(lines, title=heading, per_page=PER_PAGE, color=LIST_COLOR)
        await self.pagination.send(ctx, pages)

    async def send_tags(self, ctx: InteractionContext) -> None:
        counts = await self.links.tags(_guild(ctx))
        if not counts:
            raise NotFoundError("This server has no tagged links yet.")
        lines = [f"**{t.tag}**: {t.count} link{'s' if t.count != 1 else ''}" for t in counts]
        pages = pages_from_lines(lines, title="Link tags", per_page=PER_PAGE, color=LIST_COLOR)
        await self.pagination.send(ctx, pages)

    async def audit_denial(self, ctx: InteractionContext, target: str, details: Mapping[str, Any]) -> None:
        if self.audit is None:
            return
        try:
            await self.audit.record(ctx.guild_id, ctx.user_id, "permission_denied", target, details)
        except Exception:
            log.warning("could not write a link edit denial to the audit log", exc_info=True)


def register(
    registry: CommandRegistry,
    *,
    links: LinkStore,
    pagination: Pagination,
    audit: AuditSink | None = None,
) -> None:
    """Register ``/link`` (get, list, add, edit, delete) and ``/tag`` on ``registry``."""
    commands = _LinkCommands(links, pagination, audit)
    group = registry.group("link", description="Saved links for this server", category=CATEGORY)
    _register_reads(registry, group, commands)
    _register_writes(group, commands)


def _register_reads(registry: CommandRegistry, group: CommandGroup, commands: _LinkCommands) -> None:
    title_option = Annotated[
        str, Option("The link's title", max_length=MAX_TITLE, autocomplete=commands.titles)
    ]
    tag_autocomplete = commands.tag_names

    @group.command(
        "get",
        description="Post a saved link",
        examples=["/link get title:discord", "/link get title:wiki"],
    )
    async def get(ctx: InteractionContext, title: title_option) -> None:
        await ctx.reply(render_link(await commands.get(ctx, title)))

    @group.command(
        "list",
        description="List the tags with their link counts, or the links under one tag",
        examples=["/link list", "/link list tag:community"],
    )
    async def list_links(
        ctx: InteractionContext,
        tag: Annotated[
            str | None,
            Option("Show the links with this tag", max_length=MAX_TAG, autocomplete=tag_autocomplete),
        ] = None,
    ) -> None:
        if tag is not None and tag.strip():
            await commands.send_tag(ctx, tag)
        else:
            await commands.send_tags(ctx)

    @registry.slash(
        "tag",
        description="List the links with a tag",
        examples=["/tag tag:community"],
        category=CATEGORY,
    )
    async def tag_command(
        ctx: InteractionContext,
        tag: Annotated[str, Option("The tag", max_length=MAX_TAG, autocomplete=tag_autocomplete)],
    ) -> None:
        await commands.send_tag(ctx, tag)


def _register_writes(group: CommandGroup, commands: _LinkCommands) -> None:
    title_option = Annotated[
        str, Option("The link's title", max_length=MAX_TITLE, autocomplete=commands.titles)
    ]
    links = commands.links

    @group.command(
        "add",
        description="Save a new link for this server (moderators)",
        examples=[
            "/link add title:wiki content:https://wiki.wanderinginn.com/ tag:reference",
            "/link add title:motto content:Inns are for everyone embed:False",
        ],
        level=PermissionLevel.MODERATOR,
    )
    async def add(
        ctx: InteractionContext,
        title: Annotated[str, Option("A short, unique title", max_length=MAX_TITLE)],
        content: Annotated[str, Option("The URL (or text, with embed:False)", max_length=MAX_CONTENT)],
        tag: Annotated[str | None, Option("A tag to group it under", max_length=MAX_TAG)] = None,
        embed: Annotated[bool, Option("Post it as a clickable link with a preview")] = True,
    ) -> None:
        guild_id = _guild(ctx)
        title, content, clean = validate_new_link(title, content, tag, embed=embed)
        try:
            link = await links.add(guild_id, title, content, added_by=ctx.user_id, tag=clean, embed=embed)
        except AlreadyExists:
            raise ConflictError(f"A link titled `{title}` already exists in this server.") from None
        where = f" under `{link.tag}`" if link.tag else ""
        await ctx.reply(f"Saved **{link.title}**{where}.", ephemeral=True)

    @group.command(
        "edit",
        description="Change a link's content (its author or an admin)",
        examples=["/link edit title:wiki content:https://wiki.wanderinginn.com/Main_Page"],
    )
    async def edit(
        ctx: InteractionContext,
        title: title_option,
        content: Annotated[str, Option("The new URL or text", max_length=MAX_CONTENT)],
    ) -> None:
        link = await commands.get(ctx, title)
        if link.added_by != ctx.user_id and ctx.level < PermissionLevel.ADMIN:
            await commands.audit_denial(ctx, "link edit", {"title": link.title, "author": str(link.added_by)})
            raise PermissionDeniedError("Only the person who added this link or an admin can edit it.")
        updated = await links.edit(
            link.guild_id, link.title, clean_content(content, embed=link.embed, hint=EDIT_URL_HINT)
        )
        if updated is None:  # deleted between the two queries
            raise NotFoundError(f"The link `{link.title}` was just deleted.")
        await ctx.reply(f"Updated **{updated.title}**.", ephemeral=True)

    @group.command(
        "delete",
        description="Delete a link (moderators)",
        examples=["/link delete title:wiki"],
        level=PermissionLevel.MODERATOR,
    )
    async def delete(ctx: InteractionContext, title: title_option) -> None:
        if not await links.delete(_guild(ctx), title.strip()):
            raise NotFoundError(f"There is no link titled `{title.strip()[:MAX_TITLE]}` in this server.")
        await ctx.reply(f"Deleted **{title.strip()}**.", ephemeral=True)


async def seed_example_links(
    links: LinkStore,
    guild_id: int,
    added_by: int,
    examples: Sequence[tuple[str, str, str]] = EXAMPLE_LINKS,
) -> int:
    """Add ``examples`` to a guild that has no links at all (the sandbox); returns how many were added."""
    if await links.autocomplete(guild_id, "", limit=1):
        return 0
    added = 0
    for title, url, tag in examples:
        try:
            await links.add(guild_id, title, url, added_by=added_by, tag=tag, embed=True)
        except AlreadyExists:
            continue
        added += 1
    return added
