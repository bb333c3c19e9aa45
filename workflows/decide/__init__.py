"""Decide: pure functions of what was measured, with table tests and no I/O, clock or randomness.
``scaling.py`` says how many instances a service needs; ``partitions.py`` how many partitions a
topic needs."""
