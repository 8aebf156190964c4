"""One pagination helper for every list that can exceed a message: first / previous / next / last.

Why pages live in memory and only a reference travels in the custom_id: a page-turn button must carry the
view, the page to show and who may turn it, and the pages themselves (search results, leaderboards) are far
bigger than the 100 characters a custom_id allows. So `Pagination.send` keeps the rendered pages under a
random view id for ``timeout`` seconds, and each button's signed custom_id holds ``(view id, action, target
page, invoker id)``. The signature means nobody can forge a button that turns someone else's view or jumps
to a page of a view they never saw; the invoker check means only the person who ran the command can turn
its pages (others get an ephemeral note). When the timeout passes, the buttons are disabled by an edit and
the pages are dropped; a click that still arrives (a restart in between) is told the view expired.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import attrs
import trio

from protocol.models import ActionRow, Button, ButtonStyle, Embed
from shard.interactions.context import InteractionContext
from shard.interactions.errors import NotFoundError, PermissionDeniedError, ValidationError
from shard.interactions.registry import CommandRegistry

PAGE_ROUTE = "page"


@attrs.frozen
class Page:
    content: str | None = None
    embeds: tuple[Embed, ...] = ()


@attrs.frozen
class _View:
    pages: tuple[Page, ...]
    invoker_id: int
    expires_at: float


def pages_from_lines(
    lines: Sequence[str], *, title: str, per_page: int = 10, color: int | None = None
) -> list[Page]:
    """Split lines into embed pages of ``per_page`` lines each (at least one page, maybe empty)."""
    chunks = [lines[i : i + per_page] for i in range(0, len(lines), per_page)] or [[]]
    return [
        Page(embeds=(Embed(title=title, description="\n".join(chunk) or "(nothing here)", color=color),))
        for chunk in chunks
    ]


class Pagination:
    """Sends paginated replies and handles their buttons (registers the ``page`` component route)."""

    def __init__(self, registry: CommandRegistry, *, timeout: float = 180.0) -> None:
        self.timeout = timeout
        self._views: dict[str, _View] = {}
        registry.component(PAGE_ROUTE)(self._on_click)

    def __len__(self) -> int:
        return len(self._views)

    def _buttons(
        self, ctx: InteractionContext, view_id: str, view: _View, page: int
    ) -> tuple[ActionRow, ...]:
        last = len(view.pages) - 1

        def button(action: str, label: str, target: int, disabled: bool) -> Button:
            custom_id = ctx.custom_id(PAGE_ROUTE, view_id, action, target, view.invoker_id)
            return Button(style=ButtonStyle.SECONDARY, label=label, custom_id=custom_id, disabled=disabled)

        return (
            ActionRow(
                components=(
                    button("first", "<<", 0, page == 0),
                    button("prev", "<", max(page - 1, 0), page == 0),
                    button("at", f"{page + 1} / {last + 1}", page, True),
                    button("next", ">", min(page + 1, last), page == last),
                    button("last", ">>", last, page == last),
                )
            ),
        )

    def _prune(self, now: float) -> None:
        for view_id in [v for v, view in self._views.items() if view.expires_at <= now]:
            del self._views[view_id]

    async def send(
        self, ctx: InteractionContext, pages: Sequence[Page], *, ephemeral: bool | None = None
    ) -> None:
        """Reply with the first page and, when there are more, the page-turn buttons."""
        if not pages:
            raise ValueError("nothing to paginate")
        first = pages[0]
        if len(pages) == 1:
            await ctx.reply(first.content, embeds=first.embeds, ephemeral=ephemeral)
            return
        now = trio.current_time()
        self._prune(now)
        view_id = secrets.token_urlsafe(6)
        view = _View(tuple(pages), ctx.user_id, now + self.timeout)
        self._views[view_id] = view
        await ctx.reply(
            first.content,
            embeds=first.embeds,
            components=self._buttons(ctx, view_id, view, 0),
            ephemeral=ephemeral,
            view_timeout=self.timeout,
        )

    async def _on_click(self, ctx: InteractionContext) -> None:
        try:
            view_id, _action, target_text, invoker_text = ctx.state
            target, invoker_id = int(target_text), int(invoker_text)
        except ValueError:
            raise ValidationError("This button is not valid.") from None
        if ctx.user_id != invoker_id:
            raise PermissionDeniedError("Only the person who ran the command can turn these pages.")
        view = self._views.get(view_id)
        if view is None or view.expires_at <= trio.current_time():
            self._views.pop(view_id, None)
            raise NotFoundError("These pages have expired; run the command again.")
        page = min(max(target, 0), len(view.pages) - 1)
        shown = view.pages[page]
        await ctx.update(
            shown.content, embeds=shown.embeds, components=self._buttons(ctx, view_id, view, page)
        )
