"""Cell normalisers: rewrite a text column into its Table Schema canonical lexical form.

Each normaliser takes a text Series and returns ``(new_series, cells_changed)``. Only unambiguous
rewrites are made; a value that cannot be read with certainty is left exactly as it came, so the
validator quarantines it and shows the producer the original cell. What is applied to a column is
decided by the field's Table Schema type and constraints, never by its name.

Decisions worth knowing:
- ``1,5`` is read as a decimal comma (French producers); ``1.234`` alone is left as it is (a valid
  decimal number in Table Schema), only ``1.234.567`` or ``1.234,5`` are read as thousands.
- Dates are read day first (``21/12/2017``); two-digit years (``21/12/17``) are left alone.
- Lost leading zeros of a fixed-length numeric code are restored only when the cell shows that a
  number conversion happened (``1001.0``, ``1.001E+3``). A bare ``1001`` for a 5-digit INSEE code is
  left as it is: it may as well be a mistyped ``37100`` and a silent ``01001`` would point to another
  commune, while the validator's message lets the agent fix it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from quality.validate import factorize_text

# Whitespace seen around cells of real files: NBSP and narrow NBSP (French typography), BOM, zero-width.
STRIP_CHARS = " \t\r\n\u00a0\u202f\u2007\u2009\ufeff\u200b\u3000"
_SP = "[ \u00a0\u202f\u2007\u2009]"

# Table Schema defaults (frictionless) when a boolean field declares no trueValues/falseValues.
DEFAULT_TRUE = ["true", "True", "TRUE", "1"]
DEFAULT_FALSE = ["false", "False", "FALSE", "0"]
_TRUE_WORDS = {"oui", "vrai", "true", "yes", "o", "y", "1"}
_FALSE_WORDS = {"non", "faux", "false", "no", "n", "0"}

MAX_RESTORED_ZEROS = 2

KIND_LABELS_FR = {
    "whitespace": "espaces en début ou fin de cellule retirés",
    "number": "nombres réécrits (virgule décimale, séparateurs de milliers, €)",
    "integer": "entiers écrits comme décimaux (1.0 → 1)",
    "percent": "pourcentages convertis en fraction (45 % → 0.45)",
    "identifier": "identifiants numériques réécrits (SIRET, INSEE…)",
    "date": "dates mises au format AAAA-MM-JJ",
    "datetime": "dates-heures mises au format ISO 8601",
    "boolean": "booléens réécrits selon le schéma",
    "enum": "valeurs de liste réécrites à l'orthographe du schéma",
    "period": "périodes mises au format AAAA-MM-JJ/AAAA-MM-JJ",
    "geometry": "points convertis en EWKT WGS 84",
    "geometry-reprojected": "points reprojetés de Lambert-93 en WGS 84",
    "geometry-swapped": "points dont longitude et latitude étaient inversées",
    "geometry-geojson": "géométries écrites en GeoJSON (WGS 84)",
    "geometry-repaired": "géométries invalides réparées (contours auto-intersectés…)",
    "identifier-zeros": "zéros initiaux d'identifiants rétablis (SIRET, SIREN vérifiés par leur clé)",
    "value-alias": "valeurs ramenées à l'écriture du schéma (« Numéraire » → « aide en numéraire »)",
}


def _changed(old: pd.Series, new: pd.Series) -> int:
    return int((old != new).sum())


def _replace_where(series: pd.Series, mask: pd.Series, values: pd.Series) -> pd.Series:
    out = series.copy()
    if mask.any():
        out[mask] = values[mask]
    return out


def _map_unique(series: pd.Series, func: Callable[[str], str | None]) -> pd.Series:
    """Apply a Python function once per distinct value (few for codes, dates and enums), not per cell."""
    uniques = pd.unique(series)
    table = {value: func(value) for value in uniques}
    table = {k: v for k, v in table.items() if v is not None and v != k}
    if not table:
        return series
    mapped = series.map(table)
    return series.where(mapped.isna(), mapped)


def fold(value: str) -> str:
    """Comparison key insensitive to case, accents, whitespace and apostrophe style."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[’‘`´]", "'", text)
    return re.sub(r"\s+", "", text).casefold()


