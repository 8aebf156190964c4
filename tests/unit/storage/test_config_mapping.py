"""The [storage] configuration section maps onto the storage layer's own option types."""

from __future__ import annotations

from pathlib import Path

import attrs

from shard.cli_storage import storage_options, writer_settings
from shard.config import Secret, StorageConfig


def test_embedded_by_default_and_pool_settings() -> None:
    config = StorageConfig(data_dir=Path("/srv/shard/pg"), pool_min=2, pool_max=7, slow_query_ms=250.0)
    options = storage_options(config, migrate_on_start=False)
    assert options.database_url is None
    assert options.data_dir == Path("/srv/shard/pg")
    assert (options.pool.min_size, options.pool.max_size) == (2, 7)
    assert options.pool.slow_query_seconds == 0.25
    assert options.pool.statement_timeout == config.statement_timeout_s
    assert options.pool.command_timeout > options.pool.statement_timeout  # the server cancels first
    assert options.migrate_on_start is False


def test_database_url_secret_is_revealed_only_into_the_options() -> None:
    config = attrs.evolve(StorageConfig(), database_url=Secret("postgresql://bot:pw@db/shard"))
    assert storage_options(config).database_url == "postgresql://bot:pw@db/shard"


def test_writer_settings() -> None:
    config = StorageConfig(
        writer_batch_size=123,
        writer_capacity=4567,
        writer_flush_interval_s=0.25,
        writer_retry_initial_s=0.5,
        writer_retry_max_s=30.0,
    )
    settings = writer_settings(config)
    assert (settings.max_batch, settings.max_buffered, settings.flush_interval) == (123, 4567, 0.25)
    assert (settings.retry_initial, settings.retry_max) == (0.5, 30.0)
    defaults = writer_settings(StorageConfig())
    assert (defaults.retry_initial, defaults.retry_max) == (0.25, 15.0)
