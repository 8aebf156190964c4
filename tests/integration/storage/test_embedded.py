"""The embedded server's lifecycle: first run, reuse, last-one-out stops it, data survives restarts."""

from __future__ import annotations

from pathlib import Path

from storage import StorageOptions, open_storage
from storage.embedded import EmbeddedPostgres
from tests.fixtures.storage import FAST_TEST_SETTINGS, server_directory


async def test_open_storage_embedded_first_run_reuse_and_shutdown() -> None:
    announced: list[str] = []
    with server_directory() as root:
        data_dir = root / "bot-data"
        options = StorageOptions(data_dir=data_dir, server_settings=FAST_TEST_SETTINGS)
        async with open_storage(options, announce=announced.append) as storage:
            assert storage.embedded and storage.server is not None
            assert storage.server.started_by_us
            await storage.db.execute("INSERT INTO guild_settings (guild_id, admin_role_id) VALUES (1, 42)")
            assert "/shard?" in storage.display_dsn
            server = storage.server
        assert len(announced) == 1 and str(data_dir) in announced[0]  # the first run says where data lives
        assert not server.is_running()  # stopped on shutdown: this process was its only user

        async with open_storage(options, announce=announced.append) as storage:
            assert await storage.db.fetchval("SELECT admin_role_id FROM guild_settings") == 42
        assert len(announced) == 1  # no announcement for an existing data directory


def test_last_user_stops_the_server_and_orphans_are_adopted() -> None:
    with server_directory() as root:
        first = EmbeddedPostgres(root, settings=FAST_TEST_SETTINGS, announce=lambda message: None)
        second = EmbeddedPostgres(root, settings=FAST_TEST_SETTINGS, announce=lambda message: None)
        try:
            first.start()
            second.start()
            assert first.started_by_us and not second.started_by_us
            assert first.release() is False  # the second user still holds it
            assert second.is_running()
            assert second.release() is True
            assert not second.is_running()

            orphan_maker = EmbeddedPostgres(root, settings=FAST_TEST_SETTINGS)
            orphan_maker.start()
            orphan_maker._in_use.close()  # type: ignore[union-attr]  # as if its process had been killed
            orphan_maker._in_use = None
            adopter = EmbeddedPostgres(root, settings=FAST_TEST_SETTINGS)
            adopter.start()
            assert not adopter.started_by_us
            assert adopter.release() is True
            assert not adopter.is_running()
        finally:
            EmbeddedPostgres(Path(root)).stop(mode="immediate")
