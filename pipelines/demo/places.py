"""Where demo points go: inside the real commune boundaries (the territory's COG polygons shipped in
quality/reference, the same file the platform uses to tell a point is outside the territory)."""

from __future__ import annotations

import json
import random
from functools import cache
from pathlib import Path

import numpy as np
import shapely

from quality.geo import TERRITORY_GEOJSON


@cache
def commune_shapes(path: Path = TERRITORY_GEOJSON) -> dict[str, shapely.Geometry]:
    """INSEE code → commune polygon (EPSG:4326)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {f["properties"]["code"]: shapely.geometry.shape(f["geometry"]) for f in doc["features"]}


def points_in(insee: str, count: int, rng: random.Random) -> np.ndarray:
    """``count`` (lon, lat) points drawn uniformly inside the commune, by rejection from its bounding box
    (vectorised: shapely 2 tests a whole batch of candidates at once)."""
    shape = commune_shapes()[insee]
    generator = np.random.default_rng(rng.getrandbits(64))
    xmin, ymin, xmax, ymax = shape.bounds
    found = np.empty((0, 2))
    while len(found) < count:
        candidates = generator.uniform((xmin, ymin), (xmax, ymax), size=(max(4 * count, 16), 2))
        inside = shapely.contains_xy(shape, candidates[:, 0], candidates[:, 1])
        found = np.vstack([found, candidates[inside]])
    return np.round(found[:count], 6)
