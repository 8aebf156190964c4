"""Storage benchmarks (``python -m bench.storage``): the storage writer vs a plain asyncpg COPY loop, and the
cost of the trio-asyncio bridge per query."""
