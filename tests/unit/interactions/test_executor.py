"""The command executor actor under the real supervision runtime."""

from __future__ import annotations

import functools

import trio
import trio.testing

from actors.executor import CommandExecutor, Execute
from supervision import ChildSpec, MailboxSpec, SupervisorSpec, open_runtime
from tests.fixtures.interactions import MODERATOR, Bot, build_bot, slash


async def test_executor_runs_interactions_concurrently_and_survives_bugs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    executor = CommandExecutor(max_concurrency=4)
    spec = SupervisorSpec(
        id="root",
        children=[
            ChildSpec(
                id="executor", factory=lambda: executor, mailbox=MailboxSpec(capacity=64), critical=True
            )
        ],
    )
    async with open_runtime(spec) as runtime:
        ref = runtime.ref("root/executor")
        bot: Bot = build_bot(executor)  # the executor is also the spawner for view timeouts

        async def broken() -> None:
            raise RuntimeError("a bug past the router")

        ref.tell(Execute(broken, name="broken"))
        payloads = [slash("slow") for _ in range(3)] + [slash("echo", {"text": "hey"})]
        started = trio.current_time()
        for payload in payloads:
            assert ref.tell(Execute(functools.partial(bot.router.handle, payload)))
        await trio.testing.wait_all_tasks_blocked()
        await executor.wait_idle()
        # three 10 s handlers ran side by side, not one after another
        assert trio.current_time() - started < 15
        for payload in payloads[:3]:
            assert [c.callback_type for c in bot.rest.for_token(payload)] == [5, None]
        assert bot.rest.for_token(payloads[3])[0].content == "hey"
        assert executor.running == 0
        health = runtime.health()
        assert "executor" in str(health)

        # a view timeout scheduled through the executor runs in its nursery
        purge = slash("purge", persona=MODERATOR)
        ref.tell(Execute(functools.partial(bot.router.handle, purge)))
        await trio.sleep(61)
        assert bot.rest.for_token(purge)[-1].method == "PATCH"
