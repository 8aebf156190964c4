"""/ping and /help through the router."""

from __future__ import annotations

import trio
import trio.testing

from tests.fixtures.interactions import MEMBER, MODERATOR, OWNER, Bot, build_bot, component, slash


async def test_ping_reports_heartbeat_rest_and_processing(bot: Bot) -> None:
    calls = await bot.run(slash("ping"))
    assert [c.method for c in calls] == ["POST", "PATCH"]
    assert "Gateway heartbeat: 42 ms" in calls[0].content and "REST round trip: n/a" in calls[0].content
    assert "REST round trip:" in calls[1].content and "n/a" not in calls[1].content
    assert "processing:" in calls[1].content


async def test_ping_uses_a_rest_latency_source_when_given(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    bot = build_bot(nursery, heartbeat=None)
    from shard.features import core

    assert core.ping_text(None, 0.0123, 0.0004) == (
        "Pong! Gateway heartbeat: n/a · REST round trip: 12 ms · processing: 0.4 ms"
    )
    payload = slash("ping")
    await bot.router.handle(payload, received_at=trio.current_time() - 0.25)
    assert "processing: 250.0 ms" in bot.rest.for_token(payload)[0].content


async def test_help_lists_only_what_the_invoker_may_run(bot: Bot) -> None:
    overview = (await bot.run(slash("help", persona=MEMBER)))[0]
    assert overview.ephemeral
    select = overview.data["components"][0]["components"][0]
    assert [o["value"] for o in select["options"]] == ["Core", "Test"]

    member_view = (
        await bot.run(component(select["custom_id"], persona=MEMBER, values=["Test"], component_type=3))
    )[0]
    assert member_view.callback_type == 7
    text = member_view.data["embeds"][0]["description"]
    assert "/echo" in text and "Inspect" in text
    assert "/shutdown" not in text and "/cfg show" not in text and "/purge" not in text

    mod_view = (
        await bot.run(component(select["custom_id"], persona=MODERATOR, values=["Test"], component_type=3))
    )[0]
    mod_text = mod_view.data["embeds"][0]["description"]
    assert "/cfg show" in mod_text and "/purge" in mod_text and "/cfg set" not in mod_text


async def test_help_for_one_command_shows_options_level_and_examples(bot: Bot) -> None:
    details = (await bot.run(slash("help", {"command": "echo"})))[0]
    embed = details.data["embeds"][0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert embed["title"] == "/echo"
    assert fields["Permission"] == "everyone"
    assert "`text` string, required (max 20 chars): What to echo" in fields["Options"]
    assert "`times` integer, optional (1..3)" in fields["Options"]
    assert fields["Examples"] == "/echo text:hi"

    hidden = (await bot.run(slash("help", {"command": "shutdown"}, persona=MEMBER)))[0]
    assert hidden.ephemeral and "no command" in hidden.content
    owner = (await bot.run(slash("help", {"command": "/shutdown"}, persona=OWNER)))[0]
    assert {f["name"]: f["value"] for f in owner.data["embeds"][0]["fields"]}["Permission"] == "bot owner"
    cooled = (await bot.run(slash("help", {"command": "cool"})))[0]
    assert "2 per 30 s per user" in str(cooled.data["embeds"][0]["fields"])


async def test_rest_latency_source_reads_the_rest_clients_histogram(nursery: trio.Nursery) -> None:
    from shard.features import core
    from supervision.telemetry import Telemetry

    telemetry = Telemetry()
    source = core.rest_latency_from(telemetry)
    assert source() is None
    histogram = telemetry.histogram("shard_rest_latency_seconds", "", ["route"])
    for seconds in (0.010, 0.020, 0.030):
        histogram.observe(seconds, core.CALLBACK_ROUTE)
    histogram.observe(5.0, "GET /users/@me")
    median = source()
    assert median is not None and 0.01 <= median <= 0.03


def test_rest_latency_source_recomputes_the_median_at_most_once_per_refresh() -> None:
    from shard.features import core
    from supervision.telemetry import Telemetry

    now = [100.0]
    telemetry = Telemetry()
    source = core.rest_latency_from(telemetry, refresh=0.25, clock=lambda: now[0])
    histogram = telemetry.histogram("shard_rest_latency_seconds", "", ["route"])
    histogram.observe(0.010, core.CALLBACK_ROUTE)
    first = source()
    assert first is not None and first <= 0.010
    for _ in range(10):
        histogram.observe(2.0, core.CALLBACK_ROUTE)
    now[0] += 0.2
    assert source() == first  # within the refresh: the figure shown a moment ago
    now[0] += 0.05
    refreshed = source()
    assert refreshed is not None and refreshed > 1.0  # the median moved to the slow round trips
