"""From a verdict per distinct value, or per row, to the errors frame a check returns."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import pandas as pd

from quality.validate.cells import factorize_text
from quality.validate.messages import empty_errors, error_frame, messages


@dataclass
class Encoded:
    """A column the validator has factorised: ``column`` is ``uniques`` taken at ``codes``.

    A column the validator judged cell by cell comes without codes: they are computed on the first
    check that needs them, then kept for the next one.
    """

    column: pd.Series
    codes: np.ndarray | None
    uniques: pd.Series | None

    def factorised(self) -> tuple[np.ndarray, pd.Series]:
        if self.codes is None or self.uniques is None:
            self.codes, self.uniques = factorize_text(self.column)
        return self.codes, self.uniques


# The columns of the frame being checked that come with their codes (set by ``run_custom_checks``):
# a check then judges the distinct values without factorising a million cells again.
_ENCODED: ContextVar[Mapping[str, Encoded] | None] = ContextVar("encoded", default=None)


@contextmanager
def encoded_columns(encoded: Mapping[str, Encoded] | None) -> Iterator[None]:
    token = _ENCODED.set(encoded)
    try:
        yield
    finally:
        _ENCODED.reset(token)


def _known_codes(col: pd.Series, column: str) -> Encoded | None:
    """The codes of ``col`` if it is the very column the validator encoded (same array), else None."""
    enc = (_ENCODED.get() or {}).get(column)
    return enc if enc is not None and enc.column.array is col.array else None


def filled(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame[column] != ""


def single_column(
    frame: pd.DataFrame, column: str, rule: str, bad_of: Callable[[pd.Series], np.ndarray], suffix
) -> pd.DataFrame:
    """Run a per-value predicate on the distinct non-empty values of one column; the cells are reached
    only where a value is bad. The column's codes are the validator's when it encoded this very column
    (``run_custom_checks``), else computed here."""
    if column not in frame.columns:
        return empty_errors()
    col = frame[column]
    codes_all, uniques = (_known_codes(col, column) or Encoded(col, None, None)).factorised()
    u = uniques if uniques.dtype == "str" else uniques.astype("str")  # the predicates' regexes run on Arrow
    judged = np.flatnonzero((u != "").to_numpy(bool))
    if not len(judged):
        return empty_errors()
    verdict = np.asarray(bad_of(u.iloc[judged].reset_index(drop=True)))
    as_text = verdict.dtype != bool
    bad_u = np.zeros(len(u), bool)
    bad_u[judged] = verdict != "" if as_text else verdict
    if not bad_u.any():
        return empty_errors()
    pos = np.flatnonzero(bad_u[codes_all])
    codes = codes_all[pos]
    labels = col.index.to_numpy()[pos]
    values = u.to_numpy(object)[codes]
    if as_text:
        text_u = np.full(len(u), "", dtype=object)
        text_u[judged] = verdict
        suffix = text_u[codes]
    msg = messages(column, pd.Series(labels), pd.Series(values, dtype=object), suffix)
    return error_frame(labels, column, rule, values, msg.to_numpy())


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
