"""A child's status probe (`ChildSpec.status`) reaches the JSON snapshot and the operator's text tree; a
probe that raises is reported as such and never breaks the health report."""

from __future__ import annotations

import jsonschema

from supervision import SupervisorSpec, health_json_schema, open_runtime, render_text
from tests.fixtures.supervision import Journal, probe


def _node(snapshot: dict[str, object], path: str) -> dict[str, object]:
    stack = [snapshot["tree"]]
    while stack:
        node = stack.pop()
        assert isinstance(node, dict)
        if node["path"] == path:
            return node
        stack.extend(node.get("children", []))
    raise AssertionError(f"no node {path}")


async def test_status_probe_is_in_the_snapshot_and_the_text_tree() -> None:
    journal = Journal()
    buffered = {"n": 3}

    def broken() -> dict[str, object]:
        raise KeyError("gone")

    tree = SupervisorSpec(
        "root",
        children=[
            probe("writer", journal, status=lambda: {"buffered": f"{buffered['n']}/10", "db": "DOWN"}),
            probe("other", journal, status=broken),
        ],
    )
    async with open_runtime(tree) as rt:
        buffered["n"] = 7  # probes are read at snapshot time, not at start
        snapshot = rt.health()
        jsonschema.validate(snapshot, health_json_schema())
        assert _node(snapshot, "root/writer")["status"] == {"buffered": "7/10", "db": "DOWN"}
        assert _node(snapshot, "root/other")["status"] == {"probe_error": "KeyError: 'gone'"}
        text = render_text(snapshot)
        writer_line = next(line for line in text.splitlines() if "writer" in line)
        assert "buffered=7/10 db=DOWN" in writer_line
        assert "probe_error=KeyError" in text
