"""Points to EWKT: forms read, Lambert-93 reprojected, swapped axes fixed, foreign points flagged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import REFERENCE

from assets.harmonise import geometry as g


def test_every_written_form_becomes_ewkt() -> None:
    cells = pd.Series(
        [
            "0.6889, 47.3941",
            "[0.6889, 47.3941]",
            '{"lon": 0.6889, "lat": 47.3941}',
            '{"lat": 47.3941, "lon": 0.6889}',
            "POINT(0.6889 47.3941)",
            "SRID=4326;POINT(0.6889 47.3941)",
            "0,6889;47,3941",
            "",
            "pas un point",
        ],
        index=range(2, 11),
    )
    points = g.points_to_ewkt(cells)
    assert points.ewkt.tolist() == ["SRID=4326;POINT(0.6889 47.3941)"] * 7 + ["", "pas un point"]
    assert points.parsed.tolist() == [True] * 7 + [False, False]
    assert points.counts == {"geometry": 6}  # the EWKT one was already canonical
    assert not points.outside_france.any()


def test_lambert93_recognised_by_range_and_reprojected() -> None:
    # Tours town hall, Lambert-93 (pyproj reference value computed both ways)
    x, y = 525_500.0, 6_701_400.0
    lon, lat = g._transformer(2154).transform(x, y)
    points = g.points_to_ewkt(pd.Series([f"{x},{y}", f"SRID=2154;POINT({x} {y})", f"{y},{x}"]))
    assert points.counts == {"geometry": 3, "geometry-reprojected": 3, "geometry-swapped": 1}
    assert np.allclose(points.lon, lon) and np.allclose(points.lat, lat)
    assert 0.6 < lon < 0.75 and 47.3 < lat < 47.45


def test_xy_columns_with_declared_crs() -> None:
    points = g.points_from_xy(
        pd.Series(["525500", "0,6889", ""]), pd.Series(["6701400", "47,3941", ""]), srid=None
    )
    assert points.ewkt.iloc[1] == "SRID=4326;POINT(0.6889 47.3941)"
    assert points.ewkt.iloc[0].startswith("SRID=4326;POINT(0.68")
    assert points.ewkt.iloc[2] == ""
    assert points.counts["geometry-reprojected"] == 1


def test_swapped_lon_lat_fixed_and_counted_including_overseas() -> None:
    points = g.points_to_ewkt(pd.Series(["47.3941, 0.6889", "-21.1151, 55.5364", "55.5364, -21.1151"]))
    assert points.ewkt.tolist() == [
        "SRID=4326;POINT(0.6889 47.3941)",
        "SRID=4326;POINT(55.5364 -21.1151)",  # La Réunion
        "SRID=4326;POINT(55.5364 -21.1151)",
    ]
    assert points.counts["geometry-swapped"] == 2


def test_outside_france_flagged_not_moved() -> None:
    points = g.points_to_ewkt(pd.Series(["-73.98, 40.75", "2.35, 48.85", ""], index=[5, 6, 7]))
    assert points.outside_france.tolist() == [True, False, False]
    assert points.ewkt[5] == "SRID=4326;POINT(-73.98 40.75)"


def test_territory_is_the_22_communes() -> None:
    territory = g.territory_polygon()
    communes = json.loads(
        (REFERENCE / "cog-37-communes-geojson/communes-37-indre-et-loire.geojson").read_text()
    )
    codes = set(pd.read_csv(REFERENCE / "tmvl-communes/tmvl-communes.csv", dtype=str)["code_insee"])
    inside = [f for f in communes["features"] if f["properties"]["code"] in codes]
    outside = [f for f in communes["features"] if f["properties"]["code"] not in codes]
    assert len(inside) == 22
    for feature in inside:
        point = shapely.point_on_surface(shapely.from_geojson(json.dumps(feature["geometry"])))
        assert shapely.contains(territory, point), feature["properties"]["nom"]
    far = [shapely.point_on_surface(shapely.from_geojson(json.dumps(f["geometry"]))) for f in outside]
    assert not shapely.contains(territory, far).any()


@pytest.mark.parametrize(
    ("lon", "lat", "outside"),
    [(0.6889, 47.3941, False), (0.9826, 47.4133, True), (2.35, 48.85, True)],  # Tours, Amboise, Paris
)
def test_outside_territory(lon: float, lat: float, outside: bool) -> None:
    rows = g.outside_territory(pd.Series([lon], index=[12]), pd.Series([lat], index=[12]))
    assert rows == ([12] if outside else [])


def test_vectorised_on_many_points() -> None:
    cells = pd.Series(["525500,6701400", "0.6889, 47.3941", "47.3941, 0.6889"] * 100_000)
    points = g.points_to_ewkt(cells)
    rows = g.outside_territory(points.lon, points.lat)
    assert points.counts["geometry-reprojected"] == 100_000
    assert points.counts["geometry-swapped"] == 100_000
    assert rows == []
