"""Multipart uploads: ``payload_json`` plus ``files[n]`` parts become a JSON body with attachments.

Why convert at the door: Discord accepts a message either as JSON or as multipart with the JSON in
``payload_json`` and files beside it. Turning the upload into the same JSON body — with one attachment
object (id, filename, size, content type, URLs) per file, merged with any ``attachments`` metadata the bot
sent — lets every route handler stay JSON-only. File contents are counted, not stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs
import orjson

_DISPOSITION_NAME = re.compile(rb'name="([^"]*)"')
_DISPOSITION_FILENAME = re.compile(rb'filename="([^"]*)"')
_CONTENT_TYPE = re.compile(rb"content-type:\s*([^\r\n]+)", re.IGNORECASE)
_FILE_FIELD = re.compile(r"^files\[(\d+)\]$")


@attrs.frozen(slots=True)
class UploadedFile:
    index: int
    filename: str
    content_type: str
    size: int


@attrs.frozen(slots=True)
class Upload:
    payload: Any
    files: tuple[UploadedFile, ...]


def parse_multipart(content_type: str, body: bytes) -> Upload | None:
    """The JSON payload and files of a multipart/form-data body; None when it has no boundary."""
    boundary = content_type.partition("boundary=")[2].split(";")[0].strip().strip('"')
    if not boundary:
        return None
    payload: Any = None
    files: list[UploadedFile] = []
    for part in body.split(b"--" + boundary.encode()):
        head, separator, content = part.partition(b"\r\n\r\n")
        if not separator:
            continue
        content = content.removesuffix(b"\r\n")
        name_match = _DISPOSITION_NAME.search(head)
        if name_match is None:
            continue
        name = name_match.group(1).decode(errors="replace")
        if name == "payload_json":
            try:
                payload = orjson.loads(content)
            except orjson.JSONDecodeError:
                payload = None
            continue
        file_match = _FILE_FIELD.match(name)
        if file_match is None:
            continue
        filename_match = _DISPOSITION_FILENAME.search(head)
        type_match = _CONTENT_TYPE.search(head)
        files.append(
            UploadedFile(
                index=int(file_match.group(1)),
                filename=(filename_match.group(1) if filename_match else b"file").decode(errors="replace"),
                content_type=(type_match.group(1) if type_match else b"application/octet-stream").decode(),
                size=len(content),
            )
        )
    return Upload(payload, tuple(files))


def with_attachments(upload: Upload, new_id: Callable[[], int], cdn_base: str) -> Any:
    """The upload's JSON payload with one attachment object per file, keeping the bot's metadata
    (``description``, ``filename`` overrides) from ``attachments[].id == n`` for ``files[n]``."""
    payload = dict(upload.payload) if isinstance(upload.payload, dict) else {}
    if not upload.files:
        return payload
    metadata = {str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, dict)}
    attachments = []
    for uploaded in sorted(upload.files, key=lambda f: f.index):
        given = metadata.get(str(uploaded.index), {})
        attachment_id = new_id()
        filename = str(given.get("filename") or uploaded.filename)
        url = f"{cdn_base}/attachments/{attachment_id}/{filename}"
        attachment = {
            "id": str(attachment_id),
            "filename": filename,
            "size": uploaded.size,
            "url": url,
            "proxy_url": url,
            "content_type": uploaded.content_type,
        }
        if given.get("description"):
            attachment["description"] = given["description"]
        attachments.append(attachment)
    payload["attachments"] = attachments
    return payload
