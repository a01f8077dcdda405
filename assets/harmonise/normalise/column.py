"""A column's normalisations: every one its field's Table Schema type and constraints call for.

Run once per distinct value and fanned out to the cells, counted per kind (``KIND_LABELS_FR`` names
each kind in the reports).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assets.harmonise.normalise.dates import (
    expects_period,
    normalise_date,
    normalise_datetime,
    normalise_period,
)
from assets.harmonise.normalise.numbers import (
    digit_code_length,
    normalise_identifier,
    normalise_integer,
    normalise_number,
    normalise_percent,
)
from assets.harmonise.normalise.rewrites import changed_cells
from assets.harmonise.normalise.words import normalise_boolean, normalise_enum
from quality.validate import factorize_text

# Whitespace seen around cells of real files: NBSP and narrow NBSP (French typography), BOM, zero-width.
STRIP_CHARS = " \t\r\n\u00a0\u202f\u2007\u2009\ufeff\u200b\u3000"

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


def strip_whitespace(series: pd.Series) -> tuple[pd.Series, int]:
    new = series.str.strip(STRIP_CHARS)
    return new, changed_cells(series, new)


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
