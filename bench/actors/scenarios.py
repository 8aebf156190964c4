"""The measurements of the actor runtime, each a plain async function returning numbers.

Why these and why this way (DESIGN §6, anchors_actors §4): trio's scheduler, not the queue, sets the limit
for in-process messaging, so the runtime's hot path is judged *against raw trio memory channels driven the
same way in the same process*: a producer that enqueues with ``send_nowait`` and checkpoints every ``BATCH``
messages, and a consumer that drains with ``receive_nowait`` up to ``BATCH`` per wakeup. Both consumers call
the same no-op ``handle`` coroutine per message, because an actor always runs a handler; the bare channel
loop (no handler) is reported too, as the floor. Ratios, not absolute rates, transfer between machines.

Keyed actors: 10,000 keys are spawned by sending each one message (the way guild events arrive), timed until
every actor has handled it; passivation closes every idle actor's intake and is timed until all have exited.
The same is done with bare trio tasks (a cancel scope and a memory channel each) as the floor. Memory per
idle actor is the tracemalloc delta across those 10,000 live, idle actors, in a separate run because
tracemalloc slows allocation several times.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Hashable
from typing import Any

import trio

from supervision import (
    ActorContext,
    ChildSpec,
    KeyedSupervisorSpec,
    MailboxSpec,
    SupervisorSpec,
    open_runtime,
)
from supervision.keyed import KeyedSupervisorNode

BATCH = 64


class Sink:
    """The cheapest possible actor: counts messages."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    async def handle(self, msg: Any, ctx: Any) -> None:
        self.count += 1


async def raw_channel(n: int, *, with_handler: bool) -> float:
    """Messages/s through a trio memory channel, nowait on both sides, checkpoint per batch."""
    send, receive = trio.open_memory_channel[int](1024)
    sink = Sink()
    done = trio.Event()

    async def consumer() -> None:
        received = 0
        handle = sink.handle
        while received < n:
            try:
                msg = receive.receive_nowait()
            except trio.WouldBlock:
                msg = await receive.receive()
            k = 1
            if with_handler:
                await handle(msg, None)
            while k < BATCH:
                try:
                    msg = receive.receive_nowait()
                except trio.WouldBlock:
                    break
                if with_handler:
                    await handle(msg, None)
                k += 1
            received += k
            await trio.lowlevel.checkpoint()
        done.set()

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        checkpoint = trio.lowlevel.checkpoint
        for i in range(n):
            send.send_nowait(i)
            if i % BATCH == BATCH - 1:
                await checkpoint()
        await done.wait()
    return n / (time.perf_counter() - start)


async def runtime_tell(n: int) -> tuple[float, int]:
    """Messages/s through ``ActorRef.tell`` and the runtime's batched drain loop; also the drop count."""
    sinks: list[Sink] = []

    def factory() -> Sink:
        sink = Sink()
        sinks.append(sink)
        return sink

    spec = SupervisorSpec("root", children=[ChildSpec("sink", factory=factory, mailbox=MailboxSpec(1024))])
    async with open_runtime(spec) as rt:
        ref = rt.ref("root/sink")
        tell = ref.tell
        checkpoint = trio.lowlevel.checkpoint
        dropped = 0
        start = time.perf_counter()
        for i in range(n):
            if not tell(i):
                dropped += 1
            if i % BATCH == BATCH - 1:
                await checkpoint()
        while sinks[0].count + dropped < n:
            await checkpoint()
        rate = n / (time.perf_counter() - start)
    return rate, dropped


async def raw_task_spawn(n: int) -> dict[str, float]:
    """The floor for spawning: ``n`` bare trio tasks, each in its own cancel scope, handed one message through
    its own memory channel and then parked; "passivation" closes every channel and waits for the tasks."""
    handled = 0
    all_handled = trio.Event()
    channels: list[trio.MemorySendChannel[str]] = []

    async def task(receive: trio.MemoryReceiveChannel[str]) -> None:
        nonlocal handled
        with trio.CancelScope():
            async for _msg in receive:
                handled += 1
                if handled == n:
                    all_handled.set()

    async with trio.open_nursery() as nursery:
        start = time.perf_counter()
        for _ in range(n):
            send, receive = trio.open_memory_channel[str](64)
            send.send_nowait("GUILD_CREATE")
            channels.append(send)
            nursery.start_soon(task, receive)
        await all_handled.wait()
        spawn_s = time.perf_counter() - start
        start = time.perf_counter()
        for send in channels:
            send.close()
    return {"spawn_s": spawn_s, "passivate_s": time.perf_counter() - start}


async def keyed_spawn_and_passivate(n: int, *, measure_memory: bool = False) -> dict[str, float]:
    """Spawn ``n`` keyed actors by messaging each once, then passivate them all.

    With ``measure_memory`` the spawn runs under tracemalloc (which slows it several times), so the timings of
    that run are not reported; the caller runs this twice.
    """
    handled = 0
    all_handled = trio.Event()

    class Guild:
        __slots__ = ()

        async def handle(self, msg: Any, ctx: ActorContext) -> None:
            nonlocal handled
            handled += 1
            if handled == n:
                all_handled.set()

    def child(key: Hashable) -> ChildSpec:
        return ChildSpec(str(key), factory=Guild, mailbox=MailboxSpec(capacity=64))

    keyed_spec = KeyedSupervisorSpec("guilds", child=child, idle_timeout=None, max_children=n)
    async with open_runtime(SupervisorSpec("root", children=[keyed_spec])) as rt:
        guilds = rt.keyed("root/guilds")
        node = rt.node("root/guilds")
        assert isinstance(node, KeyedSupervisorNode)
        gc.collect()
        if measure_memory:
            tracemalloc.start()
            before = tracemalloc.take_snapshot()
        start = time.perf_counter()
        for key in range(n):
            guilds.tell(key, "GUILD_CREATE")
        await all_handled.wait()
        spawn_s = time.perf_counter() - start
        grown = 0
        if measure_memory:
            await trio.sleep(0.01)
            gc.collect()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        live = guilds.live_count()
        cells = list(node.live.values())
        start = time.perf_counter()
        for guild_key, cell in list(node.live.items()):
            node._passivate(guild_key, cell)
        for cell in cells:
            await cell.done.wait()
        passivate_s = time.perf_counter() - start
        assert guilds.live_count() == 0
    return {
        "actors": float(live),
        "spawn_s": spawn_s,
        "passivate_s": passivate_s,
        "bytes_per_idle_actor": grown / max(1, live),
    }
