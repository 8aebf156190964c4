"""Gateway URLs: the connect URL and the resume URL carry the same query string.

Why this is its own function: Discord requires RESUME to connect to ``resume_gateway_url`` with the *same*
``v``, ``encoding`` and ``compress`` parameters as the first connection. twilight once dropped them (PR
#1901) and every resume failed. Building both URLs with one function from one parameter set makes that
impossible.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

API_VERSION = 10


def gateway_query(compression: str | None, *, version: int = API_VERSION) -> dict[str, str]:
    """The query parameters of every connection of a shard."""
    params = {"v": str(version), "encoding": "json"}
    if compression:
        params["compress"] = compression
    return params


def with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` set in its query string (other parameters already there are kept)."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"gateway URL must be ws:// or wss://, got {url!r}")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    path = parts.path or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))