def strip_whitespace(series: pd.Series) -> tuple[pd.Series, int]:
    new = series.str.strip(STRIP_CHARS)
    return new, _changed(series, new)


_NUMBER_FORMS = {
    # pattern -> characters to delete before turning "," into "."
    rf"[+-]?\d{{1,3}}(?:{_SP}\d{{3}})+(?:,\d+)?": _SP,  # 17 833 / 40 000,00
    r"[+-]?\d+,\d+": None,  # 0,5
    r"[+-]?\d{1,3}(?:\.\d{3})+,\d+": r"\.",  # 1.234.567,89
    r"[+-]?\d{1,3}(?:\.\d{3}){2,}": r"\.",  # 1.234.567 (a single dot would be a decimal point)
    rf"[+-]?\d{{1,3}}(?:{_SP}\d{{3}})+\.\d+": _SP,  # 1 234.56
    r"[+-]?\d{1,3}(?:,\d{3})+\.\d+": ",",  # 1,234.56 (both marks present: unambiguous)
}
_PLAIN_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"


def normalise_number(series: pd.Series) -> tuple[pd.Series, int]:
    """Decimal comma, thousands separators and a euro sign, for number and integer fields.

    ``2.000`` alone is ambiguous (two, or two thousand); in a column whose other values write their
    decimals with a comma and never with a point, the point can only group thousands.
    """
    bare = series.str.replace(rf"^€{_SP}*|{_SP}*€$", "", regex=True)
    dotted_thousands = bare.str.fullmatch(r"[+-]?\d{1,3}\.\d{3}").fillna(False)
    if dotted_thousands.any():
        comma_decimals = bare.str.fullmatch(rf"[+-]?\d{{1,3}}(?:{_SP}?\d{{3}})*,\d+|[+-]?\d+,\d+").fillna(
            False
        )
        point_decimals = bare.str.fullmatch(r"[+-]?\d*\.\d+").fillna(False) & ~dotted_thousands
        if comma_decimals.any() and not point_decimals.any():
            bare = bare.where(~dotted_thousands, bare.str.replace(".", "", regex=False))
    result = series.copy()
    done = bare.str.fullmatch(_PLAIN_NUMBER) & (bare != series)
    result = _replace_where(result, done, bare)
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
    return result, _changed(series, result)


def normalise_percent(series: pd.Series) -> tuple[pd.Series, int]:
    """``100%``, ``45 %``, ``12,5 %`` → ``1``, ``0.45``, ``0.125``: only for a field bounded by 1, a share
    written as a fraction, where a percent sign cannot mean anything else."""
    match = series.str.extract(rf"^([+-]?\d+(?:[.,]\d+)?){_SP}*%$", expand=False)
    mask = match.notna()
    if not mask.any():
        return series, 0
    shares = pd.to_numeric(match[mask].str.replace(",", ".", regex=False), errors="coerce") / 100
    new = series.copy()
    new[mask] = shares.map(lambda v: f"{v:.10g}")
    return new, _changed(series, new)


def normalise_integer(series: pd.Series) -> tuple[pd.Series, int]:
    """Integer-valued decimals (``1.0``), as spreadsheets export whole numbers."""
    mask = series.str.fullmatch(r"[+-]?\d+\.0*")
    new = _replace_where(series, mask, series.str.replace(r"\.0*$", "", regex=True))
    return new, _changed(series, new)


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
    spaced = series.str.fullmatch(rf"\d[\d{_SP[1:-1]}]*\d") & series.str.contains(_SP, regex=True)
    candidate = series.copy()
    candidate[as_float] = series[as_float].str.replace(r"\.0*$", "", regex=True)
    if scientific.any():
        sci = _map_unique(series[scientific], _scientific_to_digits)
        candidate[scientific] = sci
    candidate[spaced] = series[spaced].str.replace(_SP, "", regex=True)
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
    new = _replace_where(series, ok, candidate)
    return new, _changed(series, new)


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
    new = _replace_where(series, iso.notna(), iso)
    return new, _changed(series, new)


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
    return result, _changed(series, result)


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
    new = _replace_where(series, fits, candidate)
    return new, _changed(series, new)


