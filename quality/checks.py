"""Validata's custom checks (the schemas' ``custom_checks``), vectorised over a text frame.

Each check is registered under its Validata name and called as ``check(frame, schema, params)``,
returning an errors frame ``[row, field, rule, value, message]``. The frame it receives holds the
schema's columns with missing values and cells of the wrong type blanked to ``""``: a check says
nothing about an empty cell (``required`` decides that), except the checks whose very subject is
emptiness (``one-of-required``, ``cohesive-columns-value``). Semantics follow validata-core and
fr-format (python-stdnum for SIRET/SIREN, ``opening_hours`` for OSM hours, ``phonenumbers``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from quality.schema import TableSchema
from quality.validate import empty_errors, error_frame, factorize_text, messages, parse_column

log = logging.getLogger(__name__)

CheckFn = Callable[[pd.DataFrame, TableSchema, dict[str, Any]], pd.DataFrame]
CHECKS: dict[str, CheckFn] = {}


def register(*names: str) -> Callable[[CheckFn], CheckFn]:
    def wrap(fn: CheckFn) -> CheckFn:
        for name in names:
            CHECKS[name] = fn
        return fn

    return wrap


def run_custom_checks(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Every custom check the schema declares; an unknown check name is logged and skipped."""
    out = []
    for spec in schema.custom_checks:
        fn = CHECKS.get(spec.get("name", ""))
        if fn is None:
            log.warning("schéma %s : contrôle personnalisé inconnu %r ignoré", schema.name, spec.get("name"))
            continue
        out.append(fn(frame, schema, dict(spec.get("params") or {})))
    out = [o for o in out if not o.empty]
    return pd.concat(out, ignore_index=True) if out else empty_errors()


