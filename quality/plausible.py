"""Dates that are valid for the schema but cannot be true: before 1900, or more than a year ahead.

A grant dated 0202-03-01 or 2204-01-01 passes every Table Schema constraint (the year is a year), yet
it is a typo; left in, it would stretch the catalogue's temporal coverage over centuries. Such dates
are kept in the data (the validator found nothing wrong and we never rewrite a value) but flagged in
the batch report and left out of the coverage. A year ahead, not a day: budgets, conventions and
planned works legitimately carry next year's dates.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

EARLIEST = date(1900, 1, 1)
AHEAD = timedelta(days=366)
TEMPORAL_TYPES = ("date", "datetime")


def plausible_range(today: date) -> tuple[date, date]:
    """First and last plausible date, both included."""
    return EARLIEST, today + AHEAD


def as_dates(values: pd.Series) -> pd.Series:
    """Dates (``datetime.date``) of ISO text or date/datetime objects; None where there is none.

    Parsed by hand rather than ``pd.to_datetime``: pandas' nanosecond timestamps stop at 1677 and
    2262, exactly where the implausible dates live.
    """

    def one(value: object) -> date | None:
        if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, pd.Timestamp):
            return value.date()
        if isinstance(value, date):
            return value if type(value) is date else value.date()  # datetime is a date subclass
        text = str(value).strip()[:10]
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None

    return values.map(one).astype(object)


def implausible(values: pd.Series, today: date) -> pd.Series:
    """Boolean mask of the cells holding a date outside :func:`plausible_range`."""
    first, last = plausible_range(today)
    dates = as_dates(values)
    return dates.map(lambda d: d is not None and not (first <= d <= last)).astype(bool)


def implausible_rows(frame: pd.DataFrame, fields: list[str], today: date) -> dict[str, list[int]]:
    """``{field: [index labels]}`` of the implausible dates of ``fields`` (absent fields skipped)."""
    found = {}
    for name in fields:
        if name in frame.columns:
            mask = implausible(frame[name], today)
            if mask.any():
                found[name] = [int(i) for i in frame.index[mask]]
    return found


def coverage(values: pd.Series, today: date) -> tuple[date | None, date | None]:
    """First and last plausible date of ``values``."""
    dates = as_dates(values)
    first, last = plausible_range(today)
    kept = [d for d in dates if d is not None and first <= d <= last]
    return (min(kept), max(kept)) if kept else (None, None)
