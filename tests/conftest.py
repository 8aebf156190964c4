"""Test-suite wiring: fixtures live in tests/fixtures/<area>.py, one module per area."""

pytest_plugins = [
    "tests.fixtures.storage",
    "tests.fixtures.emulator",
]