def _filled(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame[column] != ""


def _single(
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


# --------------------------------------------------------------------------- SIRET / SIREN


def _digits(u: pd.Series, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(well-formed mask, digit matrix) after python-stdnum's compaction (spaces and dots dropped)."""
    compact = u.str.replace(r"[ .]", "", regex=True).str.strip()
    ok = compact.str.fullmatch(rf"[0-9]{{{width}}}").fillna(False).to_numpy(bool)
    matrix = np.zeros((len(u), width), dtype=np.int64)
    if ok.any():
        raw = "".join(compact[ok].tolist()).encode("ascii")
        matrix[ok] = np.frombuffer(raw, dtype=np.uint8).reshape(-1, width).astype(np.int64) - 48
    return ok, matrix


def _luhn(matrix: np.ndarray) -> np.ndarray:
    width = matrix.shape[1]
    doubled = (width - 1 - np.arange(width)) % 2 == 1  # every second digit from the right
    d = matrix.copy()
    d[:, doubled] *= 2
    d[d > 9] -= 9
    return d.sum(axis=1) % 10 == 0


def siret_valid(u: pd.Series) -> np.ndarray:
    ok, m = _digits(u, 14)
    # La Poste's establishments share SIREN 356000000 and use "sum of digits % 5" (stdnum), head office aside.
    la_poste = (m[:, :9] == np.array([3, 5, 6, 0, 0, 0, 0, 0, 0])).all(axis=1)
    head_office = (u.str.replace(r"[ .]", "", regex=True).str.strip() == "35600000000048").to_numpy(bool)
    poste_rule = la_poste & ~head_office
    valid = np.where(poste_rule, m.sum(axis=1) % 5 == 0, _luhn(m) & _luhn(m[:, :9]))
    return ok & valid


def siren_valid(u: pd.Series) -> np.ndarray:
    ok, m = _digits(u, 9)
    return ok & _luhn(m)


@register("french-siret-value")
def french_siret_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    return _single(
        frame,
        params["column"],
        "french-siret-value",
        lambda u: ~siret_valid(u),
        "n'est pas un numéro SIRET valide (14 chiffres dont le dernier est une clé de contrôle).",
    )


@register("french-siren-value")
def french_siren_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    return _single(
        frame,
        params["column"],
        "french-siren-value",
        lambda u: ~siren_valid(u),
        "n'est pas un numéro SIREN valide (9 chiffres dont le dernier est une clé de contrôle).",
    )


# --------------------------------------------------------------------------- GPS

# Validata's boxes (metropolitan France and five overseas departments):
# (lon_min, lat_min, lon_max, lat_max).
FRANCE_BOXES = np.array(
    [
        (-61.809839, 15.832041, -61.001959, 16.514488),  # Guadeloupe
        (-61.229033, 14.388646, -60.809655, 14.878723),  # Martinique
        (-54.60239, 2.111055, -51.619041, 5.748138),  # Guyane
        (55.216526, -21.389631, 55.836654, -20.8718),  # La Réunion
        (45.01833, -13.005254, 45.299985, -12.63659),  # Mayotte
        (-5.141277, 41.333571, 9.560091, 51.088989),  # métropole
    ]
)


def in_france(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lon, lat = lon[:, None], lat[:, None]
    b = FRANCE_BOXES
    # strictly inside, as shapely's Point.within a box
    return ((lon > b[:, 0]) & (lat > b[:, 1]) & (lon < b[:, 2]) & (lat < b[:, 3])).any(axis=1)


@register("french-gps-coordinates", "french_gps_coordinates")
def french_gps_coordinates(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    column = params["column"]
    field = schema.field(column)

    def verdict(u: pd.Series) -> np.ndarray:
        parsed = parse_column(u, field)
        lonlat = parsed.key.fillna("nan,nan").str.split(",", expand=True)
        lon = pd.to_numeric(lonlat[0], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(lonlat[1], errors="coerce").to_numpy(float)
        good = in_france(lon, lat)
        swapped = ~good & in_france(lat, lon)
        return np.where(
            good,
            "",
            np.where(
                swapped,
                "semble avoir la longitude et la latitude inversées : les coordonnées inversées tombent en "
                "France, pas celles-ci (ordre attendu : longitude puis latitude).",
                "ne correspond pas à des coordonnées GPS situées en France (longitude, latitude en WGS 84).",
            ),
        ).astype(object)

    return _single(frame, column, "french-gps-coordinates", verdict, None)


# --------------------------------------------------------------------------- periods and columns


@register("year-interval-value")
def year_interval_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    allow_year = str(params.get("allow-year-only", "")).lower() in ("true", "yes")

    def verdict(u: pd.Series) -> np.ndarray:
        parts = u.str.extract(r"^(\d{4})/(\d{4})$")
        interval = parts[0].notna().to_numpy(bool)
        y1 = pd.to_numeric(parts[0], errors="coerce").to_numpy(float)
        y2 = pd.to_numeric(parts[1], errors="coerce").to_numpy(float)
        year_only = u.str.fullmatch(r"\d{4}").fillna(False).to_numpy(bool)
        wrong_format = (
            "n'a pas le format attendu : une année (AAAA) ou une période (AAAA/AAAA)."
            if allow_year
            else "n'a pas le format attendu pour une période (AAAA/AAAA)."
        )
        out = np.full(len(u), "", dtype=object)
        out[~interval & ~(allow_year & year_only)] = wrong_format
        out[interval & (y1 == y2)] = "est une période invalide : les deux années doivent être différentes."
        out[interval & (y1 > y2)] = (
            "est une période invalide : la deuxième année doit être postérieure à la première."
        )
        return out

    return _single(frame, params["column"], "year-interval-value", verdict, None)


def _row_errors(
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


@register("cohesive-columns-value")
def cohesive_columns_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    columns = [c for c in [params["column"], *params.get("othercolumns", [])] if c in frame.columns]
    if len(columns) < 2:
        return empty_errors()
    filled = pd.DataFrame({c: frame[c] != "" for c in columns})
    count = filled.sum(axis=1).to_numpy()
    bad = (count > 0) & (count < len(columns))
    values = frame[columns].agg(" | ".join, axis=1)
    text = f"les colonnes {', '.join(columns)} doivent toutes comporter une valeur ou toutes être vides."
    return _row_errors(frame, bad, params["column"], "cohesive-columns-value", values, text)


_OPS = {">": np.greater, ">=": np.greater_equal, "==": np.equal, "<=": np.less_equal, "<": np.less}
_OP_LABELS = {
    ">": "supérieure",
    ">=": "supérieure ou égale",
    "==": "égale",
    "<=": "inférieure ou égale",
    "<": "inférieure",
}


def _comparable(frame: pd.DataFrame, schema: TableSchema, column: str) -> tuple[pd.Series, pd.Series]:
    """(numeric value or NaN, text key) per cell, from the field's type as frictionless would type it."""
    field = schema.field(column)
    text = frame[column]
    numeric = pd.Series(np.nan, index=frame.index)
    key = text.copy()
    filled = text != ""
    if filled.any() and field.type not in ("string", "any"):
        parsed = parse_column(text[filled], field)
        key[filled] = parsed.key.astype(str).to_numpy(object)
        if field.type in ("number", "integer", "year"):
            numeric[filled] = pd.to_numeric(parsed.key, errors="coerce").to_numpy(float)
    elif filled.any():
        numeric[filled] = pd.to_numeric(text[filled], errors="coerce").to_numpy(float)
    return numeric, key


@register("compare-columns-value")
def compare_columns_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    c1, c2, op = params["column"], params["column2"], params.get("op", "")
    if c1 not in frame.columns or c2 not in frame.columns or op not in _OPS:
        if op not in _OPS:
            log.warning("compare-columns-value : opérateur %r non géré", op)
        return empty_errors()
    both = ((frame[c1] != "") & (frame[c2] != "")).to_numpy(bool)
    n1, k1 = _comparable(frame, schema, c1)
    n2, k2 = _comparable(frame, schema, c2)
    numeric = both & n1.notna().to_numpy(bool) & n2.notna().to_numpy(bool)
    t1, t2 = schema.field(c1).type, schema.field(c2).type
    typed_numeric = {"number", "integer", "year"}
    # A typed number against a typed date (say) cannot be compared: Validata says so.
    incomparable = (
        both
        & ~numeric
        & (((t1 in typed_numeric) ^ (t2 in typed_numeric)) & (t1 != "string") & (t2 != "string"))
    )
    with np.errstate(invalid="ignore"):
        num_ok = _OPS[op](n1.to_numpy(float), n2.to_numpy(float))
    str_ok = _OPS[op](k1.to_numpy(object).astype(str), k2.to_numpy(object).astype(str))
    good = np.where(numeric, num_ok, str_ok)
    bad = both & ~incomparable & ~good
    v1, v2 = frame[c1].to_numpy(object), frame[c2].to_numpy(object)
    text = np.where(
        incomparable,
        "la valeur « " + v1 + f" » n'est pas comparable avec celle de la colonne « {c2} » (« " + v2 + " »).",
        "la valeur « "
        + v1
        + f" » devrait être {_OP_LABELS[op]} à celle de la colonne « {c2} » (« "
        + v2
        + " »).",
    )
    return _row_errors(frame, bad | incomparable, c1, "compare-columns-value", frame[c1], text)


@register("sum-columns-value")
def sum_columns_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    column, columns = params["column"], list(params.get("columns", []))
    if column not in frame.columns or any(c not in frame.columns for c in columns) or len(columns) < 2:
        return empty_errors()
    parts = [column, *columns]
    ints = pd.DataFrame({c: frame[c].str.fullmatch(r"\d+").fillna(False) for c in parts})
    checkable = ints.all(axis=1).to_numpy(bool)
    values = pd.DataFrame({c: pd.to_numeric(frame[c].where(ints[c], "0")) for c in parts})
    total = values[columns].sum(axis=1).to_numpy()
    bad = checkable & (total != values[column].to_numpy())
    text = (
        f"la somme des colonnes {', '.join(columns)} vaut "
        + pd.Series(total).astype(str).to_numpy(object)
        + f", différente de la valeur de « {column} » ("
        + frame[column].to_numpy(object)
        + ")."
    )
    return _row_errors(frame, bad, column, "sum-columns-value", frame[column], text)


@register("one-of-required")
def one_of_required(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    c1, c2 = params["column1"], params["column2"]
    bad = ~(_filled(frame, c1) | _filled(frame, c2)).to_numpy(bool)
    values = pd.Series("", index=frame.index)
    text = f"au moins une des colonnes « {c1} » ou « {c2} » doit être renseignée."
    return _row_errors(frame, bad, c1, "one-of-required", values, text)


# --------------------------------------------------------------------------- formats from libraries


@register("opening-hours-value")
def opening_hours_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    import opening_hours  # opening-hours-py, the parser Validata uses

    return _single(
        frame,
        params["column"],
        "opening-hours-value",
        lambda u: np.array([not opening_hours.validate(v) for v in u], dtype=bool),
        "n'est pas une définition d'horaires d'ouverture correcte (syntaxe OpenStreetMap opening_hours, "
        "ex. « Mo-Fr 08:30-12:00,14:00-17:30 »).",
    )


def phone_valid(value: str) -> bool:
    """French number (short numbers included) or international one with its country prefix."""
    import phonenumbers  # Google's libphonenumber port, as Validata

    for region in ("FR", None):
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number) or (region and phonenumbers.is_valid_short_number(number)):
            return True
    return False


@register("phone-number-value")
def phone_number_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    return _single(
        frame,
        params["column"],
        "phone-number-value",
        lambda u: np.array([not phone_valid(v) for v in u], dtype=bool),
        "n'est pas un numéro de téléphone valide (numéro français à 10 chiffres, numéro court, "
        "ou international avec l'indicatif du pays, ex. +33 1 99 00 27 37).",
    )


ACTES_PREFIXES = {
    "Commande publique",
    "Urbanisme",
    "Domaine et patrimoine",
    "Fonction publique",
    "Institutions et vie politique",
    "Libertés publiques et pouvoirs de police",
    "Finances locales",
    "Domaines de compétences par thèmes",
    "Autres domaines de compétences",
}


def _fold(s: pd.Series) -> pd.Series:
    """Lower case without accents, as fr-format compares nomenclature prefixes."""
    return s.map(
        lambda v: "".join(c for c in unicodedata.normalize("NFD", v) if not unicodedata.combining(c)).lower()
    )


@register("nomenclature-actes-value")
def nomenclature_actes_value(
    frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]
) -> pd.DataFrame:
    allowed = set(_fold(pd.Series(sorted(ACTES_PREFIXES))))

    def verdict(u: pd.Series) -> np.ndarray:
        has_slash = u.str.contains("/", regex=False).to_numpy(bool)
        prefix = u.str.split("/", n=1).str[0]
        known = _fold(prefix).isin(allowed).to_numpy(bool)
        spaced = u.str.contains(re.escape("/ "), regex=True).to_numpy(bool) | (
            has_slash & ~known & _fold(prefix.str.rstrip()).isin(allowed).to_numpy(bool)
        )
        out = np.full(len(u), "", dtype=object)
        out[has_slash & ~known] = (
            "ne commence pas par une matière de la nomenclature Actes ("
            + ", ".join(sorted(ACTES_PREFIXES))
            + ")."
        )
        out[spaced] = ": la barre oblique « / » ne doit être ni précédée ni suivie d'une espace."
        out[~has_slash] = (
            "ne suit pas la nomenclature Actes « Matière/Sous-matière » : la barre oblique « / » manque."
        )
        return out

    return _single(frame, params["column"], "nomenclature-actes-value", verdict, None)
