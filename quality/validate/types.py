"""Table Schema types read from text, one parser per type, on the distinct values of a column.

Each parser takes the distinct non-missing values of one column and returns a :class:`Parsed` verdict:
which values are of the field's type, their warehouse form, and a comparable key for the constraints.
The grammars mirror frictionless 5 (the engine behind Validata); where a type is rare and its grammar
large (``duration``, ``geojson``, ``object``, string formats ``email``/``uri``, date format ``any``…),
the values are handed to frictionless's own cell reader rather than re-implementing the grammar.
"""

from __future__ import annotations

import _strptime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import frictionless
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from quality.schema import Field
from quality.validate.extract import extract_parts

DEFAULT_TRUE = ["true", "True", "TRUE", "1"]
DEFAULT_FALSE = ["false", "False", "FALSE", "0"]

_DIGITS = r"[0-9](?:_?[0-9])*"
# Python's Decimal grammar (what frictionless casts numbers with), ASCII digits.
_NUM = (
    rf"[+-]?(?:(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:e[+-]?{_DIGITS})?"
    r"|inf(?:inity)?|s?nan[0-9]*)"
)
_PLAIN_NUM = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_INT = r"[+-]?[0-9](?:_?[0-9])*"
_NOT_BARE = r"((^[^-\d]*)|(\D*$))"
_TZ = r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?"
_FRAC = r"(?:[.,](?P<f>\d+))?"
_ISO_DATETIME = (
    rf"(?P<Y>\d{{4}})-(?P<m>\d{{2}})-(?P<d>\d{{2}}).(?P<H>\d{{2}}):(?P<M>\d{{2}}):(?P<S>\d{{2}}){_FRAC}{_TZ}"
)
_ISO_TIME = rf"(?P<H>\d{{2}}):(?P<M>\d{{2}}):(?P<S>\d{{2}}){_FRAC}{_TZ}"
_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@dataclass
class Parsed:
    """Verdict on the distinct values of one column (positions align with the uniques)."""

    ok: np.ndarray
    typed: pd.Series  # warehouse value
    key: pd.Series  # comparable value for enum/min/max/unique
    length: pd.Series | None = None  # for minLength/maxLength of array/object
    notes: dict[str, np.ndarray] | None = None  # extra per-item failures (array items)


def blank(n: int, dtype: Any = object) -> pd.Series:
    """``n`` empty (``None``) values."""
    return pd.Series([None] * n, dtype=dtype)


def _match(u: pd.Series, regex: str, flags: int = 0) -> np.ndarray:
    # inline flags keep the match inside Arrow's regex kernel (a ``flags=`` argument falls back to ``re``)
    if flags & re.IGNORECASE:
        regex = "(?i)" + regex
    return u.str.fullmatch(regex).fillna(False).to_numpy(bool)


def _parse_string(u: pd.Series, f: Field) -> Parsed:
    if f.format in ("email", "uri", "uuid", "binary", "wkt"):
        return _parse_with_frictionless(u, f)
    ok = np.ones(len(u), bool)
    return Parsed(ok, u, u)


def _number_text(u: pd.Series, f: Field) -> tuple[pd.Series, np.ndarray]:
    d = f.descriptor
    s = u.str.strip()
    if not d.get("bareNumber", True):
        s = s.str.replace(_NOT_BARE, "", regex=True)
    bad = np.zeros(len(u), bool)
    if f.type == "number" and {"groupChar", "decimalChar", "bareNumber"} & d.keys():
        group, dec = d.get("groupChar", ""), d.get("decimalChar", ".")
        if group:
            s = s.str.replace(group, "", regex=False)
        if dec != ".":
            bad = s.str.contains(".", regex=False).to_numpy(bool)
            s = s.str.replace(dec, ".", regex=False)
    return s, bad


