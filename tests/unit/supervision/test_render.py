"""render_text on hand-written snapshots (pure: no runtime), for the parts the live tests cannot reach."""

from typing import Any

from supervision import render_text


def node(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "path": "root/ratelimiter",
        "id": "ratelimiter",
        "type": "actor",
        "kind": "ratelimiter",
        "restart_type": "permanent",
        "state": "RUNNING",
        "critical": True,
        "started_at": 0.0,
        "uptime_s": 3 * 86400 + 4 * 3600 + 5,
        "restarts": {"total": 0},
        "last_exit": None,
        "backoff": None,
        "mailbox": {"depth": 12, "capacity": 1024, "peak": 640, "policy": "block", "dropped": 0},
        "latency": {"proc_p50": 0.0004, "proc_p99": 0.0018, "proc_max": 0.01},
        "counters": {"handled": 1234},
    }
    base.update(overrides)
    return base


def snapshot(tree: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema": "suphealth/1",
        "host": "host-1",
        "pid": 4121,
        "trio": "0.35.0",
        "uptime_s": 3 * 86400 + 4 * 3600,
        "status": "OK",
        "problems": [],
        "alive": True,
        "ready": True,
        "failure": None,
        "loop": {"lag_p99_s": 0.0021, "lag_max_s": 0.038, "tasks_living": 8412, "slow_steps": None},
        "dead_letters": {"total": 0, "by_reason": {}, "samples": []},
        "tree": tree,
    }
    base.update(overrides)
    return base


def test_a_healthy_leaf_reads_like_the_proposed_report() -> None:
    root = {
        "path": "root",
        "id": "root",
        "type": "supervisor",
        "kind": "root",
        "restart_type": "permanent",
        "state": "RUNNING",
        "uptime_s": 11045.0,
        "restarts": {"total": 0, "in_window": 0, "budget": 3, "window_s": 60.0},
        "strategy": "one_for_all",
        "last_exit": None,
        "backoff": None,
        "children": [node()],
    }
    lines = render_text(snapshot(root)).splitlines()
    assert lines[0] == "host-1 pid 4121 up 3d04h trio 0.35.0  status=OK  alive=yes ready=yes"
    assert lines[1] == "loop: lag p99 2.1ms max 38.0ms  tasks 8412  dead-letters 0"
    assert lines[2].startswith("root") and "one_for_all  budget 0/3 per 60s  RUNNING up 3h04m" in lines[2]
    assert lines[3].startswith("└─ ratelimiter")
    assert (
        "permanent RUNNING up 3d04h  restarts 0  mbox 12/1024 peak 640  proc p50 400us p99 1.8ms" in lines[3]
    )


def test_a_failed_runtime_shows_why_and_what_was_lost() -> None:
    leaf = node(
        state="FAILED",
        uptime_s=None,
        restarts={"total": 4},
        last_exit={"kind": "error", "exc_type": "KeyError", "msg": "roles", "at": 0.0, "ago_s": 31.0},
        mailbox={"depth": 998, "capacity": 1000, "peak": 1000, "policy": "drop_oldest", "dropped": 1204},
    )
    text = render_text(
        snapshot(
            leaf,
            status="FAILED",
            alive=False,
            ready=False,
            failure="supervisor 'root' escalated: more than 3 restarts within 5s",
            problems=["root/ratelimiter failed", "root/ratelimiter mailbox 99%"],
            dead_letters={
                "total": 2,
                "by_reason": {"full": 1, "stopped": 1, "expired": 0},
                "samples": [{"at": 1.0, "path": "root/ratelimiter", "reason": "full", "msg_type": "Permit"}],
            },
        )
    )
    lines = text.splitlines()
    assert (
        "status=FAILED  alive=NO ready=NO  (root/ratelimiter failed; root/ratelimiter mailbox 99%)"
        in lines[0]
    )
    assert lines[1] == "FAILURE: supervisor 'root' escalated: more than 3 restarts within 5s"
    assert lines[2].endswith("dead-letters 2 (full 1, stopped 1)")
    assert "FAILED ⚠  restarts 4  last exit KeyError 'roles' 31.0s ago" in lines[3]
    assert "mbox 998/1000 peak 1000 ⚠ policy=drop_oldest dropped 1204" in lines[3]
    assert lines[-2:] == ["recent dead letters:", "  full        root/ratelimiter  Permit"]
