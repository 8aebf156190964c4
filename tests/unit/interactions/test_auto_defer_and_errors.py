"""Auto-defer under a slow handler (MockClock), and the one error handler."""

from __future__ import annotations

import gc
import logging
import weakref
from typing import Annotated

import pytest
import trio
import trio.testing

from shard.interactions import (
    ConflictError,
    ErrorReporter,
    ExternalServiceError,
    NotFoundError,
    Option,
    StorageUnavailableError,
    ValidationError,
)
from shard.interactions.autodefer import AutoDeferrer
from tests.fixtures.interactions import MEMBER, Bot, slash


async def test_slow_handler_is_deferred_after_2_5_s_then_filled_in(
    bot: Bot, autojump_clock: trio.testing.MockClock
) -> None:
    payload = slash("slow")
    start = trio.current_time()
    await bot.router.handle(payload, received_at=start)
    calls = bot.rest.for_token(payload)
    assert [c.method for c in calls] == ["POST", "PATCH"]
    deferral, answer = calls
    assert deferral.callback_type == 5
    assert deferral.at - start == pytest.approx(2.5)
    assert answer.template.endswith("/messages/@original") and answer.content == "finally"
    assert answer.at - start == pytest.approx(10.0)


async def test_fast_handler_is_not_deferred(bot: Bot, autojump_clock: trio.testing.MockClock) -> None:
    payload = slash("echo", {"text": "hello"})
    await bot.router.handle(payload)
    await trio.sleep(5)  # the auto-defer timer must have been cancelled with the handler
    calls = bot.rest.for_token(payload)
    assert [c.callback_type for c in calls] == [4]


