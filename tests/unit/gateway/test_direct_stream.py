"""`protocol.transport.direct`: a trio stream that calls the socket directly and yields only when it must.

Two things are pinned here. The stream contract (`trio.abc.HalfCloseableStream` as `trio.SocketStream` keeps
it): data both ways, large payloads through partial sends, waiting and EOF, `BusyResourceError` for concurrent
use, `ClosedResourceError` after (and during) `aclose`, `BrokenResourceError` on a reset peer, taking over a
connected `trio.SocketStream` with `TCP_NODELAY` intact. And the scheduling contract of the module docstring,
counted exactly with an instrument (`before_task_step` of the test's own task = one trip through the
scheduler): an operation that succeeds right after a wait does not yield, back-to-back operations yield from
the second on (so a flood cannot starve other tasks and stays cancellable without losing data), and a
request-response exchange yields only in its waits.

Streams are built over ``socket.socketpair()`` (AF_UNIX, SOCK_STREAM) and, where TCP matters, over loopback.
The last three tests pin what the first version got wrong: ``send_all`` after ``send_eof`` must say the
side is closed (not "broken pipe"), a repeated ``send_eof`` succeeds quietly, and a memoryview of wide items
is sent in full (bytes are counted, not items).
"""

from __future__ import annotations

import array
import errno
import random
import socket
import struct
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TypeVar

import pytest
import trio
import trio.testing

from protocol.transport.direct import DEFAULT_RECEIVE_SIZE, DirectSocketStream, open_direct_tcp_stream

T = TypeVar("T")

TIMEOUT = 10
BIG = 8 * 1024 * 1024  # far beyond any socket buffer: sends must go through wait_writable many times

Pair = tuple[DirectSocketStream, DirectSocketStream]


@pytest.fixture
def pair() -> Iterator[Pair]:
    left_sock, right_sock = socket.socketpair()
    yield DirectSocketStream(left_sock), DirectSocketStream(right_sock)
    left_sock.close()
    right_sock.close()


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


async def read_exactly(stream: trio.abc.ReceiveStream, size: int) -> bytes:
    """Read until `size` bytes arrived or the stream ended."""
    got = bytearray()
    while len(got) < size:
        chunk = await stream.receive_some()
        if not chunk:
            break
        got += chunk
    return bytes(got)


async def append_result(out: list[bytes], receive: Callable[..., Awaitable[bytes]], *args: object) -> None:
    """A background reader: ``out.append(await receive(*args))``."""
    out.append(await receive(*args))


class StepCounter(trio.abc.Instrument):
    """Counts the steps of one task: each step after the first is a return from the scheduler (a yield)."""

    def __init__(self, task: trio.lowlevel.Task) -> None:
        self.task = task
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is self.task:
            self.steps += 1

    async def measure(self, call: Awaitable[T]) -> tuple[T, int]:
        """Await `call` in the counted task; its result and how often the task went through the scheduler."""
        before = self.steps
        result = await call
        return result, self.steps - before


@contextmanager
def counting_steps() -> Iterator[StepCounter]:
    counter = StepCounter(trio.lowlevel.current_task())
    trio.lowlevel.add_instrument(counter)
    try:
        yield counter
    finally:
        trio.lowlevel.remove_instrument(counter)


class Spinner:
    """Another task that makes progress exactly when it gets the CPU: one turn per scheduler pass."""

    def __init__(self) -> None:
        self.turns = 0

    async def run(self) -> None:
        while True:
            self.turns += 1
            await trio.lowlevel.checkpoint()


# --- data both ways ---


async def test_round_trip_both_ways(pair: Pair) -> None:
    left, right = pair
    with trio.fail_after(TIMEOUT):
        await left.send_all(b"hello")
        assert await right.receive_some() == b"hello"
        await right.send_all(bytearray(b"back"))
        assert await left.receive_some() == b"back"
        await left.send_all(memoryview(b"-view-")[1:-1])
        assert await right.receive_some() == b"view"
        await left.send_all(b"")  # an empty send is allowed and means nothing
        await left.send_all(b"after")
        assert await right.receive_some() == b"after"


