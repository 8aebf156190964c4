"""A minimal HTTP/1.1 keep-alive server (trio + h11) answering every request like Discord's create-message.

Run as ``python -m bench.rest.echo_server``; it prints its port on stdout. It lives in its own process so
that the client benchmark measures only the client's CPU. Every answer carries rate-limit headers with
plenty of ``Remaining`` so the limiter takes its hot path (known bucket, no waiting).
"""

from __future__ import annotations

import sys

import h11
import trio

BODY = b'{"id":"1","channel_id":"1","content":"hello","author":{"id":"2","username":"bot"}}'
HEADERS = [
    ("content-type", "application/json"),
    ("content-length", str(len(BODY))),
    ("x-ratelimit-bucket", "bench"),
    ("x-ratelimit-limit", "1000000"),
    ("x-ratelimit-remaining", "999999"),
    ("x-ratelimit-reset-after", "60.0"),
]


async def serve(stream: trio.SocketStream) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(65536)
                if not data:
                    return
                conn.receive_data(data)
            elif isinstance(event, h11.EndOfMessage):
                out = conn.send(h11.Response(status_code=200, headers=HEADERS))
                out += conn.send(h11.Data(data=BODY)) + conn.send(h11.EndOfMessage())
                await stream.send_all(out)
                conn.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                return
    except (trio.BrokenResourceError, h11.RemoteProtocolError):
        return


async def main() -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, serve, 0)
        print(listeners[0].socket.getsockname()[1], flush=True)


if __name__ == "__main__":
    sys.exit(trio.run(main))
