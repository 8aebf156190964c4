"""Emulator-side helpers every scenario uses: a bench-tuned emulator, a bot brought up against it, a ping.

Why these choices:

* **Token shape.** hikari derives the application id from the token's first segment (base64 of the id), so
  the bench emulator is given a token in Discord's real shape for its application id; every bot then runs
  against the same emulator configuration.
* **Request log off.** The emulator keeps every REST request for tests; at thousands of interactions per
  second that log is pure overhead in the driver process, so scenarios switch it off unless they read it
  (the REST limiter scenario).
* **Driver CPU.** The harness also reports its own CPU use over each measured window; a driver near one
  full core means the emulator, not the bot, set the pace, and the row says so.
* **Ready means answering.** A bot is "up" when its gateway session is identified *and* a ``/ping``
  round-trip succeeds; the warm-up pings also take the first-call costs (imports, connection pools, JIT-less
  caches) out of the measured window.
"""

from __future__ import annotations

import base64
import contextlib
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import httpx
import orjson
import trio

from bench.scenarios.bots import BotProcess, BotSpec, log_path_for
from protocol.emulator import Emulator, EmulatorConfig, RouteLimit
from protocol.emulator.http_server import HttpRequest, HttpResponse

BENCH_APPLICATION_ID = 1_180_000_000_000_000_001
#: Every bot's /ping reply starts with this (ours appends its latency figures, the peers send it alone).
PING_REPLY = "Pong!"
CHANNEL_MESSAGE_WITH_SOURCE = 4


def bench_token(application_id: int = BENCH_APPLICATION_ID) -> str:
    """A token in Discord's shape: base64(application id) . timestamp . hmac (the last two are filler)."""
    first = base64.b64encode(str(application_id).encode()).decode().rstrip("=")
    return f"{first}.YmVuY2g.emulator-benchmark-not-a-secret"


def bench_config(**overrides: Any) -> EmulatorConfig:
    """The emulator configuration scenarios start from; keyword overrides replace single fields."""
    base = EmulatorConfig(
        token=bench_token(),
        application_id=BENCH_APPLICATION_ID,
        record_requests=False,
        heartbeat_interval_ms=41_250,
        # Callbacks are limited per interaction, but hikari files every callback under one bucket when it
        # sees a bucket header on that route; a roomy limit keeps that quirk from throttling it to 5/s.
        interaction_route_limit=RouteLimit(1_000_000, 1.0),
        # zlib level 1: the emulator's compression is driver CPU, not the bots'; every client inflates any
        # level, and level 1 costs less than half of the default's CPU per frame (docs/benchmarks.md).
        zlib_level=1,
        # Our lean HTTP codec, not h11 (a sixth of its CPU per request): the driver must not set the pace.
        http_codec="fast",
    )
    return attrs.evolve(base, **overrides)


@attrs.frozen(slots=True)
class ObservedResponse:
    """One REST exchange as the client saw it: when it was answered, what it was, and 429 details."""

    time: float
    method: str
    path: str
    body: bytes
    status: int
    retry_after: float | None
    scope: str | None


