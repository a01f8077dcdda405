"""Staged frame → harmonised frame: producer columns matched to schema fields, cells normalised.

Headers are matched to fields first (:mod:`assets.harmonise.headers`: mapping, names, titles,
aliases, crosswalks, near matches); combined and split columns are then built, and each field's
cells normalised by its type (:mod:`assets.harmonise.normalise`).

Value aliases (``values:`` in the aliases file: « Numéraire » → « aide en numéraire ») are applied
after the type's normalisations and counted; identifiers that a spreadsheet turned into numbers get
their lost leading zeros back only when the padded value passes the identifier's own check (SIRET,
SIREN: :mod:`assets.harmonise.identifier_zeros`).

Nothing is dropped: source columns that match no field are returned as ``extra`` with the same index,
and invalid cells are left as they came for the validator to quarantine with their original value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from assets.harmonise.aliases import value_aliases
from assets.harmonise.geojson_cells import geojson_cells
from assets.harmonise.geometry import (
    Points,
    format_degrees,
    outside_territory,
    points_from_xy,
    points_to_ewkt,
)
from assets.harmonise.headers import HeaderMatch, match_headers
from assets.harmonise.identifier_zeros import checked_identifiers, restore_zeros
from assets.harmonise.normalise.column import normalise_column
from assets.harmonise.normalise.words import fold
from quality.errors import ERROR_COLUMNS


@dataclass
class Harmonised:
    frame: pd.DataFrame  # same index as the staged frame; exactly the schema's fields, in order
    extra: pd.DataFrame  # source columns that feed no field, same index
    normalisations: dict[str, int]  # kind -> cells changed
    header_match: HeaderMatch
    version_read: str
    warnings: list[str]
    errors: pd.DataFrame  # [row, field, rule, value, message], as the validator's errors
    outside_territory: dict[str, list] = field(default_factory=dict)  # geopoint field -> row labels


# Custom checks that declare a field to be a numeric code, so it is normalised like one even when the
# field itself carries no pattern (SCDL's idBeneficiaire is only checked by french-siret-value).
CODE_CHECKS = {"french-siret-value": r"^\d{14}$", "french-siren-value": r"^\d{9}$"}


def identifier_patterns(schema: Any) -> dict[str, str]:
    """Field -> digits pattern implied by the schema's custom checks."""
    patterns: dict[str, str] = {}
    for check in getattr(schema, "custom_checks", None) or []:
        pattern = CODE_CHECKS.get(check.get("name", ""))
        column = (check.get("params") or {}).get("column")
        if pattern and column:
            patterns[column] = pattern
    return patterns


def _combine(frame: pd.DataFrame, sources: list[str], joiner: str) -> pd.Series:
    parts = [frame[c].astype(str).str.strip() for c in sources]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + joiner + part
    # Drop the joiner only where trailing parts are empty, so "début/" becomes "début" while "/fin"
    # stays visibly incomplete for the validator.
    trailing = re.escape(joiner) + "*$" if len(joiner) == 1 else f"(?:{re.escape(joiner)})*$"
    joined = joined.str.replace(trailing, "", regex=True)
    return joined.where(joined.str.strip(joiner) != "", "")


