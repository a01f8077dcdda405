"""Points to EWKT ``SRID=4326;POINT(lon lat)``: parse, reproject Lambert-93, fix swapped axes, locate.

Producers write points as Table Schema geopoints (``lon, lat``, ``[lon, lat]``, ``{"lon": .., "lat": ..}``),
as two columns (lon/lat or Lambert-93 x/y), or as (E)WKT. Everything is vectorised: regex extraction
over the column, one pyproj ``Transformer`` call per source CRS, shapely 2 array predicates.

Coordinates are trusted only inside France (Validata's metropolitan and overseas boxes of
:mod:`quality.geo`, the ones the validator checks). A pair that only lands in France once its axes are
swapped is swapped and counted; a pair outside France either way is flagged (an error for the
validator), never moved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from quality.geo import TERRITORY_GEOJSON, in_france

# Lambert-93 (EPSG:2154) over metropolitan France.
LAMBERT93_X = (100_000.0, 1_300_000.0)
LAMBERT93_Y = (6_000_000.0, 7_200_000.0)

_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_FORMS = (
    # lon, lat  /  [lon, lat]  /  lon;lat
    rf"^\[?\s*(?P<x>{_NUM})\s*[,;]\s*(?P<y>{_NUM})\s*\]?$",
    # decimal commas need another separator: 0,688;47,39
    r"^(?P<x>[+-]?\d+,\d+)\s*;\s*(?P<y>[+-]?\d+,\d+)$",
    rf'^\{{\s*"?(?:lon|lng|longitude|x)"?\s*:\s*(?P<x>{_NUM})\s*,\s*"?(?:lat|latitude|y)"?\s*:\s*(?P<y>{_NUM})\s*\}}$',
    rf'^\{{\s*"?(?:lat|latitude|y)"?\s*:\s*(?P<y>{_NUM})\s*,\s*"?(?:lon|lng|longitude|x)"?\s*:\s*(?P<x>{_NUM})\s*\}}$',
    rf"^(?:SRID=(?P<srid>\d+)\s*;\s*)?POINT\s*Z?\s*\(\s*(?P<x>{_NUM})\s+(?P<y>{_NUM})(?:\s+{_NUM})?\s*\)$",
)


@dataclass
class Points:
    """Result of a point conversion; every Series has the input's index."""

    ewkt: pd.Series  # EWKT where the point was read, else the cell unchanged
    parsed: pd.Series  # bool: a point was read
    outside_france: pd.Series  # bool: read, but neither it nor its swap lies in France
    lon: pd.Series  # float, NaN where not read
    lat: pd.Series
    counts: dict[str, int] = field(default_factory=dict)


def parse_points(series: pd.Series) -> pd.DataFrame:
    """Columns ``x``, ``y`` (float) and ``srid`` (float, NaN when not stated) read from text cells."""
    text = series.astype(str).str.strip()
    out = pd.DataFrame({"x": np.nan, "y": np.nan, "srid": np.nan}, index=series.index)
    todo = pd.Series(True, index=series.index)
    for form in _FORMS:
        parts = text[todo].str.extract(form, flags=2)  # re.IGNORECASE
        found = parts["x"].notna()
        if not found.any():
            continue
        idx = found[found].index
        out.loc[idx, "x"] = pd.to_numeric(parts.loc[idx, "x"].str.replace(",", "."), errors="coerce")
        out.loc[idx, "y"] = pd.to_numeric(parts.loc[idx, "y"].str.replace(",", "."), errors="coerce")
        if "srid" in parts:
            out.loc[idx, "srid"] = pd.to_numeric(parts.loc[idx, "srid"], errors="coerce")
        todo[idx] = False
    return out


def _in_lambert93(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x >= LAMBERT93_X[0]) & (x <= LAMBERT93_X[1]) & (y >= LAMBERT93_Y[0]) & (y <= LAMBERT93_Y[1])


