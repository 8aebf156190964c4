"""The REST v10 front: authentication, rate limits, faults, the request log, then the route handler.

Why this order: it is Discord's. An unauthenticated request is a 401 before anything else; a rate-limited
one is a 429 with the bucket headers whatever its body; only then is the body parsed and the route run.
Every request — including the ones answered with an error — is logged with its route template and status
and shown to observers (the OpenAPI validator fixture is one), so a test can assert on exactly what the bot
sent, and the invalid-request count (401/403/429) is kept as Discord keeps it for its 10,000-per-10-minutes
ban.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from typing import Any

import attrs
import orjson
import trio

from protocol.emulator import errors
from protocol.emulator.faults import RestFaultState
from protocol.emulator.http_server import DropConnection, HttpRequest, HttpResponse
from protocol.emulator.ratelimits import ServerRateLimiter
from protocol.emulator.rest_router import RequestContext, RestResult, Route, Router
from protocol.emulator.uploads import Upload, parse_multipart, with_attachments

logger = logging.getLogger(__name__)

API_PREFIXES = ("/api/v10", "/api/v9")
CDN_BASE = "https://cdn.emulator.invalid"
RequestObserver = Callable[[str, str, Any], None]
_NO_BODY_METHODS = frozenset({"GET", "DELETE", "HEAD"})


@attrs.frozen(slots=True)
class InvalidRequestLimit:
    limit: int = 10_000
    window: float = 600.0
    ban_seconds: float = 3600.0


#: What a client blocked by Cloudflare gets: no JSON, no rate-limit headers, no ``Via``.
CLOUDFLARE_BAN = HttpResponse(429, b"error code: 1015", content_type="text/plain", from_edge=False)


@attrs.frozen(slots=True)
class RequestRecord:
    """One REST request as the emulator saw it. ``path`` is relative to the API base (no /api/v10);
    ``status`` 0 means the connection was dropped on purpose (``faults.drop_requests``)."""

    method: str
    path: str
    template: str | None
    query: dict[str, str]
    body: Any
    status: int
    time: float
    headers: dict[str, str] = attrs.field(factory=dict, repr=False)


class RestServer:
    def __init__(
        self,
        router: Router,
        limiter: ServerRateLimiter,
        faults: RestFaultState,
        token: str,
        *,
        new_id: Callable[[], int],
        keep_log: bool = True,
        invalid_limit: InvalidRequestLimit | None = None,
    ) -> None:
        self._invalid_limit = invalid_limit or InvalidRequestLimit()
        self._new_id = new_id
        self._router = router
        self._limiter = limiter
        self._faults = faults
        self._authorization = f"Bot {token}"
        self.observers: list[RequestObserver] = []
        self.observer_errors: list[Exception] = []
        self.internal_errors: list[Exception] = []
        self.requests: list[RequestRecord] = []
        self.keep_log = keep_log
        self.invalid_requests = 0
        self.status_counts: dict[int, int] = {}
        self._invalid_times: collections.deque[float] = collections.deque()
        self.banned_until: float | None = None

    async def handle(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        for prefix in API_PREFIXES:
            if path.startswith(prefix):
                path = path[len(prefix) :] or "/"
                break
        else:
            return _json_response(errors.not_found().status, errors.not_found().body())
        body, body_error, upload = _decode_body(request)
        self._notify_observers(request.method, path, body)
        sent_body = body  # what the bot sent is what the log shows
        if upload is not None:
            body = with_attachments(upload, self._new_id, CDN_BASE)
        if self._faults.latency > 0:
            await trio.sleep(self._faults.latency)
        if self._faults.take_drop():
            self._record(request, path, None, sent_body, 0)
            raise DropConnection
        if self.banned_until is not None and trio.current_time() < self.banned_until:
            self._record(request, path, None, sent_body, 429)
            return CLOUDFLARE_BAN
        template: str | None = None
        try:
            route, params = self._router.match(request.method, path)
            template = route.template
            response = self._run(route, params, request, body, body_error)
        except errors.DiscordHTTPError as error:
            response = _json_response(error.status, error.body())
        self._record(request, path, template, sent_body, response.status)
        if response.status in (401, 403, 429) and ("X-RateLimit-Scope", "shared") not in response.headers:
            self._count_invalid()
        return response

    def _count_invalid(self) -> None:
        """Discord's invalid request limit: too many 401/403/429 in the window blocks the client."""
        now = trio.current_time()
        self.invalid_requests += 1
        times = self._invalid_times
        times.append(now)
        while times and times[0] <= now - self._invalid_limit.window:
            times.popleft()
        if len(times) >= self._invalid_limit.limit:
            self.banned_until = now + self._invalid_limit.ban_seconds
            logger.warning(
                "emulated Cloudflare ban: %d invalid requests in %.0f s",
                len(times),
                self._invalid_limit.window,
            )

    def _notify_observers(self, method: str, path: str, body: Any) -> None:
        for observer in list(self.observers):
            try:
                observer(method, path, body)
            except Exception as error:
                # An observer (a validator) failing must not break the request; the test reads the list.
                logger.warning("request observer failed for %s %s: %r", method, path, error)
                self.observer_errors.append(error)

    def _run(
        self,
        route: Route,
        params: dict[str, str],
        request: HttpRequest,
        body: Any,
        body_error: errors.DiscordHTTPError | None,
    ) -> HttpResponse:
        if route.authenticated and request.headers.get("authorization") != self._authorization:
            raise errors.unauthorized()
        forced_status = self._faults.take_status()
        if forced_status is not None:
            return _json_response(
                forced_status, {"message": f"{forced_status}: Emulated server error", "code": 0}
            )
        if route.unmetered:
            verdict = self._limiter.check_unmetered(route.template)
        else:
            verdict = self._limiter.check(
                request.method, route.template, route.major(params), interaction=route.interaction,
                now=trio.current_time(),
            )  # fmt: skip
        if verdict.limited:
            return _json_response(429, verdict.body(), verdict.headers)
        if body_error is not None:
            raise body_error
        if body is None and request.method not in _NO_BODY_METHODS and request.method != "PUT":
            body = {}
        context = RequestContext(
            method=request.method,
            template=route.template,
            params=params,
            query=request.query,
            headers=request.headers,
            body=body,
        )
        try:
            result: RestResult = route.handler(context)
        except errors.DiscordHTTPError as error:
            return _json_response(error.status, error.body(), verdict.headers)
        except Exception as error:
            # An emulator bug: answer 500 like Discord's own failures, and keep it for tests to see.
            logger.exception("emulator route %s %s failed", request.method, route.template)
            self.internal_errors.append(error)
            return _json_response(500, {"message": "500: Internal Server Error", "code": 0}, verdict.headers)
        headers = verdict.headers + result.headers
        if result.status == 204 or result.body is None:
            return HttpResponse(result.status, b"", headers)
        return HttpResponse(result.status, orjson.dumps(result.body), headers)

    def _record(self, request: HttpRequest, path: str, template: str | None, body: Any, status: int) -> None:
        self.status_counts[status] = self.status_counts.get(status, 0) + 1
        if self.keep_log:
            self.requests.append(
                RequestRecord(
                    method=request.method,
                    path=path,
                    template=template,
                    query=request.query,
                    body=body,
                    status=status,
                    time=trio.current_time(),
                    headers=request.headers,
                )
            )


def _json_response(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
    return HttpResponse(status, orjson.dumps(payload), headers)


def _decode_body(request: HttpRequest) -> tuple[Any, errors.DiscordHTTPError | None, Upload | None]:
    """(JSON body, the error to answer if it is not JSON, the multipart upload if it was one)."""
    if not request.body:
        return None, None, None
    content_type = request.headers.get("content-type", "")
    if "multipart/form-data" in content_type:
        upload = parse_multipart(content_type, request.body)
        return (None if upload is None else upload.payload), None, upload
    try:
        return orjson.loads(request.body), None, None
    except orjson.JSONDecodeError:
        return None, errors.malformed_json(), None
