"""Where the platform's places are: geometry field types, France's boxes, the territory's outline.

One definition each, imported by the reader, the harmoniser, the validator, the warehouse and the
portal, so that "a geo field" and "in France" mean the same thing at every stage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Table Schema types that hold a geometry (a geopoint, or a GeoJSON object).
GEOMETRY_TYPES: tuple[str, ...] = ("geopoint", "geojson")

# The territory's 22 communes (Tours Métropole Val de Loire), shipped with the platform.
TERRITORY_GEOJSON = Path(__file__).resolve().parent / "reference" / "tmvl-communes.geojson"

# Validata's boxes (metropolitan France and five overseas departments), (lon_min, lat_min, lon_max,
# lat_max). The same boxes for the harmoniser and the validator: a point the harmoniser keeps is never
# one the published file's own check refuses.
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
    """Whether each (lon, lat) pair lies in one of France's boxes (NaN is never in France)."""
    lon, lat = np.asarray(lon, dtype=float)[:, None], np.asarray(lat, dtype=float)[:, None]
    b = FRANCE_BOXES
    # strictly inside, as shapely's Point.within a box (Validata's test)
    return ((lon > b[:, 0]) & (lat > b[:, 1]) & (lon < b[:, 2]) & (lat < b[:, 3])).any(axis=1)
