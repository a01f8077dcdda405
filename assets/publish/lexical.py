"""Typed published values back into the lexical form their Table Schema field declares.

``published.<table>`` stores typed values (bigint, boolean, numeric, date, geometry, jsonb); a file
for the portal must hold text a schema validator reads back to the same value. pandas alone writes
``29.0`` for an integer column that has a null, ``False`` for a boolean and ``SRID=4326;POINT(…)`` for
a geopoint: each fails the schema the catalogue says the file conforms to. Pure, vectorised per
column; no Dagster.

Choices, per Table Schema type (https://specs.frictionlessdata.io/table-schema/):

- boolean: the first of the field's ``trueValues`` / ``falseValues`` (``oui``/``non`` in SCDL), or the
  specification's defaults ``true``/``false``. The producer's own spelling is not stored once typed;
  the first listed value is the schema's preferred one.
- integer, year: digits only, never ``.0``.
- number: the shortest decimal text that reads back to the same float64 (``0.1`` stays ``0.1``),
  positional rather than exponent, with the field's ``decimalChar``.
- date, datetime, time: ISO 8601, or the field's ``format`` pattern when it gives one.
- geopoint: the field's ``format``: ``default`` → ``lon,lat``, ``array`` → ``[lon, lat]``,
  ``object`` → ``{"lon": …, "lat": …}``; geojson fields as a GeoJSON geometry.
- array, object: JSON text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd
import shapely

from quality.schema import Field, TableSchema

DEFAULT_TRUE = "true"
DEFAULT_FALSE = "false"
_EWKT = re.compile(r"^\s*(?:SRID=\d+;)?(.*)$", re.DOTALL)


def to_lexical(frame: pd.DataFrame, schema: TableSchema | None) -> pd.DataFrame:
    """``frame`` with every schema field as text in its lexical form; missing values as ``""``.

    Columns that are not schema fields (lineage, or every column when ``schema`` is None) are turned
    into text by their dtype: integers without ``.0``, booleans ``true``/``false``. The index is kept.
    """
    names = set(schema.field_names) if schema is not None else set()
    return pd.DataFrame(
        {c: lexical_values(frame[c], schema.field(c) if c in names else None) for c in frame.columns},
        index=frame.index,
    )


def lexical_values(values: pd.Series, field: Field | None) -> pd.Series:
    """One column in its lexical form (see module doc); ``field`` None: plain text."""
    kind = field.type if field is not None else _guess_kind(values)
    missing = _missing(values)
    present = values[~missing]
    if present.empty:
        return pd.Series("", index=values.index, dtype=object)
    converter = _CONVERTERS.get(kind, _as_text)
    text = converter(present, field)
    return pd.Series("", index=values.index, dtype=object).where(missing, text.reindex(values.index))


def boolean_words(field: Field | None) -> tuple[str, str]:
    """The words a boolean field is written with: the first of ``trueValues`` and ``falseValues``."""
    descriptor = field.descriptor if field is not None else {}
    trues = descriptor.get("trueValues") or [DEFAULT_TRUE]
    falses = descriptor.get("falseValues") or [DEFAULT_FALSE]
    return str(trues[0]), str(falses[0])


def shortest_number(value: float) -> str:
    """The shortest positional decimal that reads back to ``value`` (``0.1`` → ``0.1``, ``40000.0`` →
    ``40000``)."""
    return np.format_float_positional(float(value), unique=True, trim="-")


def point_text(lon: float, lat: float, form: str | None) -> str:
    """A geopoint in a field's format: ``default`` → ``lon,lat``, ``array``, ``object``."""
    x, y = shortest_number(lon), shortest_number(lat)
    if form == "array":
        return f"[{x}, {y}]"
    if form == "object":
        return f'{{"lon": {x}, "lat": {y}}}'
    return f"{x},{y}"


def _missing(values: pd.Series) -> pd.Series:
    missing = values.isna()
    if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
        missing |= values.map(lambda v: isinstance(v, str) and v == "").astype(bool)
    return missing.astype(bool)


