"""Property tests: replay is exact for any resume point, compression round-trips any message stream, and
the multipart parser recovers any payload and files."""

from __future__ import annotations

import collections
import zlib

import orjson
from hypothesis import given
from hypothesis import strategies as st

from protocol.emulator.compression import ZlibStreamCompressor
from protocol.emulator.gateway_sessions import GatewaySession
from protocol.emulator.uploads import parse_multipart, with_attachments

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(total=st.integers(0, 60), buffer=st.integers(1, 80), resume_at=st.integers(0, 60))
def test_replay_is_exactly_the_missed_frames_or_refused(total: int, buffer: int, resume_at: int) -> None:
    session = GatewaySession(
        session_id="s", shard_id=0, shard_count=1, intents=0, buffer=collections.deque(maxlen=buffer)
    )
    for index in range(total):
        session.push("EVENT", {"i": index})
    resume_at = min(resume_at, total)
    missed = session.frames_after(resume_at)
    oldest_kept = max(total - buffer + 1, 1)
    if resume_at + 1 < oldest_kept:
        assert missed is None
    else:
        assert missed is not None
        assert [orjson.loads(f)["s"] for f in missed] == list(range(resume_at + 1, total + 1))


@given(st.lists(json_values, max_size=20))
def test_zlib_stream_round_trips_any_message_sequence(messages: list[object]) -> None:
    compressor = ZlibStreamCompressor()
    inflater = zlib.decompressobj()
    for message in messages:
        encoded = orjson.dumps({"op": 0, "d": message})
        chunk = compressor.compress(encoded)
        assert chunk.endswith(b"\x00\x00\xff\xff")
        assert inflater.decompress(chunk) == encoded


@given(
    payload=st.dictionaries(st.sampled_from(["content", "tts", "flags"]), json_values, max_size=3),
    files=st.lists(st.binary(max_size=200), max_size=4),
)
def test_multipart_recovers_payload_and_files(payload: dict[str, object], files: list[bytes]) -> None:
    boundary = "b0undary-xyz"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="payload_json"\r\n'
        "Content-Type: application/json\r\n\r\n".encode()
        + orjson.dumps(payload)
        + b"\r\n"
    ]
    for index, content in enumerate(files):
        disposition = f'form-data; name="files[{index}]"; filename="f{index}.bin"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        head += "Content-Type: application/octet-stream\r\n\r\n"
        parts.append(head.encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    upload = parse_multipart(f"multipart/form-data; boundary={boundary}", body)
    assert upload is not None
    assert upload.payload == payload
    assert [(f.index, f.filename, f.size) for f in upload.files] == [
        (i, f"f{i}.bin", len(content)) for i, content in enumerate(files)
    ]
    ids = iter(range(1000, 2000))
    converted = with_attachments(upload, lambda: next(ids), "https://cdn.test")
    assert len(converted.get("attachments", [])) == len(files)
