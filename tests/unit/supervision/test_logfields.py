"""Log fields bound to the running task: nesting, None values, restoring on exit and on errors."""

from __future__ import annotations

import pytest
import trio

from supervision import logfields


def test_nested_binds_merge_inner_values_win_and_none_is_left_out() -> None:
    assert dict(logfields.current()) == {}
    with logfields.bind(guild_id=1, interaction_id=None):
        assert dict(logfields.current()) == {"guild_id": 1}
        with logfields.bind(guild_id=2, command="ping"):
            assert dict(logfields.current()) == {"guild_id": 2, "command": "ping"}
        assert dict(logfields.current()) == {"guild_id": 1}
    assert dict(logfields.current()) == {}


def test_the_previous_fields_come_back_when_the_block_raises() -> None:
    with logfields.bind(actor="root/executor"):
        with pytest.raises(ValueError, match="boom"), logfields.bind(error_id="E1"):
            assert logfields.current()["error_id"] == "E1"
            raise ValueError("boom")
        assert dict(logfields.current()) == {"actor": "root/executor"}


def test_the_fields_are_read_only() -> None:
    with logfields.bind(command="ping"):
        fields = logfields.current()
        with pytest.raises(TypeError):
            fields["command"] = "other"  # type: ignore[index]


async def test_fields_bound_in_one_task_are_not_seen_by_another() -> None:
    seen: dict[str, dict[str, object]] = {}

    async def handle(name: str, guild_id: int) -> None:
        with logfields.bind(guild_id=guild_id):
            await trio.sleep(0.01)  # both tasks are inside their blocks at the same time
            seen[name] = dict(logfields.current())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(handle, "a", 1)
        nursery.start_soon(handle, "b", 2)
    assert seen == {"a": {"guild_id": 1}, "b": {"guild_id": 2}}
    assert dict(logfields.current()) == {}