async def test_internal_errors_show_only_an_error_id(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    calls = await bot.run(slash("boom"))
    reply = calls[0]
    assert reply.ephemeral and "hunter2" not in reply.content and "RuntimeError" not in reply.content
    record = bot.errors.records[-1]
    assert record.error_type == "internal" and record.command == "boom"
    assert f"`{record.error_id}`" in reply.content
    assert any(record.error_id in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    counter = bot.telemetry.counter("shard_command_errors_total", "", ["error_type"])
    assert counter.value("internal") == 1
    outcomes = bot.telemetry.counter("shard_commands_total", "", ["command", "outcome"])
    assert outcomes.value("boom", "error") == 1


@pytest.mark.parametrize(
    ("exc", "error_type", "shown"),
    [
        (ValidationError("Bad date."), "validation", "Bad date."),
        (NotFoundError("No such quote."), "not_found", "No such quote."),
        (ConflictError("That tag exists."), "conflict", "That tag exists."),
        (ExternalServiceError(), "external_service", "external service"),
        (StorageUnavailableError(), "storage_unavailable", "Storage is unavailable"),
        (KeyError("secret_column"), "internal", "Something went wrong"),
    ],
)
async def test_error_types_map_to_user_messages(exc: Exception, error_type: str, shown: str) -> None:
    reporter = ErrorReporter(make_error_id=lambda: "abcd1234")
    report = await reporter.report(exc, command="x", guild_id=1, user_id=2)
    assert report.error_type == error_type
    assert shown in report.reply_text and "abcd1234" in report.reply_text
    assert "secret_column" not in report.reply_text


async def test_errors_after_a_public_deferral_replace_it_with_an_ephemeral_note(
    bot: Bot, autojump_clock: trio.testing.MockClock
) -> None:
    @bot.registry.slash("late", description="Fails late", examples=["/late"], category="Test")
    async def late(ctx: object) -> None:
        await trio.sleep(5)
        raise ValidationError("Too late.")

    payload = slash("late", persona=MEMBER)
    await bot.router.handle(payload)
    calls = bot.rest.for_token(payload)
    assert [(c.method, c.callback_type) for c in calls] == [("POST", 5), ("DELETE", None), ("POST", None)]
    assert calls[2].ephemeral and "Too late." in calls[2].content


async def test_malformed_interactions_are_counted_and_answered_when_possible(bot: Bot) -> None:
    await bot.router.handle({"id": "x", "type": 2})
    assert bot.rest.calls == []  # no usable id/token: nothing to answer
    readable = {**slash("echo", {"text": "hi"}), "member": {"user": "not an object"}}
    await bot.router.handle(readable)
    answer = bot.rest.first(readable)
    assert answer.callback_type == 4 and answer.ephemeral and "could not read" in answer.content
    assert (
        bot.telemetry.counter("shard_command_errors_total", "", ["error_type"]).value("malformed_interaction")
        == 2
    )


async def test_unknown_commands_get_a_clear_ephemeral_answer(bot: Bot) -> None:
    calls = await bot.run(slash("nope"))
    assert calls[0].ephemeral and "not available" in calls[0].content


async def test_one_watchdog_defers_only_the_slow_ones_each_on_time(
    bot: Bot, autojump_clock: trio.testing.MockClock
) -> None:
    @bot.registry.slash("wait", description="Waits", examples=["/wait seconds:3"], category="Test")
    async def wait(ctx: object, seconds: Annotated[float, Option("How long")]) -> None:
        await trio.sleep(seconds)
        await ctx.reply(f"waited {seconds}")  # type: ignore[attr-defined]

    started = trio.current_time()
    plan = [(0.0, 1.0), (0.5, 4.0), (1.0, 0.1), (1.5, 6.0), (2.0, 2.4)]  # (start offset, handler duration)
    payloads = [slash("wait", {"seconds": duration}) for _, duration in plan]
    async with trio.open_nursery() as nursery:
        for (offset, _), payload in zip(plan, payloads, strict=True):
            nursery.start_soon(_start_at, bot, payload, started + offset)
    for (offset, duration), payload in zip(plan, payloads, strict=True):
        calls = bot.rest.for_token(payload)
        if duration < 2.5:
            assert [c.callback_type for c in calls] == [4], duration
        else:
            deferral, answer = calls
            assert deferral.callback_type == 5
            assert deferral.at - started == pytest.approx(offset + 2.5)
            assert answer.content == f"waited {duration}"


async def _start_at(bot: Bot, payload: dict[str, object], when: float) -> None:
    await trio.sleep_until(when)
    await bot.router.handle(payload, received_at=when)


async def test_a_private_answer_after_a_public_auto_deferral_stays_private(
    bot: Bot, autojump_clock: trio.testing.MockClock
) -> None:
    @bot.registry.slash("secret", description="Slow and private", examples=["/secret"], category="Test")
    async def secret(ctx: object) -> None:
        await trio.sleep(4)
        await ctx.reply("only for you", ephemeral=True)  # type: ignore[attr-defined]

    payload = slash("secret")
    await bot.router.handle(payload)
    calls = bot.rest.for_token(payload)
    assert [(c.method, c.callback_type) for c in calls] == [("POST", 5), ("DELETE", None), ("POST", None)]
    assert not calls[0].ephemeral  # the command is public by default, so the deferral was too
    assert calls[2].ephemeral and calls[2].content == "only for you"


async def test_an_interaction_that_waited_past_the_deadline_is_dropped_unanswered(
    bot: Bot, autojump_clock: trio.testing.MockClock
) -> None:
    stale, fresh = slash("echo", {"text": "late"}), slash("echo", {"text": "on time"})
    await trio.sleep(10)
    now = trio.current_time()
    await bot.router.handle(stale, received_at=now - 3.2)  # queued behind an overload for 3.2 s
    await bot.router.handle(fresh, received_at=now - 2.9)
    assert bot.rest.for_token(stale) == []  # its token can no longer be answered: no wasted call
    assert [c.callback_type for c in bot.rest.for_token(fresh)] == [4]
    outcomes = bot.telemetry.counter("shard_commands_total", "", ["command", "outcome"])
    assert outcomes.value("expired", "expired") == 1


class _WatchedContext:
    """What the watchdog reads of a context (weak-referenceable, like `InteractionContext`)."""

    def __init__(self, *, answered: bool) -> None:
        self.finished = self.answered = answered
        self.name = "answered" if answered else "pending"


async def test_the_watchdog_drops_answered_contexts_in_bounded_steps() -> None:
    async with trio.open_nursery() as nursery:
        deferrer = AutoDeferrer(nursery, after=2.5)
        for _ in range(1_000):
            deferrer.watch(_WatchedContext(answered=True))  # type: ignore[arg-type]
        remaining: list[int] = []

        async def probe() -> None:
            for _ in range(10):
                remaining.append(len(deferrer))
                await trio.lowlevel.checkpoint()

        nursery.start_soon(probe)
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert len(deferrer) == 0
    # Other tasks ran while the watchdog was part-way through the backlog: it never drops it in one step.
    assert any(0 < n < 1_000 for n in remaining), remaining


async def test_a_finished_watch_lets_go_of_its_context_before_the_watchdog_reaches_it() -> None:
    async with trio.open_nursery() as nursery:
        deferrer = AutoDeferrer(nursery, after=2.5)
        ctx = _WatchedContext(answered=False)
        alive = weakref.ref(ctx)
        watch = deferrer.watch(ctx)  # type: ignore[arg-type]
        await trio.testing.wait_all_tasks_blocked()  # the watchdog now sleeps until the deadline
        watch.done()  # the handler returned
        del ctx
        gc.collect()
        assert alive() is None  # nothing kept it for the remaining 2.5 s
        assert len(deferrer) == 1  # its (empty) place in the queue is dropped when the watchdog gets there
        nursery.cancel_scope.cancel()
