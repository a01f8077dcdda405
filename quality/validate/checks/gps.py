"""GPS coordinates that lie in France (Validata's boxes); a hint when longitude and latitude are swapped."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quality.geo import in_france
from quality.schema import TableSchema
from quality.validate.checks.registry import register
from quality.validate.checks.verdicts import single_column
from quality.validate.types import parse_column


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

    return single_column(frame, column, "french-gps-coordinates", verdict, None)