def normalise_boolean(
    series: pd.Series, true_values: list[str] | None, false_values: list[str] | None
) -> tuple[pd.Series, int]:
    """Spellings of yes/no rewritten to the schema's first trueValue/falseValue (``OUI`` → ``oui``)."""
    trues = list(true_values or DEFAULT_TRUE)
    falses = list(false_values or DEFAULT_FALSE)
    true_keys = {fold(v) for v in trues} | _TRUE_WORDS
    false_keys = {fold(v) for v in falses} | _FALSE_WORDS
    ambiguous = true_keys & false_keys

    def canonical(value: str) -> str | None:
        key = fold(value)
        if not key or key in ambiguous:
            return None
        if key in true_keys:
            return trues[0]
        if key in false_keys:
            return falses[0]
        return None

    new = _map_unique(series, canonical)
    return new, _changed(series, new)


def normalise_enum(series: pd.Series, enum: list[Any]) -> tuple[pd.Series, int]:
    """Case, accent and spacing variants rewritten to the enum's exact spelling."""
    keys: dict[str, str | None] = {}
    for value in enum:
        text = str(value)
        key = fold(text)
        keys[key] = None if key in keys and keys[key] != text else text

    def canonical(value: str) -> str | None:
        return keys.get(fold(value)) if value else None

    new = _map_unique(series, canonical)
    return new, _changed(series, new)


def normalise_column(
    column: pd.Series, field: Any, code_pattern: str | None = None
) -> tuple[pd.Series, dict[str, int]]:
    """Every unambiguous normalisation a field's type and constraints call for, counted per kind.

    ``code_pattern`` is a digits pattern the schema implies elsewhere (a custom check such as
    ``french-siret-value``), used when the field declares no digits pattern of its own.
    """
    # Every normaliser runs on the column's distinct values, then the result is fanned out with the
    # codes: a column of a million cells holds a few thousand dates or communes, and the regex passes
    # (pandas' ``str.extract`` is a Python loop) cost per value, not per cell.
    codes, uniques = factorize_text(column)
    if (codes < 0).any():  # NA is a value of its own, left as it is by every normaliser
        codes = np.where(codes < 0, len(uniques), codes)
        uniques = pd.concat([uniques, pd.Series([None], dtype=uniques.dtype)], ignore_index=True)
    # Arrow-backed strings: the regex passes (fullmatch, replace, strip) run in C++ (RE2).
    original = uniques.astype("str")
    weights = np.bincount(codes, minlength=len(original))
    counts: dict[str, int] = {}
    values = original

    def step(kind: str, result: tuple[pd.Series, int]) -> pd.Series:
        nonlocal values
        new, changed = result
        if changed:
            # Cells changed, not distinct values: each value weighs as many cells as hold it.
            counts[kind] = counts.get(kind, 0) + int(weights[(new != values).to_numpy(bool)].sum())
        values = new
        return new

    series = step("whitespace", strip_whitespace(values))
    constraints = field.constraints or {}
    pattern = constraints.get("pattern")
    kind = field.type
    if kind in ("number", "integer"):
        maximum = constraints.get("maximum")
        if kind == "number" and isinstance(maximum, int | float) and maximum <= 1:
            series = step("percent", normalise_percent(series))
        series = step("number", normalise_number(series))
        if kind == "integer":
            series = step("integer", normalise_integer(series))
    elif kind == "date":
        series = step("date", normalise_date(series))
    elif kind == "datetime":
        series = step("datetime", normalise_datetime(series))
    elif kind == "boolean":
        descriptor = field.descriptor or {}
        series = step(
            "boolean", normalise_boolean(series, descriptor.get("trueValues"), descriptor.get("falseValues"))
        )
    elif kind == "string":
        if digit_code_length(pattern) is None and digit_code_length(code_pattern) is not None:
            pattern = code_pattern
        if digit_code_length(pattern) is not None:
            series = step("identifier", normalise_identifier(series, pattern))
        elif expects_period(pattern):
            series = step("period", normalise_period(series, pattern))
        if constraints.get("enum"):
            series = step("enum", normalise_enum(series, constraints["enum"]))
    if not counts:
        return column, counts
    cells = series.to_numpy(object)[codes]
    return pd.Series(cells, index=column.index, dtype=object, name=column.name), counts
