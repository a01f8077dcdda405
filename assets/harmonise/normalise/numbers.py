"""Numbers and numeric codes: decimal comma, thousands separators, percents, whole decimals, identifiers.

``1,5`` is read as a decimal comma (French producers); ``1.234`` alone is left as it is (a valid
decimal number in Table Schema), only ``1.234.567`` or ``1.234,5`` are read as thousands. Lost leading
zeros of a fixed-length numeric code are restored only when the cell shows that a number conversion
happened (``1001.0``, ``1.001E+3``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import pandas as pd

from assets.harmonise.normalise.rewrites import SPACES, changed_cells, map_unique, replace_where

MAX_RESTORED_ZEROS = 2

_NUMBER_FORMS = {
    # pattern -> characters to delete before turning "," into "."
    rf"[+-]?\d{{1,3}}(?:{SPACES}\d{{3}})+(?:,\d+)?": SPACES,  # 17 833 / 40 000,00
    r"[+-]?\d+,\d+": None,  # 0,5
    r"[+-]?\d{1,3}(?:\.\d{3})+,\d+": r"\.",  # 1.234.567,89
    r"[+-]?\d{1,3}(?:\.\d{3}){2,}": r"\.",  # 1.234.567 (a single dot would be a decimal point)
    rf"[+-]?\d{{1,3}}(?:{SPACES}\d{{3}})+\.\d+": SPACES,  # 1 234.56
    r"[+-]?\d{1,3}(?:,\d{3})+\.\d+": ",",  # 1,234.56 (both marks present: unambiguous)
}
_PLAIN_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"


def normalise_number(series: pd.Series) -> tuple[pd.Series, int]:
    """Decimal comma, thousands separators and a euro sign, for number and integer fields.

    ``2.000`` alone is ambiguous (two, or two thousand); in a column whose other values write their
    decimals with a comma and never with a point, the point can only group thousands.
    """
    bare = series.str.replace(rf"^€{SPACES}*|{SPACES}*€$", "", regex=True)
    dotted_thousands = bare.str.fullmatch(r"[+-]?\d{1,3}\.\d{3}").fillna(False)
    if dotted_thousands.any():
        comma_decimals = bare.str.fullmatch(rf"[+-]?\d{{1,3}}(?:{SPACES}?\d{{3}})*,\d+|[+-]?\d+,\d+").fillna(
            False
        )
        point_decimals = bare.str.fullmatch(r"[+-]?\d*\.\d+").fillna(False) & ~dotted_thousands
        if comma_decimals.any() and not point_decimals.any():
            bare = bare.where(~dotted_thousands, bare.str.replace(".", "", regex=False))
    result = series.copy()
    done = bare.str.fullmatch(_PLAIN_NUMBER) & (bare != series)
    result = replace_where(result, done, bare)
    for pattern, delete in _NUMBER_FORMS.items():
        mask = bare.str.fullmatch(pattern) & ~done
        if not mask.any():
            continue
        rewritten = bare[mask]
        if delete == ",":
            rewritten = rewritten.str.replace(",", "", regex=False)
        else:
            if delete is not None:
                rewritten = rewritten.str.replace(delete, "", regex=True)
            rewritten = rewritten.str.replace(",", ".", regex=False)
        result[mask] = rewritten
        done = done | mask
    return result, changed_cells(series, result)


def normalise_percent(series: pd.Series) -> tuple[pd.Series, int]:
    """``100%``, ``45 %``, ``12,5 %`` → ``1``, ``0.45``, ``0.125``: only for a field bounded by 1, a share
    written as a fraction, where a percent sign cannot mean anything else."""
    match = series.str.extract(rf"^([+-]?\d+(?:[.,]\d+)?){SPACES}*%$", expand=False)
    mask = match.notna()
    if not mask.any():
        return series, 0
    shares = pd.to_numeric(match[mask].str.replace(",", ".", regex=False), errors="coerce") / 100
    new = series.copy()
    new[mask] = shares.map(lambda v: f"{v:.10g}")
    return new, changed_cells(series, new)


def normalise_integer(series: pd.Series) -> tuple[pd.Series, int]:
    """Integer-valued decimals (``1.0``), as spreadsheets export whole numbers."""
    mask = series.str.fullmatch(r"[+-]?\d+\.0*")
    new = replace_where(series, mask, series.str.replace(r"\.0*$", "", regex=True))
    return new, changed_cells(series, new)


def digit_code_length(pattern: str | None) -> tuple[int, int | None] | None:
    """(min, max) digits when a pattern only allows digits (``^\\d{14}$``, ``[0-9]{5}``), else None."""
    if not pattern:
        return None
    body = pattern.removeprefix("^").removesuffix("$")
    match = re.fullmatch(r"(?:\\d|\[0-9\])(?:\{(\d+)(?:(,)(\d*))?\}|(\+)|(\*))?", body)
    if not match:
        return None
    low, comma, high, plus, star = match.groups()
    if plus:
        return (1, None)
    if star:
        return (0, None)
    if low is None:
        return (1, 1)
    if comma is None:
        return (int(low), int(low))
    return (int(low), int(high) if high else None)


def _scientific_to_digits(value: str) -> str | None:
    try:
        number = Decimal(value.replace(",", "."))
    except InvalidOperation:
        return None
    if number != number.to_integral_value() or number < 0:
        return None
    return str(int(number))


def normalise_identifier(series: pd.Series, pattern: str) -> tuple[pd.Series, int]:
    """Numeric codes mangled by a spreadsheet: ``21860194600000.0``, ``2.18601946E+13``, ``218 601 946``."""
    lengths = digit_code_length(pattern)
    if lengths is None:
        return series, 0
    low, high = lengths
    as_float = series.str.fullmatch(r"\d+\.0*")
    scientific = series.str.fullmatch(r"\d(?:[.,]\d+)?[eE]\+?\d{1,2}")
    spaced = series.str.fullmatch(rf"\d[\d{SPACES[1:-1]}]*\d") & series.str.contains(SPACES, regex=True)
    candidate = series.copy()
    candidate[as_float] = series[as_float].str.replace(r"\.0*$", "", regex=True)
    if scientific.any():
        sci = map_unique(series[scientific], _scientific_to_digits)
        candidate[scientific] = sci
    candidate[spaced] = series[spaced].str.replace(SPACES, "", regex=True)
    numeric = as_float | scientific
    if high is not None and low == high:
        # Only a number conversion drops leading zeros; a fixed length says how many were there. More
        # than two missing digits is likelier a truncated code than zeros (no SIRET/INSEE starts 000).
        length = candidate.str.len()
        restorable = (length < low) & (length >= low - MAX_RESTORED_ZEROS)
        short = numeric & candidate.str.fullmatch(r"\d+") & restorable
        candidate[short] = candidate[short].str.zfill(low)
    body = pattern.removeprefix("^").removesuffix("$")
    ok = (as_float | scientific | spaced) & candidate.str.fullmatch(body)
    new = replace_where(series, ok, candidate)
    return new, changed_cells(series, new)
