"""Benchmarks of the supervision runtime (``python -m bench.actors``)."""
