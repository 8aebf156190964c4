"""The emulator's TCP drop (``faults.drop_tcp``) is a reset, whichever stream type serves the connection.

The drop makes the close a reset by setting ``SO_LINGER`` to zero on the connection's socket; the emulator
serves connections on `DirectSocketStream` and the option must still be set there (a plain FIN would look
like an orderly close to the client, which is not the failure the fault stands for).
"""

from __future__ import annotations

import socket
import struct

import trio

from protocol.emulator.gateway_connection import _set_linger_zero
from protocol.transport.direct import DirectSocketStream


async def test_a_dropped_connection_lingers_zero_on_a_direct_stream_and_the_peer_sees_a_reset() -> None:
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    async with listener:
        port = listener.socket.getsockname()[1]
        client = await trio.open_tcp_stream("127.0.0.1", port)
        served = DirectSocketStream.from_trio_stream(await listener.accept())
        _set_linger_zero(served)
        linger = served.socket.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.calcsize("ii"))
        assert struct.unpack("ii", linger) == (1, 0)
        await served.aclose()
        with trio.fail_after(5):
            try:
                data = await client.receive_some()
            except trio.BrokenResourceError as error:
                assert isinstance(error.__cause__, ConnectionResetError)
            else:
                raise AssertionError(f"an orderly close ({data!r}) instead of a reset")
        await client.aclose()
