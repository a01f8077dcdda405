"""A typed spreadsheet or attribute cell written back as the text the producer typed.

Everything stays text in a staged frame; a workbook or a geographic layer hands typed values (floats,
dates, booleans), and this is the one rule turning them back into text.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text the producer meant: integral floats are identifiers or amounts
    without decimals (``21860194600000.0`` → ``21860194600000``), dates are ISO."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(value)