def _parse_number(u: pd.Series, f: Field) -> Parsed:
    s, bad = _number_text(u, f)
    ok = _match(s, _NUM, re.IGNORECASE) & ~bad
    # Most numbers are plain decimals, which Arrow's cast reads like Python's float (correctly
    # rounded), without a Python object each; the rarer spellings (``1_000``, ``NaN``) go through pandas.
    plain = ok & _match(s, _PLAIN_NUM)
    rest = ok & ~plain
    values = np.full(len(u), np.nan)
    exact = np.full(len(u), None, dtype=object)
    if plain.any():
        text = pa.array(s[plain].array)
        values[plain] = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
        exact[plain] = text.to_numpy(zero_copy_only=False)
    if rest.any():
        clean = (
            s[rest].str.replace("_", "", regex=False).str.replace(r"(?i)^([+-]?)s?nan\d*$", "nan", regex=True)
        )
        values[rest] = pd.to_numeric(clean, errors="coerce").astype("float64").to_numpy(float)
        exact[rest] = clean.to_numpy(object)
    # NaN and ±Infinity are numbers for Table Schema, but no shipped schema means them (an amount, a
    # power, a coordinate) and they are what a spreadsheet or pandas writes for a missing or broken
    # value; 1e400 overflows a double. They are quarantined rather than stored as NULL or ∞ by
    # accident (an intentional difference from frictionless, which accepts them).
    ok &= np.isfinite(values)
    values[~ok] = np.nan
    exact[~ok] = None
    # The warehouse gets the number as written (numeric keeps every digit): a float64 would turn
    # 43.634191940000001 into 43.63419194. Bounds and uniqueness compare the float key.
    return Parsed(ok, pd.Series(exact, dtype=object), pd.Series(values))


def _parse_integer(u: pd.Series, f: Field) -> Parsed:
    s, _ = _number_text(u, f)
    ok = _match(s, _INT)
    clean = s.where(ok, "").str.replace("_", "", regex=False)
    key = pd.to_numeric(clean.where(ok, "nan"), errors="coerce").astype("float64")
    # The warehouse stores integers as bigint: a longer one would be stored as NULL, so it is not
    # an integer here (frictionless, with Python's unbounded int, accepts it).
    fits = ok & (clean.str.lstrip("+-").str.lstrip("0").str.len().to_numpy() <= 18)
    typed = pd.Series(pd.array([None] * len(u), dtype="Int64"))
    if fits.any():
        typed[fits] = pd.to_numeric(clean[fits]).astype("Int64").to_numpy()
    return Parsed(fits, typed, pd.Series(np.where(fits, key, np.nan)))


def _parse_boolean(u: pd.Series, f: Field) -> Parsed:
    true = [str(v) for v in f.descriptor.get("trueValues", DEFAULT_TRUE)]
    false = [str(v) for v in f.descriptor.get("falseValues", DEFAULT_FALSE)]
    is_true = u.isin(true).to_numpy(bool)
    ok = is_true | u.isin(false).to_numpy(bool)
    typed = pd.Series(pd.array(np.where(ok, is_true, False), dtype="boolean"))
    typed[~ok] = pd.NA
    return Parsed(ok, typed, typed.astype(object))


def _int_group(parts: pd.DataFrame, name: str, default: int) -> np.ndarray:
    if name not in parts:
        return np.full(len(parts), default, dtype=np.int64)
    col = parts[name].fillna("").str.strip()
    return (
        pd.to_numeric(col.where(col != "", str(default)), errors="coerce")
        .fillna(-1)
        .astype(np.int64)
        .to_numpy()
    )


