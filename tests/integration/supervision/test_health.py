"""The health snapshot (JSON) and its text rendering for a tree with a crashed, a backing-off and a
quarantined child."""

from collections.abc import Hashable

import jsonschema
import orjson
import pytest
import trio
import trio.testing

from supervision import (
    SCHEMA,
    BackoffSpec,
    KeyedSupervisorSpec,
    MailboxSpec,
    Overflow,
    SupervisorSpec,
    health_json_schema,
    open_runtime,
    render_text,
)
from supervision.telemetry import Telemetry
from tests.fixtures.supervision import Journal, MaxJitter, probe, settle


def bot_tree(journal: Journal) -> SupervisorSpec:
    def guild(key: Hashable) -> object:
        return probe(f"guild:{key}", journal)

    return SupervisorSpec(
        "root",
        children=[
            probe("ratelimiter", journal, critical=True),
            SupervisorSpec(
                "commands",
                children=[probe("executor", journal, critical=True)],
                max_restarts=10,
                window=60.0,
                backoff=BackoffSpec(base=0.01, max=0.01),
            ),
            probe("metrics", journal, mailbox=MailboxSpec(capacity=8, overflow=Overflow.DROP_OLDEST)),
            KeyedSupervisorSpec(
                "guilds",
                child=guild,  # type: ignore[arg-type]
                child_max_restarts=1,
                quarantine_for=300.0,
                backoff=BackoffSpec(base=1.0, max=1.0),
            ),
        ],
        backoff=BackoffSpec(base=50.0, max=50.0),
        max_restarts=5,
        window=60.0,
    )


async def test_health_snapshot_and_text_tree(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    telemetry = Telemetry()
    async with open_runtime(bot_tree(journal), telemetry=telemetry, rng=MaxJitter()) as rt:
        # crashed (and restarted): the executor
        executor = rt.ref("root/commands/executor")
        await executor.call("warm up")
        executor.tell("crash")
        await settle(0.1)
        assert await executor.call("ok") == ("executor", "ok", 2)
        # backing off: the metrics actor crashes, its parent backs off for 50 s (MaxJitter)
        rt.ref("root/metrics").tell("crash")
        await trio.sleep(0.001)
        # quarantined: a guild that crashes twice with a budget of one restart
        guilds = rt.keyed("root/guilds")
        guilds.ref(42).call  # noqa: B018 - refs are cheap and spawn nothing
        await guilds.ref(1).call("hello")
        guilds.tell(666, "crash")
        await trio.sleep(0.001)
        guilds.tell(666, "crash")  # queued during backoff: crashes the second incarnation at once
        await trio.sleep(40)

        snapshot = rt.health()
        jsonschema.validate(orjson.loads(orjson.dumps(snapshot)), health_json_schema())  # pure, valid JSON
        broken = orjson.loads(orjson.dumps(snapshot))
        broken["tree"]["children"][3]["children"][0]["mailbox"].pop("depth")
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, health_json_schema())  # the schema really constrains nested nodes
        assert snapshot["schema"] == SCHEMA
        tree = snapshot["tree"]
        by_path = {child["path"]: child for child in tree["children"]}
        metrics = by_path["root/metrics"]
        commands = by_path["root/commands"]
        keyed = by_path["root/guilds"]
        assert metrics["state"] == "BACKOFF"
        assert metrics["backoff"]["attempt"] == 1 and 0 < metrics["backoff"]["in_s"] <= 50
        assert commands["children"][0]["restarts"]["total"] == 1
        assert commands["children"][0]["last_exit"]["exc_type"] == "RuntimeError"
        assert commands["restarts"] == {"total": 0, "in_window": 1, "budget": 10, "window_s": 60.0}
        assert keyed["quarantined"] == 1 and keyed["live"] == 1
        quarantined = keyed["children"][0]
        assert quarantined["path"] == "root/guilds/666" and quarantined["state"] == "QUARANTINED"
        assert snapshot["status"] == "DEGRADED"
        assert "root/guilds/666 quarantined" in snapshot["problems"]

        text = render_text(snapshot)
        lines = text.splitlines()
        assert "status=DEGRADED" in lines[0] and "root/guilds/666 quarantined" in lines[0]
        assert lines[1].startswith("loop: lag p99")
        assert any(line.startswith("root ") and "one_for_one  budget" in line for line in lines)
        executor_line = next(line for line in lines if "executor" in line)
        assert executor_line.startswith("│  └─ executor")
        assert "RUNNING up" in executor_line and "restarts 1" in executor_line
        assert "last exit RuntimeError 'executor crashed on purpose'" in executor_line
        assert "mbox 0/1024" in executor_line
        guild_line = next(line for line in lines[2:] if "666" in line)
        assert "QUARANTINED ⚠ retry in" in guild_line
        assert "last exit RuntimeError 'guild:666 crashed on purpose'" in guild_line
        keyed_line = next(line for line in lines if line.startswith("└─ guilds"))
        assert "dynamic max=100000" in keyed_line and "quarantined 1 ⚠" in keyed_line

        # the backing-off child, with messages waiting for its next incarnation
        for _ in range(3):
            rt.ref("root/metrics").tell("queued")
        snapshot = rt.health()
        metrics_line = next(line for line in render_text(snapshot).splitlines()[2:] if "metrics" in line)
        assert metrics_line.startswith("├─ metrics")
        assert "permanent BACKOFF 10.0s (attempt 1)" in metrics_line  # 50 s backoff, 40 s elapsed
        assert "last exit RuntimeError 'metrics crashed on purpose'" in metrics_line
        assert "mbox 3/8" in metrics_line

        # telemetry instruments the runtime updates
        restarts = telemetry.counter("shard_actor_restarts_total", "", ["kind"])
        assert restarts.value("executor") == 1 and restarts.value("guilds") == 1
        messages = telemetry.counter("shard_actor_messages_total", "", ["kind"])
        assert messages.value("executor") >= 2
        proc = telemetry.histogram("shard_actor_processing_seconds", "", ["kind"])
        assert proc.labels("executor").n == messages.value("executor")
        depth = telemetry.gauge("shard_actor_mailbox_depth", "", ["kind"])
        assert depth.value("metrics") == 3
        dead = telemetry.counter("shard_dead_letters_total", "", ["reason"])
        assert dead.value("quarantined") >= 0
        assert rt.liveness()
        assert rt.readiness()  # no critical child is down