@cache
def _transformer(srid: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{srid}", "EPSG:4326", always_xy=True)


def to_wgs84(
    x: np.ndarray, y: np.ndarray, srid: np.ndarray | int | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Longitude/latitude in EPSG:4326, Lambert-93 recognised by range, swapped axes fixed."""
    x = np.asarray(x, dtype=float).copy()
    y = np.asarray(y, dtype=float).copy()
    if srid is None:
        srids = np.full(len(x), np.nan)
    else:
        srids = np.broadcast_to(np.asarray(srid, dtype=float), x.shape).copy()
    counts: dict[str, int] = {}
    unstated = np.isnan(srids) | (srids == 4326)
    lambert_swapped = unstated & _in_lambert93(y, x)
    x[lambert_swapped], y[lambert_swapped] = y[lambert_swapped], x[lambert_swapped].copy()
    srids[unstated & _in_lambert93(x, y)] = 2154
    for code in np.unique(srids[~np.isnan(srids) & (srids != 4326)]):
        rows = srids == code
        lon, lat = _transformer(int(code)).transform(x[rows], y[rows])
        # A reprojection gives 15 digits of noise: 7 decimals (about 1 cm) is what it really knows.
        x[rows], y[rows] = np.round(lon, 7), np.round(lat, 7)
        counts["geometry-reprojected"] = counts.get("geometry-reprojected", 0) + int(rows.sum())
    swapped = ~in_france(x, y) & in_france(y, x)
    x[swapped], y[swapped] = y[swapped], x[swapped].copy()
    if swapped.sum() + lambert_swapped.sum():
        counts["geometry-swapped"] = int(swapped.sum() + lambert_swapped.sum())
    return x, y, counts


def format_degrees(values: np.ndarray) -> np.ndarray:
    """The shortest decimal text that reads back to each float: a point given in degrees keeps every
    digit the producer wrote (coordinates are never rewritten); plain notation, no exponent, for
    every WKT reader."""
    text = pd.Series(np.asarray(values, dtype=float)).astype(str)
    exponent = text.str.contains("e", regex=False)
    if exponent.any():
        text[exponent] = [np.format_float_positional(v, unique=True, trim="-") for v in values[exponent]]
    return text.str.replace(r"\.0$", "", regex=True).to_numpy()


def ewkt(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """``SRID=4326;POINT(lon lat)`` for each pair."""
    return (
        "SRID=4326;POINT("
        + format_degrees(lon).astype(object)
        + " "
        + format_degrees(lat).astype(object)
        + ")"
    )


def _points(cells: pd.Series, x: np.ndarray, y: np.ndarray, srid: np.ndarray | None) -> Points:
    index = cells.index
    parsed = ~(np.isnan(x) | np.isnan(y))
    lon = np.full(len(x), np.nan)
    lat = np.full(len(x), np.nan)
    counts: dict[str, int] = {}
    if parsed.any():
        srid_parsed = None if srid is None else srid[parsed]
        lon[parsed], lat[parsed], counts = to_wgs84(x[parsed], y[parsed], srid_parsed)
    outside = parsed & ~in_france(lon, lat)
    out = cells.astype(object).copy()
    if parsed.any():
        out[parsed] = ewkt(lon[parsed], lat[parsed])
    changed = int((out != cells.astype(object)).sum())
    if changed:
        counts = {"geometry": changed, **counts}
    return Points(
        ewkt=out,
        parsed=pd.Series(parsed, index=index),
        outside_france=pd.Series(outside, index=index),
        lon=pd.Series(lon, index=index),
        lat=pd.Series(lat, index=index),
        counts=counts,
    )


def points_to_ewkt(series: pd.Series, srid: int | None = None) -> Points:
    """Convert a geopoint/WKT text column; ``srid`` is the producer's CRS when the cells state none."""
    parts = parse_points(series)
    srids = parts["srid"].to_numpy(dtype=float)
    if srid is not None:
        srids = np.where(np.isnan(srids), float(srid), srids)
    return _points(series, parts["x"].to_numpy(), parts["y"].to_numpy(), srids)


def points_from_xy(x: pd.Series, y: pd.Series, srid: int | None = None) -> Points:
    """Convert two columns (lon/lat or x/y, decimal comma allowed) into one EWKT column."""
    xs = pd.to_numeric(x.astype(str).str.strip().str.replace(",", "."), errors="coerce").to_numpy(dtype=float)
    ys = pd.to_numeric(y.astype(str).str.strip().str.replace(",", "."), errors="coerce").to_numpy(dtype=float)
    blank = pd.Series("", index=x.index, dtype=object)
    cells = blank.where(np.isnan(xs) | np.isnan(ys), x.astype(str) + "," + y.astype(str))
    return _points(cells, xs, ys, None if srid is None else np.full(len(xs), float(srid)))


@cache
def territory_polygon() -> shapely.Geometry:
    """Union of the 22 communes of Tours Métropole Val de Loire (EPSG:4326), prepared for fast predicates."""
    features = json.loads(TERRITORY_GEOJSON.read_text(encoding="utf-8"))["features"]
    shapes = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    territory = shapely.union_all(shapes)
    shapely.prepare(territory)
    return territory


def outside_territory(lon: pd.Series, lat: pd.Series) -> list:
    """Index labels of points (not NaN) that fall outside the territory."""
    known = lon.notna() & lat.notna()
    inside = shapely.contains_xy(territory_polygon(), lon[known].to_numpy(), lat[known].to_numpy())
    return list(lon[known].index[~inside])
