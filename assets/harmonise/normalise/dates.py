"""Dates, date-times and periods, read day first (``21/12/2017``) into their ISO form.

Two-digit years (``21/12/17``) are left alone: the century is a guess.
"""

from __future__ import annotations

import re

import pandas as pd

from assets.harmonise.normalise.rewrites import changed_cells, replace_where

_MIDNIGHT = r"(?:[ T]00:00(?::00(?:\.0+)?)?)?"
_DMY = r"(?P<d>\d{1,2})(?P<s>[/.-])(?P<m>\d{1,2})(?P=s)(?P<y>\d{4})"
_YMD = r"(?P<y>\d{4})(?P<s>[/.-])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})"


def _iso_from_parts(parts: pd.DataFrame) -> pd.Series:
    iso = parts["y"] + "-" + parts["m"].str.zfill(2) + "-" + parts["d"].str.zfill(2)
    valid = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce").notna()
    return iso.where(valid)


def date_candidates(series: pd.Series) -> pd.Series:
    """ISO date read from the accepted spellings, NaN where the cell is not a certain date."""
    result = pd.Series(pd.NA, index=series.index, dtype=object)
    for form in (_YMD, _DMY):
        parts = series.str.extract(f"^{form}{_MIDNIGHT}$")
        found = parts["y"].notna() & result.isna()
        if found.any():
            result[found] = _iso_from_parts(parts[found])
    return result


def normalise_date(series: pd.Series) -> tuple[pd.Series, int]:
    """``21/12/2017``, ``21-12-2017``, ``2017/12/21``, ``2017-12-21 00:00:00`` → ``2017-12-21``."""
    iso = date_candidates(series)
    new = replace_where(series, iso.notna(), iso)
    return new, changed_cells(series, new)


def normalise_datetime(series: pd.Series) -> tuple[pd.Series, int]:
    """``2017-12-21 10:30:00`` or ``21/12/2017 10:30`` → ``2017-12-21T10:30:00``."""
    result = series.copy()
    for form in (_YMD, _DMY):
        parts = series.str.extract(f"^{form}[ T](?P<H>\\d{{1,2}}):(?P<M>\\d{{2}})(?::(?P<S>\\d{{2}}))?$")
        found = parts["y"].notna()
        if not found.any():
            continue
        parts = parts[found]
        day = _iso_from_parts(parts)
        stamp = day + "T" + parts["H"].str.zfill(2) + ":" + parts["M"] + ":" + parts["S"].fillna("00")
        valid = pd.to_datetime(stamp, format="%Y-%m-%dT%H:%M:%S", errors="coerce").notna()
        result[valid[valid].index] = stamp[valid]
    return result, changed_cells(series, result)


def expects_period(pattern: str | None) -> bool:
    """The field's pattern wants ``date/date`` (SCDL ``datesPeriodeVersement``-like)."""
    if not pattern:
        return False
    try:
        compiled = re.compile(pattern)
    except re.error:
        return False
    wanted = compiled.fullmatch("2018-01-01/2018-03-31")
    # A period pattern takes dates and nothing else: free text that merely allows '/' (a BAL street
    # name) must keep its dates as written.
    free_text = any(compiled.fullmatch(text) for text in ("Rue", "a", "2018-01-01 / 2018-03-31", "x/y"))
    return bool(wanted) and not free_text and not compiled.fullmatch("2018-01-01_2018-03-31")


_DATE_TOKEN = r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}(?:[ T]00:00(?::00)?)?"


def normalise_period(series: pd.Series, pattern: str) -> tuple[pd.Series, int]:
    """``2018-01-01_2018-03-31``, ``2017/09/08_2021/09/07`` → ``2018-01-01/2018-03-31``; single dates too."""
    compiled = re.compile(pattern)
    parts = series.str.extract(
        rf"^(?P<a>{_DATE_TOKEN})(?:\s*(?:_|/|\s-\s|\s+au\s+)\s*(?P<b>{_DATE_TOKEN}))?$"
    )
    start = date_candidates(parts["a"].fillna(""))
    end = date_candidates(parts["b"].fillna(""))
    single = parts["a"].notna() & parts["b"].isna() & start.notna()
    pair = parts["b"].notna() & start.notna() & end.notna()
    candidate = pd.Series(pd.NA, index=series.index, dtype=object)
    candidate[single] = start[single]
    candidate[pair] = start[pair] + "/" + end[pair]
    fits = candidate.notna() & candidate.fillna("").astype(str).str.fullmatch(compiled.pattern)
    new = replace_where(series, fits, candidate)
    return new, changed_cells(series, new)
