"""The REST client: one pooled HTTP connection pool, a permit per request, typed errors.

`RestClient.request` is the single path every REST call takes::

    permit = await limiter.acquire(compiled_route)      # waits as the rate limiter says (not for
                                                        # single-use routes: interaction callbacks)
    response = <send on the pooled connection>
    permit.complete(Outcome.from_response(...))         # teaches the limiter the bucket's state
    429 → acquire again (the limiter will not hand out a start time before retry_after has passed)
    5xx / transport failure → bounded exponential backoff with jitter, then `ServerError`
    other errors → `HTTPError` subclasses with Discord's JSON error code and message

Why the client talks HTTP through `protocol.rest.http.HttpExchange` (our keep-alive pool of HTTP/1.1
connections, with our own codec `protocol.rest.http11`) rather than ``httpx.AsyncClient.request``: the client
layer (cookies, auth flows, redirects, event hooks, URL merging, per-request header merging) does nothing a
bot needs and costs more CPU than the HTTP exchange itself (DESIGN §6; `bench/rest/bench_client.py` measures
the paths side by side). We keep pooled keep-alive connections, TLS and timeouts. Header lists are built
once per client and reused; the JSON body is encoded with orjson; the request goes out in one socket write.

The token is only ever placed in the ``Authorization`` header; it is never logged, and log lines and errors
name the route *template* (``POST /channels/{channel_id}/messages``), never the concrete path, which may hold
an interaction or webhook token. Routes authenticated by a token in their path (interaction callbacks,
webhooks) are sent without the bot token at all, so a 401 from them cannot latch the bot-token guard.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import quote, urlencode

import orjson
import trio

from protocol.rest.buckets import Outcome, RetryPolicy, Scope
from protocol.rest.endpoints import DiscordEndpoints
from protocol.rest.errors import (
    BadRequest,
    CertificateRejected,
    Forbidden,
    HTTPError,
    NotFound,
    RateLimited,
    RateLimitTooLong,
    ServerError,
    Unauthorized,
)
from protocol.rest.http import TRANSPORT_ERRORS, HttpExchange
from protocol.rest.limiter import NO_OP_PERMIT, Permit, RateLimiter
from protocol.rest.routes import CompiledRoute, route
from protocol.rest.uploads import File, encode_multipart
from protocol.transport.tls import certificate_failure
from supervision.telemetry import Telemetry

__all__ = ["DEFAULT_API_BASE", "RestClient"]

log = logging.getLogger(__name__)

DEFAULT_API_BASE: Final = "https://discord.com/api/v10"
USER_AGENT: Final = "DiscordBot (https://github.com/WillHalloward/twi_bot_shard, 0.1) twi-bot-shard"

_ERRORS: Final[dict[int, type[HTTPError]]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
}


def _query_value(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class RestClient(DiscordEndpoints):
    """Discord REST v10 client. Use as ``async with RestClient(...) as rest`` (or call `aclose`)."""

    def __init__(
        self,
        api_base: str,
        token: str,
        limiter: RateLimiter,
        *,
        telemetry: Telemetry | None = None,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        max_rate_limit_retries: int = 5,
        http: HttpExchange | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._base = api_base.rstrip("/")
        self._limiter = limiter
        self._retry = retry or RetryPolicy()
        self._max_429_retries = max_rate_limit_retries
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._http = http or HttpExchange(self._base, timeout=timeout)
        authorization = token if token.startswith(("Bot ", "Bearer ")) else f"Bot {token}"
        anon: list[tuple[bytes, bytes]] = [
            (b"Host", self._http.host_header),
            (b"User-Agent", USER_AGENT.encode()),
            (b"Accept", b"application/json"),
        ]
        auth = [*anon, (b"Authorization", authorization.encode())]
        json_type = (b"Content-Type", b"application/json")
        self._headers_anon = anon
        self._headers_auth = auth
        self._headers_anon_json = [*anon, json_type]
        self._headers_auth_json = [*auth, json_type]
        telemetry = telemetry or Telemetry()
        self._requests_total = telemetry.counter(
            "shard_rest_requests_total", "REST responses by route template and status", ("route", "status")
        )
        self._ratelimited_total = telemetry.counter(
            "shard_rest_ratelimited_total", "429 answers by X-RateLimit-Scope", ("scope",)
        )
        self._latency = telemetry.histogram(
            "shard_rest_latency_seconds", "REST round trip (one attempt) by route template", ("route",)
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"RestClient({self._base!r})"  # never the token

    # ------------------------------------------------------------------------------------------ core

    async def request(
        self,
        method: str,
        template: str,
        *,
        json: object = None,
        query: Mapping[str, object] | None = None,
        reason: str | None = None,
        files: Sequence[File] | None = None,
        **path_params: int | str,
    ) -> Any:
        """Send one request to ``template`` (Discord's path template) and return the parsed JSON (or None).

        With ``files``, the request goes as ``multipart/form-data`` (``json`` becomes ``payload_json``).
        """
        compiled = route(method, template).compile(**path_params)
        url = self._base + compiled.path
        if query:
            encoded = urlencode({k: _query_value(v) for k, v in query.items() if v is not None})
            if encoded:
                url += "?" + encoded
        multipart_type: str | None = None
        content: bytes | None
        if files:
            if json is not None and not isinstance(json, Mapping):
                raise TypeError("a request with files takes a JSON object (or None) as its payload")
            content, multipart_type = encode_multipart(json, files)
        else:
            content = None if json is None else orjson.dumps(json)
        headers = self._headers_for(compiled, content is not None, reason, multipart_type)
        return await self._send_with_retries(compiled, url.encode("ascii"), headers, content)

    def _headers_for(
        self, compiled: CompiledRoute, has_body: bool, reason: str | None, multipart_type: str | None = None
    ) -> list[tuple[bytes, bytes]]:
        if multipart_type is not None:
            base = self._headers_auth if compiled.route.uses_bot_token else self._headers_anon
            headers = [*base, (b"Content-Type", multipart_type.encode("ascii"))]
        elif compiled.route.uses_bot_token:
            headers = self._headers_auth_json if has_body else self._headers_auth
        else:
            headers = self._headers_anon_json if has_body else self._headers_anon
        if reason:
            headers = [*headers, (b"X-Audit-Log-Reason", quote(reason, safe=" ").encode("ascii"))]
        return headers

    async def _send_with_retries(
        self, compiled: CompiledRoute, url: bytes, headers: list[tuple[bytes, bytes]], content: bytes | None
    ) -> Any:
        name = compiled.route.name
        method = compiled.method.encode("ascii")
        server_retries = 0
        rate_limit_retries = 0
        retry_not_before = 0.0
        single_use = compiled.route.single_use
        while True:
            if single_use and not rate_limit_retries:
                permit: Permit = NO_OP_PERMIT  # one request per resource: no bucket to wait for or learn
            else:
                permit = await self._limiter.acquire(compiled)
            if retry_not_before:  # only after a 429 (the common path skips the call)
                await self._hold_until(permit, retry_not_before)
            started = trio.current_time()
            try:
                status, response_headers, body = await self._http.send(method, url, headers, content)
            except TRANSPORT_ERRORS as error:
                permit.cancel(sent=True)
                self._requests_total.inc(name, "transport_error")
                rejected = certificate_failure(error)
                if rejected is not None:  # no retry can fix a certificate
                    raise CertificateRejected(name, rejected.verify_message or str(rejected)) from error
                server_retries += 1
                failure = ServerError(0, name, message=f"transport failure: {type(error).__name__}")
                await self._back_off(name, server_retries, failure, error)
                continue
            except BaseException:
                permit.cancel(sent=True)
                raise
            self._latency.observe(trio.current_time() - started, name)
            self._requests_total.inc(name, str(status))
            data = self._decode(body, response_headers)
            if status < 300 and permit is NO_OP_PERMIT:
                return data  # a single-use route's success: no bucket to learn from, no outcome to build
            outcome = Outcome.from_response(status, response_headers, data)
            permit.complete(outcome)
            if status < 300:
                return data
            if status == 429:
                rate_limit_retries += 1
                retry_not_before = self._after_429(name, outcome, data, rate_limit_retries)
                continue  # the limiter (and retry_not_before) hold the next attempt back until retry_after
            if status >= 500:
                server_retries += 1
                await self._back_off(name, server_retries, self._error(ServerError, status, name, data), None)
                continue
            raise self._error(_ERRORS.get(status, HTTPError), status, name, data)

    @staticmethod
    async def _hold_until(permit: Permit, retry_not_before: float) -> None:
        """Only a limiter that tracks no buckets (`PassThroughLimiter`) lets a 429's retry come this early;
        the client never retries before ``retry_after``, whatever limiter it was given."""
        if retry_not_before > trio.current_time():
            try:
                await trio.sleep_until(retry_not_before)
            except BaseException:
                permit.cancel(sent=False)
                raise

    async def _back_off(
        self, name: str, retry_number: int, failure: HTTPError, cause: BaseException | None
    ) -> None:
        """Sleep before retrying a 5xx or transport failure, or raise ``failure`` when retries are spent."""
        delay = self._retry.delay(retry_number, self._rng.random())
        if delay is None:
            raise failure from cause
        log.warning("REST %s failed (%s); retry %d in %.2f s", name, failure, retry_number, delay)
        await trio.sleep(delay)

    def _after_429(self, name: str, outcome: Outcome, data: Any, retries: int) -> float:
        """Account for a 429; returns the earliest retry instant or raises when retrying makes no sense."""
        scope = outcome.scope or Scope.USER
        self._ratelimited_total.inc(scope.value)
        wait = outcome.retry_after
        max_wait = self._limiter.max_wait
        if wait > max_wait:
            raise RateLimitTooLong(name, wait, max_wait, reason=f"429 ({scope.value})")
        if retries > self._max_429_retries:
            raise self._error(RateLimited, 429, name, data)
        log.info("REST %s rate limited (scope %s), retrying after %.2f s", name, scope.value, wait)
        return trio.current_time() + wait

    @staticmethod
    def _decode(body: bytes, headers: Mapping[str, str]) -> Any:
        if not body:
            return None
        content_type = headers.get("content-type", "")
        if "json" not in content_type:
            return None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            return None

    @staticmethod
    def _error(kind: type[HTTPError], status: int, name: str, data: Any) -> HTTPError:
        code = 0
        message = ""
        if isinstance(data, dict):
            raw_code = data.get("code")
            code = raw_code if isinstance(raw_code, int) else 0
            raw_message = data.get("message")
            message = raw_message if isinstance(raw_message, str) else ""
        if kind is HTTPError and status >= 500:
            kind = ServerError
        return kind(status, name, code=code, message=message, body=data)