def _guess_kind(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_integer_dtype(values):
        return "integer"
    if pd.api.types.is_float_dtype(values):
        # A column of whole numbers read back with a null (pandas turns bigint + NULL into float).
        finite = values.dropna()
        return "integer" if (finite == np.floor(finite)).all() else "number"
    return "string"


def _as_text(values: pd.Series, field: Field | None) -> pd.Series:
    return values.map(lambda v: v if isinstance(v, str) else str(v))


def _boolean(values: pd.Series, field: Field | None) -> pd.Series:
    true_word, false_word = boolean_words(field)
    trues, falses = _boolean_sets(field)

    def word(value: Any) -> str:
        if isinstance(value, str):
            # Already text: a value of the field's lists stays as the producer wrote it.
            if value in trues or value in falses:
                return value
            raise ValueError(f"valeur booléenne illisible : {value!r}")
        return true_word if bool(value) else false_word

    return values.map(word)


def _boolean_sets(field: Field | None) -> tuple[set[str], set[str]]:
    descriptor = field.descriptor if field is not None else {}
    trues = descriptor.get("trueValues") or ["true", "True", "TRUE", "1"]
    falses = descriptor.get("falseValues") or ["false", "False", "FALSE", "0"]
    return set(map(str, trues)), set(map(str, falses))


def _integer(values: pd.Series, field: Field | None) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        whole = values.astype("float64") if pd.api.types.is_float_dtype(values) else values
        if pd.api.types.is_float_dtype(whole) and not (whole == np.floor(whole)).all():
            raise ValueError(f"nombre non entier dans le champ entier {values.name!r}")
        return whole.astype("Int64").astype(str)
    return values.map(lambda v: str(int(v)) if not isinstance(v, str) else v)


def _number(values: pd.Series, field: Field | None) -> pd.Series:
    decimal = (field.descriptor.get("decimalChar") if field is not None else None) or "."

    def text(value: Any) -> str:
        if isinstance(value, str):
            return value  # harmonised text is already the canonical form
        out = shortest_number(value)
        return out.replace(".", decimal) if decimal != "." else out

    return values.map(text)


def _temporal(values: pd.Series, field: Field | None) -> pd.Series:
    form = field.format if field is not None else None
    pattern = form if form and "%" in form else None

    def text(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        return value.strftime(pattern) if pattern else value.isoformat()

    return values.map(text)


def _duration(values: pd.Series, field: Field | None) -> pd.Series:
    return values.map(lambda v: v if isinstance(v, str) else pd.Timedelta(v).isoformat())


def _json(values: pd.Series, field: Field | None) -> pd.Series:
    return values.map(lambda v: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))


def _geometries(values: pd.Series) -> np.ndarray:
    """Shapely geometries from EWKT text (the warehouse's) or shapely objects."""
    if all(isinstance(v, str) for v in values):
        wkt = values.map(lambda v: _EWKT.match(v).group(1).strip())
        return shapely.from_wkt(wkt.to_numpy(dtype=object), on_invalid="raise")
    return np.asarray(values.to_numpy(dtype=object))


def _geopoint(values: pd.Series, field: Field | None) -> pd.Series:
    form = field.format if field is not None else None
    if all(isinstance(v, str) and not v.lstrip().upper().startswith(("SRID", "POINT")) for v in values):
        return values  # harmonised text, already in the field's form
    geometries = _geometries(values)
    xs, ys = shapely.get_x(geometries), shapely.get_y(geometries)
    return pd.Series([point_text(x, y, form) for x, y in zip(xs, ys, strict=True)], index=values.index)


def _geojson(values: pd.Series, field: Field | None) -> pd.Series:
    if all(isinstance(v, str) and v.lstrip().startswith("{") for v in values):
        return values
    return pd.Series(shapely.to_geojson(_geometries(values)), index=values.index)


_CONVERTERS = {
    "boolean": _boolean,
    "integer": _integer,
    "year": _integer,
    "number": _number,
    "date": _temporal,
    "datetime": _temporal,
    "time": _temporal,
    "duration": _duration,
    "array": _json,
    "object": _json,
    "geopoint": _geopoint,
    "geojson": _geojson,
}
