"""From a verdict per distinct value, or per row, to the errors frame a check returns."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from quality.validate.cells import factorize_text
from quality.validate.messages import empty_errors, error_frame, messages


def filled(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame[column] != ""


def single_column(
    frame: pd.DataFrame, column: str, rule: str, bad_of: Callable[[pd.Series], np.ndarray], suffix
) -> pd.DataFrame:
    """Run a per-value predicate on the distinct non-empty values of one column."""
    if column not in frame.columns:
        return empty_errors()
    col = frame[column]
    values = col[col != ""]
    if values.empty:
        return empty_errors()
    codes, u = factorize_text(values)
    u = u.astype("str")  # the predicates' regexes run in C++ on Arrow strings
    bad_u = np.asarray(bad_of(u))
    bad = bad_u[codes] if bad_u.dtype == bool else bad_u[codes] != ""
    if not bad.any():
        return empty_errors()
    v = values[bad]
    rows = pd.Series(v.index.to_numpy(), index=v.index)
    text = suffix if isinstance(suffix, str) else pd.Series(bad_u[codes][bad])
    msg = messages(column, rows, v, text if isinstance(text, str) else text.to_numpy(object))
    return error_frame(rows.to_numpy(), column, rule, v.to_numpy(), msg.to_numpy())


def row_errors(
    frame: pd.DataFrame, bad: np.ndarray, column: str, rule: str, values: pd.Series, text
) -> pd.DataFrame:
    if not bad.any():
        return empty_errors()
    rows = pd.Series(frame.index.to_numpy()[bad], index=frame.index[bad])
    v = values[bad]
    msg = (
        "Colonne « "
        + column
        + " », ligne "
        + rows.astype(str).to_numpy(object)
        + " : "
        + np.asarray(text, dtype=object)[bad]
        if not isinstance(text, str)
        else "Colonne « " + column + " », ligne " + rows.astype(str).to_numpy(object) + " : " + text
    )
    return error_frame(rows.to_numpy(), column, rule, v.to_numpy(), msg)
