"""A TCP stream that calls the socket directly and goes through trio's scheduler only when it must wait.

Why not `trio.SocketStream` as it is: trio makes every socket operation a full checkpoint, even one that
succeeds at once — ``await sock.recv()`` checks for cancellation, makes the call and, when it returned data,
still yields to the scheduler before handing the data back (``_nonblocking_helper``). That is trio's rule
("every async function checkpoints") and it keeps a loop that always finds data from starving the others. On
a bot's hot paths it is mostly overhead: the gateway's receive loop is woken by data, reads it, hands the
frames to the actors and goes back to ``recv`` (which then finds nothing and waits); a REST exchange sends
one request (the socket buffer has room) and waits for the response. In the interactions benchmark every
interaction paid three or four such yields — each a trip through trio's run loop: reschedule, instrument
hooks, a context switch into the coroutine — for waits that never happened. Here a successful ``send``
or ``recv`` returns at once, and the task only reaches the scheduler when the socket would block
(``wait_readable``/``wait_writable``), which is where it had to wait anyway.

What keeps it fair: the stream counts, per direction, the operations that succeeded one after the other
without a wait on the stream in between. The first one after a wait returns without yielding; from the
second on, each checks for cancellation before the call and yields after it (``cancel_shielded_checkpoint``:
a cancellation then cannot lose data already read) — exactly trio's own behaviour. So a reader facing a
flood (an event burst filling every ``recv``) still lets the other tasks run after each read and is still
cancellable, while the wake-read-wait rhythm of normal traffic never pays for a yield it does not need. A
wait in either direction starts both counts again: a request-response exchange (send, wait for the response,
read it) then never yields beyond its wait, however often a pooled connection is reused, while a
send-receive loop that never waits yields from its second round on.

The rest is `trio.abc.HalfCloseableStream` as trio's socket stream does it: socket errors become
``BrokenResourceError`` (``ClosedResourceError`` once closed here), concurrent sends or receives on the same
stream are refused with ``BusyResourceError``, ``aclose`` wakes any task waiting on the socket first, and
``TCP_NODELAY`` stays set from `trio.open_tcp_stream` (which still does the connecting: DNS, happy eyeballs).
TLS wraps it like any stream (`trio.SSLStream`), and still saves the yields of the transport underneath.

`expect_wait` goes one step further for a request-response client: right after sending a request, its
response cannot be there yet, so the next receive waits for readability before calling ``recv`` instead of
failing one ``recv`` with ``EAGAIN`` first (a system call and an exception per REST request). It is safe under
TLS too: the flag sits on this (raw) stream, so it only applies when the TLS layer actually asks for bytes it
does not have, and a wait on a socket that already holds data returns at once.
"""

from __future__ import annotations

import errno
import socket
from typing import Final

import trio

__all__ = ["DEFAULT_RECEIVE_SIZE", "DirectSocketStream", "open_direct_tcp_stream"]

DEFAULT_RECEIVE_SIZE: Final = 65_536


