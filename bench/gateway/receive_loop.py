"""Gateway receive-path throughput: frames/s through our transport, and through the shard's whole decode path.

Why this benchmark: DESIGN §6 chose the gateway transport by measurement (httpx-ws ~21k frames/s, wsproto on a
bare trio stream with 64 KB reads ~100k frames/s); this re-measures our client on this machine. A server in a
*separate process* (so it doesn't share our core) pre-encodes N gateway frames of ~1.2 KB and writes them as
fast as the socket takes them; the client measures from the first to the last frame:

* ``transport``: `WebSocketConnection.receive` only (uncompressed text frames; our inbound frame parser);
* ``wsproto_reference``: the same stream parsed by wsproto's own ``WSConnection`` on a trio stream with
  64 KB reads — the DESIGN §6 baseline our parser replaced;
* ``transport_4k``: our transport with 4 KB reads, to show why the read size matters;
* ``decode_path``: zlib-stream binary frames through the shard's per-frame work — inflate, `decode_frame`
  (orjson), sequence bookkeeping, routing to a no-op sink — i.e. everything the hot loop does per dispatch.

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


async def _measure(port: int, frames: int, mode: str) -> float:
    if mode == "wsproto_reference":
        return await _measure_wsproto(port, frames)
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
    for mode in ("transport", "wsproto_reference", "transport_4k", "decode_path"):
        runs = [run_case(args.frames, mode) for _ in range(args.repeat)]
        results["frames_per_second"][mode] = {"best": max(runs), "runs": runs}
    print(f"{'mode':<18} {'best frames/s':>14}   runs")
    for mode, value in results["frames_per_second"].items():
        shown = ", ".join(f"{r:,.0f}" for r in value["runs"])
        print(f"{mode:<18} {value['best']:>14,.0f}   {shown}")
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