def _valid_day(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    month_ok = (month >= 1) & (month <= 12)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days = _DAYS[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)
    return month_ok & (year >= 1) & (year <= 9999) & (day >= 1) & (day <= days)


def _tz_text(parts: pd.DataFrame) -> pd.Series:
    if "tz" not in parts:
        return pd.Series([""] * len(parts))
    tz = parts["tz"].fillna("")
    hhmm = tz.str.replace(":", "", regex=False)
    long = hhmm.str.len() >= 5
    return (
        tz.where(tz == "Z", "")
        .where(~long, hhmm.str[:3] + ":" + hhmm.str[3:5])
        .where(~((hhmm.str.len() == 3) & (tz != "Z")), hhmm + ":00")
    )


def _clock_ok(parts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    hour, minute, second = (_int_group(parts, k, 0) for k in ("H", "M", "S"))
    ok = (hour >= 0) & (hour <= 23) & (minute >= 0) & (minute <= 59) & (second >= 0) & (second <= 61)
    return ok, hour, minute, second


def _iso_text(year, month, day) -> pd.Series:
    return (
        pd.Series(year).astype(str).str.zfill(4)
        + "-"
        + pd.Series(month).astype(str).str.zfill(2)
        + "-"
        + pd.Series(day).astype(str).str.zfill(2)
    )


def _clock_text(hour, minute, second, parts: pd.DataFrame) -> pd.Series:
    text = (
        pd.Series(hour).astype(str).str.zfill(2)
        + ":"
        + pd.Series(minute).astype(str).str.zfill(2)
        + ":"
        + pd.Series(second).astype(str).str.zfill(2)
    )
    if "f" in parts:
        frac = parts["f"].fillna("").str[:6]
        text = text + ("." + frac).where(frac != "", "")
    return text + _tz_text(parts)


_FAST_DIRECTIVES = set("YmdHMSfzy%")


def _parse_strptime(u: pd.Series, f: Field, fmt: str) -> Parsed:
    """Emulate ``datetime.strptime(cell, fmt)`` with the very regex strptime builds for ``fmt``."""
    regex = _strptime._TimeRE_cache.pattern(fmt)
    parts = extract_parts(u, rf"(?si)^(?:{regex})(?P<__rest>.*)$")
    ok = (parts["__rest"].fillna("x") == "").to_numpy(bool)
    directives = set(re.findall(r"%(.)", fmt))
    if not directives <= _FAST_DIRECTIVES:
        return _parse_with_frictionless(u, f, only=ok)
    year = _int_group(parts, "Y", 1900)
    if "y" in parts:
        yy = _int_group(parts, "y", 0)
        year = np.where(yy < 69, 2000 + yy, 1900 + yy)
    month, day = _int_group(parts, "m", 1), _int_group(parts, "d", 1)
    clock, hour, minute, second = _clock_ok(parts)
    ok = ok & _valid_day(year, month, day) & clock & (second <= 59)
    date_text = _iso_text(year, month, day)
    if f.type == "date":
        text = date_text
    elif f.type == "time":
        text = _clock_text(hour, minute, second, parts)
    else:
        text = date_text + "T" + _clock_text(hour, minute, second, parts)
    text = text.where(ok, None)
    return Parsed(ok, text, text)


def _parse_date(u: pd.Series, f: Field) -> Parsed:
    fmt = f.format or "%Y-%m-%d"
    if fmt == "any":
        return _parse_with_frictionless(u, f)
    return _parse_strptime(u, f, fmt.replace("fmt:", "", 1))


def _parse_datetime(u: pd.Series, f: Field) -> Parsed:
    if f.format == "any":
        return _parse_with_frictionless(u, f)
    if f.format:
        return _parse_strptime(u, f, f.format.replace("fmt:", "", 1))
    # frictionless: cell[16] == ":" and len >= 19, then dateutil's isoparse.
    parts = extract_parts(u, rf"^{_ISO_DATETIME}$")
    ok = parts["Y"].notna().to_numpy(bool)
    year, month, day = (_int_group(parts, k, 1) for k in ("Y", "m", "d"))
    clock, hour, minute, second = _clock_ok(parts)
    midnight24 = (hour == 24) & (minute == 0) & (second == 0)
    ok = ok & _valid_day(year, month, day) & ((clock & (second <= 59)) | midnight24)
    text = (_iso_text(year, month, day) + "T" + _clock_text(hour, minute, second, parts)).where(ok, None)
    return Parsed(ok, text, text)


def _parse_time(u: pd.Series, f: Field) -> Parsed:
    if f.format == "any":
        return _parse_with_frictionless(u, f)
    if f.format:
        return _parse_strptime(u, f, f.format.replace("fmt:", "", 1))
    parts = extract_parts(u, rf"^{_ISO_TIME}$")
    ok = parts["H"].notna().to_numpy(bool)
    clock, hour, minute, second = _clock_ok(parts)
    ok = ok & clock & (second <= 59)
    text = _clock_text(hour, minute, second, parts).where(ok, None)
    return Parsed(ok, text, text)


def _parse_year(u: pd.Series, f: Field) -> Parsed:
    # frictionless: len(cell) == 4, then int(cell) within 0..9999
    ok = (u.str.len() == 4).to_numpy(bool) & _match(u.str.strip(), r"\+?[0-9](?:_?[0-9])*")
    values = pd.to_numeric(u.where(ok, "").str.replace("_", "", regex=False).str.strip(), errors="coerce")
    typed = pd.Series(pd.array(values.where(pd.Series(ok)), dtype="Int64"))
    return Parsed(ok, typed, values.where(pd.Series(ok)).astype("float64"))


def _parse_yearmonth(u: pd.Series, f: Field) -> Parsed:
    parts = u.str.extract(r"^\s*\+?(?P<Y>[0-9](?:_?[0-9])*)\s*-\s*\+?(?P<m>[0-9](?:_?[0-9])*)\s*$")
    ok = parts["Y"].notna().to_numpy(bool)
    year = _int_group(parts.apply(lambda c: c.str.replace("_", "", regex=False)), "Y", 0)
    month = _int_group(parts.apply(lambda c: c.str.replace("_", "", regex=False)), "m", 0)
    ok = ok & (month >= 1) & (month <= 12)
    text = (pd.Series(year).astype(str).str.zfill(4) + "-" + pd.Series(month).astype(str).str.zfill(2)).where(
        ok, None
    )
    return Parsed(ok, text, text)


def _parse_geopoint(u: pd.Series, f: Field) -> Parsed:
    if f.format == "object":
        return _parse_with_frictionless(u, f)
    if f.format == "array":
        item = rf'\s*(?:{_NUM}|"\s*{_NUM}\s*")\s*'
        parts = u.str.extract(rf"(?i)^\s*\[(?P<lon>{item}),(?P<lat>{item})\]\s*$")
        lon_t = parts["lon"].fillna("").str.strip().str.strip('"').str.strip()
        lat_t = parts["lat"].fillna("").str.strip().str.strip('"').str.strip()
    else:
        parts = u.str.split(",", expand=True, regex=False)
        if parts.shape[1] != 2:
            two = u.str.count(",") == 1
            parts = u.where(two, ",").str.split(",", expand=True, regex=False)
        lon_t, lat_t = parts[0].fillna("").str.strip(), parts[1].fillna("").str.strip()
    lon_ok = _match(lon_t, _NUM, re.IGNORECASE)
    lat_ok = _match(lat_t, _NUM, re.IGNORECASE)
    lon = pd.to_numeric(lon_t.where(lon_ok, "nan").str.replace("_", "", regex=False), errors="coerce")
    lat = pd.to_numeric(lat_t.where(lat_ok, "nan").str.replace("_", "", regex=False), errors="coerce")
    ok = lon_ok & lat_ok & (lon.abs() <= 180).to_numpy(bool) & (lat.abs() <= 90).to_numpy(bool)
    ewkt = ("SRID=4326;POINT(" + lon.astype(str) + " " + lat.astype(str) + ")").where(ok, None)
    key = (lon.astype(str) + "," + lat.astype(str)).where(ok, None)
    return Parsed(ok, ewkt, key)


def _frictionless_field(f: Field, with_constraints: bool = False) -> frictionless.Field:
    descriptor = {k: v for k, v in f.descriptor.items() if k not in ("constraints", "missingValues")}
    if with_constraints:
        descriptor["constraints"] = f.constraints
    return frictionless.Field.from_descriptor(descriptor)


def _serialise(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _parse_with_frictionless(u: pd.Series, f: Field, only: np.ndarray | None = None) -> Parsed:
    """Distinct values read by frictionless's own reader, for rare types with a large grammar.

    Arrays go through the full cell reader so that ``arrayItem`` (item type and constraints) is
    checked exactly as frictionless does; the item failures come back as ``notes``.
    """
    field = _frictionless_field(f)
    with_items = f.type == "array" and bool(f.descriptor.get("arrayItem"))
    reader = field.create_cell_reader() if with_items else field.create_value_reader()
    ok = np.zeros(len(u), bool)
    typed: list[Any] = [None] * len(u)
    length: list[Any] = [None] * len(u)
    notes: dict[str, np.ndarray] = {}
    for i, text in enumerate(u.tolist()):
        if only is not None and not only[i]:
            continue
        try:
            if with_items:
                value, cell_notes = reader(text)
                if cell_notes and "type" in cell_notes and not cell_notes["type"].startswith("array item"):
                    continue
                for name in cell_notes or {}:
                    notes.setdefault(name, np.zeros(len(u), bool))[i] = True
                value = json.loads(text) if cell_notes else value
            else:
                value = reader(text)
        except Exception:  # noqa: BLE001 - a reader crash is a type error, as in frictionless
            value = None
        if value is None:
            continue
        ok[i] = True
        typed[i] = _serialise(value) if f.type not in ("date", "datetime", "time") else value.isoformat()
        length[i] = len(value) if isinstance(value, (list, dict, str)) else None
    typed_s = pd.Series(typed, dtype=object)
    return Parsed(ok, typed_s, typed_s, pd.Series(length, dtype=object), notes or None)


PARSERS: dict[str, Callable[[pd.Series, Field], Parsed]] = {
    "string": _parse_string,
    "number": _parse_number,
    "integer": _parse_integer,
    "boolean": _parse_boolean,
    "date": _parse_date,
    "datetime": _parse_datetime,
    "time": _parse_time,
    "year": _parse_year,
    "yearmonth": _parse_yearmonth,
    "geopoint": _parse_geopoint,
}
TYPED_DTYPES = {"integer": "Int64", "year": "Int64", "boolean": "boolean"}


def parse_column(values: pd.Series, f: Field) -> Parsed:
    """Parse text values (no missing ones) of one field."""
    parser = PARSERS.get(f.type, _parse_with_frictionless)
    return parser(values.reset_index(drop=True).astype(str), f)
