"""Vectorised Table Schema validation of a text frame.

Every cell is text (``""`` or a schema ``missingValues`` entry = empty). Each column is factorised and
its *distinct* values are parsed once with pandas string methods and regular expressions, then the
verdicts are spread back to the cells: a million rows cost a few distinct-value parses, never a
Python call per cell. The rules mirror frictionless 5 (the engine behind Validata) so that a file
gets the same verdict here as on validata.fr; where a type is rare and its grammar large (``duration``,
``geojson``, ``object``, string formats ``email``/``uri``, date format ``any``…), the distinct values are
handed to frictionless's own cell reader rather than re-implementing the grammar by hand.
"""

from __future__ import annotations

import _strptime
import json
import logging
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import frictionless
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from quality.french import fr_int
from quality.patterns import pattern_matches
from quality.schema import Field, TableSchema

log = logging.getLogger(__name__)

ERROR_COLUMNS = ["row", "field", "rule", "value", "message"]
DEFAULT_TRUE = ["true", "True", "TRUE", "1"]
DEFAULT_FALSE = ["false", "False", "FALSE", "0"]

# Constraints frictionless applies per type (others are ignored there, so here too).
SUPPORTED = {
    "string": {"required", "minLength", "maxLength", "pattern", "enum"},
    "array": {"required", "minLength", "maxLength", "enum"},
    "object": {"required", "minLength", "maxLength", "enum"},
    "boolean": {"required", "enum"},
    "duration": {"required", "enum"},
    "geojson": {"required", "enum"},
    "geopoint": {"required", "enum"},
    "any": {"required", "enum"},
}
_ORDERED = {"required", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum"}
for _t in ("number", "integer", "date", "time", "datetime", "year", "yearmonth"):
    SUPPORTED[_t] = _ORDERED

_DIGITS = r"[0-9](?:_?[0-9])*"
# Python's Decimal grammar (what frictionless casts numbers with), ASCII digits.
_NUM = (
    rf"[+-]?(?:(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:e[+-]?{_DIGITS})?"
    r"|inf(?:inity)?|s?nan[0-9]*)"
)
_INT = r"[+-]?[0-9](?:_?[0-9])*"
_NOT_BARE = r"((^[^-\d]*)|(\D*$))"
_TZ = r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?"
_FRAC = r"(?:[.,](?P<f>\d+))?"
_ISO_DATETIME = (
    rf"(?P<Y>\d{{4}})-(?P<m>\d{{2}})-(?P<d>\d{{2}}).(?P<H>\d{{2}}):(?P<M>\d{{2}}):(?P<S>\d{{2}}){_FRAC}{_TZ}"
)
_ISO_TIME = rf"(?P<H>\d{{2}}):(?P<M>\d{{2}}):(?P<S>\d{{2}}){_FRAC}{_TZ}"
_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@dataclass(frozen=True)
class StructureIssue:
    level: str  # "error" | "warning"
    rule: str
    column: str
    message: str


@dataclass(frozen=True)
class Validation:
    errors: pd.DataFrame
    typed: pd.DataFrame
    invalid_index: pd.Index

    @property
    def valid(self) -> bool:
        return self.errors.empty


@dataclass
class _Parsed:
    """Verdict on the distinct values of one column (positions align with the uniques)."""

    ok: np.ndarray
    typed: pd.Series  # warehouse value
    key: pd.Series  # comparable value for enum/min/max/unique
    length: pd.Series | None = None  # for minLength/maxLength of array/object
    notes: dict[str, np.ndarray] | None = None  # extra per-item failures (array items)


# --------------------------------------------------------------------------- structure


def check_structure(headers: list[str], schema: TableSchema) -> list[StructureIssue]:
    """Header against schema, columns matched by name as Validata does (frictionless schema_sync)."""
    issues: list[StructureIssue] = []
    seen: set[str] = set()
    for h in headers:
        if h in seen:
            issues.append(
                StructureIssue("error", "duplicate-column", h, f"La colonne « {h} » apparaît plusieurs fois.")
            )
        seen.add(h)
    names = schema.field_names
    lower = {n.lower(): n for n in names}
    for f in schema.fields:
        if f.name in seen:
            continue
        hint = ""
        near = [h for h in headers if h.lower() == f.name.lower() or h.strip() == f.name]
        if near:
            hint = f" (une colonne « {near[0]} » est présente : vérifiez l'orthographe exacte)"
        if f.required:
            issues.append(
                StructureIssue(
                    "error",
                    "missing-required-column",
                    f.name,
                    f"Colonne obligatoire « {f.name} » absente du fichier{hint}.",
                )
            )
        else:
            issues.append(
                StructureIssue(
                    "warning",
                    "missing-column",
                    f.name,
                    f"Colonne facultative « {f.name} » absente du fichier{hint}.",
                )
            )
    known = set(names)
    for h in headers:
        if h not in known:
            near = lower.get(h.lower()) or lower.get(h.strip().lower())
            hint = f" (vouliez-vous dire « {near} » ?)" if near else ""
            issues.append(
                StructureIssue(
                    "warning", "extra-column", h, f"Colonne « {h} » inconnue du schéma, ignorée{hint}."
                )
            )
    present = [h for h in headers if h in known]
    expected = [n for n in names if n in seen]
    if present != expected:
        issues.append(
            StructureIssue(
                "warning",
                "column-order",
                "",
                "Les colonnes ne sont pas dans l'ordre du schéma (" + ", ".join(expected) + ").",
            )
        )
    return issues


# --------------------------------------------------------------------------- parsers


def _blank(n: int, dtype: Any = object) -> pd.Series:
    return pd.Series([None] * n, dtype=dtype)


def _match(u: pd.Series, regex: str, flags: int = 0) -> np.ndarray:
    # inline flags keep the match inside Arrow's regex kernel (a ``flags=`` argument falls back to ``re``)
    if flags & re.IGNORECASE:
        regex = "(?i)" + regex
    return u.str.fullmatch(regex).fillna(False).to_numpy(bool)


def _parse_string(u: pd.Series, f: Field) -> _Parsed:
    if f.format in ("email", "uri", "uuid", "binary", "wkt"):
        return _parse_with_frictionless(u, f)
    ok = np.ones(len(u), bool)
    return _Parsed(ok, u, u)


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


def _parse_number(u: pd.Series, f: Field) -> _Parsed:
    s, bad = _number_text(u, f)
    ok = _match(s, _NUM, re.IGNORECASE) & ~bad
    clean = (
        s.where(ok, "nan")
        .str.replace("_", "", regex=False)
        .str.replace(r"(?i)^([+-]?)s?nan\d*$", "nan", regex=True)
    )
    values = pd.to_numeric(clean, errors="coerce").astype("float64")
    # NaN and ±Infinity are numbers for Table Schema, but no shipped schema means them (an amount, a
    # power, a coordinate) and they are what a spreadsheet or pandas writes for a missing or broken
    # value; 1e400 overflows a double. They are quarantined rather than stored as NULL or ∞ by
    # accident (an intentional difference from frictionless, which accepts them).
    ok &= np.isfinite(values.to_numpy(float))
    values[~ok] = np.nan
    # The warehouse gets the number as written (numeric keeps every digit): a float64 would turn
    # 43.634191940000001 into 43.63419194. Bounds and uniqueness compare the float key.
    exact = clean.where(ok, None).astype(object)
    return _Parsed(ok, exact, values)


def _parse_integer(u: pd.Series, f: Field) -> _Parsed:
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
    return _Parsed(fits, typed, pd.Series(np.where(fits, key, np.nan)))


def _parse_boolean(u: pd.Series, f: Field) -> _Parsed:
    true = [str(v) for v in f.descriptor.get("trueValues", DEFAULT_TRUE)]
    false = [str(v) for v in f.descriptor.get("falseValues", DEFAULT_FALSE)]
    is_true = u.isin(true).to_numpy(bool)
    ok = is_true | u.isin(false).to_numpy(bool)
    typed = pd.Series(pd.array(np.where(ok, is_true, False), dtype="boolean"))
    typed[~ok] = pd.NA
    return _Parsed(ok, typed, typed.astype(object))


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


def _parse_strptime(u: pd.Series, f: Field, fmt: str) -> _Parsed:
    """Emulate ``datetime.strptime(cell, fmt)`` with the very regex strptime builds for ``fmt``."""
    regex = _strptime._TimeRE_cache.pattern(fmt)
    parts = u.str.extract(rf"(?si)^(?:{regex})(?P<__rest>.*)$")
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
    return _Parsed(ok, text, text)


def _parse_date(u: pd.Series, f: Field) -> _Parsed:
    fmt = f.format or "%Y-%m-%d"
    if fmt == "any":
        return _parse_with_frictionless(u, f)
    return _parse_strptime(u, f, fmt.replace("fmt:", "", 1))


def _parse_datetime(u: pd.Series, f: Field) -> _Parsed:
    if f.format == "any":
        return _parse_with_frictionless(u, f)
    if f.format:
        return _parse_strptime(u, f, f.format.replace("fmt:", "", 1))
    # frictionless: cell[16] == ":" and len >= 19, then dateutil's isoparse.
    parts = u.str.extract(rf"^{_ISO_DATETIME}$")
    ok = parts["Y"].notna().to_numpy(bool)
    year, month, day = (_int_group(parts, k, 1) for k in ("Y", "m", "d"))
    clock, hour, minute, second = _clock_ok(parts)
    midnight24 = (hour == 24) & (minute == 0) & (second == 0)
    ok = ok & _valid_day(year, month, day) & ((clock & (second <= 59)) | midnight24)
    text = (_iso_text(year, month, day) + "T" + _clock_text(hour, minute, second, parts)).where(ok, None)
    return _Parsed(ok, text, text)


def _parse_time(u: pd.Series, f: Field) -> _Parsed:
    if f.format == "any":
        return _parse_with_frictionless(u, f)
    if f.format:
        return _parse_strptime(u, f, f.format.replace("fmt:", "", 1))
    parts = u.str.extract(rf"^{_ISO_TIME}$")
    ok = parts["H"].notna().to_numpy(bool)
    clock, hour, minute, second = _clock_ok(parts)
    ok = ok & clock & (second <= 59)
    text = _clock_text(hour, minute, second, parts).where(ok, None)
    return _Parsed(ok, text, text)


def _parse_year(u: pd.Series, f: Field) -> _Parsed:
    # frictionless: len(cell) == 4, then int(cell) within 0..9999
    ok = (u.str.len() == 4).to_numpy(bool) & _match(u.str.strip(), r"\+?[0-9](?:_?[0-9])*")
    values = pd.to_numeric(u.where(ok, "").str.replace("_", "", regex=False).str.strip(), errors="coerce")
    typed = pd.Series(pd.array(values.where(pd.Series(ok)), dtype="Int64"))
    return _Parsed(ok, typed, values.where(pd.Series(ok)).astype("float64"))


def _parse_yearmonth(u: pd.Series, f: Field) -> _Parsed:
    parts = u.str.extract(r"^\s*\+?(?P<Y>[0-9](?:_?[0-9])*)\s*-\s*\+?(?P<m>[0-9](?:_?[0-9])*)\s*$")
    ok = parts["Y"].notna().to_numpy(bool)
    year = _int_group(parts.apply(lambda c: c.str.replace("_", "", regex=False)), "Y", 0)
    month = _int_group(parts.apply(lambda c: c.str.replace("_", "", regex=False)), "m", 0)
    ok = ok & (month >= 1) & (month <= 12)
    text = (pd.Series(year).astype(str).str.zfill(4) + "-" + pd.Series(month).astype(str).str.zfill(2)).where(
        ok, None
    )
    return _Parsed(ok, text, text)


def _parse_geopoint(u: pd.Series, f: Field) -> _Parsed:
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
    return _Parsed(ok, ewkt, key)


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


def _parse_with_frictionless(u: pd.Series, f: Field, only: np.ndarray | None = None) -> _Parsed:
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
    return _Parsed(ok, typed_s, typed_s, pd.Series(length, dtype=object), notes or None)


PARSERS: dict[str, Callable[[pd.Series, Field], _Parsed]] = {
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


def parse_column(values: pd.Series, f: Field) -> _Parsed:
    """Parse text values (no missing ones) of one field."""
    parser = PARSERS.get(f.type, _parse_with_frictionless)
    return parser(values.reset_index(drop=True).astype(str), f)


# --------------------------------------------------------------------------- messages


def _pattern_label(pattern: str) -> str:
    core = pattern.removeprefix("^").removesuffix("$")
    digits = r"(?:\\d|\[0-9\])"
    if m := re.fullmatch(digits + r"\{(\d+)\}", core):
        return f"({m[1]} chiffres)"
    if m := re.fullmatch(digits + r"\{(\d+),(\d+)\}", core):
        return f"(de {m[1]} à {m[2]} chiffres)"
    return f": {pattern}"


def _type_label(f: Field) -> str:
    d = f.descriptor
    human_fmt = (f.format or "").replace("fmt:", "")
    for a, b in (
        ("%Y", "AAAA"),
        ("%m", "MM"),
        ("%d", "JJ"),
        ("%H", "HH"),
        ("%M", "MM"),
        ("%S", "SS"),
        ("%y", "AA"),
    ):
        human_fmt = human_fmt.replace(a, b)
    if f.type == "number":
        dec = d.get("decimalChar", ".")
        return f"un nombre valide (séparateur décimal « {dec} », sans espace ni unité)"
    if f.type == "boolean":
        values = list(d.get("trueValues", DEFAULT_TRUE)) + list(d.get("falseValues", DEFAULT_FALSE))
        return "une valeur booléenne admise (" + ", ".join(map(str, values)) + ")"
    if f.type in ("date", "datetime", "time") and f.format and f.format != "any":
        return f"{'une date' if f.type != 'time' else 'une heure'} au format {human_fmt}"
    if f.type == "string":
        return {
            "email": "une adresse électronique valide",
            "uri": "une adresse web complète (avec son schéma, ex. https://)",
            "uuid": "un identifiant UUID valide",
            "binary": "une valeur base64 valide",
            "wkt": "une géométrie WKT valide",
        }.get(f.format or "", "un texte valide")
    if f.type == "geopoint":
        return {
            "array": "des coordonnées [longitude, latitude] valides",
            "object": 'des coordonnées {"lon": …, "lat": …} valides',
        }.get(f.format or "", "des coordonnées « longitude, latitude » valides")
    return {
        "integer": "un nombre entier valide",
        "date": "une date au format AAAA-MM-JJ",
        "datetime": "une date et heure au format AAAA-MM-JJTHH:MM:SS",
        "time": "une heure au format HH:MM:SS",
        "year": "une année sur 4 chiffres",
        "yearmonth": "une année et un mois au format AAAA-MM",
        "duration": "une durée ISO 8601 valide (ex. P1DT2H)",
        "geojson": "un objet GeoJSON valide",
        "object": "un objet JSON valide",
        "array": 'une liste JSON valide (ex. ["a","b"])',
    }.get(f.type, f"une valeur de type {f.type}")


def _short_list(values: list[Any], limit: int = 8) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (", …" if len(values) > limit else "")


def rule_suffix(f: Field, rule: str) -> str:
    """What follows « valeur » in the message of a broken rule on field ``f``."""
    c = f.constraints
    return {
        "type": f"n'est pas {_type_label(f)}.",
        "format": f"n'est pas {_type_label(f)}.",
        "required": "valeur obligatoire manquante.",
        "pattern": f"ne respecte pas le motif attendu {_pattern_label(str(c.get('pattern')))}.",
        "enum": f"n'est pas une valeur autorisée (valeurs admises : {_short_list(list(c.get('enum', [])))}).",
        "minimum": f"est inférieure au minimum autorisé ({c.get('minimum')}).",
        "maximum": f"est supérieure au maximum autorisé ({c.get('maximum')}).",
        "exclusiveMinimum": f"doit être strictement supérieure à {c.get('exclusiveMinimum')}.",
        "exclusiveMaximum": f"doit être strictement inférieure à {c.get('exclusiveMaximum')}.",
        "minLength": f"est trop courte (au moins {c.get('minLength')} caractères ou éléments attendus).",
        "maxLength": f"est trop longue (au plus {c.get('maxLength')} caractères ou éléments attendus).",
        "unique": "est en double : cette colonne doit contenir des valeurs uniques",
    }.get(rule, "ne respecte pas une règle du schéma.")


# What an element of a list-valued cell breaks, in words (rule codes never reach an agent).
_ELEMENT_RULES_FR = {
    "pattern": "le motif attendu",
    "enum": "la liste des valeurs admises",
    "minimum": "le minimum autorisé",
    "maximum": "le maximum autorisé",
    "minLength": "la longueur minimale",
    "maxLength": "la longueur maximale",
    "type": "le type attendu",
    "format": "le format attendu",
}


def messages(field: str, rows: pd.Series, values: pd.Series, suffix: str | pd.Series) -> pd.Series:
    """« Colonne « X », ligne N : « v » <suffix> », built column-wise."""
    head = f"Colonne « {field} », ligne " + _row_numbers(rows) + " : "
    shown = np.where(values.to_numpy(object) == "", "", "« " + values.astype(str).to_numpy(object) + " » ")
    return pd.Series(head + shown + np.asarray(suffix, dtype=object), index=rows.index)


def _row_numbers(rows: pd.Series) -> np.ndarray:
    """Row numbers as a French reader writes them: 12 345 (narrow no-break space) from 1 000 on."""
    text = rows.astype(str).to_numpy(object)
    big = (rows >= 1000).to_numpy()
    if big.any():
        text[big] = [fr_int(r) for r in rows.to_numpy()[big]]
    return text


def error_frame(rows: Any, field: str, rule: str, values: Any, message: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {"row": rows, "field": field, "rule": rule, "value": values, "message": message},
        columns=ERROR_COLUMNS,
    )


def empty_errors() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ERROR_COLUMNS})


