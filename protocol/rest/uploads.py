"""File uploads: Discord's multipart form with ``payload_json`` and ``files[n]`` parts.

Discord takes a message with attachments as ``multipart/form-data``: the JSON body goes in a part named
``payload_json`` and each file in a part named ``files[n]``; the JSON's ``attachments`` array describes file
``n`` with ``{"id": "n", "filename": ...}`` (plus an optional ``description``, the alt text). This module
builds that body in memory — bot uploads are small (exports, logs, images) and one contiguous body keeps
the request a single corked write like every other one.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import orjson

__all__ = ["File", "encode_multipart"]


@attrs.frozen(slots=True)
class File:
    """One file to attach to a message."""

    filename: str
    data: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")
    content_type: str = "application/octet-stream"
    description: str | None = None


def _header_safe(text: str) -> str:
    return text.replace("\\", "_").replace('"', "'").replace("\r", " ").replace("\n", " ")


def encode_multipart(payload: Mapping[str, Any] | None, files: Sequence[File]) -> tuple[bytes, str]:
    """The multipart body and its Content-Type for ``payload`` plus ``files``.

    The payload's ``attachments`` gets one entry per file (kept as given if the caller already described
    them), so each file shows up on the message.
    """
    body_json: dict[str, Any] = dict(payload or {})
    if "attachments" not in body_json:
        attachments: list[dict[str, Any]] = []
        for index, file in enumerate(files):
            # The spec types the id as a snowflake string; it names the ``files[n]`` part.
            entry: dict[str, Any] = {"id": str(index), "filename": file.filename}
            if file.description is not None:
                entry["description"] = file.description
            attachments.append(entry)
        body_json["attachments"] = attachments
    boundary = secrets.token_hex(16)
    dash = f"--{boundary}\r\n".encode()
    chunks = [
        dash,
        b'Content-Disposition: form-data; name="payload_json"\r\nContent-Type: application/json\r\n\r\n',
        orjson.dumps(body_json),
        b"\r\n",
    ]
    for index, file in enumerate(files):
        disposition = f'form-data; name="files[{index}]"; filename="{_header_safe(file.filename)}"'
        head = (
            f"Content-Disposition: {disposition}\r\nContent-Type: {_header_safe(file.content_type)}\r\n\r\n"
        )
        chunks += [dash, head.encode("utf-8"), file.data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"
