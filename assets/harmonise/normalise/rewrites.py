"""How a normaliser rewrites a text column: only some cells, once per distinct value, counting changes."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

# The spaces that group digits in French numbers (NBSP, narrow NBSP, figure and thin spaces).
SPACES = "[ \u00a0\u202f\u2007\u2009]"


def changed_cells(old: pd.Series, new: pd.Series) -> int:
    """How many cells differ."""
    return int((old != new).sum())


def replace_where(series: pd.Series, mask: pd.Series, values: pd.Series) -> pd.Series:
    """``series`` with ``values`` where ``mask`` holds."""
    out = series.copy()
    if mask.any():
        out[mask] = values[mask]
    return out


def map_unique(series: pd.Series, func: Callable[[str], str | None]) -> pd.Series:
    """Apply a Python function once per distinct value (few for codes, dates and enums), not per cell."""
    uniques = pd.unique(series)
    table = {value: func(value) for value in uniques}
    table = {k: v for k, v in table.items() if v is not None and v != k}
    if not table:
        return series
    mapped = series.map(table)
    return series.where(mapped.isna(), mapped)
