"""Rendering the health snapshot as the operator's text tree.

Why render from the JSON snapshot and not from live objects: one source of truth. `Runtime.health` builds an
immutable, schema-versioned document (``suphealth/1``) that the HTTP endpoint serves as JSON, the metrics
actor reads, and this module turns into text; whatever the operator reads in the tree is exactly what a
machine would read. The layout follows anchors_actors §2 ("Proposed report"): a status line that says *why*
the bot is degraded, a loop line, then one line per node with state, uptime, restarts and budget, last exit,
mailbox depth/capacity/peak/drops and processing-time percentiles; problems are flagged with ``⚠``. The
document's shape is pinned by ``suphealth-1.schema.json`` beside this module (`health_json_schema`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

SCHEMA_FILE = Path(__file__).with_name("suphealth-1.schema.json")


@cache
def health_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the ``suphealth/1`` snapshot, for consumers and tests."""
    schema: dict[str, Any] = orjson.loads(SCHEMA_FILE.read_bytes())
    return schema


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{sec:02d}s"


def _latency(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1_000_000:.0f}us"
    if seconds < 1:
        return f"{seconds * 1000:.1f}ms"
    return f"{seconds:.2f}s"


def _last_exit(node: dict[str, Any]) -> str:
    last = node.get("last_exit")
    if not last:
        return ""
    if last["kind"] == "error":
        what = f"{last['exc_type']} {last['msg']!r}" if last["msg"] else str(last["exc_type"])
    else:
        what = last["kind"]
    return f"last exit {what} {_duration(last['ago_s'])} ago"


def _state(node: dict[str, Any]) -> str:
    state = str(node["state"])
    backoff = node.get("backoff")
    if state == "BACKOFF" and backoff:
        return f"BACKOFF {_duration(backoff['in_s'])} (attempt {backoff['attempt']})"
    if state == "QUARANTINED" and backoff:
        return f"QUARANTINED ⚠ retry in {_duration(backoff['in_s'])}"
    if state == "FAILED":
        return "FAILED ⚠"
    if state == "RUNNING" and node.get("uptime_s") is not None:
        return f"RUNNING up {_duration(node['uptime_s'])}"
    return state


def _leaf_line(node: dict[str, Any]) -> str:
    parts = [f"{node['restart_type']} {_state(node)}"]
    restarts = node["restarts"]
    restart_text = f"restarts {restarts['total']}"
    if "budget" in restarts:
        restart_text += (
            f" ({restarts.get('in_window', 0)}/{restarts['budget']} per {restarts['window_s']:g}s)"
        )
    parts.append(restart_text)
    last = _last_exit(node)
    if last:
        parts.append(last)
    mailbox = node.get("mailbox")
    if mailbox:
        text = f"mbox {mailbox['depth']}/{mailbox['capacity']} peak {mailbox['peak']}"
        if mailbox["capacity"] and mailbox["depth"] >= 0.9 * mailbox["capacity"]:
            text += " ⚠"
        if mailbox["dropped"]:
            text += f" policy={mailbox['policy']} dropped {mailbox['dropped']}"
        parts.append(text)
    latency = node.get("latency")
    if latency and latency.get("proc_p99") is not None:
        parts.append(f"proc p50 {_latency(latency['proc_p50'])} p99 {_latency(latency['proc_p99'])}")
    counters = node.get("counters")
    if counters and counters.get("handled"):
        parts.append(f"handled {counters['handled']}")
    status = node.get("status")
    if status:
        parts.append(" ".join(f"{key}={_status_value(value)}" for key, value in status.items()))
    return "  ".join(parts)


def _status_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items()) or "-"
    return str(value)


def _supervisor_line(node: dict[str, Any]) -> str:
    restarts = node["restarts"]
    text = (
        f"{node['strategy']}  budget {restarts.get('in_window', 0)}/{restarts['budget']} "
        f"per {restarts['window_s']:g}s  {_state(node)}"
    )
    if restarts["total"]:
        text += f"  restarts {restarts['total']}"
    last = _last_exit(node)
    if last and node["state"] != "RUNNING":
        text += f"  {last}"
    return text


