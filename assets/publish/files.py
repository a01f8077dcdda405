"""Publication files of one dataset: CSV, GeoJSON and (Geo)Parquet, each written atomically.

Pure functions, no Dagster. A portal or a person may download a file at any moment, so a file is
never visible half-written: every format is first written to a temporary file in the publication
folder, flushed to disk, and only once ALL formats are written are they moved into place with
``os.replace`` (atomic on POSIX within one file system). A failure leaves the previous publication
untouched and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from assets.publish.lexical import to_lexical
from quality.atomic import fsync_dir, fsync_file, size_and_sha256, temp_path
from quality.schema import TableSchema

CSV = "CSV"
GEOJSON = "GeoJSON"
PARQUET = "Parquet"

# IANA media types (application/vnd.apache.parquet registered in 2024).
MEDIA_TYPES = {
    CSV: "text/csv",
    GEOJSON: "application/geo+json",
    PARQUET: "application/vnd.apache.parquet",
}
EXTENSIONS = {CSV: "csv", GEOJSON: "geojson", PARQUET: "parquet"}

# OWASP "CSV injection": a cell starting with one of these is read as a formula by spreadsheets.
_FORMULA_START = r"^[=+\-@\t\r]"
# A plain decimal number cannot call a function nor reach DDE; leaving "-12.5" alone keeps negative
# amounts that harmonised frames still carry as text (canonical lexical form) readable as numbers.
_PLAIN_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_EWKT = r"^\s*(?:SRID=(\d+);)?(.*)$"


@dataclass(frozen=True)
class PublishedFile:
    """One file of a publication, as written: what the catalogue says about it."""

    path: Path
    format: str  # "CSV" | "GeoJSON" | "Parquet"
    media_type: str
    byte_size: int
    sha256: str


def write_publication(
    frame: pd.DataFrame,
    dataset: str,
    publish_dir: Path,
    *,
    geometry_column: str | None = None,
    schema: TableSchema | None = None,
) -> list[PublishedFile]:
    """Write ``<dataset>.csv`` (+ ``.geojson``) + ``.parquet`` into ``publish_dir``, atomically.

    ``geometry_column`` (EWKT text ``SRID=4326;POINT(lon lat)`` or shapely geometries) makes the
    dataset geographic: a GeoJSON (RFC 7946) file is added and the Parquet file is a GeoParquet.
    ``schema`` (the one the catalogue says the files conform to) puts every CSV value in its field's
    lexical form (``assets/publish/lexical.py``) and gives Parquet and GeoJSON the field's type: integers stay
    integers even with nulls, arrays and objects are JSON.
    """
    publish_dir = Path(publish_dir)
    publish_dir.mkdir(parents=True, exist_ok=True)
    typed = _typed(frame, schema)
    geo = _geodataframe(typed, geometry_column) if geometry_column else None

    writers = [(CSV, lambda path: _write_csv(frame, path, schema))]
    if geo is not None:
        writers.append((GEOJSON, lambda path: _write_geojson(geo, path, dataset, schema)))
        writers.append((PARQUET, lambda path: geo.to_parquet(path, index=False)))
    else:
        writers.append((PARQUET, lambda path: typed.to_parquet(path, index=False, engine="pyarrow")))

    staged: list[tuple[str, Path, Path]] = []
    try:
        for fmt, write in writers:
            final = publish_dir / f"{dataset}.{EXTENSIONS[fmt]}"
            temp = temp_path(final)
            staged.append((fmt, temp, final))
            write(temp)
            fsync_file(temp)
        published = []
        for fmt, temp, final in staged:
            size, digest = size_and_sha256(temp)
            os.replace(temp, final)
            published.append(PublishedFile(final, fmt, MEDIA_TYPES[fmt], size, digest))
        fsync_dir(publish_dir)
        return published
    finally:
        for _, temp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


def neutralise_formulas(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula, prefixed with ``'`` (OWASP CSV injection).

    Only text columns are touched: a float or integer column cannot hold a formula, and prefixing its
    negative values would turn numbers into text for every consumer. Inside text columns, a cell that
    is a plain decimal number (``-12.5``) is left alone for the same reason.
    """
    out = frame.copy()
    for column in out.columns if columns is None else columns:
        series = out[column]
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        text = series.astype("string")
        risky = text.str.match(_FORMULA_START, na=False) & ~text.str.fullmatch(_PLAIN_NUMBER, na=False)
        if risky.any():
            out[column] = series.mask(risky, "'" + text)
    return out


def _write_csv(frame: pd.DataFrame, path: Path, schema: TableSchema | None) -> None:
    out = to_lexical(frame, schema)
    out = neutralise_formulas(out, _free_columns(out.columns, schema))
    # UTF-8 without BOM: a BOM becomes part of the first header for csv, frictionless, Validata and
    # most ETLs, so the first column would no longer match its schema field. RFC 4180: CRLF, quotes
    # only where needed (separator, quote, line break in the cell), doubled inner quotes.
    out.to_csv(
        path,
        index=False,
        encoding="utf-8",
        lineterminator="\r\n",
        quoting=csv.QUOTE_MINIMAL,
        doublequote=True,
    )