async def test_the_constructor_wants_a_stream_socket_and_makes_it_non_blocking() -> None:
    dgram_a, dgram_b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with dgram_a, dgram_b, pytest.raises(ValueError, match="SOCK_STREAM"):
        DirectSocketStream(dgram_a)
    left_sock, right_sock = socket.socketpair()
    with left_sock, right_sock:
        assert left_sock.getblocking()
        stream = DirectSocketStream(left_sock)
        assert stream.socket is left_sock
        assert not left_sock.getblocking()


async def test_receive_some_reads_up_to_the_default_size_or_the_size_asked(pair: Pair) -> None:
    left, right = pair
    data = payload(DEFAULT_RECEIVE_SIZE + 1000)
    with trio.fail_after(TIMEOUT):
        await left.send_all(data)  # fits in an AF_UNIX socket buffer: nothing has to wait
        first = await right.receive_some()
        assert first == data[:DEFAULT_RECEIVE_SIZE]
        assert await right.receive_some(1) == data[DEFAULT_RECEIVE_SIZE : DEFAULT_RECEIVE_SIZE + 1]
        assert await right.receive_some(None) == data[DEFAULT_RECEIVE_SIZE + 1 :]


@pytest.mark.parametrize("max_bytes", [0, -1])
async def test_receive_some_refuses_a_size_below_one(pair: Pair, max_bytes: int) -> None:
    left, right = pair
    with trio.fail_after(TIMEOUT):
        await left.send_all(b"kept")
        with pytest.raises(ValueError, match="max_bytes"):
            await right.receive_some(max_bytes)
        assert await right.receive_some() == b"kept"  # the refused call consumed nothing


# --- large payloads ---


async def test_a_payload_far_larger_than_the_socket_buffers_arrives_intact_and_in_order(pair: Pair) -> None:
    left, right = pair
    data = payload(BIG)
    received: list[bytes] = []

    with trio.fail_after(TIMEOUT), counting_steps() as counter:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(append_result, received, read_exactly, right, len(data))
            _, steps = await counter.measure(left.send_all(data))
    assert steps > 0  # the send really hit a full buffer and waited (the partial-send path)
    assert received == [data]


async def test_both_directions_at_once_with_large_payloads(pair: Pair) -> None:
    """A send blocked in one direction and a receive in the other are independent (no BusyResourceError)."""
    left, right = pair
    to_right, to_left = payload(BIG, seed=1), payload(BIG, seed=2)
    received: dict[str, bytes] = {}

    async def reader(name: str, stream: DirectSocketStream, size: int) -> None:
        received[name] = await read_exactly(stream, size)

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(left.send_all, to_right)
            nursery.start_soon(right.send_all, to_left)
            nursery.start_soon(reader, "right", right, len(to_right))
            nursery.start_soon(reader, "left", left, len(to_left))
    assert received["right"] == to_right
    assert received["left"] == to_left


# --- waiting and EOF ---


async def test_a_receive_with_nothing_to_read_waits_until_the_peer_sends(pair: Pair) -> None:
    left, right = pair
    received: list[bytes] = []

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(append_result, received, left.receive_some)
            await trio.testing.wait_all_tasks_blocked()
            assert received == []  # still waiting: it neither returned nor spun
            await right.send_all(b"ping")
    assert received == [b"ping"]


async def test_send_eof_gives_the_peer_its_data_then_eof_and_leaves_the_other_direction_open(
    pair: Pair,
) -> None:
    left, right = pair
    with trio.fail_after(TIMEOUT):
        await right.send_all(b"last")
        await right.send_eof()
        await right.send_eof()  # a second EOF is fine
        assert await left.receive_some() == b"last"
        assert await left.receive_some() == b""
        assert await left.receive_some() == b""  # EOF stays EOF
        await left.send_all(b"reply")  # half-closed: the other way still works
        assert await right.receive_some() == b"reply"


async def test_a_peer_that_closes_wakes_a_waiting_receive_with_eof(pair: Pair) -> None:
    left, right = pair
    received: list[bytes] = []

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(append_result, received, left.receive_some)
            await trio.testing.wait_all_tasks_blocked()
            await right.aclose()
        assert received == [b""]
        assert await left.receive_some() == b""


# --- concurrent use ---


async def test_a_second_concurrent_receive_is_refused_and_the_first_is_unharmed(pair: Pair) -> None:
    left, right = pair
    received: list[bytes] = []

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(append_result, received, left.receive_some)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError):
                await left.receive_some()
            await right.send_all(b"for the first")
    assert received == [b"for the first"]