def _keyed_line(node: dict[str, Any]) -> str:
    idle = node.get("idle_timeout_s")
    budget = node["child_budget"]
    return (
        f"dynamic max={node['max_children']} idle={_duration(idle) if idle is not None else 'never'}  "
        f"{_state(node)}  live {node['live']}  passivated {node['passivated']}  "
        f"backoff {node['in_backoff']}  quarantined {node['quarantined']}"
        f"{' ⚠' if node['quarantined'] else ''}  "
        f"child budget {budget['max_restarts']}/{budget['window_s']:g}s"
    )


def _node_line(node: dict[str, Any]) -> str:
    kind = node["type"]
    if kind == "supervisor":
        return _supervisor_line(node)
    if kind == "keyed":
        return _keyed_line(node)
    return _leaf_line(node)


def _tree_lines(node: dict[str, Any], prefix: str, connector: str, width: int) -> list[str]:
    name = node["id"]
    lines = [f"{prefix}{connector}{name:<{max(1, width - len(prefix) - len(connector))}} {_node_line(node)}"]
    children = node.get("children") or []
    child_prefix = prefix + ("│  " if connector == "├─ " else "   " if connector == "└─ " else "")
    hidden = 0
    if node["type"] == "keyed":
        hidden = node["live"] + node["quarantined"] - len(children)
    for i, child in enumerate(children):
        last = i == len(children) - 1 and not hidden
        lines.extend(_tree_lines(child, child_prefix, "└─ " if last else "├─ ", width))
    if hidden > 0:
        lines.append(f"{child_prefix}└─ … {hidden} more (the {len(children)} most interesting are shown)")
    return lines


def render_text(snapshot: dict[str, Any]) -> str:
    """The operator's text tree for a `Runtime.health` snapshot."""
    problems = snapshot.get("problems") or []
    header = (
        f"{snapshot.get('host', '?')} pid {snapshot.get('pid', '?')} "
        f"up {_duration(snapshot.get('uptime_s'))} "
        f"trio {snapshot.get('trio', '?')}  status={snapshot['status']}"
        f"  alive={'yes' if snapshot['alive'] else 'NO'} ready={'yes' if snapshot['ready'] else 'NO'}"
    )
    if problems:
        header += f"  ({'; '.join(problems[:5])}{'; ...' if len(problems) > 5 else ''})"
    lines = [header]
    if snapshot.get("failure"):
        lines.append(f"FAILURE: {snapshot['failure']}")
    loop = snapshot.get("loop") or {}
    dead = snapshot.get("dead_letters") or {}
    by_reason = ", ".join(
        f"{reason} {count}" for reason, count in (dead.get("by_reason") or {}).items() if count
    )
    slow = loop.get("slow_steps") or {}
    worst = (slow.get("worst") or [None])[0]
    stall = ""
    if worst:
        where = f" at {worst['where']}" if worst.get("where") else ""
        stall = f" (slowest step {worst['task']} {_latency(worst['step_s'])}{where})"
    lines.append(
        f"loop: lag p99 {_latency(loop.get('lag_p99_s'))} max {_latency(loop.get('lag_max_s'))}{stall}  "
        f"tasks {loop.get('tasks_living', '?')}  dead-letters {dead.get('total', 0)}"
        + (f" ({by_reason})" if by_reason else "")
    )
    lines.extend(_tree_lines(snapshot["tree"], "", "", 18))
    samples = dead.get("samples") or []
    if samples:
        lines.append("recent dead letters:")
        for sample in samples[-5:]:
            lines.append(f"  {sample['reason']:<11} {sample['path']}  {sample['msg_type']}")
    return "\n".join(lines)
