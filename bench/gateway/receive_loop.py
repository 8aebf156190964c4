"""Gateway receive-path throughput: frames/s through our transport, and through the shard's whole decode path.

Why this benchmark: DESIGN §6 chose the gateway transport by measurement (httpx-ws ~21k frames/s, wsproto on
a bare trio stream with 64 KB reads ~100k frames/s); this re-measures our client on this machine. A server
in a *separate process* (so it doesn't share our core) pre-encodes N gateway frames of ~1.2 KB and writes
them as fast as the socket takes them; the client measures from the first to the last frame:

* ``transport``: `WebSocketConnection.receive` only (uncompressed text frames; our inbound frame parser);
* ``wsproto_reference``: the same stream parsed by wsproto's own ``WSConnection`` on a trio stream with
  64 KB reads — the DESIGN §6 baseline our parser replaced;
* ``transport_4k``: our transport with 4 KB reads, to show why the read size matters;
* ``decode_path``: zlib-stream binary frames through the shard's per-frame work — inflate, `decode_frame`
  (orjson), sequence bookkeeping, routing to a no-op sink — i.e. everything the hot loop does per dispatch;
* ``shard``: the real `GatewayShard` (HELLO, IDENTIFY, READY, then the stream over zlib-stream) delivering
  to a counting sink;
* ``shard_to_guild_actors``: the same, routed to per-guild actors (100 guilds) under the real runtime,
  counted by a guild listener — the whole path from socket to guild actor.

Run: ``.venv/bin/python -m bench.gateway.receive_loop [--frames 200000]``; prints a table and JSON.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import socket
import sys
import time
import zlib
from typing import Any

import orjson
import trio

from protocol.gateway.compression import ZlibStreamInflater
from protocol.gateway.frames import decode_frame
from protocol.gateway.session import GatewaySession, SessionConfig
from protocol.transport import websocket as ws_module
from protocol.transport.websocket import connect_websocket


def _frame(seq: int) -> bytes:
    return orjson.dumps(
        {
            "op": 0,
            "t": "MESSAGE_CREATE",
            "s": seq,
            "d": {
                "id": str(1_200_000_000_000_000_000 + seq),
                "channel_id": "1100000000000000001",
                "guild_id": str(1_000_000_000_000_000_000 + seq % 100),
                "author": {"id": "1300000000000000001", "username": "erin", "discriminator": "0",
                           "avatar": None, "global_name": "Erin Solstice"},
                "content": "The inn is open. " * 40,
                "timestamp": "2026-11-22T00:00:00.000000+00:00",
                "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
                "attachments": [], "embeds": [], "pinned": False, "type": 0,
            },
        }
    )  # fmt: skip


def _serve(port_queue: Any, frames: int, compress: bool) -> None:
    """Server process: accept one websocket client and blast ``frames`` frames at it."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, BytesMessage, Request, TextMessage

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port_queue.put(listener.getsockname()[1])
    conn, _ = listener.accept()
    ws = WSConnection(ConnectionType.SERVER)
    while True:
        ws.receive_data(conn.recv(65536))
        if any(isinstance(e, Request) for e in ws.events()):
            break
    conn.sendall(ws.send(AcceptConnection()))
    compressor = zlib.compressobj()
    chunks = []
    for seq in range(1, frames + 1):
        data = _frame(seq)
        if compress:
            chunks.append(
                ws.send(BytesMessage(data=compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)))
            )
        else:
            chunks.append(ws.send(TextMessage(data=data.decode())))
    blob = b"".join(chunks)
    conn.sendall(blob)
    time.sleep(1.0)
    conn.close()