async def test_send_calls_during_a_blocked_send_all_are_refused(pair: Pair) -> None:
    left, right = pair
    data = payload(BIG)
    sent = trio.Event()

    async def sender() -> None:
        await left.send_all(data)
        sent.set()

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender)
            await trio.testing.wait_all_tasks_blocked()
            assert not sent.is_set()  # clogged: nobody reads the other end
            with pytest.raises(trio.BusyResourceError):
                await left.send_all(b"cut in")
            with pytest.raises(trio.BusyResourceError):
                await left.wait_send_all_might_not_block()
            with pytest.raises(trio.BusyResourceError):
                await left.send_eof()
            received = await read_exactly(right, len(data))
        assert sent.is_set()
    assert received == data  # none of the refused calls slipped a byte in


async def test_a_receive_while_another_task_is_between_flood_reads_is_refused(pair: Pair) -> None:
    """The stream itself refuses, not just trio (one waiter per socket): the first reader is not waiting."""
    left, right = pair
    data = payload(200)
    got = bytearray()

    async def flood_reader() -> None:
        for _ in range(len(data)):
            got.extend(await left.receive_some(1))

    with trio.fail_after(TIMEOUT):
        await right.send_all(data)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(flood_reader)
            while len(got) < 2:  # from here on it only yields inside receive_some, after a read
                await trio.lowlevel.checkpoint()
            assert len(got) < len(data)
            with pytest.raises(trio.BusyResourceError):
                await left.receive_some(1)
    assert bytes(got) == data  # the refused call took nothing


async def test_a_send_while_another_task_is_between_back_to_back_sends_is_refused(pair: Pair) -> None:
    left, right = pair
    chunks = [b"%03d," % i for i in range(200)]
    done: list[int] = []

    async def flood_sender() -> None:
        for chunk in chunks:
            await left.send_all(chunk)
            done.append(1)

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(flood_sender)
            while len(done) < 2:  # from here on it only yields inside send_all, after a send
                await trio.lowlevel.checkpoint()
            assert len(done) < len(chunks)
            with pytest.raises(trio.BusyResourceError):
                await left.send_all(b"cut in")
        await left.send_eof()
        assert await read_exactly(right, 10_000) == b"".join(chunks)


# --- closing ---


@pytest.mark.parametrize("blocked_in", ["receive_some", "send_all"])
async def test_aclose_wakes_a_task_waiting_on_the_stream_with_closed_resource_error(
    pair: Pair, blocked_in: str
) -> None:
    left, _ = pair
    outcome: list[BaseException] = []

    async def waiter() -> None:
        try:
            if blocked_in == "receive_some":
                await left.receive_some()  # nothing to read
            else:
                await left.send_all(payload(BIG))  # far more than the socket buffers hold
        except trio.ClosedResourceError as exc:
            outcome.append(exc)

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            await left.aclose()
    assert len(outcome) == 1


async def test_every_call_after_aclose_raises_closed_resource_error(pair: Pair) -> None:
    left, right = pair
    with trio.fail_after(TIMEOUT):
        await left.aclose()
        await left.aclose()  # closing twice is fine
        assert left.socket.fileno() == -1
        with pytest.raises(trio.ClosedResourceError):
            await left.receive_some()
        with pytest.raises(trio.ClosedResourceError):
            await left.send_all(b"x")
        with pytest.raises(trio.ClosedResourceError):
            await left.send_all(b"")
        with pytest.raises(trio.ClosedResourceError):
            await left.send_eof()
        with pytest.raises(trio.ClosedResourceError):
            await left.wait_send_all_might_not_block()
        assert await right.receive_some() == b""  # the peer sees the close as EOF


async def test_a_cancelled_aclose_still_closes(pair: Pair) -> None:
    left, _ = pair
    with trio.CancelScope() as scope:
        scope.cancel()
        await left.aclose()
    assert scope.cancelled_caught  # aclose is a checkpoint
    assert left.socket.fileno() == -1
    with pytest.raises(trio.ClosedResourceError):
        await left.receive_some()


# --- broken connections ---


async def test_sending_to_a_closed_peer_raises_broken_resource_error_and_stays_broken(pair: Pair) -> None:
    left, right = pair
    await right.aclose()
    with trio.fail_after(TIMEOUT):
        with pytest.raises(trio.BrokenResourceError) as caught:
            for _ in range(1000):
                await left.send_all(b"x" * 100)
        assert isinstance(caught.value.__cause__, BrokenPipeError)
        with pytest.raises(trio.BrokenResourceError):
            await left.send_all(b"x")


