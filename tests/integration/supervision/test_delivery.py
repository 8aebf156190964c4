"""Mailbox overflow policies, call semantics, dead letters and the control lane."""

import pytest
import trio
import trio.testing

from supervision import (
    ActorContext,
    ActorExited,
    Call,
    CallTimeout,
    ChildSpec,
    MailboxFull,
    MailboxSpec,
    Overflow,
    SupervisorSpec,
    open_runtime,
)
from tests.fixtures.supervision import Journal, probe, settle


def gated_reader(overflow: Overflow, gate: trio.Event, seen: list[object]) -> ChildSpec:
    """A worker that reads its mailbox only after ``gate`` is set (so the mailbox can be filled)."""

    async def run(ctx: ActorContext) -> None:
        await gate.wait()
        async for msg in ctx.mailbox:
            seen.append(msg.msg if isinstance(msg, Call) else msg)
            if isinstance(msg, Call):
                msg.reply("ok")

    return ChildSpec("reader", run=run, mailbox=MailboxSpec(capacity=2, overflow=overflow))


def reader_tree(overflow: Overflow, gate: trio.Event, seen: list[object]) -> SupervisorSpec:
    return SupervisorSpec("root", children=[gated_reader(overflow, gate, seen)])


async def test_drop_newest_keeps_the_queue_and_counts_the_drop(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate, seen = trio.Event(), list[object]()
    async with open_runtime(reader_tree(Overflow.DROP_NEWEST, gate, seen)) as rt:
        ref = rt.ref("root/reader")
        assert [ref.tell(i) for i in (1, 2, 3)] == [True, True, False]
        gate.set()
        await settle()
        assert seen == [1, 2]
        assert rt.dead_letters.by_reason["full"] == 1
        assert rt.health()["tree"]["children"][0]["mailbox"]["dropped"] == 1


async def test_drop_oldest_evicts_the_head(autojump_clock: trio.testing.MockClock) -> None:
    gate, seen = trio.Event(), list[object]()
    async with open_runtime(reader_tree(Overflow.DROP_OLDEST, gate, seen)) as rt:
        ref = rt.ref("root/reader")
        assert [ref.tell(i) for i in (1, 2, 3)] == [True, True, True]
        gate.set()
        await settle()
        assert seen == [2, 3]
        assert rt.dead_letters.by_reason["full"] == 1


async def test_fail_policy_raises_to_the_sender(autojump_clock: trio.testing.MockClock) -> None:
    gate, seen = trio.Event(), list[object]()
    async with open_runtime(reader_tree(Overflow.FAIL, gate, seen)) as rt:
        ref = rt.ref("root/reader")
        ref.tell(1)
        ref.tell(2)
        with pytest.raises(MailboxFull):
            ref.tell(3)
        with pytest.raises(MailboxFull):
            await ref.send(3)
        with pytest.raises(MailboxFull):
            await ref.call(3)
        gate.set()
        await settle()
        assert seen == [1, 2]


async def test_block_policy_tell_refuses_but_send_waits_for_room(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate, seen = trio.Event(), list[object]()
    async with open_runtime(reader_tree(Overflow.BLOCK, gate, seen)) as rt:
        ref = rt.ref("root/reader")
        assert ref.tell(1) and ref.tell(2)
        assert ref.tell(3) is False  # tell never blocks: a "full" dead letter
        assert rt.dead_letters.by_reason["full"] == 1
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.send, 4)
            await trio.sleep(1)
            node = rt.node("root/reader")
            assert node is not None
            assert node.mailbox.tasks_waiting_send == 1  # type: ignore[attr-defined]
            assert seen == []
            gate.set()
        await settle()
        assert seen == [1, 2, 4]


async def test_call_times_out_when_the_callee_is_slow(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    async with open_runtime(SupervisorSpec("root", children=[probe("slow", journal)])) as rt:
        ref = rt.ref("root/slow")
        ref.tell(("sleep", 10))
        start = trio.current_time()
        with pytest.raises(CallTimeout):
            await ref.call("late", timeout=1.0)
        assert trio.current_time() - start == pytest.approx(1.0)
        await trio.sleep(10)
        assert rt.dead_letters.by_reason["expired"] == 1  # the actor skipped the abandoned call


async def test_call_fails_at_once_when_the_callee_crashes(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    async with open_runtime(SupervisorSpec("root", children=[probe("a", journal)])) as rt:
        ref = rt.ref("root/a")
        ref.tell(("sleep", 1))
        ref.tell("crash")
        start = trio.current_time()
        with pytest.raises(ActorExited) as caught:
            await ref.call("queued behind the crash", timeout=30.0)
        assert trio.current_time() - start == pytest.approx(1.0)  # at the crash, not at the timeout
        assert isinstance(caught.value.__cause__, RuntimeError)


async def test_handler_error_reaches_the_caller_chained_and_the_actor_restarts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    async with open_runtime(SupervisorSpec("root", children=[probe("a", journal)])) as rt:
        ref = rt.ref("root/a")
        with pytest.raises(ActorExited) as caught:
            await ref.call("crash")
        assert isinstance(caught.value.__cause__, RuntimeError)
        assert "crashed on purpose" in str(caught.value.__cause__)
        assert await ref.call("again") == ("a", "again", 2)


async def test_worker_death_fails_pending_calls(autojump_clock: trio.testing.MockClock) -> None:
    async def dies_without_reading(ctx: ActorContext) -> None:
        await trio.sleep(2)
        raise ConnectionError("socket closed")

    spec = SupervisorSpec("root", children=[ChildSpec("gw", run=dies_without_reading)])
    async with open_runtime(spec) as rt:
        start = trio.current_time()
        with pytest.raises(ActorExited) as caught:
            await rt.ref("root/gw").call("status", timeout=60)
        assert trio.current_time() - start == pytest.approx(2.0)
        assert isinstance(caught.value.__cause__, ConnectionError)


async def test_unknown_path_is_a_dead_letter_and_a_failed_call(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    async with open_runtime(SupervisorSpec("root", children=[probe("a", journal)])) as rt:
        ghost = rt.ref("root/nobody")
        assert ghost.tell("hello") is False
        with pytest.raises(ActorExited, match="never started"):
            await ghost.call("hello", timeout=10)
        assert rt.dead_letters.by_reason["no_actor"] == 1
        sample = rt.health()["dead_letters"]["samples"][-1]
        assert sample == {"at": sample["at"], "path": "root/nobody", "reason": "no_actor", "msg_type": "str"}


async def test_stop_and_status_do_not_wait_behind_a_full_mailbox(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    spec = SupervisorSpec(
        "root", children=[probe("wedged", journal, mailbox=MailboxSpec(capacity=4), shutdown_timeout=3.0)]
    )
    async with open_runtime(spec) as rt:
        ref = rt.ref("root/wedged")
        ref.tell(("sleep", 10_000))
        await trio.sleep(0.01)
        for i in range(4):
            ref.tell(i)
        # status: read out of band while the actor is stuck and its mailbox is full
        node = rt.health()["tree"]["children"][0]
        assert node["mailbox"]["depth"] == 4 and node["state"] == "RUNNING"
        start = trio.current_time()
        await rt.shutdown()
        # stop: bounded by the shutdown timeout, not by 10,000 s of queued work
        assert trio.current_time() - start == pytest.approx(3.0)
        assert rt.dead_letters.by_reason["stopped"] == 4


async def test_tell_after_stop_is_a_stopped_dead_letter(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    async with open_runtime(SupervisorSpec("root", children=[probe("a", journal)])) as rt:
        ref = rt.ref("root/a")
        await rt.shutdown()
        assert ref.tell("late") is False
        with pytest.raises(ActorExited):
            await ref.call("late")
        assert rt.dead_letters.by_reason["stopped"] == 1


async def test_send_waits_for_a_busy_actor_to_make_room(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    spec = SupervisorSpec("root", children=[probe("slow", journal, mailbox=MailboxSpec(capacity=2))])
    async with open_runtime(spec) as rt:
        ref = rt.ref("root/slow")
        for _ in range(3):  # one in the handler, two queued: full
            await ref.send(("sleep", 1))
        start = trio.current_time()
        assert await ref.send("next") is True  # waits until the drain loop takes a message
        assert trio.current_time() - start == pytest.approx(1.0)
        assert await ref.call("count", timeout=10) == 5
        assert rt.dead_letters.total == 0


async def test_a_call_waiting_for_room_fails_at_once_when_the_callee_dies(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def dies_without_reading(ctx: ActorContext) -> None:
        await trio.sleep(2)
        raise ConnectionError("socket closed")

    spec = SupervisorSpec(
        "root", children=[ChildSpec("gw", run=dies_without_reading, mailbox=MailboxSpec(capacity=1))]
    )
    async with open_runtime(spec) as rt:
        ref = rt.ref("root/gw")
        assert ref.tell("fills the only slot")
        start = trio.current_time()
        with pytest.raises(ActorExited) as caught:
            await ref.call("parked until there is room", timeout=30)
        assert trio.current_time() - start == pytest.approx(2.0)
        assert isinstance(caught.value.__cause__, ConnectionError)


async def test_a_cancelled_caller_s_request_is_skipped(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    async with open_runtime(SupervisorSpec("root", children=[probe("a", journal)])) as rt:
        ref = rt.ref("root/a")
        ref.tell(("sleep", 5))
        with trio.move_on_after(1):
            await ref.call("never mind", timeout=60)
        await trio.sleep(10)
        assert await ref.call("count") == 2  # the sleep and this call: the abandoned request never ran
        assert rt.dead_letters.by_reason["expired"] == 1
