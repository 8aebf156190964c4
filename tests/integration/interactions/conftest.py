"""The command framework's fixtures (tests/fixtures/interactions.py) for this directory."""

from tests.fixtures.interactions import bot, live_bot  # noqa: F401
