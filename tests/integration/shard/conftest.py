"""Application fixtures for these tests, until tests.fixtures.shard is registered in tests/conftest.py."""

from tests.fixtures.shard import running_bot

__all__ = ["running_bot"]
