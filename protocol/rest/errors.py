"""Typed REST errors.

Callers branch on the exception type (``except NotFound``), log the rest. Two families:

* `HTTPError` and its subclasses: Discord answered, and the answer was an error. They carry the HTTP status,
  Discord's JSON error ``code`` and ``message`` (see opcodes-and-status-codes.mdx, "JSON Error Codes") and
  the route *template* — never the concrete path, which may hold an interaction or webhook token.
* `CertificateRejected`: the server's TLS certificate could not be verified. Raised at the first attempt:
  unlike a dropped connection, a certificate does not heal by retrying, and five backed-off retries would
  only hide the one thing the operator must fix (the CA store, a proxy, or ``DISCORD_API_BASE``).
* `RateLimitTooLong` and `RequestRefused`: we chose not to send. Waiting longer than the configured maximum is
  almost always a bug or a very long route limit (role creation resets after days), and hanging a command for
  that long is worse than a clear error. `RequestRefused` protects the bot's IP from Discord's
  invalid-request ban (10,000 invalid requests per 10 minutes) and stops all requests once the bot token has
  been rejected.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadRequest",
    "CertificateRejected",
    "Forbidden",
    "HTTPError",
    "InvalidRequestLimitReached",
    "NotFound",
    "RateLimitTooLong",
    "RateLimited",
    "RequestRefused",
    "RestError",
    "ServerError",
    "TokenRejected",
    "Unauthorized",
]


class RestError(Exception):
    """Base class of every error raised by `protocol.rest`."""


class HTTPError(RestError):
    """Discord answered with an error status."""

    def __init__(
        self, status: int, route: str, *, code: int = 0, message: str = "", body: Any = None
    ) -> None:
        self.status = status
        self.route = route
        self.code = code
        self.message = message
        self.body = body
        text = f"{route} -> HTTP {status}"
        if code:
            text += f" (code {code})"
        if message:
            text += f": {message}"
        super().__init__(text)


class BadRequest(HTTPError):  # noqa: N818 - the names Discord users know
    """400: the request was malformed (Discord's ``errors`` object is in `body`)."""


class Unauthorized(HTTPError):  # noqa: N818 - the names Discord users know
    """401: the token was rejected. Further bot-token requests are refused (`TokenRejected`)."""


class Forbidden(HTTPError):  # noqa: N818 - the names Discord users know
    """403: missing permissions or access."""


class NotFound(HTTPError):  # noqa: N818 - the names Discord users know
    """404: unknown resource (message, channel, webhook, interaction...)."""


class RateLimited(HTTPError):  # noqa: N818 - the names Discord users know
    """429 returned repeatedly even though we waited as told each time."""


class ServerError(HTTPError):
    """5xx still failing after the bounded retries (status 0: the connection itself kept failing)."""


class CertificateRejected(RestError):  # noqa: N818 - parallel to the other refusals
    """The server's TLS certificate failed verification (not retried: see the module docstring)."""

    def __init__(self, route: str, reason: str) -> None:
        self.route = route
        self.reason = reason
        super().__init__(f"{route}: the server's TLS certificate was rejected ({reason})")


class RateLimitTooLong(RestError):  # noqa: N818 - the names Discord users know
    """The wait before this request could be sent exceeds the configured maximum."""

    def __init__(self, route: str, wait: float, max_wait: float, *, reason: str = "rate limit") -> None:
        self.route = route
        self.wait = wait
        self.max_wait = max_wait
        super().__init__(
            f"{route}: {reason} would hold the request {wait:.1f} s (max_wait is {max_wait:.1f} s)"
        )


class RequestRefused(RestError):  # noqa: N818 - the names Discord users know
    """We refused to send the request to protect the bot (token or IP)."""


class TokenRejected(RequestRefused):
    """Discord answered 401 to the bot token earlier; no bot-token request is sent any more."""


class InvalidRequestLimitReached(RequestRefused):
    """Too many 401/403/429 answers in the last 10 minutes; sending more risks a Cloudflare ban of the IP."""
