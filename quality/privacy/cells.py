"""Cells as the privacy gate reads them: text with NA as "", spaces as spreadsheets write them, folding."""

from __future__ import annotations

import pandas as pd

from quality.text import ascii_only

# Spaces as spreadsheets write them (no-break and narrow no-break included), spelled out rather
# than \s so that pandas can hand the first pass to pyarrow's RE2 (Python's re is the slow path).
SPACES = " \t\u00a0\u202f"


def text_of(column: pd.Series) -> pd.Series:
    """The column as pandas strings, NA as ""."""
    return column.astype("string").fillna("")


def fold(text: str) -> str:
    """Lower case without accents, as the word lists are written."""
    return ascii_only(text).lower()


def fold_series(text: pd.Series) -> pd.Series:
    """Lower case without accents, as FIRST_NAMES is written."""
    return text.map(fold)