def _free_columns(columns: pd.Index, schema: TableSchema | None) -> list[str]:
    """Columns a formula could hide in: text with no constraint on its form. A field with a type,
    format, pattern or enum holds only what the schema allows, and prefixing it would break the very
    form the file promises (a geopoint ``-1.2,47.3``, a phone ``+33…`` a pattern accepts)."""
    if schema is None:
        return list(columns)
    free = []
    for column in columns:
        if column not in schema.field_names:
            free.append(column)
            continue
        field = schema.field(column)
        constrained = field.format not in (None, "default") or {"pattern", "enum"} & set(field.constraints)
        if field.type in ("string", "any") and not constrained:
            free.append(column)
    return free


def _typed(frame: pd.DataFrame, schema: TableSchema | None) -> pd.DataFrame:
    """The frame with each schema field in its type for Parquet: integers as Int64 (pandas reads a
    bigint column with a null as float), booleans as nullable booleans, arrays and objects as JSON
    text (a JSON column mixes shapes Parquet cannot type)."""
    if schema is None:
        return frame
    out = frame.copy()
    for column in out.columns:
        if column not in schema.field_names:
            continue
        kind = schema.field(column).type
        values = out[column]
        if kind in ("integer", "year") and not pd.api.types.is_integer_dtype(values):
            out[column] = values.astype("Int64")
        elif kind == "boolean" and not pd.api.types.is_bool_dtype(values):
            out[column] = values.astype("boolean")
        elif kind in ("array", "object"):
            out[column] = values.map(
                lambda v: v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            )
    return out


def _write_geojson(geo: gpd.GeoDataFrame, path: Path, name: str, schema: TableSchema | None) -> None:
    """RFC 7946: WGS84 lon/lat, no ``crs`` member, right-hand-rule rings.

    Written with the json module rather than GDAL: GDAL hands strings to C and cuts them at the first
    NUL (``"a\u0000b"`` became ``"a"``); json escapes every character, and a value it cannot encode
    (a lone surrogate) makes the publication fail instead of shipping a changed value.
    """
    geometries = shapely.orient_polygons(geo.geometry.to_numpy(), exterior_cw=False)
    shapes = shapely.to_geojson(geometries)
    properties = geo.drop(columns=[geo.geometry.name])
    columns = {c: _json_values(properties[c], schema, c) for c in properties.columns}
    features = [
        {
            "type": "Feature",
            "properties": {c: values[i] for c, values in columns.items()},
            "geometry": json.loads(shape) if shape is not None else None,
        }
        for i, shape in enumerate(shapes)
    ]
    document = {"type": "FeatureCollection", "name": name, "features": features}
    try:
        data = json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError) as exc:
        raise ValueError(f"valeur impossible à écrire telle quelle en GeoJSON ({name}) : {exc}") from None
    with open(path, "wb") as handle:
        handle.write(data)


def _json_values(values: pd.Series, schema: TableSchema | None, column: str) -> list[Any]:
    """A column as JSON values: null for missing, numbers as numbers, dates as ISO text, arrays and
    objects as JSON (not as the text that holds them)."""
    kind = schema.field(column).type if schema is not None and column in schema.field_names else None
    out = []
    for value in values.astype(object).tolist():
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            out.append(None)
        elif isinstance(value, np.generic):
            out.append(value.item())
        elif isinstance(value, pd.Timestamp | datetime | date | time):
            out.append(value.isoformat())
        elif kind in ("array", "object") and isinstance(value, str):
            out.append(json.loads(value))
        else:
            out.append(value)
    return out


def _is_text(values: pd.Series) -> bool:
    return pd.api.types.infer_dtype(values, skipna=True) in {"string", "empty"}


def _as_geometries(values: pd.Series) -> gpd.GeoSeries:
    """Shapely geometries in EPSG:4326 from EWKT text or shapely objects (vectorised)."""
    if not _is_text(values):
        return gpd.GeoSeries(values, index=values.index, crs="EPSG:4326")
    text = values.astype("string").fillna("")
    parts = text.str.extract(_EWKT)
    srids = set(parts[0].dropna().unique())
    if len(srids) > 1:
        raise ValueError(f"géométries de systèmes différents dans une même colonne : {sorted(srids)}")
    wkt = parts[1].str.strip()
    wkt = wkt.astype(object).where(wkt.notna() & (wkt != ""), None)
    geometries = shapely.from_wkt(wkt.to_numpy(dtype=object), on_invalid="raise")
    srid = int(srids.pop()) if srids else 4326
    return gpd.GeoSeries(geometries, index=values.index, crs=f"EPSG:{srid}").to_crs("EPSG:4326")


def _geodataframe(frame: pd.DataFrame, geometry_column: str) -> gpd.GeoDataFrame:
    if geometry_column not in frame.columns:
        raise KeyError(f"colonne de géométrie absente : {geometry_column}")
    geometry = _as_geometries(frame[geometry_column])
    geo = gpd.GeoDataFrame(frame.drop(columns=[geometry_column]), geometry=geometry, crs="EPSG:4326")
    return geo.rename_geometry(geometry_column) if geometry_column != "geometry" else geo