def capture_responses(emu: Emulator) -> list[ObservedResponse]:
    """Record every REST response from now on (the emulator's own log keeps requests, not answers)."""
    handle = emu.rest.handle
    observed: list[ObservedResponse] = []

    async def recording(request: HttpRequest) -> HttpResponse:
        response = await handle(request)
        retry_after: float | None = None
        scope: str | None = None
        if response.status == 429:
            scope = next((v for k, v in response.headers if k.lower() == "x-ratelimit-scope"), None)
            try:
                parsed = orjson.loads(response.body)
                retry_after = float(parsed["retry_after"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                retry_after = None
        observed.append(
            ObservedResponse(
                time=trio.current_time(),
                method=request.method,
                path=request.path,
                body=request.body,
                status=response.status,
                retry_after=retry_after,
                scope=scope,
            )
        )
        return response

    emu.rest.handle = recording  # type: ignore[method-assign]
    return observed


def counter_total(exposition: str, name: str, label_filter: str = "") -> float | None:
    """Sum of the samples of counter ``name`` (Prometheus text format) whose labels contain
    ``label_filter``; None when the counter is absent."""
    total: float | None = None
    for line in exposition.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        metric, _, value = line.rpartition(" ")
        if metric.split("{", 1)[0] != name or label_filter not in metric:
            continue
        try:
            total = (total or 0.0) + float(value)
        except ValueError:
            continue
    return total


async def scrape_counter(url: str | None, name: str, label_filter: str = "") -> float | None:
    """`counter_total` read from a bot's /metrics endpoint, or None when it has none or does not answer."""
    exposition = await _get_text(url)
    return None if exposition is None else counter_total(exposition, name, label_filter)


async def _get_text(url: str | None) -> str | None:
    """The body of a GET to ``url`` when it answers 200, else None (no URL, unreachable, an error status)."""
    if url is None:
        return None
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(url)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None


async def loop_report(metrics_url: str | None) -> dict[str, Any] | None:
    """The ``loop`` section of a bot's /health (loop lag, slowest recent task steps), for our bot only.

    It says whether a latency spike came from the bot's own event loop (a step that ran for 100 ms) or from
    somewhere else (the driver, the machine)."""
    if metrics_url is None:
        return None
    body = await _get_text(metrics_url.rsplit("/", 1)[0] + "/health")
    try:
        document = orjson.loads(body) if body is not None else None
    except orjson.JSONDecodeError:
        return None
    loop = document.get("loop") if isinstance(document, dict) else None
    return loop if isinstance(loop, dict) else None


async def runtime_details(metrics_url: str | None) -> dict[str, Any]:
    """Our bot's own view of a run, for the result's details: its event loop (`loop_report`) and its
    garbage-collector pauses per generation (count and total seconds, from ``shard_gc_pause_seconds``)."""
    details: dict[str, Any] = {}
    loop = await loop_report(metrics_url)
    if loop is not None:
        details["bot_event_loop"] = loop
    exposition = await _get_text(metrics_url)
    if exposition is None:
        return details
    for generation in ("0", "1", "2"):
        label = f'generation="{generation}"'
        for part in ("count", "sum"):
            value = counter_total(exposition, f"shard_gc_pause_seconds_{part}", label)
            if value is not None:
                details[f"bot_gc_gen{generation}_pauses_{part}"] = value
    return details


class BotNotReadyError(RuntimeError):
    """The bot did not identify or did not answer the warm-up ``/ping`` in time."""


@attrs.frozen(slots=True)
class PingTarget:
    """Where scenario pings are invoked: a guild the bot is in and a member of it."""

    guild_id: int
    user_id: int
    channel_id: int | None = None


def sandbox_target(emu: Emulator) -> PingTarget:
    sandbox = emu.sandbox_guild
    return PingTarget(guild_id=sandbox.id, user_id=sandbox.owner.id, channel_id=sandbox.bot_channel.id)


async def ping_once(emu: Emulator, target: PingTarget, *, timeout: float = 10.0) -> float:  # noqa: ASYNC109
    """Invoke ``/ping`` and wait for the callback; returns seconds from dispatch to callback received."""
    started = trio.current_time()
    interaction = await emu.invoke_slash(
        target.guild_id, target.user_id, "ping", channel_id=target.channel_id
    )
    reply = await interaction.response(timeout=timeout)
    elapsed = trio.current_time() - started
    if reply.type != CHANNEL_MESSAGE_WITH_SOURCE or not (reply.content or "").startswith(PING_REPLY):
        raise AssertionError(f"unexpected /ping reply: type {reply.type}, content {reply.content!r}")
    return elapsed


async def ask_count(emu: Emulator, target: PingTarget, *, timeout: float = 10.0) -> int | None:  # noqa: ASYNC109
    """The bot's ``/count`` answer (events its listeners counted), or None if it has no such command."""
    interaction = await emu.invoke_slash(
        target.guild_id, target.user_id, "count", channel_id=target.channel_id
    )
    try:
        reply = await interaction.response(timeout=timeout)
    except Exception:
        return None
    content = reply.content or ""
    if not content.startswith("count="):
        return None
    try:
        return int(content.removeprefix("count="))
    except ValueError:
        return None


async def wait_until_ready(
    emu: Emulator,
    bot: BotProcess,
    target: PingTarget,
    *,
    identify_timeout: float = 60.0,
    warmup_pings: int = 20,
) -> None:
    """Wait for the bot's gateway session, then for ``warmup_pings`` successful pings in a row."""
    deadline = trio.current_time() + identify_timeout
    while True:
        bot.check_alive()
        with trio.move_on_after(0.5):
            await emu.wait_for_sessions(1, timeout=0.5)
            break
        if trio.current_time() > deadline:
            raise BotNotReadyError(
                f"{bot.spec.name} did not identify in {identify_timeout:g}s: {bot.log_tail()}"
            )
    answered = 0
    failures = 0
    while answered < warmup_pings:
        bot.check_alive()
        try:
            await ping_once(emu, target, timeout=5.0)
            answered += 1
        except Exception as exc:
            failures += 1
            if failures >= 5 or trio.current_time() > deadline:
                raise BotNotReadyError(
                    f"{bot.spec.name} did not answer /ping: {exc!r}; {bot.log_tail()}"
                ) from exc


@contextlib.asynccontextmanager
async def bot_against(
    emu: Emulator,
    spec: BotSpec,
    *,
    scenario: str,
    stamp: str,
    env_overrides: dict[str, str] | None = None,
) -> AsyncIterator[BotProcess]:
    """Start ``spec`` pointed at ``emu`` (without waiting for readiness) and stop it when the block ends.

    The driver's cyclic garbage collector is off while a bot runs (`driver_gc_paused`).
    """
    with driver_gc_paused():
        async with BotProcess(
            spec,
            api_base=emu.api_base,
            token=emu.token,
            log_path=log_path_for(scenario, spec.name, stamp),
            env_overrides=env_overrides,
        ) as bot:
            yield bot


@contextlib.contextmanager
def driver_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection in the driver while it measures a bot.

    The driver's heap is large (the emulator's world, every interaction and message record, prebuilt
    payloads) and, with Python's defaults, a full collection of it took up to 265 ms (`gc.callbacks`
    measurement, interactions scenario): the driver stopped dispatching and reading callbacks, which showed
    up as schedule lag and as latency spikes charged to whichever bot was running. Raising the thresholds
    only made the rarer collections longer, since almost everything the driver allocates survives.
    Reference counting still frees the driver's garbage; cycles wait until the bot's run ends.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
        gc.collect()