async def reset_tcp_connection() -> DirectSocketStream:
    """A direct stream over loopback TCP whose peer has closed with SO_LINGER 0 (an RST, not a FIN)."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    client = await open_direct_tcp_stream("127.0.0.1", port)
    server = await listener.accept()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await server.aclose()
    await listener.aclose()
    return client


async def test_a_reset_peer_breaks_send() -> None:
    with trio.fail_after(TIMEOUT):
        client = await reset_tcp_connection()
        try:
            with pytest.raises(trio.BrokenResourceError) as caught:
                for _ in range(1000):
                    await client.send_all(b"x")
                    await trio.sleep(0.001)
            assert isinstance(caught.value.__cause__, OSError)
            assert caught.value.__cause__.errno in (errno.ECONNRESET, errno.EPIPE)
        finally:
            await client.aclose()


async def test_a_reset_peer_breaks_receive() -> None:
    with trio.fail_after(TIMEOUT):
        client = await reset_tcp_connection()
        try:
            with pytest.raises(trio.BrokenResourceError) as caught:
                await client.receive_some()
            assert isinstance(caught.value.__cause__, ConnectionResetError)
        finally:
            await client.aclose()


# --- the scheduling contract ---


async def test_a_receive_that_finds_data_after_a_wait_does_not_yield(pair: Pair) -> None:
    left, right = pair
    spinner = Spinner()
    with trio.fail_after(TIMEOUT), counting_steps() as counter:
        # the first receive on a fresh stream finds data: no yield, the other task gets nothing
        await right.send_all(b"a")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(spinner.run)
            await trio.lowlevel.checkpoint()  # let the spinner start
            turns = spinner.turns
            data, steps = await counter.measure(left.receive_some())
            assert (data, steps) == (b"a", 0)
            assert spinner.turns == turns
            nursery.cancel_scope.cancel()

        # a receive that waits goes through the scheduler once, for the wait; the read after it is free
        async def send_later() -> None:
            await trio.testing.wait_all_tasks_blocked()
            await right.send_all(b"b")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_later)
            data, steps = await counter.measure(left.receive_some())
        assert (data, steps) == (b"b", 1)

        # the data is already there after a wait (here one on the send side): no yield either
        await right.send_all(b"c")
        await left.wait_send_all_might_not_block()
        data, steps = await counter.measure(left.receive_some())
        assert (data, steps) == (b"c", 0)


async def test_back_to_back_receives_yield_from_the_second_on_so_a_flood_starves_nobody(
    pair: Pair,
) -> None:
    left, right = pair
    spinner = Spinner()
    reads = 50
    data = payload(reads)
    with trio.fail_after(TIMEOUT), counting_steps() as counter:
        await right.send_all(data)  # every receive below finds data
        async with trio.open_nursery() as nursery:
            nursery.start_soon(spinner.run)
            turns = spinner.turns
            got = bytearray()
            yields = []
            for _ in range(reads):
                chunk, steps = await counter.measure(left.receive_some(1))
                got += chunk
                yields.append(steps)
            nursery.cancel_scope.cancel()
    assert bytes(got) == data
    assert yields == [0] + [1] * (reads - 1)
    # the spinner runs in every scheduler pass between two of our yields
    assert spinner.turns - turns >= reads - 2


async def test_back_to_back_sends_yield_from_the_second_on(pair: Pair) -> None:
    left, right = pair
    with trio.fail_after(TIMEOUT), counting_steps() as counter:
        yields = [(await counter.measure(left.send_all(b"%d," % i)))[1] for i in range(10)]
        assert yields == [0] + [1] * 9
        assert await right.receive_some() == b"".join(b"%d," % i for i in range(10))


async def test_a_cancelled_back_to_back_receive_raises_and_leaves_the_data(pair: Pair) -> None:
    left, right = pair
    with trio.fail_after(TIMEOUT):
        await right.send_all(b"abc")
        assert await left.receive_some(1) == b"a"
        got: list[bytes] = []
        with trio.CancelScope() as scope:
            scope.cancel()
            got.append(await left.receive_some(1))  # data is there, but this one must check for cancellation
        assert scope.cancelled_caught
        assert got == []
        assert await left.receive_some() == b"bc"  # nothing was consumed by the cancelled call


async def test_a_cancellation_during_the_yield_after_a_read_does_not_lose_the_data(pair: Pair) -> None:
    """The yield after a back-to-back read is shielded: a cancel arriving then is taken by the next call."""
    left, right = pair
    data = payload(100)
    armed = False

    async def cancel_when_armed(scope: trio.CancelScope) -> None:
        while True:
            if armed:
                scope.cancel()  # only ever runs while the reader is inside receive_some, after its read
            await trio.lowlevel.checkpoint()

    with trio.fail_after(TIMEOUT):
        await right.send_all(data)
        got = bytearray(await left.receive_some(1))  # from now on every receive yields after its read
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(cancel_when_armed, scope)
                armed = True
                for _ in range(len(data)):
                    got += await left.receive_some(1)
        assert scope.cancelled_caught
        assert len(got) < len(data)
        await right.send_eof()
        got += await read_exactly(left, len(data))
    assert bytes(got) == data


async def test_a_cancelled_back_to_back_send_raises_and_sends_nothing(pair: Pair) -> None:
    left, right = pair
    with trio.fail_after(TIMEOUT):
        await left.send_all(b"first")
        with trio.CancelScope() as scope:
            scope.cancel()
            await left.send_all(b"second")
        assert scope.cancelled_caught
        await left.send_eof()
        assert await read_exactly(right, 100) == b"first"


async def test_a_wait_in_one_direction_restarts_the_count_of_the_other(pair: Pair) -> None:
    left, right = pair
    with trio.fail_after(TIMEOUT), counting_steps() as counter:
        await right.send_all(b"xyz")
        assert (await counter.measure(left.receive_some(1)))[1] == 0
        assert (await counter.measure(left.receive_some(1)))[1] == 1  # back to back
        _, waited = await counter.measure(left.wait_send_all_might_not_block())
        assert waited == 1
        assert await counter.measure(left.receive_some(1)) == (b"z", 0)  # first after a wait again


async def test_a_send_receive_loop_that_never_waits_yields_from_its_second_round(pair: Pair) -> None:
    left, right = pair
    rounds = 5
    with trio.fail_after(TIMEOUT), counting_steps() as counter:
        await right.send_all(b"r" * rounds)  # every receive finds data, every send finds room
        yields = []
        for _ in range(rounds):
            _, sent = await counter.measure(left.send_all(b"s"))
            data, received = await counter.measure(left.receive_some(1))
            assert data == b"r"
            yields.append((sent, received))
        assert yields == [(0, 0)] + [(1, 1)] * (rounds - 1)
        assert await right.receive_some() == b"s" * rounds


async def test_request_response_on_one_stream_yields_only_in_the_waits(pair: Pair) -> None:
    client, server = pair
    spinner = Spinner()
    rounds = 20

    async def serve() -> None:
        while request := await server.receive_some():
            await server.send_all(b"re:" + request)

    with trio.fail_after(TIMEOUT), counting_steps() as counter:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve)
            nursery.start_soon(spinner.run)
            for i in range(rounds):
                request = b"q%d" % i
                turns = spinner.turns
                _, sent = await counter.measure(client.send_all(request))
                assert sent == 0  # the request goes out without a yield...
                assert spinner.turns == turns  # ...so nobody else ran in between
                response, received = await counter.measure(client.receive_some())
                assert response == b"re:" + request
                assert received == 1  # one trip through the scheduler: the wait for the response
            await client.send_eof()  # ends serve()
            nursery.cancel_scope.cancel()  # ends the spinner


class CountingSocket(socket.socket):
    """A socket that counts its ``recv`` calls, the ones that failed with ``EAGAIN`` included."""

    recv_calls = 0

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self.recv_calls += 1
        return super().recv(bufsize, flags)


def counting_pair() -> tuple[DirectSocketStream, DirectSocketStream, CountingSocket]:
    left_sock, right_sock = socket.socketpair()
    counted = CountingSocket(fileno=left_sock.detach())
    return DirectSocketStream(counted), DirectSocketStream(right_sock), counted


async def test_expect_wait_skips_the_recv_that_would_find_nothing() -> None:
    client, server, counted = counting_pair()
    with trio.fail_after(TIMEOUT):
        async with client, server:

            async def respond_later() -> None:
                await trio.testing.wait_all_tasks_blocked()
                await server.send_all(b"response")

            # without it: one recv that fails with EAGAIN, the wait, then the recv that reads
            async with trio.open_nursery() as nursery:
                nursery.start_soon(respond_later)
                assert await client.receive_some() == b"response"
            assert counted.recv_calls == 2

            # with it: the wait first, then one recv
            counted.recv_calls = 0
            client.expect_wait()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(respond_later)
                assert await client.receive_some() == b"response"
            assert counted.recv_calls == 1

            # one-shot: the next receive is eager again, so with nothing there it takes two recv calls again
            counted.recv_calls = 0
            async with trio.open_nursery() as nursery:
                nursery.start_soon(respond_later)
                assert await client.receive_some() == b"response"
            assert counted.recv_calls == 2


async def test_expect_wait_still_reads_data_that_arrived_before_the_receive() -> None:
    client, server, counted = counting_pair()
    with trio.fail_after(TIMEOUT):
        async with client, server:
            await server.send_all(b"early")
            client.expect_wait()
            assert await client.receive_some() == b"early"
            assert counted.recv_calls == 1
            await server.send_eof()
            client.expect_wait()
            assert await client.receive_some() == b""  # the end of the stream wakes the wait too


async def test_a_cancelled_wait_first_receive_reads_nothing_and_the_data_stays() -> None:
    client, server, _ = counting_pair()
    with trio.fail_after(TIMEOUT):
        async with client, server:
            client.expect_wait()
            with trio.move_on_after(0.01) as scope:
                await client.receive_some()
            assert scope.cancelled_caught
            await server.send_all(b"late")
            assert await client.receive_some() == b"late"


# --- TCP ---


async def test_open_direct_tcp_stream_talks_to_a_loopback_server() -> None:
    async def echo(stream: trio.SocketStream) -> None:
        async with stream:
            while data := await stream.receive_some():
                await stream.send_all(data)

    data = payload(1024 * 1024)
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, echo, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            stream = await open_direct_tcp_stream("127.0.0.1", port)
            assert isinstance(stream, DirectSocketStream)
            assert stream.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            echoed: list[bytes] = []

            async def reader() -> None:
                echoed.append(await read_exactly(stream, len(data)))

            async with stream, trio.open_nursery() as inner:
                inner.start_soon(reader)
                await stream.send_all(data)
            nursery.cancel_scope.cancel()
    assert echoed == [data]


async def test_from_trio_stream_takes_over_the_socket_with_tcp_nodelay_still_set() -> None:
    with trio.fail_after(TIMEOUT):
        listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
        async with listener:
            port = listener.socket.getsockname()[1]
            trio_stream = await trio.open_tcp_stream("127.0.0.1", port)
            server = await listener.accept()
            fd = trio_stream.socket.fileno()
            stream = DirectSocketStream.from_trio_stream(trio_stream)
            async with stream, server:
                assert stream.socket.fileno() == fd  # the same connection...
                assert trio_stream.socket.fileno() == -1  # ...no longer owned by the trio stream
                assert stream.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                await stream.send_all(b"over tcp")
                assert await read_exactly(server, 8) == b"over tcp"
                await server.send_all(b"and back")
                assert await read_exactly(stream, 8) == b"and back"


# --- the edges of half-closing and of wide memoryviews ---


async def test_send_all_after_send_eof_raises_closed_resource_error(pair: Pair) -> None:
    left, _ = pair
    await left.send_eof()
    with pytest.raises(trio.ClosedResourceError):
        await left.send_all(b"y")


async def test_send_eof_again_after_the_peer_closed_succeeds() -> None:
    with trio.fail_after(TIMEOUT):
        listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
        async with listener:
            port = listener.socket.getsockname()[1]
            async with await open_direct_tcp_stream("127.0.0.1", port) as stream:
                server = await listener.accept()
                await stream.send_eof()
                assert await server.receive_some() == b""
                await server.aclose()
                assert await stream.receive_some() == b""  # both FINs are through: the connection is closed
                await stream.send_eof()


async def test_send_all_of_a_memoryview_with_wide_items_sends_every_byte(pair: Pair) -> None:
    left, right = pair
    items = array.array("i", range(BIG // 4))
    received: list[bytes] = []

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(append_result, received, read_exactly, right, BIG)
            await left.send_all(memoryview(items))
            await left.send_eof()
    assert received == [items.tobytes()]
