"""Test-suite wiring: fixtures live in tests/fixtures/<area>.py, one module per area.

`tests.fixtures.openapi` is registered for the whole run: every REST request any test sends to the emulator
is checked against Discord's OpenAPI spec, and a violation fails the test that sent it (and the session).
"""

pytest_plugins = [
    "tests.fixtures.openapi",
    "tests.fixtures.storage",
    "tests.fixtures.emulator",
    "tests.fixtures.shard",
    "tests.fixtures.tls",
]
