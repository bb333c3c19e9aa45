"""The crawler: replays messages from a CSV file into the ``analyze`` topic at a chosen load.

- ``texts``: the texts of a CSV file's column (blank and over-long ones skipped and counted).
- ``profiles``: load profiles (constant, ramp, burst): how many messages should be out by when.
- ``replay``: sends texts on a profile's schedule through the runtime's ``Publisher``.
- ``progress``: the line it prints every second: sent, acked, the achieved rate.
- ``examples.csv``: messages written for the project, so it runs with no data at all.
"""