# --------------------------------------------------------------------------- constraints


def _constraint_key(value: Any, f: Field) -> Any:
    """A constraint value (minimum, enum item…) read like a cell of ``f``."""
    if (
        f.type in ("number", "integer", "year")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    ):
        return float(value)
    if f.type == "boolean" and isinstance(value, bool):
        return value
    if isinstance(value, (list, dict)):
        value = json.dumps(value)
    parsed = parse_column(pd.Series([str(value)]), f)
    return parsed.key.iloc[0] if parsed.ok[0] else None


_BOUND_OPS = {
    "minimum": operator.ge,
    "maximum": operator.le,
    "exclusiveMinimum": operator.gt,
    "exclusiveMaximum": operator.lt,
}


def _unique_failures(u: pd.Series, p: _Parsed, f: Field) -> dict[str, np.ndarray]:
    """Per distinct value: constraints broken (only on values of the right type)."""
    supported = SUPPORTED.get(f.type, {"required", "enum"})
    fails: dict[str, np.ndarray] = {}
    ok = p.ok
    for rule, limit in f.constraints.items():
        if rule not in supported or rule in ("required", "unique") or limit is None:
            continue
        if rule == "pattern":
            bad = ~pattern_matches(u, str(limit))
        elif rule in ("minLength", "maxLength"):
            length = u.str.len() if f.type == "string" else pd.to_numeric(p.length, errors="coerce")
            length = length.to_numpy(float)
            bad = length < limit if rule == "minLength" else length > limit
        elif rule == "enum":
            allowed = [_constraint_key(v, f) for v in limit]
            bad = ~p.key.isin([a for a in allowed if a is not None]).to_numpy(bool)
        else:
            bound = _constraint_key(limit, f)
            if bound is None:
                log.warning("contrainte %s=%r illisible pour le champ %s", rule, limit, f.name)
                continue
            key = p.key
            if f.type in ("number", "integer", "year"):
                key = pd.to_numeric(key, errors="coerce")
            valid_key = key.notna().to_numpy(bool)
            with np.errstate(invalid="ignore"):
                cmp = _BOUND_OPS[rule]
                good = np.zeros(len(u), bool)
                good[valid_key] = cmp(key[valid_key], bound).to_numpy(bool)
            bad = ~good
        fails[rule] = bad & ok
    for note, mask in (p.notes or {}).items():
        rule = "type" if note == "type" else note
        fails[rule] = fails.get(rule, np.zeros(len(u), bool)) | mask
    return fails


