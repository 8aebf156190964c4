"""The mailbox against a model: for any sequence of puts and takes, under each overflow policy, the queue
content, the drop count, the dead letters and the peak match a plain-deque model of the policy."""

from collections import deque

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision import MailboxFull, MailboxSpec, Overflow
from supervision.deadletters import DeadLetters
from supervision.mailbox import Mailbox
from supervision.telemetry import Telemetry

operations = st.lists(st.one_of(st.just("take"), st.integers(0, 1000)), max_size=80)


@settings(max_examples=60, deadline=None)
@given(ops=operations, capacity=st.integers(1, 6), overflow=st.sampled_from(list(Overflow)))
def test_mailbox_matches_the_policy_model(ops: list[object], capacity: int, overflow: Overflow) -> None:
    async def scenario() -> None:
        dead = DeadLetters(Telemetry())
        mailbox = Mailbox(MailboxSpec(capacity, overflow), "root/x", dead)
        model: deque[object] = deque()
        dropped = peak = 0
        for op in ops:
            if op == "take":
                if model:
                    assert mailbox.get_nowait() == model.popleft()
                else:
                    with pytest.raises(trio.WouldBlock):
                        mailbox.get_nowait()
                continue
            if len(model) < capacity:
                assert mailbox.put_nowait(op) is True
                model.append(op)
            elif overflow is Overflow.FAIL:
                with pytest.raises(MailboxFull):
                    mailbox.put_nowait(op)
                dropped += 1
            elif overflow is Overflow.DROP_OLDEST:
                assert mailbox.put_nowait(op) is True
                model.popleft()
                model.append(op)
                dropped += 1
            else:  # DROP_NEWEST, and BLOCK under put_nowait (tell never blocks)
                assert mailbox.put_nowait(op) is False
                dropped += 1
            peak = max(peak, len(model))
        assert list(mailbox._items) == list(model)
        assert mailbox.dropped == dropped
        assert mailbox.peak == peak
        expected_dead = 0 if overflow is Overflow.FAIL else dropped
        assert dead.by_reason["full"] == expected_dead
        assert len(dead.samples) == min(expected_dead, dead.samples.maxlen or 0)

    trio.run(scenario)


async def test_closed_mailbox_drains_then_ends_and_refuses_new_mail() -> None:
    dead = DeadLetters(Telemetry())
    mailbox = Mailbox(MailboxSpec(4), "root/x", dead)
    mailbox.put_nowait(1)
    mailbox.put_nowait(2)
    mailbox.close("stopped")
    assert mailbox.put_nowait(3) is False
    assert [msg async for msg in mailbox] == [1, 2]
    with pytest.raises(trio.EndOfChannel):
        await mailbox.receive()
    assert dead.by_reason["stopped"] == 1


async def test_receive_batch_waits_for_the_first_message_and_takes_up_to_max() -> None:
    mailbox = Mailbox(MailboxSpec(16), "root/x", DeadLetters(Telemetry()))
    async with trio.open_nursery() as nursery:
        batches: list[list[object]] = []

        async def reader() -> None:
            batches.append(await mailbox.receive_batch(3))

        nursery.start_soon(reader)
        await trio.testing.wait_all_tasks_blocked()
        for i in range(5):
            mailbox.put_nowait(i)
    assert batches == [[0, 1, 2]]
    assert mailbox.receive_batch_nowait(10) == [3, 4]


async def test_a_mailbox_has_one_reader() -> None:
    mailbox = Mailbox(MailboxSpec(4), "root/x", DeadLetters(Telemetry()))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(mailbox.receive)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.BusyResourceError):
            await mailbox.receive()
        mailbox.put_nowait("for the first reader")
