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
import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

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
) -> list[PublishedFile]:
    """Write ``<dataset>.csv`` (+ ``.geojson``) + ``.parquet`` into ``publish_dir``, atomically.

    ``geometry_column`` (EWKT text ``SRID=4326;POINT(lon lat)`` or shapely geometries) makes the
    dataset geographic: a GeoJSON (RFC 7946) file is added and the Parquet file is a GeoParquet.
    """
    publish_dir = Path(publish_dir)
    publish_dir.mkdir(parents=True, exist_ok=True)
    geo = _geodataframe(frame, geometry_column) if geometry_column else None

    writers = [(CSV, lambda path: _write_csv(frame, path, geometry_column))]
    if geo is not None:
        writers.append((GEOJSON, lambda path: _write_geojson(geo, path, dataset)))
        writers.append((PARQUET, lambda path: geo.to_parquet(path, index=False)))
    else:
        writers.append((PARQUET, lambda path: frame.to_parquet(path, index=False, engine="pyarrow")))

    staged: list[tuple[str, Path, Path]] = []
    try:
        for fmt, write in writers:
            final = publish_dir / f"{dataset}.{EXTENSIONS[fmt]}"
            temp = _temp_path(final)
            staged.append((fmt, temp, final))
            write(temp)
            _fsync_file(temp)
        published = []
        for fmt, temp, final in staged:
            size, digest = _size_and_sha256(temp)
            os.replace(temp, final)
            published.append(PublishedFile(final, fmt, MEDIA_TYPES[fmt], size, digest))
        _fsync_dir(publish_dir)
        return published
    finally:
        for _, temp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


def write_bytes_atomically(data: bytes, path: Path) -> tuple[int, str]:
    """Write ``data`` to ``path`` so readers see the old or the new content, never a part.

    Returns ``(byte_size, sha256)`` of what was written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_path(path)
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return len(data), hashlib.sha256(data).hexdigest()


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula, prefixed with ``'`` (OWASP CSV injection).

    Only text columns are touched: a float or integer column cannot hold a formula, and prefixing its
    negative values would turn numbers into text for every consumer. Inside text columns, a cell that
    is a plain decimal number (``-12.5``) is left alone for the same reason.
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        text = series.astype("string")
        risky = text.str.match(_FORMULA_START, na=False) & ~text.str.fullmatch(_PLAIN_NUMBER, na=False)
        if risky.any():
            out[column] = series.mask(risky, "'" + text)
    return out


def _write_csv(frame: pd.DataFrame, path: Path, geometry_column: str | None) -> None:
    out = frame
    if geometry_column and geometry_column in frame.columns:
        if not _is_text(frame[geometry_column]):
            out = frame.copy()
            # Same EWKT text as harmonised frames carry, whatever the input kind.
            wkt = pd.Series(
                shapely.to_wkt(_as_geometries(frame[geometry_column]).to_numpy()), index=frame.index
            )
            out[geometry_column] = ("SRID=4326;" + wkt).where(wkt.notna(), None)
    for column in out.columns:
        if pd.api.types.is_bool_dtype(out[column]):
            # Table Schema's canonical booleans; pandas would write "True"/"False".
            out = out.copy() if out is frame else out
            out[column] = out[column].map({True: "true", False: "false"})
    out = neutralise_formulas(out)
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


def _write_geojson(geo: gpd.GeoDataFrame, path: Path, name: str) -> None:
    # GDAL's RFC7946 mode: WGS84 lon/lat, no "crs" member, right-hand-rule rings.
    geo.to_file(path, driver="GeoJSON", engine="pyogrio", layer=name, layer_options={"RFC7946": "YES"})


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


def _temp_path(final: Path) -> Path:
    # Same directory as the target, so os.replace never crosses file systems; hidden and unique so a
    # directory listing or a concurrent writer never mistakes it for a publication.
    return final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _size_and_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in _blocks(handle):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _blocks(handle, size: int = 1 << 20) -> Iterator[bytes]:
    while block := handle.read(size):
        yield block
