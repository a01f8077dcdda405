"""Cells of a ``geojson`` field written as GeoJSON geometry text, the field's lexical form.

The geographic reader hands geometries over as EWKT (``SRID=4326;POLYGON(...)``, already in WGS 84 and
repaired), as it does for points; a Table Schema ``geojson`` field holds a GeoJSON object. Cells that
are GeoJSON already, empty, or not readable as WKT are left as they are (the validator judges them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

_EWKT = (
    r"^\s*(?:SRID=(?P<srid>\d+)\s*;\s*)?"
    r"(?P<wkt>(?:MULTI)?(?:POINT|LINESTRING|POLYGON)\b.*|GEOMETRYCOLLECTION\b.*)$"
)


def geojson_cells(series: pd.Series) -> tuple[pd.Series, int]:
    """EWKT/WKT cells in EPSG:4326 rewritten as GeoJSON geometries; the number of cells rewritten."""
    text = series.astype(str)
    parts = text.str.extract(_EWKT, flags=2)  # re.IGNORECASE
    wgs84 = parts["wkt"].notna() & parts["srid"].fillna("4326").eq("4326")
    if not wgs84.any():
        return series, 0
    geometries = shapely.from_wkt(parts.loc[wgs84, "wkt"].to_numpy(dtype=object), on_invalid="ignore")
    readable = ~shapely.is_missing(geometries)
    if not readable.any():
        return series, 0
    out = series.astype(object).copy()
    rows = parts.index[wgs84][readable]
    out[rows] = np.asarray(shapely.to_geojson(geometries[readable]), dtype=object)
    return out, int(readable.sum())
