"""The columns of an error table: the one shape every validator, reader and report shares.

An error is a (row, field, rule, value, message) tuple; ``rule`` is the machine code kept for the data
team, ``message`` the French sentence an agent reads. A multi-file source (GTFS) adds the file first.
"""

from __future__ import annotations

ERROR_COLUMNS: list[str] = ["row", "field", "rule", "value", "message"]
FILE_ERROR_COLUMNS: list[str] = ["file", *ERROR_COLUMNS]