def _serve_gateway(port_queue: Any, frames: int, guilds: int) -> None:
    """Server process speaking just enough gateway: HELLO, wait for IDENTIFY, then READY and ``frames``
    zlib-stream MESSAGE_CREATE dispatches spread over ``guilds`` guilds, as fast as the socket takes them."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, BytesMessage, Request, TextMessage

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port_queue.put(listener.getsockname()[1])
    compressor = zlib.compressobj()

    def packed(payload: dict[str, Any] | bytes) -> bytes:
        data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        return ws.send(BytesMessage(data=compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)))

    conn, _ = listener.accept()
    ws = WSConnection(ConnectionType.SERVER)
    identified = False
    accepted = False
    while not identified:
        ws.receive_data(conn.recv(65536))
        for event in ws.events():
            if isinstance(event, Request):
                conn.sendall(ws.send(AcceptConnection()))
                conn.sendall(packed({"op": 10, "d": {"heartbeat_interval": 45000}}))
                accepted = True
            elif isinstance(event, TextMessage) and accepted and orjson.loads(event.data).get("op") == 2:
                identified = True
    ready = {"op": 0, "t": "READY", "s": 1, "d": {"session_id": "bench", "resume_gateway_url": "ws://127.0.0.1:1",
             "user": {"id": "42", "username": "bench"}, "guilds": []}}  # fmt: skip
    chunks = [packed(ready)]
    for seq in range(2, frames + 2):
        payload = orjson.loads(_frame(seq))
        payload["d"]["guild_id"] = str(1_000_000_000_000_000_000 + seq % guilds)
        chunks.append(packed(payload))
    conn.sendall(b"".join(chunks))
    time.sleep(2.0)
    conn.close()


async def _measure_shard(port: int, frames: int, with_actors: bool) -> float:
    """The real `GatewayShard` hot loop (zlib-stream), delivering to a counting sink or to guild actors."""
    from actors.gateway_shard import DispatchRouter, GatewayShard
    from actors.guild import guilds_spec
    from protocol.gateway.identity import BotIdentity
    from supervision import ChildSpec, SupervisorSpec, open_runtime

    done = trio.Event()
    delivered = 0
    started = 0.0

    def count(frame: Any) -> None:
        nonlocal delivered, started
        if frame.t == "READY":
            started = time.perf_counter()
            return
        delivered += 1
        if delivered == frames:
            done.set()

    async def fetch_gateway_bot() -> dict[str, Any]:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return {"url": f"ws://127.0.0.1:{port}", "shards": 1, "session_start_limit": limit}

    identity = BotIdentity()
    router = DispatchRouter(guilds_path="root/guilds" if with_actors else None, others=count)
    shard = GatewayShard(token="bench", intents=1 << 9, fetch_gateway_bot=fetch_gateway_bot, router=router,
                         identity=identity)  # fmt: skip
    if with_actors:
        spec = SupervisorSpec(
            id="root",
            children=[
                guilds_spec(identity=identity, listeners=[count]),
                ChildSpec(id="gateway", run=shard.run),
            ],
        )
        async with open_runtime(spec):
            await done.wait()
            elapsed = time.perf_counter() - started
    else:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(shard.run)
            await done.wait()
            elapsed = time.perf_counter() - started
            nursery.cancel_scope.cancel()
    return frames / elapsed


async def _measure(port: int, frames: int, mode: str) -> float:
    if mode == "wsproto_reference":
        return await _measure_wsproto(port, frames)
    if mode in ("shard", "shard_to_guild_actors"):
        return await _measure_shard(port, frames, mode == "shard_to_guild_actors")
    ws = await connect_websocket(f"ws://127.0.0.1:{port}/?v=10&encoding=json")
    if mode == "decode_path":
        inflate = ZlibStreamInflater().feed
        session = GatewaySession(SessionConfig(token="x", intents=0), "ws://127.0.0.1/")
        accept = session.accept_dispatch
        routed = 0

        def route(frame: object) -> None:
            nonlocal routed
            routed += 1

        first = await ws.receive()
        start = time.perf_counter()
        raw: bytes | str = first
        for _ in range(frames):
            data = inflate(raw) if isinstance(raw, bytes) else raw
            if data is not None:
                frame = decode_frame(data)
                if accept(frame, 0.0):
                    route(frame)
            if routed == frames:
                break
            raw = await ws.receive()
        elapsed = time.perf_counter() - start
        assert routed == frames, routed
    else:
        await ws.receive()
        start = time.perf_counter()
        for _ in range(frames - 1):
            await ws.receive()
        elapsed = time.perf_counter() - start
    await ws.close()
    return frames / elapsed


async def _measure_wsproto(port: int, frames: int) -> float:
    """The baseline: wsproto parses every frame (handshake, events, UTF-8 decoding), 64 KB reads."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Message, Request

    stream = await trio.open_tcp_stream("127.0.0.1", port)
    ws = WSConnection(ConnectionType.CLIENT)
    await stream.send_all(ws.send(Request(host="127.0.0.1", target="/")))
    received = 0
    start = 0.0
    while received < frames:
        data = await stream.receive_some(65536)
        if not data:
            break
        ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, Message) and event.message_finished:
                if received == 0:
                    start = time.perf_counter()
                received += 1
            elif isinstance(event, AcceptConnection | Request):
                continue
    elapsed = time.perf_counter() - start
    await stream.aclose()
    return (received - 1) / elapsed


def run_case(frames: int, mode: str) -> float:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    if mode.startswith("shard"):
        server = ctx.Process(target=_serve_gateway, args=(queue, frames, 100), daemon=True)
    else:
        server = ctx.Process(target=_serve, args=(queue, frames, mode == "decode_path"), daemon=True)
    server.start()
    port = queue.get(timeout=30)
    original = ws_module.RECEIVE_SIZE
    if mode == "transport_4k":
        ws_module.RECEIVE_SIZE = 4096
    try:
        return trio.run(_measure, port, frames, mode)
    finally:
        ws_module.RECEIVE_SIZE = original
        server.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "benchmark": "gateway.receive_loop",
        "frames": args.frames,
        "frame_bytes": len(_frame(1)),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "command": " ".join(sys.argv),
        "frames_per_second": {},
    }
    modes = (
        "transport",
        "wsproto_reference",
        "transport_4k",
        "decode_path",
        "shard",
        "shard_to_guild_actors",
    )
    for mode in modes:
        runs = [run_case(args.frames, mode) for _ in range(args.repeat)]
        results["frames_per_second"][mode] = {"best": max(runs), "runs": runs}
    print(f"{'mode':<22} {'best frames/s':>14}   runs")
    for mode, value in results["frames_per_second"].items():
        shown = ", ".join(f"{r:,.0f}" for r in value["runs"])
        print(f"{mode:<22} {value['best']:>14,.0f}   {shown}")
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
