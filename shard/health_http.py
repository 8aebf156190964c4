"""Operator HTTP endpoints: /metrics, /healthz, /readyz, /health and /health.txt on a loopback port.

Why h11 on ``trio.serve_tcp`` instead of a web framework: five read-only GET endpoints do not justify a
framework, and h11 is already a dependency of httpx. h11 is sans-IO — it parses bytes into events and
serialises our responses — so this module only moves bytes between a trio stream and an `h11.Connection`,
and the routing (`respond`) is a pure function of the request and a `HealthEndpoints` source, testable
without sockets.

The semantics follow Kubernetes and Akka Management: ``/healthz`` is *liveness* ("should this process be
restarted?": the event loop is not stuck), ``/readyz`` is *readiness* ("should it get traffic?": every
critical child is running). Both answer 200 or 503 with a one-line reason. ``/health`` is the runtime's
schema-versioned JSON snapshot and ``/health.txt`` its text tree; both also answer 503 when the bot is not
ready, so a script can use the status code alone. ``/metrics`` asks the metrics actor for the Prometheus
exposition text.

Each connection has an idle timeout and h11's size limits, so a slow or hostile client can hold at most one
task for a few seconds. The server runs as a worker child of the supervision tree (`health_child`) and
publishes the port it actually bound (`BoundAddress`), which is how tests use port 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Protocol

import attrs
import h11
import orjson
import trio

from shard.config import HealthConfig
from supervision.specs import ChildSpec, Restart

__all__ = [
    "BoundAddress",
    "HealthEndpoints",
    "HttpResponse",
    "MetricsUnavailable",
    "health_child",
    "respond",
    "serve_health",
]

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 10.0
MAX_REQUEST_BYTES = 16 * 1024
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
SERVER_NAME = b"twi-bot-shard"


class MetricsUnavailable(Exception):  # noqa: N818 - reads as a state, like trio.Cancelled
    """The metrics source cannot answer now (e.g. the metrics actor is restarting): the scrape gets 503."""


class HealthEndpoints(Protocol):
    """What the endpoints read; `shard.app.RuntimeEndpoints` implements it over a running tree."""

    def liveness(self) -> tuple[bool, str]:
        """(alive, one-line reason)."""
        ...

    def readiness(self) -> tuple[bool, str]:
        """(ready, one-line reason)."""
        ...

    def snapshot(self) -> Mapping[str, Any]:
        """The health snapshot (JSON-serialisable)."""
        ...

    def text(self) -> str:
        """The snapshot rendered as a text tree."""
        ...

    async def metrics(self) -> tuple[bytes, str]:
        """(exposition body, content type)."""
        ...


@attrs.frozen
class HttpResponse:
    status: int
    content_type: str
    body: bytes


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(status, TEXT, (text.rstrip("\n") + "\n").encode())


INDEX = "endpoints: /metrics /healthz /readyz /health /health.txt"


async def respond(  # noqa: PLR0911 - one return per route
    method: str, target: str, endpoints: HealthEndpoints
) -> HttpResponse:
    """Route one request (pure apart from what `endpoints` does)."""
    path = target.split("?", 1)[0]
    if method not in ("GET", "HEAD"):
        return _plain(405, f"method {method} not allowed; {INDEX}")
    if path == "/healthz":
        alive, reason = endpoints.liveness()
        return _plain(200 if alive else 503, f"{'ok' if alive else 'unhealthy'}: {reason}")
    if path == "/readyz":
        ready, reason = endpoints.readiness()
        return _plain(200 if ready else 503, f"{'ready' if ready else 'not ready'}: {reason}")
    if path == "/health":
        ready, _ = endpoints.readiness()
        body = orjson.dumps(endpoints.snapshot(), default=str, option=orjson.OPT_NON_STR_KEYS)
        return HttpResponse(200 if ready else 503, JSON, body)
    if path == "/health.txt":
        ready, _ = endpoints.readiness()
        return _plain(200 if ready else 503, endpoints.text())
    if path == "/metrics":
        try:
            body, content_type = await endpoints.metrics()
        except MetricsUnavailable as exc:
            return _plain(503, f"metrics unavailable: {exc}")
        return HttpResponse(200, content_type, body)
    if path == "/":
        return _plain(200, INDEX)
    return _plain(404, f"no such endpoint {path}; {INDEX}")


# ----------------------------------------------------------------------------------------------------------
# The server: bytes <-> h11 <-> respond
# ----------------------------------------------------------------------------------------------------------


@attrs.define
class BoundAddress:
    """Where the server listens, set once it has bound (port 0 in tests picks a free port)."""

    host: str = ""
    port: int = 0
    bound: trio.Event = attrs.field(factory=trio.Event)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


async def _send(conn: h11.Connection, stream: trio.abc.Stream, event: h11.Event) -> None:
    data = conn.send(event)
    if data:
        await stream.send_all(data)


async def _next_event(conn: h11.Connection, stream: trio.abc.Stream) -> h11.Event | type[h11.NEED_DATA]:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event  # type: ignore[return-value]
        data = await stream.receive_some(MAX_REQUEST_BYTES)
        conn.receive_data(bytes(data))  # b"" means the peer closed; h11 turns that into ConnectionClosed


async def _serve_connection(stream: trio.abc.Stream, endpoints: HealthEndpoints) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BYTES)
    try:
        while True:
            with trio.move_on_after(IDLE_TIMEOUT_S):
                event = await _next_event(conn, stream)
                if not isinstance(event, h11.Request):
                    return  # ConnectionClosed, or anything unexpected: just close
                while not isinstance(
                    await _next_event(conn, stream), h11.EndOfMessage | h11.ConnectionClosed
                ):
                    pass  # GET requests carry no body worth reading
                response = await _safe_respond(event, endpoints)
                headers = [
                    (b"content-type", response.content_type.encode()),
                    (b"content-length", str(len(response.body)).encode()),
                    (b"cache-control", b"no-store"),
                    (b"server", SERVER_NAME),
                ]
                await _send(conn, stream, h11.Response(status_code=response.status, headers=headers))
                if event.method != b"HEAD":
                    await _send(conn, stream, h11.Data(data=response.body))
                await _send(conn, stream, h11.EndOfMessage())
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()
    except h11.RemoteProtocolError as exc:
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            body = f"bad request: {exc}\n".encode()
            headers = [(b"content-type", TEXT.encode()), (b"content-length", str(len(body)).encode())]
            status = exc.error_status_hint
            await _send(conn, stream, h11.Response(status_code=status, headers=headers))
            await _send(conn, stream, h11.Data(data=body))
            await _send(conn, stream, h11.EndOfMessage())
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the client went away
    finally:
        await trio.aclose_forcefully(stream)


async def _safe_respond(request: h11.Request, endpoints: HealthEndpoints) -> HttpResponse:
    try:
        return await respond(
            request.method.decode("ascii", "replace"), request.target.decode("latin-1"), endpoints
        )
    except Exception:  # an endpoint bug answers 500; it must not kill the server
        log.exception("health endpoint %s failed", request.target.decode("latin-1"))
        return _plain(500, "internal error (see the bot's log)")


async def serve_health(
    endpoints: HealthEndpoints,
    host: str,
    port: int,
    *,
    bound: BoundAddress | None = None,
    task_status: trio.TaskStatus[BoundAddress] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the endpoints until cancelled; `bound` (and ``task_status``) learn the actual port."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    address = bound if bound is not None else BoundAddress()
    sockname = listeners[0].socket.getsockname()
    address.host, address.port = str(sockname[0]), int(sockname[1])
    address.bound.set()
    log.info("health endpoints on %s (/metrics /healthz /readyz /health /health.txt)", address.url)
    task_status.started(address)

    async def handler(stream: trio.SocketStream) -> None:
        await _serve_connection(stream, endpoints)

    try:
        await trio.serve_listeners(handler, listeners)
    finally:
        address.bound = trio.Event()  # a restarted server publishes its new address again


def health_child(
    config: HealthConfig,
    endpoints: Callable[[Any], HealthEndpoints],
    *,
    bound: BoundAddress | None = None,
    child_id: str = "health-http",
) -> ChildSpec:
    """A worker child running the server; `endpoints(ctx)` builds the source from the worker's context."""

    async def run(ctx: Any) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(serve_health, endpoints(ctx), config.host, config.port, bound=bound))
            # The mailbox closes when the supervisor stops this child: stop serving at once then.
            while await ctx.mailbox.wait_readable():
                ctx.mailbox.get_nowait()  # nobody sends this worker messages; discard any
            nursery.cancel_scope.cancel()

    return ChildSpec(
        id=child_id, run=run, restart=Restart.PERMANENT, shutdown_timeout=2.0, kind="health-http"
    )