def harmonise(frame: pd.DataFrame, schema: Any, mapping: dict[str, str] | None = None) -> Harmonised:
    """Rename, combine and normalise a staged frame into the schema's fields (see module docstring)."""
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    match = match_headers(columns, schema, mapping)
    empty = pd.Series("", index=frame.index, dtype=object)
    data: dict[str, pd.Series] = {}
    for source, target in match.fields.items():
        data[target] = frame[source]
    for target, (sources, joiner) in match.combined.items():
        data[target] = _combine(frame, sources, joiner)
    for source, pattern in match.split.items():
        parts = frame[source].astype(str).str.extract(pattern)
        for target in parts.columns:
            if target in schema.field_names and target not in data:
                data[target] = parts[target].fillna("")
    for target, value in match.defaults.items():
        data[target] = pd.Series(value, index=frame.index, dtype=object)

    digits = identifier_patterns(schema)
    zero_checks = checked_identifiers(schema)
    values = value_aliases(Path(str(getattr(schema, "path", "") or "")).parent.name)
    counts: dict[str, int] = {}
    warnings = list(match.warnings)
    errors: list[pd.DataFrame] = []
    territory: dict[str, list] = {}
    out: dict[str, pd.Series] = {}
    for fld in schema.fields:
        series = data.get(fld.name)
        if series is None:
            out[fld.name] = empty
            continue
        if series.dtype != "str" and pd.api.types.infer_dtype(series, skipna=False) != "string":
            series = series.astype(str)  # text already (a staged frame's columns) is not copied
        series, changed = normalise_column(series, fld, digits.get(fld.name))
        if fld.name in zero_checks:
            series, n = restore_zeros(series, zero_checks[fld.name])
            changed = {**changed, "identifier-zeros": n} if n else changed
        if fld.name in values:
            series, n = _apply_value_aliases(series, values[fld.name])
            changed = {**changed, "value-alias": n} if n else changed
        if fld.type == "geojson":
            series, n = geojson_cells(series)
            changed = {**changed, "geometry-geojson": n} if n else changed
        if fld.type == "geopoint":
            points = points_to_ewkt(series)
            # The cell keeps the field's own lexical form (the validator reads ``[lon, lat]`` for an
            # array geopoint and types it to EWKT), with the coordinates fixed.
            fixed = series.where(~points.parsed, _geopoint_text(points.lon, points.lat, fld.format))
            changed.update({k: v for k, v in points.counts.items() if k != "geometry"})
            changed["geometry"] = int((fixed != series).sum())
            series = fixed
            errors.append(_outside_france_errors(points.outside_france, data[fld.name], fld.name))
            rows = _outside_territory(points)
            if rows:
                territory[fld.name] = rows
                warnings.append(_territory_warning(rows, f"de la colonne « {fld.name} »"))
        for kind, n in changed.items():
            counts[kind] = counts.get(kind, 0) + n
        out[fld.name] = series.astype(object)

    for name, (lon, lat) in getattr(schema, "point_fields", {}).items():
        if lon not in data or lat not in data:
            continue  # the structure check reports the missing column; no point without both
        points = points_from_xy(out[lon], out[lat])
        out[name] = (
            out[lon]
            .where(~points.parsed, _geopoint_text(points.lon, points.lat, None))
            .where(points.parsed, "")
        )
        for kind, n in points.counts.items():
            if kind != "geometry":  # building the point is not a change to the producer's cells
                counts[kind] = counts.get(kind, 0) + n
        # Reprojected or swapped pairs are rewritten in their own columns so lon/lat agree with the point.
        given_lon = pd.to_numeric(out[lon].str.replace(",", ".", regex=False), errors="coerce")
        given_lat = pd.to_numeric(out[lat].str.replace(",", ".", regex=False), errors="coerce")
        moved = (
            points.parsed
            & ~points.outside_france
            & ((given_lon - points.lon).abs() + (given_lat - points.lat).abs() > 1e-9)
        )
        if moved.any():
            out[lon] = out[lon].where(
                ~moved, pd.Series(format_degrees(points.lon[moved].to_numpy()), index=moved[moved].index)
            )
            out[lat] = out[lat].where(
                ~moved, pd.Series(format_degrees(points.lat[moved].to_numpy()), index=moved[moved].index)
            )
            counts["coordinates"] = counts.get("coordinates", 0) + 2 * int(moved.sum())
        pair = data[lon].astype(str) + ", " + data[lat].astype(str)
        errors.append(_outside_france_errors(points.outside_france, pair, lon, columns=(lon, lat)))
        rows = _outside_territory(points)
        if rows:
            territory[name] = rows
            warnings.append(_territory_warning(rows, f"des colonnes « {lon} » / « {lat} »"))

    harmonised = pd.DataFrame(out, index=frame.index, columns=list(schema.field_names))
    kept_aside = match.unmatched
    extra = frame[kept_aside].astype(object) if kept_aside else pd.DataFrame(index=frame.index)
    error_frame = pd.concat(errors, ignore_index=True) if errors else pd.DataFrame(columns=ERROR_COLUMNS)
    return Harmonised(
        frame=harmonised,
        extra=extra,
        normalisations=counts,
        header_match=match,
        version_read=match.version_read,
        warnings=warnings,
        errors=error_frame,
        outside_territory=territory,
    )


def _apply_value_aliases(series: pd.Series, aliases: dict[str, str]) -> tuple[pd.Series, int]:
    """Values written as a declared alias (case, accents and spaces aside) replaced by the canonical one."""
    text = series.astype(str)
    canonical = text.map(lambda v: aliases.get(fold(v)) if v else None)
    hit = canonical.notna() & (canonical != text)
    if not hit.any():
        return series, 0
    out = series.astype(object).copy()
    out[hit] = canonical[hit]
    return out, int(hit.sum())


def _geopoint_text(lon: pd.Series, lat: pd.Series, fmt: str | None) -> pd.Series:
    """Coordinates written as a Table Schema geopoint of format ``fmt`` (default ``lon,lat``)."""
    index = lon.index
    known = lon.notna() & lat.notna()
    x = pd.Series("", index=index, dtype=object)
    y = pd.Series("", index=index, dtype=object)
    if known.any():
        x[known] = format_degrees(lon[known].to_numpy())
        y[known] = format_degrees(lat[known].to_numpy())
    if fmt == "array":
        return "[" + x + ", " + y + "]"
    if fmt == "object":
        return '{"lon": ' + x + ', "lat": ' + y + "}"
    return x + "," + y


def _outside_territory(points: Points) -> list:
    inside_france = points.parsed & ~points.outside_france
    return outside_territory(points.lon[inside_france], points.lat[inside_france])


def _territory_warning(rows: list, where: str) -> str:
    shown = ", ".join(str(r) for r in rows[:20]) + (" …" if len(rows) > 20 else "")
    return (
        f"{len(rows)} point(s) {where} hors du territoire de Tours Métropole Val de Loire "
        f"(lignes {shown}) : à vérifier."
    )


def _outside_france_errors(
    outside: pd.Series, original: pd.Series, name: str, columns: tuple[str, str] | None = None
) -> pd.DataFrame:
    rows = outside[outside].index
    values = original.loc[rows].astype(str)
    where = f"colonnes « {columns[0]} » / « {columns[1]} »" if columns else f"colonne « {name} »"
    return pd.DataFrame(
        {
            "row": pd.Series(rows, dtype="int64"),
            "field": name,
            "rule": "outside-france",
            "value": values.to_numpy(),
            "message": [
                f"Ligne {r}, {where} : le point « {v} » n'est pas en France (ni en inversant "
                "longitude et latitude)."
                for r, v in zip(rows, values, strict=True)
            ],
        },
        columns=ERROR_COLUMNS,
    )