@dataclass
class _ColumnResult:
    errors: list[pd.DataFrame]
    typed: pd.Series
    key: np.ndarray  # comparable value per cell (None when missing or of the wrong type)
    text: pd.Series
    unusable: np.ndarray  # missing or of the wrong type: blank for the custom checks


def as_text(col: pd.Series) -> pd.Series:
    """The column as text with NA as "" (object or Arrow strings are kept as they are)."""
    if col.dtype != object and col.dtype != "str":
        col = col.astype("str")
    # A read frame has no NA (empty cells are ""): skip fillna's copy of a million cells per column.
    return col.fillna("") if col.hasnans else col


def factorize_text(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, distinct values) of a text column, code -1 for NA, as ``pd.factorize``.

    Arrow-backed strings (a read frame) are dictionary-encoded by Arrow in C++, which is several times
    faster than pandas' hash table; Arrow gives every chunk the same, final dictionary.
    """
    if isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow":
        encoded = pc.dictionary_encode(pa.array(text.array))
        chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
        if chunks:
            codes = np.concatenate([c.indices.fill_null(-1).to_numpy().astype(np.int64) for c in chunks])
            return codes, pd.Series(chunks[-1].dictionary, dtype="str")
    codes, uniques = pd.factorize(text)
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object)


def _cell_errors(
    rows: pd.Series, text: pd.Series, mask: np.ndarray, field: str, rule: str, suffix
) -> pd.DataFrame:
    r, v = rows[mask], text[mask].astype(str)
    return error_frame(
        r.to_numpy(), field, rule, v.to_numpy(object), messages(field, r, v, suffix).to_numpy()
    )


def _validate_column(col: pd.Series, f: Field, missing_values: list[str]) -> _ColumnResult:
    n = len(col)
    index = col.index
    rows = pd.Series(index.to_numpy(), index=index)
    text = as_text(col)
    # Factorise once: every verdict is taken on the distinct values, then spread with the codes.
    all_codes, u_all = factorize_text(text)
    u_all = u_all.astype("str")
    missing_u = u_all.isin(missing_values).to_numpy(bool)
    missing = missing_u[all_codes]
    errors: list[pd.DataFrame] = []
    if f.required and missing.any():
        errors.append(
            _cell_errors(
                rows, text.where(~missing, ""), missing, f.name, "required", rule_suffix(f, "required")
            )
        )

    present_pos = np.flatnonzero(~missing)
    kept = np.flatnonzero(~missing_u)
    remap = np.full(len(u_all), -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    codes = remap[all_codes[present_pos]]
    u = u_all.iloc[kept].reset_index(drop=True)
    p = parse_column(u, f) if len(u) else _Parsed(np.zeros(0, bool), _blank(0), _blank(0))

    type_rule = "format" if f.type == "string" and f.format else "type"
    cell_ok = p.ok[codes]
    type_bad = np.zeros(n, bool)
    type_bad[present_pos] = ~cell_ok
    if type_bad.any():
        errors.append(_cell_errors(rows, text, type_bad, f.name, type_rule, rule_suffix(f, type_rule)))

    for rule, bad_u in _unique_failures(u, p, f).items():
        cell_bad = np.zeros(n, bool)
        cell_bad[present_pos] = bad_u[codes]
        if cell_bad.any():
            suffix = rule_suffix(f, rule)
            if p.notes and rule in p.notes:
                broken = _ELEMENT_RULES_FR.get(rule, "une règle du schéma")
                suffix = f"contient un élément de la liste qui ne respecte pas {broken}."
            errors.append(_cell_errors(rows, text, cell_bad, f.name, rule, suffix))

    good_pos = present_pos[cell_ok]
    good_codes = codes[cell_ok]
    dtype = TYPED_DTYPES.get(f.type, object)
    if dtype is object:
        typed_values = np.full(n, None, dtype=object)
        typed_values[good_pos] = np.asarray(p.typed.to_numpy(object), dtype=object)[good_codes]
        typed = pd.Series(typed_values, index=index, dtype=object)
    else:
        typed = pd.Series(pd.array([None] * n, dtype=dtype), index=index)
        if len(good_pos):
            typed.iloc[good_pos] = p.typed.iloc[good_codes].to_numpy()
    key = np.full(n, None, dtype=object)
    key[good_pos] = np.asarray(p.key.to_numpy(object), dtype=object)[good_codes]

    if f.constraints.get("unique") and len(good_pos):
        k = pd.Series(key[good_pos])
        dup = k.duplicated(keep="first").to_numpy(bool)
        if dup.any():
            good_rows = rows.iloc[good_pos]
            first_row = (
                pd.Series(good_rows.to_numpy(), index=k.to_numpy()).groupby(level=0, sort=False).first()
            )
            firsts = first_row.reindex(k[dup].to_numpy()).astype(str).to_numpy(object)
            suffix = rule_suffix(f, "unique") + " (déjà présente ligne " + firsts + ")."
            mask = np.zeros(n, bool)
            mask[good_pos[dup]] = True
            errors.append(_cell_errors(rows, text, mask, f.name, "unique", suffix))
    return _ColumnResult(errors, typed, key, text, missing | type_bad)


def _key_errors(
    keys: pd.DataFrame, texts: pd.DataFrame, names: list[str], rule: str, skip_any_null: bool
) -> pd.DataFrame:
    """Duplicate (or, for a primary key, empty) composite keys."""
    label = ", ".join(names)
    rows = pd.Series(keys.index.to_numpy(), index=keys.index)
    null = keys.isna()
    all_null = null.all(axis=1).to_numpy(bool)
    skip = null.any(axis=1).to_numpy(bool) if skip_any_null else all_null
    frames = []
    shown = texts.astype(str).agg(" | ".join, axis=1) if len(names) > 1 else texts.iloc[:, 0].astype(str)
    if rule == "primary-key" and all_null.any():
        r = rows[all_null]
        msg = "Ligne " + r.astype(str) + f" : la clé primaire ({label}) est vide."
        frames.append(error_frame(r.to_numpy(), label, rule, shown[all_null].to_numpy(), msg.to_numpy()))
    considered = keys[~skip].astype(str)
    joined = considered.agg("\x1f".join, axis=1) if len(names) > 1 else considered.iloc[:, 0]
    dup = joined.duplicated(keep="first").to_numpy(bool)
    if dup.any():
        first = pd.Series(rows[~skip].to_numpy(), index=joined.to_numpy()).groupby(level=0).first()
        r = rows[~skip][dup]
        firsts = first.reindex(joined[dup].to_numpy()).astype(str).to_numpy(object)
        what = "la clé primaire" if rule == "primary-key" else "la clé d'unicité"
        msg = (
            "Ligne "
            + r.astype(str).to_numpy(object)
            + f" : {what} ({label}) « "
            + shown[~skip][dup].to_numpy(object)
            + " » est en double (déjà présente ligne "
            + firsts
            + ")."
        )
        frames.append(error_frame(r.to_numpy(), label, rule, shown[~skip][dup].to_numpy(), msg))
    return pd.concat(frames, ignore_index=True) if frames else empty_errors()


def validate_frame(frame: pd.DataFrame, schema: TableSchema) -> Validation:
    """Check a text frame against ``schema``: standard constraints, keys, then custom checks.

    Schema fields absent from the frame are not checked (the structure check reports them), as
    frictionless does with ``schema_sync``; their ``typed`` column is empty.
    """
    from quality.checks import run_custom_checks  # checks reuse this module's parsers

    errors: list[pd.DataFrame] = []
    typed: dict[str, pd.Series] = {}
    keys: dict[str, pd.Series] = {}
    blanked: dict[str, pd.Series] = {}
    for f in schema.fields:
        if f.name not in frame.columns:
            dtype = TYPED_DTYPES.get(f.type, object)
            typed[f.name] = pd.Series([None] * len(frame), index=frame.index, dtype=dtype)
            continue
        col = frame[f.name]
        missing_values = [str(v) for v in f.descriptor.get("missingValues", schema.missing_values)]
        res = _validate_column(col, f, missing_values)
        errors.extend(res.errors)
        typed[f.name] = res.typed
        keys[f.name] = pd.Series(res.key, index=frame.index, dtype=object)
        blanked[f.name] = res.text.where(~res.unusable, "") if res.unusable.any() else res.text

    key_specs = [("primary-key", schema.primary_key, False)] if schema.primary_key else []
    key_specs += [("unique-keys", names, True) for names in schema.unique_keys]
    for rule, names, skip_any_null in key_specs:
        if names and all(n in keys for n in names):
            k = pd.DataFrame({n: keys[n] for n in names})
            t = pd.DataFrame({n: as_text(frame[n]) for n in names})
            errors.append(_key_errors(k, t, names, rule, skip_any_null))

    check_frame = pd.DataFrame(blanked, index=frame.index)
    errors.append(run_custom_checks(check_frame, schema))

    errors = [e for e in errors if not e.empty]
    all_errors = pd.concat(errors, ignore_index=True) if errors else empty_errors()
    if not all_errors.empty:
        order = {n: i for i, n in enumerate(schema.field_names)}
        all_errors["_f"] = all_errors["field"].map(order).fillna(len(order))
        all_errors = (
            all_errors.sort_values(["row", "_f"], kind="stable").drop(columns="_f").reset_index(drop=True)
        )
    typed_frame = pd.DataFrame(typed, index=frame.index)
    invalid = pd.Index(pd.unique(all_errors["row"])) if not all_errors.empty else frame.index[:0]
    invalid = frame.index[frame.index.isin(invalid)]
    return Validation(errors=all_errors, typed=typed_frame, invalid_index=invalid)
