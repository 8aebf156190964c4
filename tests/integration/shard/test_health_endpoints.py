"""The operator endpoints and `shard health` against a real running tree (real runtime, real sockets)."""

from __future__ import annotations

import gc
import socket

import httpx
import orjson
import trio
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from shard import gc_policy
from shard.cli import EXIT_NOT_READY, EXIT_UNREACHABLE, main
from shard.config import Config, load_config
from supervision import SCHEMA, ActorContext, ChildSpec, Restart
from tests.fixtures.shard import RunningBot, start_bot


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(url)


async def test_liveness_readiness_and_snapshot(running_bot: RunningBot) -> None:
    healthz = await get(running_bot.url + "/healthz")
    assert healthz.status_code == 200 and healthz.text.startswith("ok: event loop lag")
    readyz = await get(running_bot.url + "/readyz")
    assert readyz.status_code == 200 and "ready" in readyz.text
    snapshot = orjson.loads((await get(running_bot.url + "/health")).content)
    assert snapshot["schema"] == SCHEMA and snapshot["ready"] is True
    children = {child["id"]: child["state"] for child in snapshot["tree"]["children"]}
    assert children == {"metrics": "RUNNING", "health-http": "RUNNING"}
    text = await get(running_bot.url + "/health.txt")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert "metrics" in text.text and "health-http" in text.text and "status=" in text.text


async def test_metrics_exposition_has_runtime_and_bot_instruments(running_bot: RunningBot) -> None:
    running_bot.telemetry.counter("shard_test_things_total", "Things.", ["kind"]).inc("a", amount=2)
    await get(running_bot.url + "/metrics")  # a scrape is counted once it has been handled
    response = await get(running_bot.url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert families["shard_test_things"].samples[0].value == 2
    assert "shard_loop_lag_seconds" in families  # the runtime's own instruments
    actors = {
        (s.labels["kind"], s.labels["state"]): s.value for s in families["shard_runtime_actors"].samples
    }
    assert actors[("metrics", "RUNNING")] == 1
    # The scrape itself went through the metrics actor's mailbox.
    messages = families["shard_actor_messages"].samples
    assert any(s.labels["kind"] == "metrics" and s.value >= 1 for s in messages)


async def test_unknown_paths_methods_and_garbage(running_bot: RunningBot) -> None:
    assert (await get(running_bot.url + "/nope")).status_code == 404
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.post(running_bot.url + "/health", content=b"x")).status_code == 405
        assert (await client.head(running_bot.url + "/healthz")).status_code == 200
    stream = await trio.open_tcp_stream(running_bot.address.host, running_bot.address.port)
    await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
    reply = b""
    with trio.fail_after(5):
        while chunk := await stream.receive_some():
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400")
    # The server survived the garbage.
    assert (await get(running_bot.url + "/healthz")).status_code == 200


async def test_keep_alive_serves_several_requests_on_one_connection(running_bot: RunningBot) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(5):
            assert (await client.get(running_bot.url + "/readyz")).status_code == 200


async def test_readiness_503_when_a_critical_child_is_down(nursery: trio.Nursery) -> None:
    async def gateway(ctx: ActorContext) -> None:
        return  # a critical worker that ends at once and is never restarted

    child = ChildSpec(id="gateway", run=gateway, restart=Restart.TEMPORARY, critical=True)
    bot = await start_bot(nursery, Config.defaults("testing"), [child])
    with trio.fail_after(5):
        while bot.runtime.readiness():
            await trio.sleep(0.01)
    readyz = await get(bot.url + "/readyz")
    assert readyz.status_code == 503 and "root/gateway" in readyz.text
    assert (await get(bot.url + "/healthz")).status_code == 200  # alive, just not ready
    assert (await get(bot.url + "/health")).status_code == 503
    text = await get(bot.url + "/health.txt")
    assert text.status_code == 503 and "gateway" in text.text

    result = await trio.to_thread.run_sync(lambda: CliRunner().invoke(main, ["health", "--url", bot.url]))
    assert result.exit_code == EXIT_NOT_READY
    assert "gateway" in result.output and "NOT READY" in result.output
    bot.cancel_scope.cancel()


async def test_shard_health_prints_the_tree_and_json(running_bot: RunningBot) -> None:
    runner = CliRunner()
    result = await trio.to_thread.run_sync(lambda: runner.invoke(main, ["health", "--url", running_bot.url]))
    assert result.exit_code == 0, result.output
    assert "health-http" in result.output and "status=" in result.output
    result = await trio.to_thread.run_sync(
        lambda: runner.invoke(main, ["health", "--json", "--url", running_bot.url])
    )
    assert result.exit_code == 0
    assert orjson.loads(result.output)["schema"] == SCHEMA


async def test_shard_health_reads_the_address_from_config(running_bot: RunningBot) -> None:
    env = {"SHARD_HEALTH_PORT": str(running_bot.address.port), "SHARD_HEALTH_HOST": running_bot.address.host}
    result = await trio.to_thread.run_sync(lambda: CliRunner().invoke(main, ["health"], env=env))
    assert result.exit_code == 0, result.output
    assert "metrics" in result.output


def test_shard_health_unreachable_exits_3() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = CliRunner().invoke(main, ["health", "--url", f"http://127.0.0.1:{port}"])
    assert result.exit_code == EXIT_UNREACHABLE
    assert "cannot reach the bot" in result.output


async def test_health_report_redacts_secrets_quoted_by_a_crash(nursery: trio.Nursery) -> None:
    config = load_config(
        profile="testing", env={"DISCORD_TOKEN": "the-real-token-value"}, search_default_file=False
    )

    async def leaky(ctx: ActorContext) -> None:
        raise RuntimeError("login failed with token the-real-token-value")

    child = ChildSpec(id="leaky", run=leaky, restart=Restart.TEMPORARY)
    bot = await start_bot(nursery, config, [child])
    with trio.fail_after(5):
        while bot.runtime.node("root/leaky").state.value != "STOPPED":  # type: ignore[union-attr]
            await trio.sleep(0.01)
    for path in ("/health", "/health.txt"):
        body = (await get(bot.url + path)).text
        assert "login failed" in body and "RuntimeError" in body
        assert "the-real-token-value" not in body
    bot.cancel_scope.cancel()


async def test_gc_pauses_are_exposed_by_generation(running_bot: RunningBot) -> None:
    with gc_policy.PauseObserver(running_bot.telemetry):
        gc.collect()  # a full collection: generation 2
        await get(running_bot.url + "/metrics")
        response = await get(running_bot.url + "/metrics")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    pauses = families["shard_gc_pause_seconds"].samples
    samples = {(s.name, s.labels.get("generation")): s.value for s in pauses}
    assert samples[("shard_gc_pause_seconds_count", "2")] >= 1
    assert samples[("shard_gc_pause_seconds_sum", "2")] > 0