class DirectSocketStream(trio.abc.HalfCloseableStream):
    """A connected, non-blocking stdlib socket as a trio stream (see the module docstring)."""

    __slots__ = (
        "_closed",
        "_eof_sent",
        "_received",
        "_receiving",
        "_sending",
        "_sent",
        "_sock",
        "_wait_first",
    )

    def __init__(self, sock: socket.socket) -> None:
        if sock.type != socket.SOCK_STREAM:
            raise ValueError("DirectSocketStream needs a SOCK_STREAM socket")
        sock.setblocking(False)
        self._sock = sock
        # operations that succeeded back to back, per direction, since this stream last waited
        self._received = 0
        self._sent = 0
        self._sending = False
        self._receiving = False
        self._closed = False
        self._eof_sent = False
        self._wait_first = False

    @classmethod
    def from_trio_stream(cls, stream: trio.SocketStream) -> DirectSocketStream:
        """Take over the socket of a connected `trio.SocketStream` (which must not be used afterwards)."""
        fd = stream.socket.detach()
        return cls(socket.socket(fileno=fd))

    @property
    def socket(self) -> socket.socket:
        return self._sock

    def expect_wait(self) -> None:
        """Make the next `receive_some` wait for the socket to be readable before it reads.

        For a caller that has just sent a request over loopback or a network: its response cannot be there
        yet, so the eager ``recv`` would only fail with ``EAGAIN`` (a system call and an exception) before
        the wait it cannot avoid. One-shot; if data did arrive meanwhile, the wait returns at once.
        """
        self._wait_first = True

    def _waited(self) -> None:
        self._received = self._sent = 0

    def _claim_sending(self) -> None:
        """The send side is this task's until it clears ``_sending`` (send_all, send_eof, the wait)."""
        if self._sending:
            raise trio.BusyResourceError("another task is already sending on this stream")
        if self._closed:
            raise trio.ClosedResourceError("this stream was closed")
        self._sending = True

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if max_bytes is None:
            max_bytes = DEFAULT_RECEIVE_SIZE
        elif max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        if self._receiving:
            raise trio.BusyResourceError("another task is already receiving on this stream")
        if self._closed:
            raise trio.ClosedResourceError("this stream was closed")
        self._receiving = True
        try:
            back_to_back = self._received
            sock = self._sock
            if self._wait_first:
                self._wait_first = False
                await trio.lowlevel.wait_readable(sock)  # a checkpoint: cancellation is checked here
                self._waited()
                back_to_back = 0
            elif back_to_back:
                await trio.lowlevel.checkpoint_if_cancelled()
            while True:
                try:
                    data = sock.recv(max_bytes)
                except BlockingIOError:
                    await trio.lowlevel.wait_readable(sock)
                    self._waited()
                    back_to_back = 0
                    continue
                except OSError as exc:
                    raise self._broken(exc) from exc
                if back_to_back:
                    await trio.lowlevel.cancel_shielded_checkpoint()
                self._received += 1
                return data
        finally:
            self._receiving = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self._claim_sending()
        try:
            if self._eof_sent:
                raise trio.ClosedResourceError("the sending side was closed by send_eof")
            back_to_back = self._sent
            if back_to_back:
                await trio.lowlevel.checkpoint_if_cancelled()
            sock = self._sock
            with memoryview(data) as items, items.cast("B") as view:  # count bytes, not items
                total = len(view)
                sent = 0
                while True:
                    try:
                        sent += sock.send(view[sent:] if sent else view)
                    except BlockingIOError:
                        await trio.lowlevel.wait_writable(sock)
                        self._waited()
                        back_to_back = 0
                        continue
                    except OSError as exc:
                        raise self._broken(exc) from exc
                    if sent >= total:
                        break
            if back_to_back:
                await trio.lowlevel.cancel_shielded_checkpoint()
            self._sent += 1
        finally:
            self._sending = False

    async def wait_send_all_might_not_block(self) -> None:
        self._claim_sending()
        try:
            await trio.lowlevel.wait_writable(self._sock)
            self._waited()
        finally:
            self._sending = False

    async def send_eof(self) -> None:
        self._claim_sending()
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            if not self._eof_sent:  # a second send_eof succeeds quietly, even once the peer has closed
                try:
                    self._sock.shutdown(socket.SHUT_WR)
                except OSError as exc:
                    raise self._broken(exc) from exc
                self._eof_sent = True
            await trio.lowlevel.cancel_shielded_checkpoint()
        finally:
            self._sending = False

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            trio.lowlevel.notify_closing(self._sock)  # wakes a task waiting on it with ClosedResourceError
            self._sock.close()
        await trio.lowlevel.checkpoint()

    def _broken(self, exc: OSError) -> trio.BrokenResourceError | trio.ClosedResourceError:
        if self._closed or exc.errno == errno.EBADF:
            return trio.ClosedResourceError("this stream was closed")
        return trio.BrokenResourceError(f"socket connection broken: {exc}")


async def open_direct_tcp_stream(host: str | bytes, port: int) -> DirectSocketStream:
    """Connect as `trio.open_tcp_stream` does (DNS, happy eyeballs, ``TCP_NODELAY``); a direct stream."""
    stream = await trio.open_tcp_stream(host, port)
    try:
        return DirectSocketStream.from_trio_stream(stream)
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
